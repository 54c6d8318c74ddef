// SPDX-License-Identifier: GPL-2.0

//! Operations on a work item: pending state, cancel, flush, disable.
//!
//! Cancelling a pending item takes back the reference that was handed to the queue and returns
//! it, so nothing leaks. Waiting for an item from inside its own `run` would hang forever; those
//! calls return `EDEADLK` instead. Waiting from a context that cannot sleep (a BH item, an
//! interrupt handler, under a spinlock) returns `EAGAIN` (`EWOULDBLOCK`).
//!
//! RCU items ([`RcuWorkOps`]) can only be flushed: see [`rcu_work`](crate::rust_wq::item::rcu_work)
//! for why they cannot be cancelled or disabled.

use crate::rust_wq::{
    cpu,
    internal::reclaim,
    DelayedWork,
    HasDelayedWork,
    HasRcuWork,
    HasWork,
    RcuWork,
    Work,
    WorkItem,
    WorkItemPointer, //
};
use kernel::{
    bindings,
    prelude::*, //
};

/// Returns whether the current task is a kworker running the item at `work`.
#[inline]
fn is_current(work: *mut bindings::work_struct) -> bool {
    // SAFETY: `current_work` may be called from any context.
    core::ptr::eq(unsafe { bindings::current_work() }, work)
}

/// Checks that the caller may wait for the item at `work`: `EAGAIN` if it cannot sleep (a BH
/// item's `run` included: `current_work()` is NULL there), `EDEADLK` if it is the item's own
/// `run`.
#[inline]
fn may_wait_for(work: *mut bindings::work_struct) -> Result<cpu::Context> {
    let ctx = cpu::context();
    if !ctx.may_sleep() {
        return Err(EAGAIN);
    }
    if ctx.is_worker() && is_current(work) {
        return Err(EDEADLK);
    }
    Ok(ctx)
}

#[inline]
fn busy(work: *mut bindings::work_struct) -> u32 {
    // SAFETY: `work` is an initialised work item (callers hold a reference to its container).
    unsafe { bindings::work_busy(work) }
}

/// Takes back the queue's reference to `item` if the C call said it was pending.
///
/// # Safety
///
/// `was_pending` must be the answer of a cancel or disable call that removed a pending instance
/// of `item`: the queue's reference, from [`WorkItemPointer::into_raw`], is then ours.
unsafe fn reclaim<P: WorkItemPointer>(was_pending: bool, item: &P::Target) -> Option<P> {
    // SAFETY: See above; `item` is the pointer that `into_raw` returned.
    was_pending.then(|| unsafe { P::from_raw(core::ptr::from_ref(item).cast_mut()) })
}

const BUSY_PENDING: u32 = bindings::wq_misc_consts_WORK_BUSY_PENDING;
const BUSY_RUNNING: u32 = bindings::wq_misc_consts_WORK_BUSY_RUNNING;

