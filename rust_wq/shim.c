// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq: C shims for what the kernel only offers as macros or inline functions, and that the
 * Rust side cannot reach through `bindings`. Each module that uses rust_wq compiles this file
 * once, through a one-line wrapper in its own directory.
 */

#include <linux/hardirq.h>
#include <linux/irqflags.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>

bool rust_wq_in_hardirq(void);
bool rust_wq_in_task(void);
bool rust_wq_preemptible(void);
bool rust_wq_may_sleep(void);

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
