// SPDX-License-Identifier: GPL-2.0
/* Owned queues: their allocation (with the sysfs name check) and destruction. */

#include <linux/lockdep.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "glue.h"

/*
 * Owned queues with a lockdep map that outlives them. C's alloc_workqueue() gives each queue a
 * dynamic lockdep key that the release of its last pwq unregisters, while a flush_work() that
 * found the queue through an item may still touch the queue's map (start_flush_work(), under
 * rcu_read_lock() only): lockdep then meets a zapped class (a WARN, then an oops). Here the map
 * and its key are ours: rust_wq_destroy_workqueue() waits for an RCU grace period after
 * destroy_workqueue() returned (every such flusher has left its read-side section) before the
 * key is unregistered and freed.
 */
struct rust_wq_wq_lockdep {
	struct lock_class_key key;
	struct lockdep_map map;
	char name[];
};

static struct workqueue_struct *rust_wq_alloc_workqueue_ld(const char *name, unsigned int flags,
							   int max_active, void **lockdep);

/*
 * The name check of a sysfs queue and its registration, one module's at a time: two builders of
 * one name in this module cannot both pass the check (the loser would get the kernel's
 * duplicate-file stack dump and -ENOMEM). Another module's builder is not excluded.
 */
static DEFINE_MUTEX(rust_wq_sysfs_mutex);

/* -EEXIST for a sysfs name taken, -ENOMEM if the allocation failed. */
struct workqueue_struct *rust_wq_alloc_workqueue(const char *name, unsigned int flags,
						 int max_active, void **lockdep, int *err)
{
	struct workqueue_struct *wq;

	*err = -ENOMEM;
	if (!(flags & WQ_SYSFS))
		return rust_wq_alloc_workqueue_ld(name, flags, max_active, lockdep);
	mutex_lock(&rust_wq_sysfs_mutex);
	if (rust_wq_sysfs_name_taken(name)) {
		mutex_unlock(&rust_wq_sysfs_mutex);
		*err = -EEXIST;
		return NULL;
	}
	wq = rust_wq_alloc_workqueue_ld(name, flags, max_active, lockdep);
	mutex_unlock(&rust_wq_sysfs_mutex);
	return wq;
}

static struct workqueue_struct *rust_wq_alloc_workqueue_ld(const char *name, unsigned int flags,
							   int max_active, void **lockdep)
{
#ifdef CONFIG_LOCKDEP
	static const char prefix[] = "(wq_completion)";
	struct rust_wq_wq_lockdep *ld;
	struct workqueue_struct *wq;

	ld = kzalloc(struct_size(ld, name, sizeof(prefix) + strlen(name)), GFP_KERNEL);
	if (!ld)
		return NULL;
	lockdep_register_key(&ld->key);
	strcpy(ld->name, prefix);
	strcat(ld->name, name);
	lockdep_init_map(&ld->map, ld->name, &ld->key, 0);
	wq = alloc_workqueue_lockdep_map("%s", flags, max_active, &ld->map, name);
	if (!wq) {
		lockdep_unregister_key(&ld->key);
		kfree(ld);
		return NULL;
	}
	*lockdep = ld;
	return wq;
#else
	*lockdep = NULL;
	return alloc_workqueue("%s", flags, max_active, name);
#endif
}

void rust_wq_destroy_workqueue(struct workqueue_struct *wq, void *lockdep)
{
	destroy_workqueue(wq);
#ifdef CONFIG_LOCKDEP
	if (lockdep) {
		struct rust_wq_wq_lockdep *ld = lockdep;

		/* Flushers that found the queue before it died still touch the map: wait. */
		synchronize_rcu_expedited();
		lockdep_unregister_key(&ld->key);
		kfree(ld);
	}
#endif
}
