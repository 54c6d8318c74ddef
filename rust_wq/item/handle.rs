// SPDX-License-Identifier: GPL-2.0

//! Handles: what C does to the `work_struct`, `delayed_work` or `rcu_work` inside an item, as
//! methods of a borrowed handle rather than of the item's type.
//!
//! `Work::of(&*hub)` names the work item of `hub`, so `Work::of(&*hub).disable()` disables that
//! work item, where a method of `hub` itself would read as disabling the hub. The handle
//! borrows the item, so the item outlives every call; it is `Copy`, and its methods take it by
//! value; the `ID` picks one of several work fields
//! (`Work::<_, 1>::of(&x)`), as `HasWork<T, ID>` does. Handles are the one public way to act on
//! an item's work field; the operations behind them are private.
//!
//! # Examples
//!
//! ```
//! # use crate::rust_wq::{impl_has_delayed_work, impl_has_work, new_delayed_work, new_work};
//! # use crate::rust_wq::{OwnedQueue, WorkItem};
//! # use kernel::{sync::Arc, time::Delta};
//! # #[pin_data]
//! # struct Job {
//! #     #[pin]
//! #     work: Work<Job>,
//! # }
//! # impl_has_work! { impl HasWork<Self> for Job { self.work } }
//! # impl WorkItem for Job {
//! #     type Pointer = Arc<Job>;
//! #     fn run(_this: Arc<Job>) {}
//! # }
//! # #[pin_data]
//! # struct Tick {
//! #     #[pin]
//! #     dwork: DelayedWork<Tick>,
//! # }
//! # impl_has_delayed_work! { impl HasDelayedWork<Self> for Tick { self.dwork } }
//! # impl WorkItem for Tick {
//! #     type Pointer = Arc<Tick>;
//! #     fn run(_this: Arc<Tick>) {}
//! # }
//! # let q = OwnedQueue::ordered().build(c"handles")?;
//! # let job = Arc::pin_init(pin_init!(Job { work <- new_work!("Job::work") }), GFP_KERNEL)?;
//! # let tick = pin_init!(Tick { dwork <- new_delayed_work!("Tick::dwork") });
//! # let tick = Arc::pin_init(tick, GFP_KERNEL)?;
//! # q.enqueue(job.clone())?;
//! # q.enqueue_delayed(tick.clone(), Delta::from_millis(60_000))?;
//! use crate::rust_wq::{DelayedWork, Work};
//!
//! if let Some(queued) = Work::of(&*job).cancel() {
//!     drop(queued); // the queue's reference, back
//! }
//! DelayedWork::of(&*tick).disable_sync()?; // disarmed, and not running
//! assert!(!DelayedWork::of(&*tick).is_pending());
//! # Ok::<(), Error>(())
//! ```

use crate::rust_wq::{
    cpu,
    glue::{
        rust_wq_flush_work_checked,
        RUST_WQ_WAIT_ASK, //
    },
    internal::{
        bool_or_errno,
        reclaim, //
    },
    DelayedWork,
    GivenBack,
    HasDelayedWork,
    HasRcuWork,
    HasWork,
    RcuWork,
    Work,
    WorkItem, //
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
/// `run`. A plain item's `cancel_sync` and `flush`, and a delayed item's `cancel_sync`, make the
/// same checks, in the same order, in the glue call that waits (`rust_wq/glue/wait.c`).
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

/// The end of a plain item's flush (`WorkRef::flush`) for a caller that may wait for it (the
/// glue checked) and is in memory reclaim or a kworker, whose context `ctx` is: the reclaim rule
/// ([`reclaim::may_flush_item`]), then `flush_work`.
#[inline(never)]
fn flush_in_reclaim(
    ctx: cpu::Context,
    work: *mut bindings::work_struct,
    seen: &kernel::sync::atomic::Atomic<u32>,
) -> Result<bool> {
    reclaim::may_flush_item(ctx, seen)?;
    // SAFETY: The item is initialised (the caller's); we may sleep and are not the worker running
    // it (the glue checked, and neither changes for the calling task in between).
    Ok(unsafe { bindings::flush_work(work) })
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
unsafe fn reclaim<P: GivenBack>(was_pending: bool, item: &P::Target) -> Option<P> {
    // SAFETY: See above; `item` is the pointer that `into_raw` returned.
    was_pending.then(|| unsafe { P::from_raw(core::ptr::from_ref(item).cast_mut()) })
}

const BUSY_PENDING: u32 = bindings::wq_misc_consts_WORK_BUSY_PENDING;
const BUSY_RUNNING: u32 = bindings::wq_misc_consts_WORK_BUSY_RUNNING;

/// The work item ([`Work`] field) of an item: see the [module documentation](self).
pub struct WorkRef<'a, T, const ID: u64 = 0>(&'a T);

/// The delayed work item ([`DelayedWork`] field) of an item: see the
/// [module documentation](self).
pub struct DelayedWorkRef<'a, T, const ID: u64 = 0>(&'a T);

