// SPDX-License-Identifier: GPL-2.0

//! PROTOTYPE (#19, items without reference counting): [`WorkBox`], a pinned heap allocation
//! that rust_wq owns, whose work items are queued by reference with no count.
//!
//! A driver keeps its state in a `WorkBox<T>`; the [`Work`] fields of `T` are queued with
//! [`WorkBox::enqueue`], which copies a pointer and counts nothing. The item's function is
//! [`BoxItem::run`], which gets a `Pin<&T>` that lives only for the call, so `run` cannot keep
//! the reference.
//!
//! Soundness comes from the box's drop: it cancels every field ever queued through the box and
//! waits for it ([`Work`]'s own `cancel_sync` path, so the disable bookkeeping stays right), then
//! drops `T` and frees the memory. Where it cannot wait (atomic context, or inside one of the
//! box's own items' `run`, which would wait for itself), it hands the rest of the drop to a
//! kworker, through a `work_struct` the allocation carries for that (no allocation when
//! dropping); the module's unload waits for such hand-offs. `mem::forget` of a box leaks the
//! memory, and its queued items run as those of a leaked item (the unload drains them).
//!
//! The fields to cancel are recorded in the box's header at each field's first enqueue through
//! the box, not trusted from user code: at most [`WorkBox::FIELDS`] distinct fields, an enqueue
//! of one more is refused with `ENOSPC`.
//!
//! The pointer that the queue holds ([`BoxRef`]) never reaches safe code: the enqueue drops it
//! on refusal, the handles' `cancel` and `disable` report `None` for it
//! ([`WorkItemPointer::GIVEN_BACK`]), and only rust_wq makes one.
//!
//! Not done in this prototype: delayed fields ([`DelayedWork`](crate::rust_wq::DelayedWork):
//! the pointer is no `DelayedItemPointer`, so arming through a box does not compile yet; the
//! drop would need `cancel_delayed_work_sync` and the tracker's bookkeeping); RCU fields are
//! refused for good (a grace period already begun cannot be cancelled, so the drop could not
//! wait for it without `rcu_barrier`); an item cannot re-queue itself from `run` (it has no box).

use crate::rust_wq::{
    cpu,
    internal::registry,
    Enqueue,
    HasWork,
    Work,
    WorkItem,
    WorkItemPointer, //
};
use core::{
    marker::PhantomData,
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

/// An item in a [`WorkBox`]: the function its [`Work`] field `ID` runs.
pub trait BoxItem<const ID: u64 = 0>: Send + Sync + Sized + 'static {
    /// Runs the item on a kworker. The reference lives only for the call.
    fn run(this: Pin<&Self>);
}

/// The pointer to an item in a [`WorkBox`] that a queue holds while the item is pending: a raw
/// pointer, no count. Only rust_wq makes one, and none reaches safe code (see the
/// [module documentation](self)).
#[doc(hidden)]
pub struct BoxRef<T, const ID: u64> {
    ptr: NonNull<T>,
    _id: PhantomData<T>,
}

// SAFETY: Sending a `BoxRef` lets another thread get a `Pin<&T>`, so `T: Sync`.
unsafe impl<T: Sync, const ID: u64> Send for BoxRef<T, ID> {}

// SAFETY: A `BoxRef` is made only by `WorkBox::enqueue`, for the value of a live box. The box's
// drop does not free the value before every field queued through the box is cancelled and idle
// (or it leaks the memory), so the value stays valid, and unmoved (pinned), until the queue gives
// the pointer back to `run`, or a cancel takes it. Nothing is counted: `from_raw` gives back the
// raw pointer that `into_raw` took.
unsafe impl<T: Send + Sync + 'static, const ID: u64> WorkItemPointer for BoxRef<T, ID> {
    type Target = T;

    const GIVEN_BACK: bool = false;

    #[inline]
    fn into_raw(self) -> *mut T {
        self.ptr.as_ptr()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        Self {
            // SAFETY: `ptr` comes from `into_raw` (the caller's promise), so is not null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
            _id: PhantomData,
        }
    }
}

impl<T: BoxItem<ID>, const ID: u64> WorkItem<ID> for T {
    type Pointer = BoxRef<T, ID>;

    #[inline]
    fn run(this: BoxRef<T, ID>) {
        // SAFETY: The value is alive and pinned while its field runs (see `BoxRef`); the
        // reference lives only for this call.
        let value = unsafe { Pin::new_unchecked(this.ptr.as_ref()) };
        <T as BoxItem<ID>>::run(value)
    }
}

