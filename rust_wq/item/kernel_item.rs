// SPDX-License-Identifier: GPL-2.0

//! Interoperability with the in-tree `kernel::workqueue` of 7.3, so that a driver can adopt
//! rust_wq one item at a time.
//!
//! - An item written for `kernel::workqueue` (its `Work`, `WorkItem` and `HasWork`, behind an
//!   `Arc`, a `Pin<KBox>` or an `ARef`) goes on an [`OwnedQueue`](crate::rust_wq::OwnedQueue) or a
//!   system [`Queue`] of rust_wq with `enqueue_kernel_item`, through the
//!   same module gate as rust_wq's own items: nothing queued this way runs after the module's
//!   unload (see [`Drained`]). rust_wq points the item's `work_struct` at a function of its own
//!   (`run_kernel`), which runs the in-tree `run` and counts the runs; the item keeps it when
//!   `kernel::workqueue` requeues it. So a requeue that passes no gate (the item's own `run`
//!   queueing itself through `kernel::workqueue`, say) is still seen: once the module's unload
//!   began, each such item runs its own code at most once more, is dropped unrun if it is queued
//!   again, and the unload flushes every system queue (the deprecated `system_wq` and
//!   `system_unbound_wq` included) until a whole round ran none of them. An in-tree item that never
//!   went through rust_wq has none of this: `kernel::workqueue` of 7.3 does not keep its work from
//!   outliving the module. Nor has the timer of an in-tree item armed with a delay through
//!   `kernel::workqueue` (its `DelayedWork`): rust_wq does not see it, and `kernel::workqueue` of
//!   7.3 cannot cancel it, so the module must not leave one armed when it exits (rule 16 of
//!   docs/soundness.md), with or without rust_wq.
//! - C tells an item that is running on a queue from its function (`find_worker_executing_work`
//!   compares `work->func`): an instance that started with the in-tree function is not seen as
//!   the same item once rust_wq's function is in place, so an item queued through both APIs at
//!   once may run on two workers at the same time, as C allows for one item on two queues.
//!   Memory stays sound: an `Arc` or `ARef` target is `Sync`, and a `Pin<KBox>` has one owner.
//! - A rust_wq item goes on a queue that `kernel::workqueue` hands out through
//!   [`Queue::from_kernel`], which accepts the system queues that rust_wq's unload flushes.
//!
//! What stays out, and why:
//! - in-tree items on BH queues (`EINVAL`): rust_wq keeps lockdep's BH/threaded rule by class (see
//!   [Lockdep classes](crate::rust_wq::error#lockdep-classes)), but it does not see where
//!   `kernel::workqueue` itself queues such an item, so it cannot keep the rule for them.
//!   `kernel::workqueue::system_bh()` queues them there;
//! - in-tree items on queues with `WQ_MEM_RECLAIM` (`EINVAL`): their runs would not be known as
//!   reclaim runners, and a flush from one would be a dependency C warns about (see
//!   [Memory reclaim](crate::rust_wq::error#memory-reclaim)). The legacy queues of
//!   `OwnedQueue::create_workqueue` and friends are accepted: C exempts them;
//! - `kernel::workqueue::system()` and `system_unbound()` (`EINVAL` in [`Queue::from_kernel`]):
//!   deprecated in 7.3 (C prints a warning for work queued there); use
//!   [`system_percpu`](crate::rust_wq::system_percpu) and
//!   [`system_dfl`](crate::rust_wq::system_dfl).
//!
//! Cancel, flush and disable of in-tree items are not offered: `kernel::workqueue` of 7.3 has no
//! such operations to build on; flush or drain the queue instead.
//!
//! # Examples
//!
//! ```
//! use crate::rust_wq::{OwnedQueue, Queue};
//! use kernel::{sync::Arc, workqueue as kw};
//! # use crate::rust_wq::{impl_has_work, new_work, Work, WorkItem};
//! # #[pin_data]
//! # struct Mine {
//! #     #[pin]
//! #     work: Work<Mine>,
//! # }
//! # impl_has_work! { impl HasWork<Self> for Mine { self.work } }
//! # impl WorkItem for Mine {
//! #     type Pointer = Arc<Mine>;
//! #     fn run(_this: Arc<Mine>) {}
//! # }
//! # let mine = pin_init!(Mine { work <- new_work!("Mine::work") });
//! # let my_rust_wq_item = Arc::pin_init(mine, GFP_KERNEL)?;
//!
//! #[pin_data]
//! struct Legacy {
//!     #[pin]
//!     work: kw::Work<Legacy>,
//! }
//! kw::impl_has_work! { impl HasWork<Self> for Legacy { self.work } }
//! impl kw::WorkItem for Legacy {
//!     type Pointer = Arc<Legacy>;
//!     fn run(_this: Arc<Legacy>) {}
//! }
//!
//! let q = OwnedQueue::ordered().build(c"legacy")?;
//! let item = Arc::pin_init(
//!     pin_init!(Legacy { work <- kw::new_work!("Legacy::work") }),
//!     GFP_KERNEL,
//! )?;
//! q.enqueue_kernel_item(item)?;
//! q.drain()?;
//! // And a rust_wq item on a queue that `kernel::workqueue` names:
//! Queue::from_kernel(kw::system_highpri())?.enqueue(my_rust_wq_item)?;
//! # Ok::<(), Error>(())
//! ```
//!
//! [`Drained`]: crate::rust_wq::Drained