/// The RCU work item ([`RcuWork`] field) of an item: see the [module documentation](self).
pub struct RcuWorkRef<'a, T, const ID: u64 = 0>(&'a T);

/// A handle is a shared reference, copied as one (for any `T`, which `derive` would require to
/// be `Copy`); its methods take it by value, so a call passes the item's address itself.
macro_rules! impl_copy {
    ($($handle:ident),*) => {$(
        impl<T, const ID: u64> Clone for $handle<'_, T, ID> {
            #[inline]
            fn clone(&self) -> Self {
                *self
            }
        }

        impl<T, const ID: u64> Copy for $handle<'_, T, ID> {}
    )*};
}

impl_copy!(WorkRef, DelayedWorkRef, RcuWorkRef);

impl<T: WorkItem<ID> + HasWork<T, ID>, const ID: u64> Work<T, ID> {
    /// The handle of the `Work<T, ID>` field of `item`.
    #[inline]
    pub fn of(item: &T) -> WorkRef<'_, T, ID> {
        WorkRef(item)
    }
}

impl<T: WorkItem<ID> + HasDelayedWork<T, ID>, const ID: u64> DelayedWork<T, ID> {
    /// The handle of the `DelayedWork<T, ID>` field of `item`.
    #[inline]
    pub fn of(item: &T) -> DelayedWorkRef<'_, T, ID> {
        DelayedWorkRef(item)
    }
}

impl<T: WorkItem<ID> + HasRcuWork<T, ID>, const ID: u64> RcuWork<T, ID> {
    /// The handle of the `RcuWork<T, ID>` field of `item`.
    #[inline]
    pub fn of(item: &T) -> RcuWorkRef<'_, T, ID> {
        RcuWorkRef(item)
    }
}

