// SPDX-License-Identifier: GPL-2.0

//! Delayed work: the pinned `delayed_work` wrapper, and the bookkeeping that keeps a timer from
//! firing into a destroyed queue.
//!
//! `destroy_workqueue()` does not wait for a `delayed_work` whose timer is still armed: when that
//! timer fires, it queues onto freed memory. System queues live forever, so delayed work may go
//! there freely. For an [`OwnedQueue`](crate::rust_wq::OwnedQueue), every item armed on it is
//! linked into the queue's [`Tracker`] before its timer is armed, and the queue's `Drop` fires
//! every linked timer early (the item then runs at once) before it destroys the queue.
//!
//! # Examples
//!
//! A watchdog that fires after 500 ms unless it is kicked, on an owned queue:
//!
//! ```ignore
//! #[pin_data]
//! struct Watchdog {
//!     #[pin]
//!     dwork: DelayedWork<Watchdog>,
//! }
//!
//! crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for Watchdog { self.dwork } }
//!
//! impl WorkItem for Watchdog {
//!     type Pointer = Arc<Watchdog>;
//!     fn run(_this: Arc<Watchdog>) {
//!         pr_warn!("watchdog expired\n");
//!     }
//! }
//!
//! let q = OwnedQueue::unbound().build(c"watchdog")?;
//! let dog = Arc::pin_init(
//!     pin_init!(Watchdog { dwork <- new_delayed_work!("Watchdog::dwork") }),
//!     GFP_KERNEL,
//! )?;
//! q.enqueue_delayed(dog.clone(), rust_wq::msecs(500))?;
//! // Kick: push the deadline back; the reference given comes back unused if it was armed.
//! let _ = q.mod_delayed(dog.clone(), rust_wq::msecs(500))?;
//! // Stop: the queue's reference comes back if the timer was armed.
//! let _ = dog.cancel_sync()?;
//! drop(q); // Would have run a still-armed watchdog now, before destroying the queue.
//! # Ok::<(), Error>(())
//! ```
//!
//! Links are lazy: an item stays linked after its timer fired, and is unlinked when it is armed
//! on another queue, when the queue goes away, or when the item is dropped. Locking order: the
//! item's `arm` lock, then a tracker's `list` lock.

use crate::rust_wq::{
    tracker::{
        Links,
        Tracker, //
    },
    EnqueueError,
    WorkItem,
    WorkItemPointer, //
};
use core::{
    cell::UnsafeCell,
    marker::PhantomData,
    ptr, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        Arc,
        LockClassKey,
        SpinLockIrq, //
    },
    time::Jiffies,
    types::Opaque,
};

/// What the `arm` lock of a [`DelayedWork`] protects.
struct ArmState {
    /// The tracker the item's links are in, if any.
    tracker: Option<Arc<Tracker>>,
    /// How often the item is disabled. Arming checks this under the lock, so a disabled item is
    /// refused before C is asked (C's `mod_delayed_work_on` would not say it refused).
    disabled: u32,
}

/// A kernel `struct delayed_work`, embedded in a work item of type `T`.
///
/// Create it with [`new_delayed_work!`](crate::new_delayed_work).
///
/// # Invariants
///
/// `links` is linked in the tracker held in `arm` (if any), or in none.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub struct DelayedWork<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    #[pin]
    arm: SpinLockIrq<ArmState>,
    links: UnsafeCell<Links>,
    _item: PhantomData<T>,
}

// SAFETY: The C parts are thread-safe; `links` is only touched under a tracker lock.
unsafe impl<T: ?Sized, const ID: u64> Send for DelayedWork<T, ID> {}
// SAFETY: As above.
unsafe impl<T: ?Sized, const ID: u64> Sync for DelayedWork<T, ID> {}