use crate::rust_wq::{
    internal::reclaim,
    internal::registry::{
        self,
        Gate, //
    },
    item::work,
    queue::borrowed::WORK_CPU_UNBOUND,
    EnqueueError,
    EnqueueErrorKind,
    Queue, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::aref::{
        ARef,
        AlwaysRefCounted, //
    },
    sync::atomic::{
        Acquire,
        Atomic,
        Full,
        Release, //
    },
    sync::Arc,
    workqueue as kw, //
};

mod private {
    /// Only the pointer kinds of `kernel::workqueue` are [`KernelItem`](super::KernelItem)s.
    pub trait Sealed<const ID: u64> {}
}

/// A pointer that owns an item of the in-tree `kernel::workqueue` (`Arc`, `Pin<KBox>` or `ARef`
/// of a type with a `kernel::workqueue::Work`), which rust_wq queues with `enqueue_kernel_item`.
///
/// Sealed: rust_wq relies on where the pointer's `work_struct` lives.
pub trait KernelItem<const ID: u64>:
    kw::WorkItemPointer<ID> + private::Sealed<ID> + Send + Sized
{
    /// The `work_struct` of the item, valid while `self` lives.
    #[doc(hidden)]
    fn raw_work(&self) -> *mut bindings::work_struct;

    /// Takes back the pointer that the queue owned while the item at `work` was pending.
    ///
    /// # Safety
    ///
    /// `work` is the `work_struct` of an item of this kind that the workqueue code just
    /// dequeued to run it (its function was called with it), and is not used again.
    #[doc(hidden)]
    unsafe fn from_work(work: *mut bindings::work_struct) -> Self;

    /// Queues the item with `queue_work_on`. `Err` gives the item back.
    ///
    /// # Safety
    ///
    /// `queue_work_on` must queue the `work_struct` it is given on a valid queue and return
    /// `true`, or return `false` only if the `work_struct` was pending already (never for a
    /// `Pin<KBox>`, which `kernel::workqueue` then treats as unreachable).
    #[doc(hidden)]
    unsafe fn queue_with(
        self,
        queue_work_on: impl FnOnce(*mut bindings::work_struct) -> bool,
    ) -> Result<(), Self>;
}

impl<T, const ID: u64> private::Sealed<ID> for Arc<T> where
    T: kw::WorkItem<ID, Pointer = Arc<T>> + kw::HasWork<T, ID> + Send + Sync + 'static
{
}

