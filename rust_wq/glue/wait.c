// SPDX-License-Identifier: GPL-2.0
/*
 * Waits for one item with the checks that make them refuse rather than hang, in the glue call
 * that waits (rust_wq/item/handle.rs, WorkRef::flush, WorkRef::cancel_sync and
 * DelayedWorkRef::cancel_sync, say which checks, in which order, and why).
 */

#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/irqflags.h>
#include <linux/sched.h>
#include <linux/workqueue.h>

#include "glue.h"

/*
 * The checks every wait for `work` makes first, as may_wait_for() in handle.rs: -EAGAIN if the
 * caller may not sleep, -EDEADLK if it is the kworker running `work`; 0 otherwise.
 */
static __always_inline int rust_wq_may_wait_for(struct work_struct *work)
{
	if (!rust_wq_may_sleep())
		return -EAGAIN;
	if ((current->flags & PF_WQ_WORKER) && current_work() == work)
		return -EDEADLK;
	return 0;
}

int rust_wq_flush_work_checked(struct work_struct *work)
{
	int ret = rust_wq_may_wait_for(work);

	if (ret)
		return ret;
	/*
	 * In memory reclaim, or a kworker (which may run an item of a strict WQ_MEM_RECLAIM queue):
	 * the flush dependencies of reclaim are checked in Rust (reclaim.rs), from the caller's
	 * context given back, which then flushes.
	 */
	if (current->flags & (PF_MEMALLOC | PF_WQ_WORKER))
		return RUST_WQ_WAIT_ASK | rust_wq_context();
	return flush_work(work);
}

int rust_wq_cancel_work_sync_counted(struct work_struct *work, atomic_t *disables,
				     unsigned int unit, unsigned int limit)
{
	int ret = rust_wq_may_wait_for(work);
	int cur;

	if (ret)
		return ret;
	/* As Work::start_disable (work.rs): counted as a disable started, unless at the limit. */
	cur = atomic_read(disables);
	do {
		if ((unsigned int)cur >= limit)
			return -EOVERFLOW;
	} while (!atomic_try_cmpxchg_relaxed(disables, &cur, cur + unit));
	ret = cancel_work_sync(work);
	/* C undid its transient disable inside cancel_work_sync(): the count may go down. */
	atomic_sub(unit, disables);
	return ret;
}

/*
 * The arm state word of a delayed item (arm_lock.c, and rust_wq/internal/arm_lock.rs for its
 * layout, which the caller gives: the count of cancels in progress is the bits of mask, in units
 * of unit) counts this cancel under the arm lock while C waits, so that arming is refused while C
 * keeps the item disabled; -EOVERFLOW if the count is at limit already, nothing done. Uses the
 * arm lock's helpers of arm_lock.c, compiled before this file (glue.c).
 */
int rust_wq_delayed_cancel_sync_counted(struct delayed_work *dwork, atomic_t *word,
					unsigned int unit, unsigned int mask, unsigned int limit)
{
	int ret = rust_wq_may_wait_for(&dwork->work);
	unsigned long flags;
	unsigned int cur;

	if (ret)
		return ret;
	local_irq_save(flags);
	cur = rust_wq_arm_take(word, _RET_IP_);
	if ((cur & mask) >= limit) {
		rust_wq_arm_give(word, cur, flags, _RET_IP_);
		return -EOVERFLOW;
	}
	rust_wq_arm_give(word, cur + unit, flags, _RET_IP_);
	ret = cancel_delayed_work_sync(dwork);
	local_irq_save(flags);
	cur = rust_wq_arm_take(word, _RET_IP_);
	rust_wq_arm_give(word, cur - unit, flags, _RET_IP_);
	return ret;
}