impl<T, const ID: u64> DelayedWork<T, ID>
where
    T: WorkItem<ID> + HasDelayedWork<T, ID>,
{
    /// Creates a delayed work item whose function is [`WorkItem::run`] of `T`.
    ///
    /// Prefer [`new_delayed_work!`](crate::new_delayed_work).
    #[inline]
    pub fn new(
        name: &'static CStr,
        work_key: Pin<&'static LockClassKey>,
        timer_key: Pin<&'static LockClassKey>,
        arm_key: Pin<&'static LockClassKey>,
    ) -> impl PinInit<Self> {
        pin_init!(Self {
            dwork <- Opaque::ffi_init(|slot: *mut bindings::delayed_work| {
                // SAFETY: `slot` is valid for writes; `run_delayed::<T, ID>` is a `work_func_t`
                // that is only called for this `work_struct`, which lives in a `T`.
                unsafe {
                    bindings::init_work_with_key(
                        ptr::addr_of_mut!((*slot).work),
                        Some(run_delayed::<T, ID>),
                        false,
                        name.as_char_ptr(),
                        work_key.as_ptr(),
                    )
                };
                // SAFETY: The timer lives in a `delayed_work` and is only armed by the workqueue
                // code, which needs `delayed_work_timer_fn` and `TIMER_IRQSAFE`.
                unsafe {
                    bindings::timer_init_key(
                        ptr::addr_of_mut!((*slot).timer),
                        Some(bindings::delayed_work_timer_fn),
                        bindings::TIMER_IRQSAFE,
                        name.as_char_ptr(),
                        timer_key.as_ptr(),
                    )
                };
            }),
            arm <- SpinLockIrq::new(
                ArmState {
                    tracker: None,
                    disabled: 0,
                },
                name,
                arm_key,
            ),
            links: UnsafeCell::new(Links::new()),
            _item: PhantomData,
        })
    }
}

impl<T: ?Sized, const ID: u64> DelayedWork<T, ID> {
    /// Returns the raw `delayed_work`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::delayed_work {
        self.dwork.get()
    }

    /// Disables the item (see [`DelayedWorkOps::disable`]); returns whether it was pending.
    ///
    /// [`DelayedWorkOps::disable`]: crate::rust_wq::DelayedWorkOps::disable
    pub(crate) fn disable(&self, sync: bool) -> bool {
        let mut state = self.arm.lock();
        state.disabled += 1;
        if !sync {
            // SAFETY: The item is initialised; `disable_delayed_work` may be called in atomic
            // context.
            return unsafe { bindings::disable_delayed_work(self.as_raw()) };
        }
        // From here on every arm is refused; C's own count follows after the wait.
        drop(state);
        // SAFETY: The item is initialised; the caller may sleep (checked by the callers).
        unsafe { bindings::disable_delayed_work_sync(self.as_raw()) }
    }

    /// Undoes one [`DelayedWork::disable`]; returns whether the item can be armed again.
    /// An enable without a disable does nothing and returns `false`.
    pub(crate) fn enable(&self) -> bool {
        let mut state = self.arm.lock();
        if state.disabled == 0 {
            return false;
        }
        state.disabled -= 1;
        // SAFETY: The item is initialised and disabled (counted above); any context is fine.
        unsafe { bindings::enable_delayed_work(self.as_raw()) };
        state.disabled == 0
    }
}

#[pinned_drop]
impl<T: ?Sized, const ID: u64> PinnedDrop for DelayedWork<T, ID> {
    fn drop(self: Pin<&mut Self>) {
        let tracker = self.arm.lock().tracker.take();
        if let Some(tracker) = tracker {
            // SAFETY: By the type invariant our links are linked in `tracker`, if anywhere.
            unsafe { tracker.unlink(self.links.get()) };
        }
    }
}

/// Declares that a type contains a [`DelayedWork<T, ID>`]. Use [`impl_has_delayed_work!`].
///
/// # Safety
///
/// The two methods must be true inverses, and `raw_get_delayed_work` must return a pointer to a
/// `DelayedWork<T, ID>` field inside `*p`.
///
/// [`impl_has_delayed_work!`]: crate::impl_has_delayed_work
pub unsafe trait HasDelayedWork<T, const ID: u64 = 0> {
    /// Returns a pointer to the [`DelayedWork<T, ID>`] field.
    ///
    /// # Safety
    ///
    /// `ptr` must be aligned and not dangling.
    unsafe fn raw_get_delayed_work(ptr: *mut Self) -> *mut DelayedWork<T, ID>;