impl<'a, T: WorkItem<ID> + HasWork<T, ID>, const ID: u64> WorkRef<'a, T, ID> {
    /// The [`Work`] field itself.
    #[inline]
    pub fn work(self) -> &'a Work<T, ID> {
        let this = core::ptr::from_ref(self.0).cast_mut();
        // SAFETY: `this` comes from a reference; the field lives as long as the item, `'a`.
        unsafe { &*T::raw_get_field(this) }
    }

    /// The C `work_struct`, for C code that takes one.
    #[inline]
    pub fn as_raw(self) -> *mut bindings::work_struct {
        let this = core::ptr::from_ref(self.0).cast_mut();
        // SAFETY: `this` comes from a reference, so it is aligned and valid.
        unsafe { Work::raw_get(T::raw_get_field(this)) }
    }

    /// Whether the item is queued and has not started running (advisory).
    #[inline]
    pub fn is_pending(self) -> bool {
        self.work().is_pending()
    }

    /// Whether the item is running on some worker (advisory).
    #[inline]
    pub fn is_running(self) -> bool {
        busy(self.as_raw()) & BUSY_RUNNING != 0
    }

    /// Whether the caller is the worker running this very item.
    #[inline]
    pub fn is_current(self) -> bool {
        is_current(self.as_raw())
    }

    /// Takes the item off its queue if it is pending (C's `cancel_work`); it may still be
    /// running. Returns the queue's reference if it was pending. Any context.
    #[inline]
    pub fn cancel(self) -> Option<T::Pointer>
    where
        T::Pointer: GivenBack,
    {
        // SAFETY: The item is initialised; `cancel_work` may be called from any context.
        let was_pending = unsafe { bindings::cancel_work(self.as_raw()) };
        // SAFETY: `was_pending` is the answer of that call for `self`.
        unsafe { reclaim(was_pending, self.0) }
    }

    /// Cancels and waits for the run of its last queueing (C's `cancel_work_sync`: C runs an
    /// item on one worker at a time within one workqueue, so a run on another workqueue it was
    /// queued on before may still be under way, holding a pointer of its own); while it waits,
    /// enqueueing the item is `EBUSY`. Returns the queue's reference if the item was pending.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: the item's disables in effect and `cancel_sync`s in progress number
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) already.
    #[inline]
    pub fn cancel_sync(self) -> Result<Option<T::Pointer>>
    where
        T::Pointer: GivenBack,
    {
        // The checks of `may_wait_for`, in their order, then `EOVERFLOW`: C disables the item
        // while it waits, counted like a disable, so C's count stays below its limit (once
        // `MAX_DISABLE` disables and cancels are under way). All in the glue call that cancels.
        let was_pending = self.work().cancel_sync_checked()?;
        // SAFETY: `was_pending` is the answer of `cancel_work_sync` for `self`.
        Ok(unsafe { reclaim(was_pending, self.0) })
    }

    /// Waits until the last queueing of the item has run (C's `flush_work`). Returns
    /// `Ok(false)` if it was idle.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EDEADLK`: the caller is in memory reclaim, or runs an item of a `WQ_MEM_RECLAIM` queue
    ///   (not a legacy one, as from `create_workqueue`), and the item was ever on a queue
    ///   without `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
    #[inline]
    pub fn flush(self) -> Result<bool> {
        // The checks of `may_wait_for`, in their order, and `flush_work` in one glue call when
        // the caller is neither in memory reclaim nor a kworker: only those two can be reclaim
        // waiters (`reclaim::in_reclaim`), so the reclaim rule refuses nothing else. For them
        // the glue does nothing more, and the rule is checked here before the flush.
        // SAFETY: The item is initialised; the glue flushes only where the caller may sleep and
        // is not the worker running the item.
        let r = unsafe { rust_wq_flush_work_checked(self.as_raw()) };
        if r >= RUST_WQ_WAIT_ASK as i32 {
            let ctx = cpu::Context::from_glue(r as u32 & !RUST_WQ_WAIT_ASK);
            return flush_in_reclaim(ctx, self.as_raw(), &self.work().seen);
        }
        bool_or_errno(r)
    }

    /// Disables the item (C's `disable_work`): enqueueing it is `EBUSY`
    /// until [`enable`](Self::enable); disables nest. Returns the queue's
    /// reference if the item was pending. Any context.
    ///
    /// # Errors
    ///
    /// - `EOVERFLOW`: the item's disables in effect and `cancel_sync`s in progress number
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) already.
    #[inline]
    pub fn disable(self) -> Result<Option<T::Pointer>>
    where
        T::Pointer: GivenBack,
    {
        let work = self.work();
        work.start_disable()?;
        // SAFETY: The item is initialised; `disable_work` may be called from any context. C's
        // count stays below its limit (`start_disable`).
        let was_pending = unsafe { bindings::disable_work(self.as_raw()) };
        work.finish_disable();
        // SAFETY: `was_pending` is the answer of that call for `self`.
        Ok(unsafe { reclaim(was_pending, self.0) })
    }

    /// Disables the item and waits for a running instance (C's `disable_work_sync`), as
    /// [`disable`](Self::disable).
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: the item's disables in effect and `cancel_sync`s in progress number
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) already.
    #[inline]
    pub fn disable_sync(self) -> Result<Option<T::Pointer>>
    where
        T::Pointer: GivenBack,
    {
        may_wait_for(self.as_raw())?;
        let work = self.work();
        work.start_disable()?;
        // SAFETY: The item is initialised; we may sleep and are not the worker running it.
        let was_pending = unsafe { bindings::disable_work_sync(self.as_raw()) };
        work.finish_disable();
        // SAFETY: `was_pending` is the answer of that call for `self`.
        Ok(unsafe { reclaim(was_pending, self.0) })
    }

    /// Undoes one disable (C's `enable_work`). Returns `true`
    /// when the item can be queued again; with no disable to undo it does nothing and returns
    /// `false`. Any context.
    #[inline]
    pub fn enable(self) -> bool
    where
        T::Pointer: GivenBack,
    {
        self.work().enable()
    }

    /// How deep the item is disabled (advisory).
    #[inline]
    pub fn disable_depth(self) -> u32 {
        self.work().disable_depth()
    }
}

