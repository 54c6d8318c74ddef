// SPDX-License-Identifier: GPL-2.0
/*
 * rust_wq: C shims for what the kernel only offers as macros or inline functions, and that the
 * Rust side cannot reach through `bindings`. Each module that uses rust_wq compiles this file
 * once, through a one-line wrapper in its own directory.
 */

#include <linux/atomic.h>
#include <linux/hardirq.h>
#include <linux/lockdep.h>
#include <linux/irqflags.h>
#include <linux/namei.h>
#include <linux/nodemask.h>
#include <linux/topology.h>
#include <linux/path.h>
#include <linux/pci.h>
#include <linux/percpu.h>
#include <linux/pid_namespace.h>
#include <linux/fs_struct.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/preempt.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/string.h>
#include <linux/workqueue.h>

bool rust_wq_in_hardirq(void);
bool rust_wq_in_task(void);
bool rust_wq_preemptible(void);
bool rust_wq_may_sleep(void);
unsigned int rust_wq_context(void);

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
 * What the callers of waits ask, in one call: bit 0 the caller may sleep, bit 1 it is in memory
 * reclaim (PF_MEMALLOC), bit 2 it is a kworker (PF_WQ_WORKER).
 */
unsigned int rust_wq_context(void)
{
	unsigned int flags = current->flags;

	return (rust_wq_may_sleep() ? 1 : 0) | (flags & PF_MEMALLOC ? 2 : 0) |
	       (flags & PF_WQ_WORKER ? 4 : 0);
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

/*
 * Whether a workqueue named @name is in sysfs already. Registering a second one would fail with
 * a stack dump (sysfs_warn_dup); asking first turns that into -EEXIST. Looked up from the root
 * of the init process, where userspace mounts /sys (kernel threads may see another root):
 * where sysfs is not mounted there, the answer is "no".
 */
bool rust_wq_sysfs_name_taken(const char *name);

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

/*
 * Per-CPU counters of enqueues started and finished on an owned queue, for its exact drain
 * without an atomic read-modify-write on a shared cache line per enqueue.
 */
struct rust_wq_counts {
	unsigned long started;
	unsigned long finished;
};

void *rust_wq_counts_alloc(void);
void rust_wq_counts_free(void *p);
void rust_wq_count_started(void *p);
void rust_wq_count_finished(void *p);
unsigned long rust_wq_counts_sum(void *p, bool finished);

void *rust_wq_counts_alloc(void)
{
	return (void __force *)alloc_percpu(struct rust_wq_counts);
}

void rust_wq_counts_free(void *p)
{
	free_percpu((struct rust_wq_counts __percpu __force *)p);
}

void rust_wq_count_started(void *p)
{
	/*
	 * The queueing that follows starts with a fully ordered atomic (test_and_set_bit() of the
	 * PENDING bit, or the timer's grab), so this count is visible before the item is queued.
	 */
	this_cpu_inc(((struct rust_wq_counts __percpu __force *)p)->started);
}

void rust_wq_count_finished(void *p)
{
	/* The enqueue's queueing is visible before its end is. */
	smp_wmb();
	this_cpu_inc(((struct rust_wq_counts __percpu __force *)p)->finished);
}

unsigned long rust_wq_counts_sum(void *p, bool finished)
{
	struct rust_wq_counts __percpu *c = (struct rust_wq_counts __percpu __force *)p;
	unsigned long sum = 0;
	int cpu;

	for_each_possible_cpu(cpu)
		sum += finished ? READ_ONCE(per_cpu_ptr(c, cpu)->finished) :
				  READ_ONCE(per_cpu_ptr(c, cpu)->started);
	smp_rmb();
	return sum;
}

/*
 * The arm lock of a delayed item: bit 31 of a word whose other bits hold the state it protects
 * (see arm_lock.rs). Taken with interrupts off: items are armed from hard interrupts too. It
 * spins with interrupts off, like a raw spinlock, and says so to lockdep (LD_WAIT_SPIN), so that
 * lockdep checks its ordering against the trackers' lock, its interrupt safety and that nothing
 * that may sleep on PREEMPT_RT is taken inside it. One lockdep class covers every item's lock;
 * no path holds two items' arm locks at once.
 */
#define RUST_WQ_ARM_LOCKED (1U << 31)

#ifdef CONFIG_DEBUG_LOCK_ALLOC
static struct lock_class_key rust_wq_arm_key;
static struct lockdep_map rust_wq_arm_map = {
	.name = "rust_wq::DelayedWork::arm",
	.key = &rust_wq_arm_key,
	.wait_type_inner = LD_WAIT_SPIN,
};
#endif

unsigned long rust_wq_arm_lock(atomic_t *word, unsigned int *state);
void rust_wq_arm_unlock(atomic_t *word, unsigned int state, unsigned long flags);

unsigned long rust_wq_arm_lock(atomic_t *word, unsigned int *state)
{
	unsigned long flags;
	int cur;

	local_irq_save(flags);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	spin_acquire(&rust_wq_arm_map, 0, 0, _RET_IP_);
#endif
	cur = atomic_read(word);
	for (;;) {
		if (!(cur & RUST_WQ_ARM_LOCKED) &&
		    atomic_try_cmpxchg_acquire(word, &cur, cur | RUST_WQ_ARM_LOCKED))
			break;
		cpu_relax();
		cur = atomic_read(word);
	}
	*state = cur;
	return flags;
}

void rust_wq_arm_unlock(atomic_t *word, unsigned int state, unsigned long flags)
{
	atomic_set_release(word, state & ~RUST_WQ_ARM_LOCKED);
#ifdef CONFIG_DEBUG_LOCK_ALLOC
	spin_release(&rust_wq_arm_map, _RET_IP_);
#endif
	local_irq_restore(flags);
}

/*
 * The lock of all trackers of this module (tracker.rs): raw, because it nests inside the arm
 * lock, and defined statically, so it needs no initialisation before the module's registry
 * opens.
 */
static DEFINE_RAW_SPINLOCK(rust_wq_trackers_lock);

unsigned long rust_wq_trackers_lock_irqsave(void);
void rust_wq_trackers_unlock_irqrestore(unsigned long flags);

unsigned long rust_wq_trackers_lock_irqsave(void)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&rust_wq_trackers_lock, flags);
	return flags;
}