impl<T, const ID: u64> KernelItem<ID> for Arc<T>
where
    T: kw::WorkItem<ID, Pointer = Arc<T>> + kw::HasWork<T, ID> + Send + Sync + 'static,
{
    fn raw_work(&self) -> *mut bindings::work_struct {
        let ptr = Arc::as_ptr(self).cast_mut();
        // SAFETY: `ptr` points at the valid `T` that `self` keeps alive; `raw_get_work` returns
        // its `Work` field, which is aligned and not dangling.
        unsafe { kw::Work::raw_get(T::raw_get_work(ptr)) }
    }

    unsafe fn from_work(work: *mut bindings::work_struct) -> Self {
        // SAFETY: `work` is the `work_struct` of a `kw::Work<T, ID>` in a `T` that
        // `kernel::workqueue` queued after `Arc::into_raw` (the caller's promise): this is the
        // `Arc` it leaked, as its own `run` would take it back.
        unsafe { Arc::from_raw(T::work_container_of(work.cast::<kw::Work<T, ID>>())) }
    }

    unsafe fn queue_with(
        self,
        queue_work_on: impl FnOnce(*mut bindings::work_struct) -> bool,
    ) -> Result<(), Self> {
        // SAFETY: `queue_work_on` returns `false` only if the `work_struct` was queued already
        // (the caller's promise); `T` has no lifetime (`'static`) and is `Send`, so its run on
        // a kworker is allowed.
        unsafe { kw::RawWorkItem::<ID>::__enqueue(self, queue_work_on) }
    }
}

impl<T, const ID: u64> private::Sealed<ID> for Pin<KBox<T>> where
    T: kw::WorkItem<ID, Pointer = Pin<KBox<T>>> + kw::HasWork<T, ID> + Send + 'static
{
}

impl<T, const ID: u64> KernelItem<ID> for Pin<KBox<T>>
where
    T: kw::WorkItem<ID, Pointer = Pin<KBox<T>>> + kw::HasWork<T, ID> + Send + 'static,
{
    fn raw_work(&self) -> *mut bindings::work_struct {
        let ptr: *const T = &**self;
        // SAFETY: `ptr` points at the valid `T` in the box; `raw_get_work` returns its `Work`
        // field, which is aligned and not dangling.
        unsafe { kw::Work::raw_get(T::raw_get_work(ptr.cast_mut())) }
    }

    unsafe fn from_work(work: *mut bindings::work_struct) -> Self {
        // SAFETY: As for `Arc`: `kernel::workqueue` queued the box after `KBox::into_raw`, and
        // the value was pinned before and stays where it is.
        unsafe {
            Pin::new_unchecked(KBox::from_raw(T::work_container_of(
                work.cast::<kw::Work<T, ID>>(),
            )))
        }
    }

    unsafe fn queue_with(
        self,
        queue_work_on: impl FnOnce(*mut bindings::work_struct) -> bool,
    ) -> Result<(), Self> {
        // SAFETY: The box is owned exclusively, so its `work_struct` is on no queue, and
        // `queue_work_on` returns `true` (the caller's promise): `kernel::workqueue` relies on
        // that for boxes. `T` is `'static` and `Send`.
        unsafe { kw::RawWorkItem::<ID>::__enqueue(self, queue_work_on) };
        Ok(())
    }
}

impl<T, const ID: u64> private::Sealed<ID> for ARef<T> where
    T: AlwaysRefCounted
        + kw::WorkItem<ID, Pointer = ARef<T>>
        + kw::HasWork<T, ID>
        + Send
        + Sync
        + 'static
{
}

