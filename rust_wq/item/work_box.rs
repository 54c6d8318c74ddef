// SPDX-License-Identifier: GPL-2.0

//! Items embedded in storage that a driver frees, queued by reference with no count:
//! [`WorkBox`].
//!
//! C drivers embed their `work_struct`s in their device state, queue them by address and cancel
//! them in teardown. A [`WorkBox<T>`] is that: a pinned heap allocation holding the driver's `T`,
//! whose [`Work`] and [`DelayedWork`] fields are queued with [`WorkBox::enqueue`] and
//! [`WorkBox::enqueue_delayed`], which copy a pointer and count nothing. The box's drop cancels
//! every field ever queued through it and waits until none runs, then drops `T` and frees the
//! memory, as a C driver's teardown does.
//!
//! # Why rust_wq owns the allocation
//!
//! "The storage's drop cancels and waits" cannot be sound for storage rust_wq does not free:
//! safe code can drop that storage from the item's own `run` (take it out of a global
//! `Mutex<Option<..>>`), where the drop cannot wait for itself, and the memory would be freed while
//! `run` still uses it. A `WorkBox` is rust_wq's own allocation, so where its drop cannot wait (in
//! one of its own items' `run`, in atomic context, under a spinlock or an RCU read lock) it hands
//! the rest of the drop to a kworker, through a `work_struct` the allocation carries for that: no
//! allocation when dropping. The module's unload waits for such hand-offs. [`core::mem::forget`]
//! of a box leaks its memory; its queued items run, and the unload drains them, as for any item.
//!
//! # What `run` gets
//!
//! An item of a box implements [`BoxItem`], not [`WorkItem`] (a blanket impl makes every
//! `BoxItem` a `WorkItem` whose pointer is the box's). Its `run` gets a `Pin<&Self>` that lives
//! only for the call, so nothing of it outlives the run, and a [`Requeue`] that queues or arms the
//! same field again (what a C item does with its own `work_struct`).
//!
//! # Which fields the drop cancels
//!
//! Each field is recorded in the box's header at its first enqueue through the box, as the
//! address of a function made for that field (it knows the field's kind and place): at most
//! [`WorkBox::FIELDS`] distinct fields, an enqueue of one more is refused with `ENOSPC`. Nothing
//! queues a field of a box but the box (and a [`Requeue`], for a field queued through it), so
//! the drop cancels all that was ever queued.
//!
//! # The pointer stays inside rust_wq
//!
//! The pointer a queue holds for a box item ([`BoxRef`]) is valid only while the box lives, so
//! safe code must never hold one. Only the box makes one; the box's methods drop what a queue
//! gives back (a refused enqueue's, a cancel's); and the handles' `cancel` and `disable`
//! ([`WorkRef`](crate::rust_wq::WorkRef), [`DelayedWorkRef`](crate::rust_wq::DelayedWorkRef)),
//! which give the queue's pointer back, require a [`GivenBack`](crate::rust_wq::GivenBack)
//! pointer, which `BoxRef` is not: a box's fields are cancelled with [`WorkBox::cancel_sync`]
//! and its kin. A box's fields cannot be
//! disabled (the drop is their teardown), and cannot be queued after an RCU grace period (a
//! grace period cannot be cancelled).
//!
//! # Examples
//!
//! ```
//! # use crate::rust_wq::{impl_has_delayed_work, impl_has_work, new_delayed_work, new_work};
//! use crate::rust_wq::{BoxItem, DelayedWork, OwnedQueue, Requeue, Work, WorkBox};
//! use kernel::{sync::atomic::{Atomic, Relaxed}, time::Delta};
//!
//! #[pin_data]
//! struct Dev {
//!     events: Atomic<u32>,
//!     #[pin]
//!     irq_work: Work<Dev, 0>,
//!     #[pin]
//!     poll: DelayedWork<Dev, 1>,
//! }
//! impl_has_work! { impl HasWork<Self, 0> for Dev { self.irq_work } }
//! impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Dev { self.poll } }
//!
//! impl BoxItem<0> for Dev {
//!     fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {
//!         this.events.add(1, Relaxed);
//!     }
//! }
//!
//! impl BoxItem<1> for Dev {
//!     fn run(_this: Pin<&Self>, _again: Requeue<'_, Self, 1>) {
//!         // A poll would re-arm itself here: `_again.enqueue_delayed(queue, delay)`.
//!     }
//! }
//!
//! let q = OwnedQueue::ordered().build(c"work_box_doc")?;
//! let dev = WorkBox::new(
//!     pin_init!(Dev {
//!         events: Atomic::new(0),
//!         irq_work <- new_work!("Dev::irq_work"),
//!         poll <- new_delayed_work!("Dev::poll"),
//!     }),
//!     GFP_KERNEL,
//! )?;
//! dev.enqueue::<0>(&q)?; // a pointer copied, nothing counted
//! dev.enqueue_delayed::<1>(&q, Delta::from_millis(60_000))?;
//! q.drain()?; // runs `irq_work`; the armed `poll` stays armed
//! assert_eq!(dev.events.load(Relaxed), 1);
//! drop(dev); // disarms `poll` and waits: the memory goes after the last run
//! # Ok::<(), Error>(())
//! ```