void rust_wq_trackers_unlock_irqrestore(unsigned long flags)
{
	raw_spin_unlock_irqrestore(&rust_wq_trackers_lock, flags);
}

bool rust_wq_pci_msi_enabled(void *pdev);

/* Whether the device has MSI or MSI-X enabled (`pci_dev_msi_enabled` is inline). */
bool rust_wq_pci_msi_enabled(void *pdev)
{
	return pci_dev_msi_enabled(pdev);
}

/* NUMA nodes as queue_work_node() sees them (macros without NUMA). */
bool rust_wq_node_online(int node);
unsigned int rust_wq_nr_node_ids(void);
int rust_wq_cpu_to_node(int cpu);

bool rust_wq_node_online(int node)
{
	return node_online(node);
}

unsigned int rust_wq_nr_node_ids(void)
{
	return nr_node_ids;
}

/* The node of a possible CPU, -1 for any other id (no per-CPU data of its own). */
int rust_wq_cpu_to_node(int cpu)
{
	if (cpu < 0 || cpu >= nr_cpu_ids || !cpu_possible(cpu))
		return -1;
	return cpu_to_node(cpu);
}

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

struct workqueue_struct *rust_wq_alloc_workqueue(const char *name, unsigned int flags,
						 int max_active, void **lockdep, int *err);
void rust_wq_destroy_workqueue(struct workqueue_struct *wq, void *lockdep);

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

/*
 * Items built on the stack (stack_pin_init!): the object debugger wants their work_struct and
 * timer initialised as INIT_WORK_ONSTACK() / timer_init_key_on_stack() do, and destroyed with
 * destroy_*_on_stack() before the frame goes. Only kernels with the object debugger ask.
 */
bool rust_wq_on_stack(const void *p);
void rust_wq_timer_init(struct timer_list *timer, unsigned int flags, const char *name,
			struct lock_class_key *key);
void rust_wq_work_destroy(struct work_struct *work);
void rust_wq_delayed_destroy(struct delayed_work *dwork);

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