impl<'a, T: WorkItem<ID> + HasDelayedWork<T, ID>, const ID: u64> DelayedWorkRef<'a, T, ID> {
    /// The [`DelayedWork`] field itself.
    #[inline]
    pub fn delayed_work(self) -> &'a DelayedWork<T, ID> {
        let this = core::ptr::from_ref(self.0).cast_mut();
        // SAFETY: `this` comes from a reference; the field lives as long as the item, `'a`.
        unsafe { &*T::raw_get_field(this) }
    }

    /// The `work_struct` inside the `delayed_work`.
    #[inline]
    fn raw_dwork_work(self) -> *mut bindings::work_struct {
        // SAFETY: The `delayed_work` is valid while the item is.
        unsafe { core::ptr::addr_of_mut!((*self.as_raw()).work) }
    }

    /// The C `delayed_work`, for C code that takes one.
    #[inline]
    pub fn as_raw(self) -> *mut bindings::delayed_work {
        self.delayed_work().as_raw()
    }

    /// Whether the timer is armed or the item is queued (advisory).
    #[inline]
    pub fn is_pending(self) -> bool {
        busy(self.raw_dwork_work()) & BUSY_PENDING != 0
    }

    /// Whether the item is running on some worker (advisory).
    #[inline]
    pub fn is_running(self) -> bool {
        busy(self.raw_dwork_work()) & BUSY_RUNNING != 0
    }

    /// Whether the caller is the worker running this very item.
    #[inline]
    pub fn is_current(self) -> bool {
        is_current(self.raw_dwork_work())
    }

    /// Disarms the timer or dequeues the item (C's `cancel_delayed_work`). Returns the
    /// queue's reference if it was pending. Any context.
    #[inline]
    pub fn cancel(self) -> Option<T::Pointer>
    where
        T::Pointer: GivenBack,
    {
        // SAFETY: The item is initialised; any context is fine.
        let was_pending = unsafe { bindings::cancel_delayed_work(self.as_raw()) };
        // SAFETY: `was_pending` is the answer of that call for `self`.
        unsafe { reclaim(was_pending, self.0) }
    }

    /// Cancels and waits for a running instance (C's `cancel_delayed_work_sync`); while it
    /// waits, arming the item is `EBUSY`. Returns the queue's reference if the item was pending.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) `cancel_sync`s of the item
    ///   are under way already.
    #[inline]
    pub fn cancel_sync(self) -> Result<Option<T::Pointer>>
    where
        T::Pointer: GivenBack,
    {
        // The checks of `may_wait_for`, then `EOVERFLOW`, in the glue call that cancels.
        let was_pending = self.delayed_work().cancel_sync()?;
        // SAFETY: `was_pending` is the answer of `cancel_delayed_work_sync` for `self`.
        Ok(unsafe { reclaim(was_pending, self.0) })
    }

    /// Fires an armed timer now and waits for the run (C's `flush_delayed_work`). Returns whether
    /// it waited: `Ok(false)` if the item was idle, or if the run it fired was over before the
    /// wait began (another CPU ran it at once), as in C.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EDEADLK`: the caller is in memory reclaim, or runs an item of a `WQ_MEM_RECLAIM` queue
    ///   (not a legacy one, as from `create_workqueue`), and the item was ever on a queue
    ///   without `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
    #[inline]
    pub fn flush(self) -> Result<bool> {
        let ctx = may_wait_for(self.raw_dwork_work())?;
        reclaim::may_flush_item(ctx, &self.delayed_work().seen)?;
        self.delayed_work().fire_now();
        // SAFETY: The item is initialised; we may sleep and are not the worker running it.
        Ok(unsafe { bindings::flush_work(self.raw_dwork_work()) })
    }

    /// Disables the item (C's `disable_delayed_work`): arming it is
    /// `EBUSY` until [`enable`](Self::enable); disables nest. Any
    /// context.
    ///
    /// # Errors
    ///
    /// - `EOVERFLOW`: the item is disabled [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) times
    ///   already.
    #[inline]
    pub fn disable(self) -> Result<Option<T::Pointer>>
    where
        T::Pointer: GivenBack,
    {
        let was_pending = self.delayed_work().disable(false)?;
        // SAFETY: `was_pending` is the answer of `cancel_delayed_work` for `self`.
        Ok(unsafe { reclaim(was_pending, self.0) })
    }

    /// Disables the item and waits for a running instance (C's `disable_delayed_work_sync`),
    /// as [`disable`](Self::disable).
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item's `run`, under a spinlock
    ///   or an RCU read lock).
    /// - `EDEADLK`: the caller is the item's own `run` (it would wait for itself).
    /// - `EOVERFLOW`: the item is disabled, or has `cancel_sync`s under way,
    ///   [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE) times already.
    #[inline]
    pub fn disable_sync(self) -> Result<Option<T::Pointer>>
    where
        T::Pointer: GivenBack,
    {
        may_wait_for(self.raw_dwork_work())?;
        let was_pending = self.delayed_work().disable(true)?;
        // SAFETY: `was_pending` is the answer of `cancel_delayed_work_sync` for `self`.
        Ok(unsafe { reclaim(was_pending, self.0) })
    }

    /// Undoes one disable (C's `enable_delayed_work`). Returns
    /// `true` when the item can be armed again; with no disable to undo it does nothing and
    /// returns `false`. Any context.
    #[inline]
    pub fn enable(self) -> bool
    where
        T::Pointer: GivenBack,
    {
        self.delayed_work().enable()
    }
}