use crate::rust_wq::{
    cpu,
    internal::{
        read_once,
        registry, //
    },
    Armed,
    Delay,
    DelayedItemPointer,
    DelayedWork,
    Enqueue,
    EnqueueDelayed,
    HasDelayedWork,
    HasWork,
    Work,
    WorkItem,
    WorkItemPointer, //
};
use core::{
    mem::ManuallyDrop,
    ops::Deref,
    ptr::NonNull, //
};
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Release, //
    },
};

/// An item in a [`WorkBox`]: what its field `ID` ([`Work`] or [`DelayedWork`]) runs.
pub trait BoxItem<const ID: u64 = 0>: Send + Sync + Sized + 'static {
    /// Runs the item on a kworker. `this` lives only for the call; `again` queues the same
    /// field again.
    fn run(this: Pin<&Self>, again: Requeue<'_, Self, ID>);
}

/// What a [`BoxItem::run`] has to queue its own field again, as a C item queues its own
/// `work_struct`. It lives only for the call.
///
/// Sound while the box's drop runs: that drop either has not come to this field yet (it cancels
/// it later), or is cancelling it and waits for this run (C keeps the field disabled while it
/// waits: the queueing is `EBUSY`). It cannot be past the field: its cancel waits for this run.
pub struct Requeue<'a, T, const ID: u64> {
    value: &'a T,
}

impl<T: BoxItem<ID>, const ID: u64> Requeue<'_, T, ID> {
    /// Queues the field again on `queue`, as [`WorkBox::enqueue`].
    ///
    /// # Errors
    ///
    /// Those of [`WorkBox::enqueue`] but `ENOSPC` (the field is recorded).
    #[inline]
    pub fn enqueue(&self, queue: &impl Enqueue) -> Result
    where
        T: HasWork<T, ID>,
    {
        enqueue_ref(queue, self.value)
    }

    /// Arms the field again on `queue`, as [`WorkBox::enqueue_delayed`].
    ///
    /// # Errors
    ///
    /// Those of [`WorkBox::enqueue_delayed`] but `ENOSPC` (the field is recorded).
    #[inline]
    pub fn enqueue_delayed(&self, queue: &impl EnqueueDelayed, delay: impl Delay) -> Result
    where
        T: HasDelayedWork<T, ID>,
    {
        queue
            .enqueue_delayed(BoxRef::<T, ID>::new(self.value), delay)
            .map_err(|e| e.error())
    }
}

