// SPDX-License-Identifier: GPL-2.0
/* The caller's context: in_hardirq() and friends are macros. */

#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>

#include "glue.h"

bool rust_wq_in_hardirq(void)
{
	return in_hardirq();
}

bool rust_wq_in_task(void)
{
	return in_task();
}

bool rust_wq_preemptible(void)
{
	return preemptible();
}

/*
 * What the callers of waits ask, in one call: bit 0 the caller may sleep, bit 1 it is in memory
 * reclaim (PF_MEMALLOC), bit 2 it is a kworker (PF_WQ_WORKER).
 */
unsigned int rust_wq_context(void)
{
	unsigned int flags = current->flags;

	return (rust_wq_may_sleep() ? 1 : 0) | (flags & PF_MEMALLOC ? 2 : 0) |
	       (flags & PF_WQ_WORKER ? 4 : 0);
}

/*
 * Whether the caller may sleep: not in interrupt or softirq context (BH work items included),
 * not with interrupts off, and, where the kernel counts them (CONFIG_PREEMPT_COUNT), not with
 * preemption off or a spinlock held, nor inside an RCU read-side critical section.
 */
bool rust_wq_may_sleep(void)
{
	if (irqs_disabled() || !in_task())
		return false;
#ifdef CONFIG_PREEMPT_COUNT
	if (preempt_count() != 0)
		return false;
#endif
	return rcu_preempt_depth() == 0;
}
