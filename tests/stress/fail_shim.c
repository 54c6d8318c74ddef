// SPDX-License-Identifier: GPL-2.0
/*
 * The torture suite's allocation failures: fail_nth of the current task (what writing
 * /proc/self/fail-nth does), and the slab memory in use, to see that failures leak nothing.
 */

#include <linux/fault-inject.h>
#include <linux/mm.h>
#include <linux/sched.h>

void rust_wq_stress_set_fail_nth(unsigned int n);
unsigned int rust_wq_stress_fail_nth(void);
unsigned long rust_wq_stress_slab_pages(void);

#ifdef CONFIG_FAULT_INJECTION
/* The n-th fault-injection point this task passes fails (0: none). */
void rust_wq_stress_set_fail_nth(unsigned int n)
{
	WRITE_ONCE(current->fail_nth, n);
}

/* How many points are still to pass before the failure (0 once it happened, or none set). */
unsigned int rust_wq_stress_fail_nth(void)
{
	return READ_ONCE(current->fail_nth);
}
#else
/* Kernels without fault injection (the benchmark's, a distribution's): nothing fails. */
void rust_wq_stress_set_fail_nth(unsigned int n)
{
}

unsigned int rust_wq_stress_fail_nth(void)
{
	return 0;
}
#endif

unsigned long rust_wq_stress_slab_pages(void)
{
	return global_node_page_state_pages(NR_SLAB_UNRECLAIMABLE_B) +
	       global_node_page_state_pages(NR_SLAB_RECLAIMABLE_B);
}