    /// Returns a pointer to the struct containing the [`DelayedWork<T, ID>`] at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the `DelayedWork<T, ID>` field of a `Self`.
    unsafe fn delayed_work_container_of(ptr: *mut DelayedWork<T, ID>) -> *mut Self;
}

/// The `work_func_t` of every [`DelayedWork`].
///
/// # Safety
///
/// `ptr` must be the `work_struct` of a `DelayedWork<T, ID>` in a `T` whose ownership was handed
/// to the queue.
unsafe extern "C" fn run_delayed<T, const ID: u64>(ptr: *mut bindings::work_struct)
where
    T: WorkItem<ID> + HasDelayedWork<T, ID>,
{
    // `work` is the first field of `delayed_work`, which is the first field of the
    // `#[repr(C)]` `DelayedWork`.
    let dw = ptr.cast::<DelayedWork<T, ID>>();
    // SAFETY: `dw` is the `DelayedWork` field of a `T` (caller).
    let item = unsafe { T::delayed_work_container_of(dw) };
    // SAFETY: The queue owned this reference since the enqueue that queued this run.
    T::run(unsafe { T::Pointer::from_raw(item) })
}

/// Drops one reference of the item containing `dwork`.
///
/// # Safety
///
/// `dwork` belongs to a `T` whose reference, from `into_raw`, the caller owns.
unsafe fn drop_ref<T, const ID: u64>(dwork: *mut bindings::delayed_work)
where
    T: WorkItem<ID> + HasDelayedWork<T, ID>,
{
    // SAFETY: See above; `DelayedWork` is `#[repr(C)]` with the `delayed_work` first.
    let item = unsafe { T::delayed_work_container_of(dwork.cast()) };
    // SAFETY: The caller owns this reference.
    drop(unsafe { T::Pointer::from_raw(item) });
}

fn same_tracker(a: Option<&Arc<Tracker>>, b: Option<&Arc<Tracker>>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => Arc::ptr_eq(a, b),
        (None, None) => true,
        _ => false,
    }
}

/// How a delayed item is to be armed.
#[derive(Clone, Copy)]
pub(crate) enum Arm {
    /// `queue_delayed_work_on`: fails if pending.
    Queue,
    /// `mod_delayed_work_on`: re-arms a pending item.
    Modify,
}

/// The result of arming an item.
pub enum Armed<P> {
    /// The item was idle and is now queued: the queue owns the pointer.
    Queued,
    /// The item was pending and its timer now has the new delay; the pointer given is returned
    /// unused.
    Modified(P),
}