/// Operations on a work item with a [`Work<Self, ID>`] field; implemented for every such item.
pub(in crate::rust_wq) trait WorkOps<const ID: u64 = 0>:
    WorkItem<ID> + HasWork<Self, ID> + Sized
{
    /// The `work_struct` of this item.
    fn raw_work(&self) -> *mut bindings::work_struct {
        let this = core::ptr::from_ref(self).cast_mut();
        // SAFETY: `this` comes from a reference, so it is aligned and valid.
        unsafe { Work::raw_get(Self::raw_get_work(this)) }
    }

    /// Whether the item is queued and has not started running (advisory).
    fn is_pending(&self) -> bool {
        self.work().is_pending()
    }

    /// Whether the item is running on some worker (advisory).
    fn is_running(&self) -> bool {
        busy(self.raw_work()) & BUSY_RUNNING != 0
    }

    /// Whether the caller is the worker running this very item.
    fn is_current(&self) -> bool {
        is_current(self.raw_work())
    }

    /// Removes the item from its queue if it is pending; it may still be running.
    ///
    /// Returns the queue's reference if the item was pending, `None` if it was idle.
    /// May be called from any context.
    fn cancel(&self) -> Option<Self::Pointer> {
        // SAFETY: The item is initialised; `cancel_work` may be called from any context.
        let was_pending = unsafe { bindings::cancel_work(self.raw_work()) };
        // SAFETY: `was_pending` is the answer of that call for `self`.
        unsafe { reclaim(was_pending, self) }
    }

    /// Cancels the item and waits until it is not running anywhere.
    ///
    /// Returns the queue's reference if the item was pending. While it waits, enqueueing the
    /// item fails with `EBUSY`.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: the item's disables in effect and `cancel_sync`s in progress number
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) already.
    fn cancel_sync(&self) -> Result<Option<Self::Pointer>> {
        may_wait_for(self.raw_work())?;
        // C disables the item while it waits: counted like a disable, so C's count stays below
        // its limit (`EOVERFLOW` once `MAX_DISABLE` disables and cancels are under way).
        let work = self.work();
        work.start_disable()?;
        // SAFETY: The item is initialised; we may sleep and are not the worker running it.
        let was_pending = unsafe { bindings::cancel_work_sync(self.raw_work()) };
        work.end_transient_disable();
        // SAFETY: `was_pending` is the answer of that call for `self`.
        Ok(unsafe { reclaim(was_pending, self) })
    }

    /// Waits until the last queueing of the item has finished running.
    ///
    /// Returns `Ok(false)` if it was idle.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EDEADLK`: the caller is in memory reclaim, or runs an item of a `WQ_MEM_RECLAIM` queue
    ///   (not a legacy one, as from `create_workqueue`), and the item was ever on a queue
    ///   without `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
    fn flush(&self) -> Result<bool> {
        let ctx = may_wait_for(self.raw_work())?;
        reclaim::may_flush_item(ctx, &self.work().seen)?;
        // SAFETY: The item is initialised; we may sleep and are not the worker running it.
        Ok(unsafe { bindings::flush_work(self.raw_work()) })
    }

    /// Disables the item: further enqueues fail with `EBUSY` until [`WorkOps::enable`].
    ///
    /// Cancels a pending instance and returns its reference. Disabling nests, up to
    /// [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) deep. Any context.
    ///
    /// # Errors
    ///
    /// - `EOVERFLOW`: the item's disables in effect and `cancel_sync`s in progress number
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) already.
    fn disable(&self) -> Result<Option<Self::Pointer>> {
        let work = self.work();
        work.start_disable()?;
        // SAFETY: The item is initialised; `disable_work` may be called from any context. C's
        // count stays below its limit (`start_disable`).
        let was_pending = unsafe { bindings::disable_work(self.raw_work()) };
        work.finish_disable();
        // SAFETY: `was_pending` is the answer of that call for `self`.
        Ok(unsafe { reclaim(was_pending, self) })
    }

    /// Like [`WorkOps::disable`], and also waits for a running instance.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: the item's disables in effect and `cancel_sync`s in progress number
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) already.
    fn disable_sync(&self) -> Result<Option<Self::Pointer>> {
        may_wait_for(self.raw_work())?;
        let work = self.work();
        work.start_disable()?;
        // SAFETY: The item is initialised; we may sleep and are not the worker running it.
        let was_pending = unsafe { bindings::disable_work_sync(self.raw_work()) };
        work.finish_disable();
        // SAFETY: `was_pending` is the answer of that call for `self`.
        Ok(unsafe { reclaim(was_pending, self) })
    }

    /// Undoes one finished [`WorkOps::disable`]. Returns `true` when the item can be queued
    /// again; an enable with no disable to undo does nothing and returns `false`. Any context.
    fn enable(&self) -> bool {
        self.work().enable()
    }

    /// The [`Work`] of this item.
    fn work(&self) -> &Work<Self, ID> {
        let this = core::ptr::from_ref(self).cast_mut();
        // SAFETY: `this` comes from a reference; the field lives as long as `self`.
        unsafe { &*Self::raw_get_work(this) }
    }
}

