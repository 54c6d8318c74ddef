// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq: C shims for what the kernel only offers as macros or inline functions, and that the
 * Rust side cannot reach through `bindings`. Each module that uses rust_wq compiles this file
 * once, through a one-line wrapper in its own directory.
 */

#include <linux/hardirq.h>
#include <linux/preempt.h>

bool rust_wq_in_hardirq(void);
bool rust_wq_in_task(void);
bool rust_wq_preemptible(void);

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
