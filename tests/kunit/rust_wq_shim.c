// SPDX-License-Identifier: GPL-2.0
#include "../../rust_wq/glue/glue.c"

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

/* Test only: enter and leave memory reclaim as a reclaimer does (PF_MEMALLOC). */
#include <linux/sched/mm.h>

unsigned int rust_wq_test_memalloc_save(void);
void rust_wq_test_memalloc_restore(unsigned int flags);

unsigned int rust_wq_test_memalloc_save(void)
{
	return memalloc_noreclaim_save();
}

void rust_wq_test_memalloc_restore(unsigned int flags)
{
	memalloc_noreclaim_restore(flags);
}

#if IS_BUILTIN(CONFIG_KUNIT)
/* The doc examples that are compiled, not run (tests/kunit/doctests.rs): their case is skipped. */
#include <kunit/test.h>
#include <kunit/test-bug.h>

void rust_wq_kunit_skip(const char *reason);

void rust_wq_kunit_skip(const char *reason)
{
	struct kunit *test = kunit_get_current_test();

	if (test)
		kunit_mark_skipped(test, "%s", reason);
}
#endif
