// SPDX-License-Identifier: GPL-2.0
/*
 * The arm lock of a delayed item: bit 31 of a word whose other bits hold the state it protects
 * (arm_lock.rs says why a bit lock, and why it is annotated for lockdep as it is). Taken with
 * interrupts off, as raw_spin_lock_irqsave() takes a raw spinlock, and told to lockdep as one:
 * acquired before it spins (as raw_spin_lock() is), released after the store that clears the
 * lock bit, in one static class whose map says LD_WAIT_SPIN (as RAW_SPIN_DEP_MAP_INIT() does).
 *
 * Arming takes it inside the module's unload gate, in the same interrupts-off section (as the
 * plain enqueue in enqueue.c), and counts an owned queue's enqueue there too.
 */

#include <linux/atomic.h>
#include <linux/compiler.h>
#include <linux/irqflags.h>
#include <linux/lockdep.h>
#include <linux/percpu.h>
#include <linux/processor.h>

#include "counters.h"
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

/* Takes the lock bit, interrupts being off; returns the word as it was (without the bit). */
static __always_inline unsigned int rust_wq_arm_take(atomic_t *word, unsigned long ip)
{
	int cur;

#ifdef CONFIG_DEBUG_LOCK_ALLOC
	spin_acquire(&rust_wq_arm_map, 0, 0, ip);
#endif
	cur = atomic_read(word);
	for (;;) {
		if (!(cur & RUST_WQ_ARM_LOCKED) &&
		    atomic_try_cmpxchg_acquire(word, &cur, cur | RUST_WQ_ARM_LOCKED))
			break;
		cpu_relax();
		cur = atomic_read(word);
	}
	return cur;
}

/* Stores state, which clears the lock bit, and restores the interrupts of flags. */
static __always_inline void rust_wq_arm_give(atomic_t *word, unsigned int state,
					     unsigned long flags, unsigned long ip)
{
	atomic_set_release(word, state & ~RUST_WQ_ARM_LOCKED);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	spin_release(&rust_wq_arm_map, ip);
#endif
	local_irq_restore(flags);
}

unsigned long rust_wq_arm_lock(atomic_t *word, unsigned int *state)
{
	unsigned long flags;

	local_irq_save(flags);
	*state = rust_wq_arm_take(word, _RET_IP_);
	return flags;
}

/*
 * The lock taken inside the unload gate: interrupts off, the gate word *gate (the module's
 * registry, published with a release store) read once, and only if it is not NULL the lock taken
 * and the enqueue counted as started in the counts that counts holds (NULL, or the word of an
 * owned queue, read once in the section: NULL until its first drain makes its counts, counters.h;
 * rust_wq/queue/owned.rs, Counts). Returns the gate word: NULL if the gate is closed, and then
 * nothing was taken (interrupts are as they were); otherwise the lock is held, interrupts off,
 * their flags in *flags, the counts counted in (or NULL) in *counted, until rust_wq_arm_unlock()
 * with those counts. The section from the read to that unlock is the gate
 * (rust_wq/queue/borrowed.rs, Queue::enqueue_gated, says why).
 */
void *rust_wq_arm_lock_gated(atomic_t *word, unsigned int *state, unsigned long *flags,
			     void *const *gate, void *const *counts, void **counted)
{
	struct rust_wq_counts __percpu *c = NULL;
	unsigned long f;
	void *reg;

	local_irq_save(f);
	/* Acquire: the caller may follow the pointer (the registry's tracker of system timers). */
	reg = smp_load_acquire(gate);
	if (unlikely(!reg)) {
		local_irq_restore(f);
		return NULL;
	}
	*state = rust_wq_arm_take(word, _RET_IP_);
	if (counts)
		c = (struct rust_wq_counts __percpu __force *)READ_ONCE(*counts);
	*counted = (void __force *)c;
	/*
	 * As rust_wq_count_started(): any queueing under the lock starts with a fully ordered atomic
	 * (the test_and_set_bit() of PENDING, or the grab of a pending item), so the count is visible
	 * before the item is queued. Interrupts are off: no preemption between the CPU's choice and
	 * the add.
	 */
	if (c)
		__this_cpu_inc(c->started);
	*flags = f;
	return reg;
}

void rust_wq_arm_unlock(atomic_t *word, unsigned int state, unsigned long flags, void *counts)
{
	struct rust_wq_counts __percpu *c = (struct rust_wq_counts __percpu __force *)counts;

	if (c) {
		/* As rust_wq_count_finished(): the queueing is visible before its end is. */
		smp_wmb();
		__this_cpu_inc(c->finished);
	}
	rust_wq_arm_give(word, state, flags, _RET_IP_);
}
