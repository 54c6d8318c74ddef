// SPDX-License-Identifier: GPL-2.0
/*
 * The plain enqueue in one call: the module's unload gate, an owned queue's drain counts and
 * queue_work_on(), all with interrupts off (rust_wq/queue/borrowed.rs, Queue::enqueue_gated,
 * says why that section is the gate); for a chosen CPU, its online check in the same section.
 */

#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/errno.h>
#include <linux/irqflags.h>
#include <linux/percpu.h>
#include <linux/workqueue.h>

#include "counters.h"
#include "glue.h"

/*
 * 1: queued; 0: refused by C (pending, or disabled); -ENODEV: with check_cpu, the CPU is offline;
 * -ESHUTDOWN: the gate is closed (*gate is NULL); nothing done on an error. counts: NULL, or the
 * word of an owned queue that holds its per-CPU counts of counters.c (struct rust_wq_counts,
 * counters.h), NULL until its first drain makes them: read once in the section, which the
 * drain's grace period waits for (rust_wq/queue/owned.rs, Counts).
 */
static __always_inline int rust_wq_queue_gated(void *const *gate, void *const *counts, int cpu,
					       struct workqueue_struct *wq,
					       struct work_struct *work, bool check_cpu)
{
	struct rust_wq_counts __percpu *c = NULL;
	unsigned long flags;
	int ret;

	/*
	 * An RCU read-side critical section (see synchronize_rcu()'s comment: since v5.0 a region
	 * with interrupts disabled is one), whose end the unload's synchronize_rcu() waits for.
	 * With interrupts off, a CPU found online here stays online until the item is queued:
	 * taking a CPU down needs every CPU to run its stopper thread.
	 */
	local_irq_save(flags);
	if (counts)
		c = (struct rust_wq_counts __percpu __force *)READ_ONCE(*counts);
	if (check_cpu && unlikely(!cpu_online(cpu))) {
		ret = -ENODEV;
	} else if (likely(READ_ONCE(*gate))) {
		/*
		 * As rust_wq_count_started(): the queueing starts with a fully ordered atomic
		 * (test_and_set_bit() of PENDING), so the count is visible before the item is
		 * queued. Interrupts are off: no preemption between the CPU's choice and the add.
		 */
		if (c)
			__this_cpu_inc(c->started);
		ret = queue_work_on(cpu, wq, work);
		if (c) {
			/* As rust_wq_count_finished(). */
			smp_wmb();
			__this_cpu_inc(c->finished);
		}
	} else {
		ret = -ESHUTDOWN;
	}
	local_irq_restore(flags);
	return ret;
}

/* cpu: WORK_CPU_UNBOUND, or a possible CPU. */
int rust_wq_queue_work_gated(void *const *gate, void *const *counts, int cpu,
			     struct workqueue_struct *wq, struct work_struct *work)
{
	return rust_wq_queue_gated(gate, counts, cpu, wq, work, false);
}

/* cpu: a possible CPU, checked to be online first. */
int rust_wq_queue_work_on_gated(void *const *gate, void *const *counts, int cpu,
				struct workqueue_struct *wq, struct work_struct *work)
{
	return rust_wq_queue_gated(gate, counts, cpu, wq, work, true);
}
