// SPDX-License-Identifier: GPL-2.0
/*
 * The arm lock of a delayed item: bit 31 of a word whose other bits hold the state it protects
 * (arm_lock.rs says why a bit lock, and why it is annotated for lockdep as it is). Taken with
 * interrupts off, as raw_spin_lock_irqsave() takes a raw spinlock, and told to lockdep as one:
 * acquired before it spins (as raw_spin_lock() is), released after the store that clears the
 * lock bit, in one static class whose map says LD_WAIT_SPIN (as RAW_SPIN_DEP_MAP_INIT() does).
 */

#include <linux/atomic.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/processor.h>

#include "glue.h"

#define RUST_WQ_ARM_LOCKED (1U << 31)

#ifdef CONFIG_DEBUG_LOCK_ALLOC
static struct lock_class_key rust_wq_arm_key;
static struct lockdep_map rust_wq_arm_map = {
	.name = "rust_wq::DelayedWork::arm",
	.key = &rust_wq_arm_key,
	.wait_type_inner = LD_WAIT_SPIN,
};
#endif

unsigned long rust_wq_arm_lock(atomic_t *word, unsigned int *state)
{
	unsigned long flags;
	int cur;

	local_irq_save(flags);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	spin_acquire(&rust_wq_arm_map, 0, 0, _RET_IP_);
#endif
	cur = atomic_read(word);
	for (;;) {
		if (!(cur & RUST_WQ_ARM_LOCKED) &&
		    atomic_try_cmpxchg_acquire(word, &cur, cur | RUST_WQ_ARM_LOCKED))
			break;
		cpu_relax();
		cur = atomic_read(word);
	}
	*state = cur;
	return flags;
}

void rust_wq_arm_unlock(atomic_t *word, unsigned int state, unsigned long flags)
{
	atomic_set_release(word, state & ~RUST_WQ_ARM_LOCKED);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	spin_release(&rust_wq_arm_map, _RET_IP_);
#endif
	local_irq_restore(flags);
}
