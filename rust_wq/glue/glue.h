/* SPDX-License-Identifier: GPL-2.0 */
/*
 * rust_wq: the C glue's functions, the one declaration of each. The C files of this directory
 * are compiled against it, and bindgen generates the Rust declarations from it (see glue.mk and
 * rust_wq/glue.rs), so the two sides cannot disagree on a signature.
 *
 * What is here: what the kernel offers only as macros or inline functions (context checks, NUMA
 * masks, per-CPU operations), state that must be defined in C (a static raw spinlock, lockdep
 * maps) and sequences that need either.
 */
#ifndef RUST_WQ_GLUE_H
#define RUST_WQ_GLUE_H

#include <linux/types.h>

struct delayed_work;
struct lock_class_key;
struct pci_dev;
struct timer_list;
struct work_struct;
struct workqueue_struct;

/* context.c: the caller's context. */
bool rust_wq_in_hardirq(void);
bool rust_wq_in_task(void);
bool rust_wq_preemptible(void);
bool rust_wq_may_sleep(void);
unsigned int rust_wq_context(void);

/* queue.c: owned queues, with a lockdep map that outlives them. */
struct workqueue_struct *rust_wq_alloc_workqueue(const char *name, unsigned int flags,
						 int max_active, void **lockdep, int *err);
void rust_wq_destroy_workqueue(struct workqueue_struct *wq, void *lockdep);

/* sysfs.c: whether a sysfs workqueue name is taken (for queue.c). */
bool rust_wq_sysfs_name_taken(const char *name);

/* counters.c: the per-CPU counters of an owned queue's enqueues. */
void *rust_wq_counts_alloc(void);
void rust_wq_counts_free(void *p);
void rust_wq_count_started(void *p);
void rust_wq_count_finished(void *p);
unsigned long rust_wq_counts_sum(void *p, bool finished);

/* enqueue.c: the plain enqueue, gated, counted and queued with interrupts off. */
int rust_wq_queue_work_gated(void *const *gate, void *const *counts, int cpu,
			     struct workqueue_struct *wq,
			     struct work_struct *work);
int rust_wq_queue_work_on_gated(void *const *gate, void *const *counts, int cpu,
				struct workqueue_struct *wq, struct work_struct *work);

/* arm_lock.c: the bit lock of a delayed item's arm state, also taken inside the unload gate. */
unsigned long rust_wq_arm_lock(atomic_t *word, unsigned int *state);
void *rust_wq_arm_lock_gated(atomic_t *word, unsigned int *state, unsigned long *flags,
			     void *const *gate, void *const *counts, void **counted);
void rust_wq_arm_unlock(atomic_t *word, unsigned int state, unsigned long flags, void *counts);

/* trackers.c: the lock of the module's trackers of delayed items. */
unsigned long rust_wq_trackers_lock_irqsave(void);
void rust_wq_trackers_unlock_irqrestore(unsigned long flags);

/*
 * wait.c: waits for one item with their checks (-EAGAIN, -EDEADLK, -EOVERFLOW). flush:
 * RUST_WQ_WAIT_ASK | rust_wq_context() (whose bits are below it) means nothing done, the caller
 * is in memory reclaim or a kworker.
 */
#define RUST_WQ_WAIT_ASK 8
int rust_wq_flush_work_checked(struct work_struct *work);
int rust_wq_cancel_work_sync_counted(struct work_struct *work, atomic_t *disables,
				     unsigned int unit, unsigned int limit);
int rust_wq_delayed_cancel_sync_counted(struct delayed_work *dwork, atomic_t *word,
					unsigned int unit, unsigned int mask, unsigned int limit);

/* pci.c: PCI interrupts. */
bool rust_wq_pci_msi_enabled(struct pci_dev *pdev);

/* numa.c: NUMA nodes as queue_work_node() sees them. */
bool rust_wq_node_online(int node);
unsigned int rust_wq_nr_node_ids(void);
int rust_wq_cpu_to_node(int cpu);

/* onstack.c: items on the stack, for the object debugger. */
bool rust_wq_on_stack(const void *p);
void rust_wq_timer_init(struct timer_list *timer, unsigned int flags, const char *name,
			struct lock_class_key *key);
void rust_wq_work_destroy(struct work_struct *work);
void rust_wq_delayed_destroy(struct delayed_work *dwork);

#endif /* RUST_WQ_GLUE_H */
