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

/*
 * Test only: a platform device named `name`, which the test driver of tests/kunit/devm.rs (a
 * platform driver of the same name) binds while it is registered, and its removal, which unbinds
 * it: in the caller, or in a kernel thread of its own, so that the unbind runs in a task that is
 * no kworker while the caller goes on.
 */
#include <linux/completion.h>
#include <linux/err.h>
#include <linux/platform_device.h>
#include <linux/slab.h>

struct rust_wq_test_pdev {
	struct platform_device *pdev;
	struct completion removed;
};

struct rust_wq_test_pdev *rust_wq_test_pdev_add(const char *name);
void rust_wq_test_pdev_remove(struct rust_wq_test_pdev *d);
int rust_wq_test_pdev_remove_async(struct rust_wq_test_pdev *d);
void rust_wq_test_pdev_wait_removed(struct rust_wq_test_pdev *d);

/* The device, registered (and bound, if its driver is); NULL on failure. */
struct rust_wq_test_pdev *rust_wq_test_pdev_add(const char *name)
{
	struct rust_wq_test_pdev *d = kzalloc(sizeof(*d), GFP_KERNEL);

	if (!d)
		return NULL;
	init_completion(&d->removed);
	d->pdev = platform_device_register_simple(name, PLATFORM_DEVID_NONE, NULL, 0);
	if (IS_ERR(d->pdev)) {
		kfree(d);
		return NULL;
	}
	return d;
}

/* Unregisters the device (its unbind runs in the caller) and frees `d`. */
void rust_wq_test_pdev_remove(struct rust_wq_test_pdev *d)
{
	platform_device_unregister(d->pdev);
	kfree(d);
}

static int rust_wq_test_pdev_remover(void *data)
{
	struct rust_wq_test_pdev *d = data;

	platform_device_unregister(d->pdev);
	/* Returns through the core kernel: this module may be gone once `removed` completes. */
	kthread_complete_and_exit(&d->removed, 0);
}

/*
 * Unregisters the device in a new kernel thread; rust_wq_test_pdev_wait_removed() waits for it
 * and frees `d`. On failure (an errno) nothing happened: `d` is still the caller's.
 */
int rust_wq_test_pdev_remove_async(struct rust_wq_test_pdev *d)
{
	struct task_struct *t = kthread_run(rust_wq_test_pdev_remover, d, "rwq_unbind");

	return PTR_ERR_OR_ZERO(t);
}

void rust_wq_test_pdev_wait_removed(struct rust_wq_test_pdev *d)
{
	wait_for_completion(&d->removed);
	kfree(d);
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