/// Arms `item` on `wq` after `delay` jiffies on `cpu`, linking it in `tracker` first.
///
/// # Safety
///
/// `wq` is valid; with `tracker == None` it is never destroyed, otherwise `tracker` is the
/// tracker of `wq`, whose owner stays alive during this call. `cpu` is `WORK_CPU_UNBOUND` or an
/// online CPU.
pub(crate) unsafe fn arm<P, const ID: u64>(
    wq: *mut bindings::workqueue_struct,
    tracker: Option<&Arc<Tracker>>,
    cpu: i32,
    item: P,
    delay: Jiffies,
    how: Arm,
) -> Result<Armed<P>, EnqueueError<P>>
where
    P: WorkItemPointer,
    P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
{
    let raw = item.into_raw();
    // SAFETY: `raw` is valid while we own it.
    let dw = unsafe { &*P::Target::raw_get_delayed_work(raw) };
    let mut state = dw.arm.lock();
    if state.disabled > 0 {
        drop(state);
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(EBUSY, unsafe { P::from_raw(raw) }));
    }
    let armed = &mut state.tracker;
    // SAFETY: The `delayed_work` is initialised and alive (we own a reference), and `wq` is
    // valid. While the timer may fire, `wq` stays valid: it is a system queue, or the item gets
    // linked in its tracker below, before the owner of `wq` can be dropped (the caller borrows
    // it). Until then the item stays linked where it was, so a queue it was armed on before
    // still finds it. Both calls are irq-safe; we hold a spinlock.
    let res = unsafe {
        match how {
            Arm::Queue => bindings::queue_delayed_work_on(cpu, wq, dw.as_raw(), delay),
            // `mod_delayed_work_on` returns `true` if the item was pending (that reference stays
            // with the queue), `false` if it was idle and is now queued, or disabled. Disabled
            // items were refused above, under this lock, so `false` means "queued".
            Arm::Modify => !bindings::mod_delayed_work_on(cpu, wq, dw.as_raw(), delay),
        }
    };
    let now_armed_here = res || matches!(how, Arm::Modify);
    let mut old = None;
    if now_armed_here {
        let links = dw.links.get();
        if !same_tracker(armed.as_ref(), tracker) {
            old = armed.take();
            // SAFETY: `links` belongs to our item and is linked in the recorded tracker, if any
            // (type invariant); it is unlinked there before it is linked anew.
            unsafe {
                if let Some(o) = &old {
                    o.unlink(links);
                }
                (*links).dwork = dw.as_raw();
                (*links).drop_ref = Some(drop_ref::<P::Target, ID>);
            }
            *armed = tracker.cloned();
        }
        if let Some(t) = tracker {
            // SAFETY: `links` is in no tracker but `t`. Linking is idempotent: the item may still
            // be linked from an earlier arm, or not, if the queue's drop took it off the list.
            unsafe { t.link(links) };
        }
        // INVARIANT: The links are in the tracker we record, or in none.
    }
    drop(state);
    drop(old);
    match (res, how) {
        (true, _) => Ok(Armed::Queued),
        // SAFETY: The queue did not take the reference.
        (false, Arm::Queue) => Err(EnqueueError::new(EBUSY, unsafe { P::from_raw(raw) })),
        // SAFETY: As above: the pending instance keeps its own reference.
        (false, Arm::Modify) => Ok(Armed::Modified(unsafe { P::from_raw(raw) })),
    }
}

/// Implements [`HasDelayedWork`] for a struct with a [`DelayedWork`] field.
#[macro_export]
macro_rules! impl_has_delayed_work {
    ($(impl$({$($generics:tt)*})?
       HasDelayedWork<$work_type:ty $(, $id:tt)?>
       for $self:ty
       { self.$field:ident }
    )*) => {$(
        // SAFETY: `raw_get_delayed_work` returns a pointer to a field of the right type, and
        // `delayed_work_container_of` is its inverse.
        unsafe impl$(<$($generics)+>)? $crate::rust_wq::HasDelayedWork<$work_type $(, $id)?>
            for $self
        {
            #[inline]
            unsafe fn raw_get_delayed_work(
                ptr: *mut Self,
            ) -> *mut $crate::rust_wq::DelayedWork<$work_type $(, $id)?> {
                // SAFETY: The caller promises that the pointer is not dangling.
                unsafe { ::core::ptr::addr_of_mut!((*ptr).$field) }
            }

            #[inline]
            unsafe fn delayed_work_container_of(
                ptr: *mut $crate::rust_wq::DelayedWork<$work_type $(, $id)?>,
            ) -> *mut Self {
                // SAFETY: The caller promises that the pointer is the field of a `Self`.
                unsafe { ::kernel::container_of!(ptr, Self, $field) }
            }
        }
    )*};
}

/// Creates a [`DelayedWork`] initialiser with lockdep classes of its own for this call site.
#[macro_export]
macro_rules! new_delayed_work {
    ($($name:literal)?) => {
        $crate::rust_wq::DelayedWork::new(
            ::kernel::optional_name!($($name)?),
            ::kernel::static_lock_class!(),
            ::kernel::static_lock_class!(),
            ::kernel::static_lock_class!(),
        )
    };
}
