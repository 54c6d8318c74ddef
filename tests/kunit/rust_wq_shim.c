// SPDX-License-Identifier: GPL-2.0
#include "../../rust_wq/shim.c"

/*
 * Test only: the description the current kworker carries (struct worker is the kernel's own,
 * kernel/workqueue_internal.h), read independently of rust_wq. False outside a kworker.
 */
#include <linux/kthread.h>
#include "workqueue_internal.h"

bool rust_wq_test_worker_desc(char *buf, size_t len);

bool rust_wq_test_worker_desc(char *buf, size_t len)
{
	struct worker *worker;

	if (!in_task() || !(current->flags & PF_WQ_WORKER))
		return false;
	worker = kthread_data(current);
	strscpy(buf, worker->desc, len);
	return true;
}