impl<'a, T: WorkItem<ID> + HasRcuWork<T, ID>, const ID: u64> RcuWorkRef<'a, T, ID> {
    /// The [`RcuWork`] field itself.
    #[inline]
    pub fn rcu_work(self) -> &'a RcuWork<T, ID> {
        let this = core::ptr::from_ref(self.0).cast_mut();
        // SAFETY: `this` comes from a reference; the field lives as long as the item, `'a`.
        unsafe { &*T::raw_get_field(this) }
    }

    /// The C `rcu_work`, for C code that takes one.
    #[inline]
    pub fn as_raw(self) -> *mut bindings::rcu_work {
        self.rcu_work().as_raw()
    }

    /// Whether the item waits for its grace period or is queued (advisory).
    #[inline]
    pub fn is_pending(self) -> bool {
        self.rcu_work().is_pending()
    }

    /// Whether the item is running on some worker (advisory).
    #[inline]
    pub fn is_running(self) -> bool {
        busy(self.rcu_work().raw_work()) & BUSY_RUNNING != 0
    }

    /// Whether the caller is the worker running this very item.
    #[inline]
    pub fn is_current(self) -> bool {
        is_current(self.rcu_work().raw_work())
    }

    /// Waits for the grace period and the run (C's `flush_rcu_work`): `rcu_barrier()`
    /// if it is pending, then `flush_work`. Returns whether the last step waited: `Ok(false)` if
    /// the item was idle, or if its run was over before then, as in C.
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
    #[inline]
    pub fn flush(self) -> Result<bool> {
        let rw = self.rcu_work();
        let ctx = may_wait_for(rw.raw_work())?;
        reclaim::may_flush_item(ctx, &rw.seen)?;
        // SAFETY: The item is initialised and never disabled; we may sleep (so we are outside
        // any RCU read-side critical section, which `rcu_barrier()` would wait for), and are
        // not the worker running it.
        Ok(unsafe { bindings::flush_rcu_work(rw.as_raw()) })
    }
}