/// The pointer to an item in a [`WorkBox`] that a queue holds while the item is pending: a raw
/// pointer, no count. Only the box makes one, and none reaches safe code (see the
/// [module documentation](self)); it must be public to be the pointer of public impls.
#[doc(hidden)]
pub struct BoxRef<T, const ID: u64> {
    ptr: NonNull<T>,
}

impl<T, const ID: u64> BoxRef<T, ID> {
    /// The pointer to the value of a live box, made by the box (or a [`Requeue`] of its run).
    #[inline]
    fn new(value: &T) -> Self {
        Self {
            ptr: NonNull::from(value),
        }
    }
}

// SAFETY: Sending a `BoxRef` lets another thread get a `Pin<&T>`, so `T: Sync`.
unsafe impl<T: Sync, const ID: u64> Send for BoxRef<T, ID> {}

// SAFETY: A `BoxRef` is made only for the value of a live box (by `WorkBox`'s methods, or a
// `Requeue` during a run of the field, see there). The box's drop does not free the value before
// every field queued through it is cancelled and idle (or it leaks the memory), so the value stays
// valid, and unmoved (pinned, and never moved out), until the queue gives the pointer to `run` or a
// cancel takes it. Nothing is counted: `from_raw` gives back the pointer `into_raw` took.
unsafe impl<T: Send + Sync + 'static, const ID: u64> WorkItemPointer for BoxRef<T, ID> {
    type Target = T;

    #[inline]
    fn into_raw(self) -> *mut T {
        self.ptr.as_ptr()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        Self {
            // SAFETY: `ptr` comes from `into_raw` (the caller's promise), so it is not null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }
}

// SAFETY: The value of a box is dropped in place (the `KBox` of `Inner` drops it) before its memory
// is freed, or the memory is never freed (a forgotten box, a refused cancel).
unsafe impl<T: Send + Sync + 'static, const ID: u64> DelayedItemPointer for BoxRef<T, ID> {}

impl<T: BoxItem<ID>, const ID: u64> WorkItem<ID> for T {
    type Pointer = BoxRef<T, ID>;

    #[inline]
    fn run(this: BoxRef<T, ID>) {
        // SAFETY: The value is alive and pinned while its field runs (see `BoxRef`); the
        // reference lives only for this call.
        let value = unsafe { this.ptr.as_ref() };
        // SAFETY: The value is pinned in its box and never moved out.
        <T as BoxItem<ID>>::run(unsafe { Pin::new_unchecked(value) }, Requeue { value })
    }
}

/// Queues the `Work` field `ID` of the box value `value` on `queue`; the field is recorded.
#[inline]
fn enqueue_ref<T: BoxItem<ID> + HasWork<T, ID>, const ID: u64>(
    queue: &impl Enqueue,
    value: &T,
) -> Result {
    queue
        .enqueue(BoxRef::<T, ID>::new(value))
        .map_err(|e| e.error())
}

/// The ID of the `work_struct` that a box carries for the hand-off of its drop.
const HANDOFF: u64 = u64::MAX;

/// How many distinct fields a box records (see [`WorkBox::FIELDS`]).
const SLOTS: usize = 4;

/// A recorded field: its cancel-and-wait function.
type CancelFn<T> = unsafe fn(*const T) -> Result<bool>;

#[pin_data]
struct Inner<T: Send + Sync + 'static> {
    #[pin]
    handoff: Work<Inner<T>, HANDOFF>,
    /// The cancel functions of the fields ever queued through the box (`CancelFn<T>`, as
    /// addresses; 0 for a free slot). Each slot is set once.
    fields: [Atomic<usize>; SLOTS],
    #[pin]
    value: T,
}

crate::impl_has_work! {
    impl{T: Send + Sync + 'static} HasWork<Inner<T>, { HANDOFF }> for Inner<T> { self.handoff }
}

impl<T: Send + Sync + 'static> WorkItem<HANDOFF> for Inner<T> {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        finish(this);
        registry::handoff_finished();
    }
}