impl<T, const ID: u64> KernelItem<ID> for ARef<T>
where
    T: AlwaysRefCounted
        + kw::WorkItem<ID, Pointer = ARef<T>>
        + kw::HasWork<T, ID>
        + Send
        + Sync
        + 'static,
{
    fn raw_work(&self) -> *mut bindings::work_struct {
        let ptr: *const T = &**self;
        // SAFETY: `ptr` points at the valid `T` that `self` keeps alive; `raw_get_work` returns
        // its `Work` field, which is aligned and not dangling.
        unsafe { kw::Work::raw_get(T::raw_get_work(ptr.cast_mut())) }
    }

    unsafe fn from_work(work: *mut bindings::work_struct) -> Self {
        // SAFETY: As for `Arc`: `kernel::workqueue` queued the item after `ARef::into_raw`,
        // whose pointer is not null.
        unsafe {
            ARef::from_raw(core::ptr::NonNull::new_unchecked(T::work_container_of(
                work.cast::<kw::Work<T, ID>>(),
            )))
        }
    }

    unsafe fn queue_with(
        self,
        queue_work_on: impl FnOnce(*mut bindings::work_struct) -> bool,
    ) -> Result<(), Self> {
        // SAFETY: As for `Arc`.
        unsafe { kw::RawWorkItem::<ID>::__enqueue(self, queue_work_on) }
    }
}

