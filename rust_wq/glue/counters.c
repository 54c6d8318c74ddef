// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU counters of enqueues started and finished on an owned queue, for its exact drain
 * without an atomic read-modify-write on a shared cache line per enqueue.
 */

#include <linux/compiler.h>
#include <linux/cpumask.h>
#include <linux/percpu.h>

#include "glue.h"

#include "counters.h"

void *rust_wq_counts_alloc(void)
{
	return (void __force *)alloc_percpu(struct rust_wq_counts);
}

void rust_wq_counts_free(void *p)
{
	free_percpu((struct rust_wq_counts __percpu __force *)p);
}

void rust_wq_count_started(void *p)
{
	/*
	 * The queueing that follows starts with a fully ordered atomic (test_and_set_bit() of the
	 * PENDING bit, or the timer's grab), so this count is visible before the item is queued.
	 */
	this_cpu_inc(((struct rust_wq_counts __percpu __force *)p)->started);
}

void rust_wq_count_finished(void *p)
{
	/* The enqueue's queueing is visible before its end is. */
	smp_wmb();
	this_cpu_inc(((struct rust_wq_counts __percpu __force *)p)->finished);
}

unsigned long rust_wq_counts_sum(void *p, bool finished)
{
	struct rust_wq_counts __percpu *c = (struct rust_wq_counts __percpu __force *)p;
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += finished ? READ_ONCE(per_cpu_ptr(c, cpu)->finished) :
				  READ_ONCE(per_cpu_ptr(c, cpu)->started);
	smp_rmb();
	return sum;
}