/// Cancels the `Work` field `ID` of the `T` at `value` and waits until it runs nowhere.
///
/// # Safety
///
/// `value` is a live `T` for the call.
unsafe fn cancel_work_field<T: BoxItem<ID> + HasWork<T, ID>, const ID: u64>(
    value: *const T,
) -> Result<bool> {
    // SAFETY: `value` is live (the caller's promise); `raw_get_field` locates the field in it.
    let work = unsafe { &*T::raw_get_field(value.cast_mut()) };
    work.cancel_sync_checked()
}

/// Cancels the `DelayedWork` field `ID` of the `T` at `value` (its timer too) and waits until it
/// runs nowhere.
///
/// # Safety
///
/// `value` is a live `T` for the call.
unsafe fn cancel_delayed_field<T: BoxItem<ID> + HasDelayedWork<T, ID>, const ID: u64>(
    value: *const T,
) -> Result<bool> {
    // SAFETY: `value` is live (the caller's promise); `raw_get_field` locates the field in it.
    let dwork = unsafe { &*T::raw_get_field(value.cast_mut()) };
    dwork.cancel_sync()
}

/// The end of a box's drop, where the caller may sleep and runs none of the box's items: cancels
/// and waits for every recorded field, then drops the value and frees the memory.
///
/// A refused cancel leaks the memory instead, a leak rather than a free under an item: none is
/// reachable (the caller may wait and is no item of the box, which rules out `EAGAIN` and
/// `EDEADLK`; `EOVERFLOW` needs disables, which a box's fields have none of, or as many
/// `cancel_sync`s under way as `MAX_DISABLE`, which need a `&WorkBox` while the drop has it).
fn finish<T: Send + Sync + 'static>(inner: Pin<KBox<Inner<T>>>) {
    for slot in &inner.fields {
        let f = slot.load(Acquire);
        if f == 0 {
            continue;
        }
        // SAFETY: A non-zero slot holds a `CancelFn<T>` stored by `WorkBox::record`.
        let f = unsafe { core::mem::transmute::<usize, CancelFn<T>>(f) };
        // SAFETY: The value is alive: `inner` is.
        if unsafe { f(&inner.value) }.is_err() {
            core::mem::forget(inner);
            return;
        }
    }
    drop(inner);
}

/// A pinned heap allocation, owned by rust_wq, whose [`Work`] and [`DelayedWork`] fields are
/// queued by reference with no count; its drop cancels them and waits. See the
/// [module documentation](self).
///
/// # Invariants
///
/// `inner` is initialised, except inside `drop`, which takes it.
pub struct WorkBox<T: Send + Sync + 'static> {
    inner: ManuallyDrop<Pin<KBox<Inner<T>>>>,
}