impl<T, const ID: u64> WorkOps<ID> for T where T: WorkItem<ID> + HasWork<T, ID> {}

/// Operations on a work item with a [`DelayedWork<Self, ID>`] field; implemented for every such
/// item.
pub(in crate::rust_wq) trait DelayedWorkOps<const ID: u64 = 0>:
    WorkItem<ID> + HasDelayedWork<Self, ID> + Sized
{
    /// The `delayed_work` of this item.
    fn raw_delayed_work(&self) -> *mut bindings::delayed_work {
        self.delayed_work().as_raw()
    }

    /// The `work_struct` inside the `delayed_work`.
    fn raw_dwork_work(&self) -> *mut bindings::work_struct {
        // SAFETY: The `delayed_work` is valid while `self` is.
        unsafe { core::ptr::addr_of_mut!((*self.raw_delayed_work()).work) }
    }

    /// Whether the timer is armed or the item is queued (advisory).
    fn is_pending(&self) -> bool {
        busy(self.raw_dwork_work()) & BUSY_PENDING != 0
    }

    /// Whether the item is running on some worker (advisory).
    fn is_running(&self) -> bool {
        busy(self.raw_dwork_work()) & BUSY_RUNNING != 0
    }

    /// Whether the caller is the worker running this very item.
    fn is_current(&self) -> bool {
        is_current(self.raw_dwork_work())
    }

    /// Disarms the timer or dequeues the item. Returns the queue's reference if it was pending.
    /// May be called from any context.
    fn cancel(&self) -> Option<Self::Pointer> {
        // SAFETY: The item is initialised; any context is fine.
        let was_pending = unsafe { bindings::cancel_delayed_work(self.raw_delayed_work()) };
        // SAFETY: `was_pending` is the answer of that call for `self`.
        unsafe { reclaim(was_pending, self) }
    }

    /// Cancels and waits for a running instance. While it waits, arming the item fails with
    /// `EBUSY`. Sleeps.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) `cancel_sync`s of the item
    ///   are under way already.
    fn cancel_sync(&self) -> Result<Option<Self::Pointer>> {
        may_wait_for(self.raw_dwork_work())?;
        let was_pending = self.delayed_work().cancel_sync()?;
        // SAFETY: `was_pending` is the answer of `cancel_delayed_work_sync` for `self`.
        Ok(unsafe { reclaim(was_pending, self) })
    }

    /// Disables the item: arming it fails with `EBUSY` until [`DelayedWorkOps::enable`]. Cancels
    /// an armed timer or queued instance and returns its reference. Nests up to
    /// [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) deep. Any context.
    ///
    /// # Errors
    ///
    /// - `EOVERFLOW`: the item is disabled [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) times
    ///   already.
    fn disable(&self) -> Result<Option<Self::Pointer>> {
        let was_pending = self.delayed_work().disable(false)?;
        // SAFETY: `was_pending` is the answer of `cancel_delayed_work` for `self`.
        Ok(unsafe { reclaim(was_pending, self) })
    }

    /// Like [`DelayedWorkOps::disable`], and also waits for a running instance. Sleeps.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: the item is disabled, or has `cancel_sync`s under way,
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) times already.
    fn disable_sync(&self) -> Result<Option<Self::Pointer>> {
        may_wait_for(self.raw_dwork_work())?;
        let was_pending = self.delayed_work().disable(true)?;
        // SAFETY: `was_pending` is the answer of `cancel_delayed_work_sync` for `self`.
        Ok(unsafe { reclaim(was_pending, self) })
    }

    /// Undoes one disable; returns `true` when the item can be armed again. Unbalanced enables
    /// do nothing and return `false`.
    fn enable(&self) -> bool {
        self.delayed_work().enable()
    }

    /// The [`DelayedWork`] of this item.
    fn delayed_work(&self) -> &DelayedWork<Self, ID> {
        let this = core::ptr::from_ref(self).cast_mut();
        // SAFETY: `this` comes from a reference; the field lives as long as `self`.
        unsafe { &*Self::raw_get_delayed_work(this) }
    }

    /// Fires an armed timer now and waits for the item to finish. Returns `Ok(false)` if it was
    /// idle.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EDEADLK`: the caller is in memory reclaim, or runs an item of a `WQ_MEM_RECLAIM` queue
    ///   (not a legacy one, as from `create_workqueue`), and the item was ever on a queue
    ///   without `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
    fn flush(&self) -> Result<bool> {
        let ctx = may_wait_for(self.raw_dwork_work())?;
        reclaim::may_flush_item(ctx, &self.delayed_work().seen)?;
        self.delayed_work().fire_now();
        // SAFETY: The item is initialised; we may sleep and are not the worker running it.
        Ok(unsafe { bindings::flush_work(self.raw_dwork_work()) })
    }
}