/// The ID of the `work_struct` that a box carries for the hand-off of its drop.
const HANDOFF: u64 = u64::MAX;

/// How many distinct fields a box records (see [`WorkBox::FIELDS`]).
const SLOTS: usize = 4;

/// A recorded field: its cancel function, as an address (0: a free slot).
type CancelFn<T> = unsafe fn(*const T) -> Result<bool>;

#[pin_data]
struct Inner<T: Send + Sync + 'static> {
    #[pin]
    handoff: Work<Inner<T>, HANDOFF>,
    /// The cancel functions of the fields ever queued through the box (`CancelFn<T>`, as
    /// addresses; 0 for a free slot). Set once each.
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
unsafe fn cancel_field<T: BoxItem<ID> + HasWork<T, ID>, const ID: u64>(
    value: *const T,
) -> Result<bool> {
    // SAFETY: `value` is live (the caller's promise); `raw_get_field` locates the field in it.
    let work = unsafe { &*T::raw_get_field(value.cast_mut()) };
    work.cancel_sync_checked()
}

/// The end of a box's drop, where the caller may wait and is none of the box's items: cancels
/// and waits for every recorded field, then drops the value and frees the memory. If a cancel is
/// refused (`EOVERFLOW`: the field's disables are at their limit), the memory is leaked instead.
fn finish<T: Send + Sync + 'static>(inner: Pin<KBox<Inner<T>>>) {
    for slot in &inner.fields {
        let f = slot.load(Acquire);
        if f == 0 {
            continue;
        }
        // SAFETY: A non-zero slot holds a `CancelFn<T>` stored by `WorkBox::record`.
        let f: CancelFn<T> = unsafe { core::mem::transmute::<usize, CancelFn<T>>(f) };
        // SAFETY: The value is alive: `inner` is.
        if unsafe { f(&inner.value) }.is_err() {
            // Better a leak than a free under a pending or running item.
            core::mem::forget(inner);
            return;
        }
    }
    drop(inner);
}

/// A pinned heap allocation, owned by rust_wq, whose [`Work`] fields are queued by reference
/// with no count: see the [module documentation](self). PROTOTYPE.
pub struct WorkBox<T: Send + Sync + 'static> {
    /// `None` only inside `drop`.
    inner: Option<Pin<KBox<Inner<T>>>>,
}

impl<T: Send + Sync + 'static> WorkBox<T> {
    /// How many distinct fields of a box can be queued through it.
    pub const FIELDS: usize = SLOTS;

    /// Allocates a box and initialises its value with `init`.
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
        Ok(Self { inner: Some(inner) })
    }

    #[inline]
    fn inner(&self) -> &Inner<T> {
        // `None` only inside `drop`.
        match &self.inner {
            Some(inner) => inner,
            None => unreachable!(),
        }
    }

    /// Records the field `ID` as queued through the box, once: `ENOSPC` if [`Self::FIELDS`]
    /// others are recorded.
    fn record<const ID: u64>(&self) -> Result
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        let f = cancel_field::<T, ID> as CancelFn<T> as usize;
        for slot in &self.inner().fields {
            match slot.load(Acquire) {
                cur if cur == f => return Ok(()),
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

    /// Queues the [`Work`] field `ID` of the value on `queue`, by reference.
    ///
    /// # Errors
    ///
    /// `ENOSPC` if the field is one more than [`Self::FIELDS`] queued through the box; those of
    /// [`Enqueue::enqueue`] (`EBUSY` while pending, ...).
    pub fn enqueue<const ID: u64, Q: Enqueue>(&self, queue: &Q) -> Result
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        self.record::<ID>()?;
        let item = BoxRef::<T, ID> {
            ptr: NonNull::from(&self.inner().value),
            _id: PhantomData,
        };
        queue.enqueue(item).map_err(|e| e.error())
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
        let Some(inner) = self.inner.take() else {
            return;
        };
        let start = core::ptr::from_ref::<Inner<T>>(&inner) as usize;
        let end = start + core::mem::size_of::<Inner<T>>();
        let ctx = cpu::context();
        // SAFETY: `current_work` may be called from any context.
        let cur = unsafe { bindings::current_work() } as usize;
        let own_run = ctx.is_worker() && (start..end).contains(&cur);
        if !ctx.may_sleep() || own_run {
            // Cannot wait here: a kworker finishes the drop.
            if let Err(inner) = registry::hand_off(inner) {
                // Unreachable (see `hand_off`); a leak rather than a free under the item.
                core::mem::forget(inner);
            }
            return;
        }
        finish(inner);
    }
}