impl Queue {
    /// The rust_wq view of a queue of `kernel::workqueue`: one of the system queues that
    /// rust_wq's unload flushes (`system_highpri()`, `system_long()`, `system_freezable()`,
    /// `system_power_efficient()`, `system_freezable_power_efficient()`, `system_bh()`,
    /// `system_bh_highpri()`).
    ///
    /// # Errors
    ///
    /// - `EINVAL`: any other queue, the deprecated `system()` and `system_unbound()` included
    ///   (see the [module documentation](self)).
    pub fn from_kernel(queue: &'static kw::Queue) -> Result<&'static Queue> {
        // `kernel::workqueue::Queue` is `#[repr(transparent)]` over the `workqueue_struct`.
        let raw = core::ptr::from_ref(queue)
            .cast::<bindings::workqueue_struct>()
            .cast_mut();
        if !registry::system_queues().contains(&raw) {
            return Err(EINVAL);
        }
        // SAFETY: A system queue: valid forever, never drained, flushed by the module's unload,
        // without `WQ_MEM_RECLAIM`; of the BH ones, `Queue` refuses a CPU's timer itself
        // (`is_system_bh`), which is what `from_raw` asks of a BH queue.
        Ok(unsafe { Queue::from_raw(raw) })
    }

    /// Queues an in-tree item if the module takes work; `bits` are the `reclaim::ON_*` bits of
    /// the queue (`ON_BH` for any BH queue, lockdep or not).
    pub(in crate::rust_wq) fn enqueue_kernel_gated<P: KernelItem<ID>, const ID: u64>(
        &self,
        bits: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        if bits & (reclaim::ON_BH | reclaim::ON_STRICT_RECLAIM) != 0 {
            return Err(EnqueueError::new(EnqueueErrorKind::KernelItemQueue, item));
        }
        let gate = match Gate::enter() {
            Ok(gate) => gate,
            Err(e) => return Err(EnqueueError::new(e, item)),
        };
        // SAFETY: `raw_work` is the initialised `work_struct` of the item we hold.
        if unsafe { work::raw_is_pending(item.raw_work()) } {
            return Err(EnqueueError::new(EnqueueErrorKind::Busy, item));
        }
        let queue = self.as_raw();
        let queue_on = |work: *mut bindings::work_struct| {
            // SAFETY: `work` is the item's initialised `work_struct`, valid during this call.
            unsafe { set_run(work, run_kernel::<P, ID>) };
            // SAFETY: `work` is the item's initialised `work_struct`, whose function runs the
            // in-tree run of its pointer kind; `queue` is `self`, a valid queue that is neither
            // destroyed nor drained while borrowed.
            unsafe { bindings::queue_work_on(WORK_CPU_UNBOUND, queue, work) }
        };
        // SAFETY: `queue_on` queues on a valid queue and returns C's answer: `false` only if
        // the item was pending already (7.3's in-tree items cannot be disabled, the other reason
        // C refuses; a box is never pending, it is owned here).
        let res = unsafe { item.queue_with(queue_on) };
        drop(gate);
        res.map_err(|item| EnqueueError::new(EnqueueErrorKind::Busy, item))
    }
}

/// Runs of in-tree items through [`run_kernel`] begun and ended in this module.
static RUNS_STARTED: Atomic<usize> = Atomic::new(0);
static RUNS_FINISHED: Atomic<usize> = Atomic::new(0);

/// How many runs of in-tree items had begun, and how many had ended (for [`quiet_since`]).
pub(in crate::rust_wq) fn runs() -> (usize, usize) {
    // Finished first: a run counted there was counted as started before.
    let finished = RUNS_FINISHED.load(Acquire);
    (RUNS_STARTED.load(Acquire), finished)
}

/// Whether no run of an in-tree item was under way when [`runs`] said `before`, none began
/// since, and none is running: a run under way at the snapshot may have requeued its item (on
/// its own queue, behind itself) and returned during the round, so its round is not quiet.
pub(in crate::rust_wq) fn quiet_since(before: (usize, usize)) -> bool {
    let (started, finished) = runs();
    before.0 == before.1 && started == before.0 && finished == started
}

/// Points the function of `work` at `f` (C's `work->func`), with a single-word store: the
/// workqueue code may read it at the same time with a plain load, and gets the old or the new
/// function, either of which runs the item correctly (see the module documentation for what
/// the change means to C's check for a running instance).
///
/// # Safety
///
/// `work` is the valid `work_struct` of a [`KernelItem`] that `f` was made for.
unsafe fn set_run(
    work: *mut bindings::work_struct,
    f: unsafe extern "C" fn(*mut bindings::work_struct),
) {
    // SAFETY: `work` is valid (the caller's promise); a volatile store of one aligned word, as
    // C's `WRITE_ONCE`.
    unsafe { core::ptr::write_volatile(core::ptr::addr_of_mut!((*work).func), Some(f)) };
}

/// The function of an in-tree item that rust_wq queued: its in-tree `run`, counted for the
/// module's unload. The first run that starts after the unload began points the item at
/// [`drop_kernel`] first, so that a requeue from that run (or any later one) drops the item
/// unrun: the item's own code runs at most once after the close, and the unload's rounds end.
///
/// # Safety
///
/// Called by the workqueue code only, for a `work_struct` of a `P` queued through
/// `kernel::workqueue`'s `__enqueue` (by rust_wq or by the in-tree API).
unsafe extern "C" fn run_kernel<P: KernelItem<ID>, const ID: u64>(
    work: *mut bindings::work_struct,
) {
    RUNS_STARTED.fetch_add(1, Full);
    if registry::closing() {
        // SAFETY: `work` is being run, so it is valid; `drop_kernel::<P, ID>` is made for it.
        unsafe { set_run(work, drop_kernel::<P, ID>) };
    }
    // SAFETY: `work` was queued by `__enqueue` of `P` (the caller's promise): its in-tree run
    // takes the pointer back.
    unsafe { <P as kw::WorkItemPointer<ID>>::run(work) };
    RUNS_FINISHED.fetch_add(1, Release);
}

/// The function of an in-tree item queued again after its last run (see [`run_kernel`]): drops
/// the queue's pointer without running the item.
///
/// # Safety
///
/// As for [`run_kernel`].
unsafe extern "C" fn drop_kernel<P: KernelItem<ID>, const ID: u64>(
    work: *mut bindings::work_struct,
) {
    RUNS_STARTED.fetch_add(1, Full);
    // SAFETY: The workqueue code dequeued `work` to run it: the pointer the queue owned is ours.
    drop(unsafe { P::from_work(work) });
    RUNS_FINISHED.fetch_add(1, Release);
}