impl<T, const ID: u64> DelayedWorkOps<ID> for T where T: WorkItem<ID> + HasDelayedWork<T, ID> {}

/// Operations on a work item with an [`RcuWork<Self, ID>`] field; implemented for every such
/// item.
///
/// There is no cancel and no disable: during its grace period the item is pending but on no
/// queue, and C's cancel spins until the RCU callback has queued it (see
/// [`rcu_work`](crate::rust_wq::item::rcu_work)).
pub(in crate::rust_wq) trait RcuWorkOps<const ID: u64 = 0>:
    WorkItem<ID> + HasRcuWork<Self, ID> + Sized
{
    /// The `rcu_work` of this item.
    fn raw_rcu_work(&self) -> *mut bindings::rcu_work {
        self.rcu_work().as_raw()
    }

    /// Whether the item waits for its grace period, or is queued and has not started running
    /// (advisory).
    fn is_pending(&self) -> bool {
        self.rcu_work().is_pending()
    }

    /// Whether the item is running on some worker (advisory).
    fn is_running(&self) -> bool {
        busy(self.rcu_work().raw_work()) & BUSY_RUNNING != 0
    }

    /// Whether the caller is the worker running this very item.
    fn is_current(&self) -> bool {
        is_current(self.rcu_work().raw_work())
    }

    /// Waits until the last queueing of the item has finished running, grace period included
    /// (C's `flush_rcu_work`: `rcu_barrier()` if it is pending, then `flush_work`).
    ///
    /// Returns `Ok(false)` if it was idle.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock: the grace period would wait for
    ///   the caller).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EDEADLK`: the caller is in memory reclaim, or runs an item of a `WQ_MEM_RECLAIM` queue
    ///   (not a legacy one, as from `create_workqueue`), and the item was ever on a queue
    ///   without `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
    fn flush(&self) -> Result<bool> {
        let rw = self.rcu_work();
        let ctx = may_wait_for(rw.raw_work())?;
        reclaim::may_flush_item(ctx, &rw.seen)?;
        // SAFETY: The item is initialised and never disabled; we may sleep (so we are outside
        // any RCU read-side critical section, which `rcu_barrier()` would wait for), and are
        // not the worker running it.
        Ok(unsafe { bindings::flush_rcu_work(rw.as_raw()) })
    }

    /// The [`RcuWork`] of this item.
    fn rcu_work(&self) -> &RcuWork<Self, ID> {
        let this = core::ptr::from_ref(self).cast_mut();
        // SAFETY: `this` comes from a reference; the field lives as long as `self`.
        unsafe { &*Self::raw_get_rcu_work(this) }
    }
}

impl<T, const ID: u64> RcuWorkOps<ID> for T where T: WorkItem<ID> + HasRcuWork<T, ID> {}
