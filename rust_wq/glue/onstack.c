// SPDX-License-Identifier: GPL-2.0
/*
 * Items built on the stack (stack_pin_init!): the object debugger wants their work_struct and
 * timer initialised as INIT_WORK_ONSTACK() / timer_init_key_on_stack() do, and destroyed with
 * destroy_*_on_stack() before the frame goes. Only kernels with the object debugger ask.
 */

#include <linux/sched/task_stack.h>
#include <linux/timer.h>
#include <linux/workqueue.h>

#include "glue.h"

bool rust_wq_on_stack(const void *p)
{
	return object_is_on_stack(p);
}

void rust_wq_timer_init(struct timer_list *timer, unsigned int flags, const char *name,
			struct lock_class_key *key)
{
	if (object_is_on_stack(timer))
		timer_init_key_on_stack(timer, delayed_work_timer_fn, flags, name, key);
	else
		timer_init_key(timer, delayed_work_timer_fn, flags, name, key);
}

void rust_wq_work_destroy(struct work_struct *work)
{
	if (object_is_on_stack(work))
		destroy_work_on_stack(work);
}

void rust_wq_delayed_destroy(struct delayed_work *dwork)
{
	if (object_is_on_stack(dwork))
		destroy_delayed_work_on_stack(dwork);
}
