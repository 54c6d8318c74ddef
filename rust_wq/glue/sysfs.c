// SPDX-License-Identifier: GPL-2.0
/* The sysfs name check of queues built with WQ_SYSFS (queue.c). */

#include <linux/fs_struct.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/pid_namespace.h>
#include <linux/rcupdate.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "glue.h"

/*
 * Whether a workqueue named @name is in sysfs already. Registering a second one would fail with
 * a stack dump (sysfs_warn_dup); asking first turns that into -EEXIST. Looked up from the root
 * of the init process, where userspace mounts /sys (kernel threads may see another root):
 * where sysfs is not mounted there, the answer is "no".
 */
bool rust_wq_sysfs_name_taken(const char *name)
{
	struct task_struct *init;
	struct path root, path;
	bool taken = false;
	char *p;

	rcu_read_lock();
	init = READ_ONCE(init_pid_ns.child_reaper);
	if (init)
		get_task_struct(init);
	rcu_read_unlock();
	if (!init)
		return false;
	task_lock(init);
	if (!init->fs) {
		task_unlock(init);
		put_task_struct(init);
		return false;
	}
	get_fs_root(init->fs, &root);
	task_unlock(init);
	put_task_struct(init);

	p = kasprintf(GFP_KERNEL, "sys/devices/virtual/workqueue/%s", name);
	/* The device is named as kobject_set_name() names it: a '/' of the name becomes '!'. */
	if (p)
		strreplace(p + strlen("sys/devices/virtual/workqueue/"), '/', '!');
	if (p && !vfs_path_lookup(root.dentry, root.mnt, p, LOOKUP_FOLLOW, &path)) {
		taken = true;
		path_put(&path);
	}
	kfree(p);
	path_put(&root);
	return taken;
}