impl<T: Send + Sync + 'static> WorkBox<T> {
    /// How many distinct fields of a box can be queued through it.
    pub const FIELDS: usize = SLOTS;

    /// Allocates a box and initialises its value with `init`.
    ///
    /// # Errors
    ///
    /// `ENOMEM`, or the error of `init`.
    pub fn new<E>(init: impl PinInit<T, E>, flags: Flags) -> Result<Self>
    where
        Error: From<E>,
    {
        let inner = KBox::try_pin_init(
            try_pin_init!(Inner {
                handoff <- crate::new_work!("WorkBox::handoff"),
                fields: [const { Atomic::new(0) }; SLOTS],
                value <- init,
            }? Error),
            flags,
        )?;
        // INVARIANT: Initialised.
        Ok(Self {
            inner: ManuallyDrop::new(inner),
        })
    }

    #[inline]
    fn inner(&self) -> &Inner<T> {
        &self.inner
    }

    /// The value, pinned.
    #[inline]
    pub fn as_pin(&self) -> Pin<&T> {
        // SAFETY: The value is pinned in the box and never moved out.
        unsafe { Pin::new_unchecked(&self.inner().value) }
    }

    /// Records the field whose cancel function is `f` as queued through the box, once: `ENOSPC`
    /// if [`Self::FIELDS`] others are recorded. A field recorded already costs a load and a
    /// compare or so per slot before it, inline; the first enqueue of a field records it out of
    /// line.
    #[inline]
    fn record(&self, f: CancelFn<T>) -> Result {
        let f = f as usize;
        for slot in &self.inner().fields {
            // SAFETY: The slot is a live, aligned `usize`, only written atomically (`cmpxchg`).
            // A relaxed read is enough: nothing is read through the value, and a slot is set once,
            // so whoever later drops the box (after this enqueue) sees it set (coherence).
            let cur = unsafe { read_once(slot.as_ptr().cast_const()) };
            if cur == f {
                return Ok(());
            }
            if cur == 0 {
                break;
            }
        }
        self.record_slow(f)
    }

    #[cold]
    #[inline(never)]
    fn record_slow(&self, f: usize) -> Result {
        for slot in &self.inner().fields {
            match slot.load(Acquire) {
                cur if cur == f => return Ok(()),
                // Two first enqueues of one field at once may take two slots: it is then
                // cancelled twice, which is harmless.
                0 => match slot.cmpxchg(0, f, Release) {
                    Ok(_) => return Ok(()),
                    Err(now) if now == f => return Ok(()),
                    Err(_) => {}
                },
                _ => {}
            }
        }
        Err(ENOSPC)
    }

    /// Queues the [`Work`] field `ID` of the value on `queue` (on the local CPU for per-CPU
    /// queues), by reference.
    ///
    /// # Errors
    ///
    /// - `ENOSPC`: the field would be one more than [`Self::FIELDS`] queued through the box.
    /// - Those of [`Enqueue`] (`EBUSY` while the field is pending, ...).
    #[inline]
    pub fn enqueue<const ID: u64>(&self, queue: &impl Enqueue) -> Result
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        self.record(cancel_work_field::<T, ID>)?;
        enqueue_ref::<T, ID>(queue, &self.inner().value)
    }

    /// Queues the [`Work`] field `ID` of the value on the worker pool of `cpu`, as
    /// [`Enqueue::enqueue_on`].
    ///
    /// # Errors
    ///
    /// Those of [`Self::enqueue`] and of [`Enqueue::enqueue_on`].
    #[inline]
    pub fn enqueue_on<const ID: u64>(&self, queue: &impl Enqueue, cpu: u32) -> Result
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        self.record(cancel_work_field::<T, ID>)?;
        queue
            .enqueue_on(cpu, BoxRef::<T, ID>::new(&self.inner().value))
            .map_err(|e| e.error())
    }

    /// Arms the [`DelayedWork`] field `ID` of the value to run on `queue` after `delay`, as
    /// [`EnqueueDelayed::enqueue_delayed`].
    ///
    /// # Errors
    ///
    /// - `ENOSPC`: as for [`Self::enqueue`].
    /// - Those of [`EnqueueDelayed`] (`EBUSY` while armed or queued, ...).
    #[inline]
    pub fn enqueue_delayed<const ID: u64>(
        &self,
        queue: &impl EnqueueDelayed,
        delay: impl Delay,
    ) -> Result
    where
        T: BoxItem<ID> + HasDelayedWork<T, ID>,
    {
        self.record(cancel_delayed_field::<T, ID>)?;
        queue
            .enqueue_delayed(BoxRef::<T, ID>::new(&self.inner().value), delay)
            .map_err(|e| e.error())
    }

    /// Arms the [`DelayedWork`] field `ID` to run after `delay`, whether it was armed or not,
    /// as [`EnqueueDelayed::mod_delayed`]. Returns `true` if the field was idle (now armed),
    /// `false` if it was pending (its timer moved).
    ///
    /// # Errors
    ///
    /// - `ENOSPC`: as for [`Self::enqueue`].
    /// - Those of [`EnqueueDelayed::mod_delayed`].
    #[inline]
    pub fn mod_delayed<const ID: u64>(
        &self,
        queue: &impl EnqueueDelayed,
        delay: impl Delay,
    ) -> Result<bool>
    where
        T: BoxItem<ID> + HasDelayedWork<T, ID>,
    {
        self.record(cancel_delayed_field::<T, ID>)?;
        match queue.mod_delayed(BoxRef::<T, ID>::new(&self.inner().value), delay) {
            Ok(Armed::Queued) => Ok(true),
            // The pointer given is unused: it owns nothing.
            Ok(Armed::Modified(_)) => Ok(false),
            Err(e) => Err(e.error()),
        }
    }

    /// Takes the [`Work`] field `ID` off its queue if it is pending (C's `cancel_work`); it may
    /// still be running. Returns whether it was pending. Any context.
    #[inline]
    pub fn cancel<const ID: u64>(&self) -> bool
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        let work = Work::<T, ID>::of(&self.inner().value).as_raw();
        // SAFETY: The field is initialised; `cancel_work` may be called from any context. The
        // queue's pointer it takes owns nothing.
        unsafe { bindings::cancel_work(work) }
    }

    /// Cancels the [`Work`] field `ID` and waits until it runs nowhere (C's `cancel_work_sync`).
    /// Returns whether it was pending.
    ///
    /// # Errors
    ///
    /// Those of [`WorkRef::cancel_sync`](crate::rust_wq::WorkRef::cancel_sync).
    #[inline]
    pub fn cancel_sync<const ID: u64>(&self) -> Result<bool>
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        Work::<T, ID>::of(&self.inner().value)
            .work()
            .cancel_sync_checked()
    }

    /// Disarms or dequeues the [`DelayedWork`] field `ID` (C's `cancel_delayed_work`); it may
    /// still be running. Returns whether it was pending. Any context.
    #[inline]
    pub fn cancel_delayed<const ID: u64>(&self) -> bool
    where
        T: BoxItem<ID> + HasDelayedWork<T, ID>,
    {
        let dwork = DelayedWork::<T, ID>::of(&self.inner().value).as_raw();
        // SAFETY: The field is initialised; any context is fine. The queue's pointer it takes
        // owns nothing.
        unsafe { bindings::cancel_delayed_work(dwork) }
    }

    /// Cancels the [`DelayedWork`] field `ID`, its timer too, and waits until it runs nowhere
    /// (C's `cancel_delayed_work_sync`). Returns whether it was pending.
    ///
    /// # Errors
    ///
    /// Those of [`DelayedWorkRef::cancel_sync`](crate::rust_wq::DelayedWorkRef::cancel_sync).
    #[inline]
    pub fn cancel_delayed_sync<const ID: u64>(&self) -> Result<bool>
    where
        T: BoxItem<ID> + HasDelayedWork<T, ID>,
    {
        DelayedWork::<T, ID>::of(&self.inner().value)
            .delayed_work()
            .cancel_sync()
    }
}

impl<T: Send + Sync + 'static> Deref for WorkBox<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T: Send + Sync + 'static> Drop for WorkBox<T> {
    fn drop(&mut self) {
        // SAFETY: `inner` is initialised (the type invariant) and taken once, here; nothing uses
        // it afterwards.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        let start = core::ptr::from_ref::<Inner<T>>(&inner) as usize;
        let end = start + core::mem::size_of::<Inner<T>>();
        let ctx = cpu::context();
        // SAFETY: `current_work` may be called from any context.
        let cur = unsafe { bindings::current_work() } as usize;
        // A kworker running one of the box's fields: a cancel of it would wait for itself.
        let own_run = ctx.is_worker() && (start..end).contains(&cur);
        if !ctx.may_sleep() || own_run {
            // A kworker finishes the drop; it may wait, and runs no item of the box.
            if let Err(inner) = registry::hand_off(inner) {
                // Unreachable (see `hand_off`); a leak rather than a free under an item.
                core::mem::forget(inner);
            }
            return;
        }
        finish(inner);
    }
}
