// SPDX-License-Identifier: GPL-2.0
#include "../../rust_wq/glue/glue.c"

/*
 * Test only: sleeps until kthread_stop() is called on the current kernel thread, which sets the
 * thread's stop flag and then wakes it.
 */
#include <linux/kthread.h>
#include <linux/sched.h>

void rust_wq_test_sleep_until_stopped(void);

void rust_wq_test_sleep_until_stopped(void)
{
	for (;;) {
		set_current_state(TASK_INTERRUPTIBLE);
		if (kthread_should_stop())
			break;
		schedule();
	}
	__set_current_state(TASK_RUNNING);
}
