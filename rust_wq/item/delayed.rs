// SPDX-License-Identifier: GPL-2.0

//! Delayed work: the pinned `delayed_work` wrapper, and the bookkeeping that keeps a timer from
//! firing into a destroyed queue.
//!
//! `destroy_workqueue()` does not wait for a `delayed_work` whose timer is still armed: when that
//! timer fires, it queues onto freed memory. And a timer that fires after its module was
//! unloaded runs freed code, even on a system queue. So every item armed on an
//! [`OwnedQueue`](crate::rust_wq::OwnedQueue) is linked into the queue's `Tracker`, and every
//! item armed on a system queue into the tracker of its module's registry (see
//! [`Drained`](crate::rust_wq::Drained)). The link is made while the arming call still borrows
//! the queue (and holds the module's registry open: the arm lock's interrupts-off section, in
//! which the module's unload gate was read open, see `ArmLock::lock_gated`), so the queue's `Drop`
//! (or the module's unload) always finds it; it then fires every linked timer early: the item runs
//! at once, on the queue and CPU it was armed for.
//!
//! # Examples
//!
//! A watchdog that fires after 500 ms unless it is kicked, on an owned queue:
//!
//! ```
//! use crate::rust_wq::{impl_has_delayed_work, new_delayed_work, DelayedWork, OwnedQueue};
//! use crate::rust_wq::WorkItem;
//! use kernel::{sync::Arc, time::Delta};
//!
//! #[pin_data]
//! struct Watchdog {
//!     #[pin]
//!     dwork: DelayedWork<Watchdog>,
//! }
//!
//! impl_has_delayed_work! { impl HasDelayedWork<Self> for Watchdog { self.dwork } }
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
//! q.enqueue_delayed(dog.clone(), Delta::from_millis(500))?;
//! // Kick: push the deadline back; the reference given comes back unused if it was armed.
//! let _ = q.mod_delayed(dog.clone(), Delta::from_millis(500))?;
//! // Stop: the queue's reference comes back if the timer was armed.
//! let _ = DelayedWork::of(&*dog).cancel_sync()?;
//! drop(q); // Would have run a still-armed watchdog now, before destroying the queue.
//! # Ok::<(), Error>(())
//! ```
//!
//! Links are lazy: an item stays linked after its timer fired, and is unlinked when it is armed
//! on another queue, when the queue goes away, or when the item is dropped. Locking order: the
//! item's arm lock, then the lock of the module's trackers.

use crate::rust_wq::{
    cpu,
    glue::rust_wq_timer_init,
    internal::arm_lock::{
        ArmLock,
        MAX_DISABLE, //
    },
    internal::registry::Gate,
    internal::tracker::{
        Links,
        Tracker,
        TrackersGuard, //
    },
    item::field::{
        self,
        HasField,
        WorkField, //
    },
    item::work::PinnedFieldInit,
    queue::borrowed::{
        self,
        WORK_CPU_UNBOUND, //
    },
    DelayedPointer,
    EnqueueError,
    EnqueueErrorKind,
    WorkItem,
    WorkItemPointer, //
};
use core::{
    ffi::c_void,
    marker::PhantomData,
    mem::offset_of,
    ptr, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::Atomic,
        Arc,
        LockClassKey, //
    },
    time::{
        Delta,
        Jiffies,
        Jiffy, //
    },
    types::Opaque,
};

/// The longest delay, in jiffies: the kernel's `MAX_JIFFY_OFFSET`. A longer one would wrap the
/// timer's expiry into the past and fire at once.
pub const MAX_DELAY: Jiffies = ((c_long::MAX >> 1) - 1) as Jiffies;

/// A delay for delayed work: jiffies ([`Jiffies`], or an integer literal), the kernel's
/// [`Delta<Jiffy>`], or a [`Delta`] (nanoseconds, rounded up to whole milliseconds, then to
/// jiffies, rounded up, as `msecs_to_jiffies` does, but without its 32-bit limit: every
/// [`Delta`] that is not negative, up to the 292 years it can hold, is far below
/// [`MAX_DELAY`]).
///
/// Negative delays, down to a [`Delta`] of -1 ns, and delays above [`MAX_DELAY`], are `EINVAL`
/// when arming.
pub trait Delay {
    /// The delay in jiffies.
    ///
    /// # Errors
    ///
    /// - `EINVAL`: the delay is negative (a [`Delta`] down to -1 ns). Delays above
    ///   [`MAX_DELAY`] are refused when arming, also with `EINVAL`.
    fn jiffies(self) -> Result<Jiffies>;
}

impl Delay for Jiffies {
    #[inline]
    fn jiffies(self) -> Result<Jiffies> {
        Ok(self)
    }
}

/// Integer literals (`0`, `1`) infer to `i32`.
impl Delay for i32 {
    #[inline]
    fn jiffies(self) -> Result<Jiffies> {
        Jiffies::try_from(self).map_err(|_| EINVAL)
    }
}

impl Delay for Delta<Jiffy> {
    #[inline]
    fn jiffies(self) -> Result<Jiffies> {
        Jiffies::try_from(self.as_jiffies()).map_err(|_| EINVAL)
    }
}

impl Delay for Delta {
    fn jiffies(self) -> Result<Jiffies> {
        // Checked before rounding: -999,999 ns rounds up to 0 ms, which would run at once.
        if self.is_negative() {
            return Err(EINVAL);
        }
        let ms = Jiffies::try_from(self.as_millis_ceil()).map_err(|_| EINVAL)?;
        // Whole seconds are exactly `HZ` jiffies each, and the rest (below 1000 ms) is rounded
        // up by C's `msecs_to_jiffies`: what it gives for the counts it takes, without the
        // limit of its `unsigned int` argument (49.7 days), nor its reading of 2^31 ms (24.9
        // days) and more as negative, that is "infinite".
        let hz = kernel::time::msecs_to_jiffies(1000);
        let rest = kernel::time::msecs_to_jiffies((ms % 1000) as kernel::time::Msecs);
        (ms / 1000)
            .checked_mul(hz)
            .and_then(|j| j.checked_add(rest))
            .filter(|&j| j <= MAX_DELAY)
            .ok_or(EINVAL)
    }
}

/// A kernel `struct delayed_work`, embedded in a work item of type `T`.
///
/// Create it with [`new_delayed_work!`](crate::new_delayed_work).
///
/// 24 bytes more than C's `delayed_work` (112 on x86-64 without lock debugging): the arm lock
/// with the disable and cancel counts, the queue kinds seen, and the tracker links.
///
/// # Invariants
///
/// - `links` is in no tracker, or in the tracker of the queue whose timer the item was last armed
///   with (`dwork.wq`, null before the first): the owned queue's, or the module's for a system
///   queue. Both change under the `arm` lock (`links` under the trackers' lock too), except that
///   a queue's drop (or the unload) unlinks items under the trackers' lock alone.
/// - The item is never disabled in C except transiently, by a `cancel_delayed_work_sync()`
///   counted in `arm`.
#[pin_data(PinnedDrop)]
#[repr(C)]
pub struct DelayedWork<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    dwork: Opaque<bindings::delayed_work>,
    arm: ArmLock,
    /// The kinds of queue the item was ever armed on (`reclaim::ON_*`).
    pub(in crate::rust_wq) seen: Atomic<u32>,
    links: Links,
    /// Invariant in `T`: a field of `Item<A>` must not be taken for one of `Item<B>`, a subtype
    /// or supertype (higher-ranked function pointers make such pairs, with `HasWork` impls of
    /// their own that may locate different fields).
    _item: PhantomData<fn(*const T) -> *const T>,
}

/// Where the [`Links`] of every `DelayedWork` are, from its start (its `delayed_work`): the
/// same for all `T` and `ID`, as the struct is `repr(C)` and only `PhantomData` depends on them.
pub(in crate::rust_wq) const LINKS_OFFSET: usize = offset_of!(DelayedWork<(), 0>, links);

// The 24 bytes said above (`delayed_work` is 88 bytes on x86-64 without lock debugging).
const _: () = assert!(
    core::mem::size_of::<DelayedWork<()>>() == core::mem::size_of::<bindings::delayed_work>() + 24
);

// SAFETY: The C parts are thread-safe; `links` is only written under the trackers' lock, and
// the arm state only by the holder of the `arm` lock.
unsafe impl<T: ?Sized, const ID: u64> Send for DelayedWork<T, ID> {}
// SAFETY: As above.
unsafe impl<T: ?Sized, const ID: u64> Sync for DelayedWork<T, ID> {}

// SAFETY: `DelayedWork` is `#[repr(C)]` and starts with its `delayed_work` (`Opaque` is
// transparent), which starts with its `work_struct`.
unsafe impl<T: ?Sized, const ID: u64> WorkField for DelayedWork<T, ID> {
    #[inline]
    fn seen(&self) -> &Atomic<u32> {
        &self.seen
    }
}

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
    ) -> PinnedFieldInit<Self, impl PinInit<Self>> {
        PinnedFieldInit::new(pin_init!(Self {
            dwork <- Opaque::ffi_init(|slot: *mut bindings::delayed_work| {
                // Armed on no queue yet: `arm` reads `wq` (C's initialisers leave it unset).
                // SAFETY: `slot` is valid for writes.
                unsafe {
                    (*slot).wq = ptr::null_mut();
                    (*slot).cpu = 0;
                }
                // SAFETY: `slot` is valid for writes, and its `work_struct` starts the
                // `DelayedWork` (`WorkField`).
                unsafe {
                    field::init_work::<Self, T, ID>(
                        ptr::addr_of_mut!((*slot).work),
                        name,
                        work_key,
                    )
                };
                // SAFETY: The timer lives in a `delayed_work` and is only armed by the workqueue
                // code, which needs `delayed_work_timer_fn` (set by the glue) and
                // `TIMER_IRQSAFE`; the glue initialises it as on-stack where it is.
                unsafe {
                    rust_wq_timer_init(
                        ptr::addr_of_mut!((*slot).timer),
                        bindings::TIMER_IRQSAFE,
                        name.as_char_ptr(),
                        timer_key.as_ptr(),
                    )
                };
            }),
            arm: ArmLock::new(),
            seen: Atomic::new(0),
            links: Links::new(),
            _item: PhantomData,
        }))
    }
}

impl<T: ?Sized, const ID: u64> DelayedWork<T, ID> {
    /// Returns the raw `delayed_work`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::delayed_work {
        self.dwork.get()
    }

    /// Disables the item (see [`DelayedWorkRef::disable`]); returns whether it was pending.
    ///
    /// With `sync`, the caller may sleep and is not the item's own `run`.
    ///
    /// [`DelayedWorkRef::disable`]: crate::rust_wq::DelayedWorkRef::disable
    pub(in crate::rust_wq) fn disable(&self, sync: bool) -> Result<bool> {
        let mut state = self.arm.lock();
        if state.disabled >= MAX_DISABLE || (sync && state.cancelling >= MAX_DISABLE) {
            return Err(EOVERFLOW);
        }
        // From here on every arm is refused.
        state.disabled += 1;
        if !sync {
            // SAFETY: The item is initialised; `cancel_delayed_work` may be called in atomic
            // context.
            return Ok(unsafe { bindings::cancel_delayed_work(self.as_raw()) });
        }
        // An `enable` may undo our disable while C still waits: C's transient disable is counted
        // as a cancel in progress, so arming stays refused until C is done.
        state.cancelling += 1;
        drop(state);
        // SAFETY: The item is initialised; the caller may sleep and is not the item's `run`.
        // C's transient disable is balanced inside the call.
        let was_pending = unsafe { bindings::cancel_delayed_work_sync(self.as_raw()) };
        self.arm.lock().cancelling -= 1;
        Ok(was_pending)
    }

    /// Cancels the item and waits for a running instance (see
    /// [`DelayedWorkRef::cancel_sync`]); returns whether it was pending. `EAGAIN` where the caller
    /// may not sleep, `EDEADLK` from the item's own `run`, `EOVERFLOW` as said there.
    ///
    /// [`DelayedWorkRef::cancel_sync`]: crate::rust_wq::DelayedWorkRef::cancel_sync
    #[inline]
    pub(in crate::rust_wq) fn cancel_sync(&self) -> Result<bool> {
        // SAFETY: The `delayed_work` is this item's, initialised and alive while `self` is.
        // Arming is refused while C keeps the item disabled in this call (counted there).
        unsafe { self.arm.cancel_sync_counted(self.as_raw()) }
    }

    /// Fires the timer now if it is armed: the item is queued at once on the queue and CPU it was
    /// armed for (the first half of `flush_delayed_work()`).
    ///
    /// Done under the `arm` lock and the trackers' lock, so that a queue's drop cannot pass the
    /// item by (its `expedite_all` holds that lock) between the timer's stop and the queueing,
    /// and then destroy the queue under it.
    pub(in crate::rust_wq) fn fire_now(&self) {
        let state = self.arm.lock();
        // Not linked: no arm left the timer armed (see `Links::is_linked`).
        if !self.links.is_linked() {
            return;
        }
        let held = TrackersGuard::lock();
        // Fired and unlinked by a queue's drop meanwhile: the timer is not armed any more.
        if !self.links.is_linked() {
            return;
        }
        let timer = {
            // SAFETY: The `delayed_work` is initialised and alive while `self` is.
            unsafe { ptr::addr_of_mut!((*self.as_raw()).timer) }
        };
        // SAFETY: The timer is `TIMER_IRQSAFE`, so it may be deleted synchronously with
        // interrupts off; its callback takes none of our locks.
        if unsafe { bindings::timer_delete_sync(timer) } != 0 {
            // SAFETY: We stopped a pending timer, so the item's `PENDING` bit is ours to pass on:
            // firing it queues the item on `dwork->wq` and `dwork->cpu`, as the timer would have,
            // with interrupts off as it needs. `dwork->wq` is valid: it is a system queue, or an
            // owned queue whose drop has not fired this item yet and waits for the trackers' lock
            // we hold before it can go.
            unsafe { bindings::delayed_work_timer_fn(timer) };
        }
        drop(held);
        drop(state);
    }

    /// How many `cancel_sync` calls are waiting for the item right now (advisory); arming is
    /// refused meanwhile.
    pub fn cancels_in_progress(&self) -> u32 {
        self.arm.peek().cancelling
    }

    /// How often the item is disabled right now.
    pub fn disabled(&self) -> u32 {
        self.arm.peek().disabled
    }

    /// Undoes one [`DelayedWork::disable`]; returns whether the item can be armed again.
    /// An enable without a disable does nothing and returns `false`.
    pub(in crate::rust_wq) fn enable(&self) -> bool {
        let mut state = self.arm.lock();
        if state.disabled == 0 {
            return false;
        }
        state.disabled -= 1;
        state.disabled == 0
    }
}

#[pinned_drop]
impl<T: ?Sized, const ID: u64> PinnedDrop for DelayedWork<T, ID> {
    fn drop(self: Pin<&mut Self>) {
        // An arm that queued the item may still be linking it on another CPU after the item
        // ran: its `arm` lock keeps the memory alive until it is done (see `arm`).
        let state = self.arm.lock();
        // No arm comes after ours, so only a queue's drop (or the unload) can unlink the item
        // meanwhile, under the trackers' lock: `unlink` checks again.
        if self.links.is_linked() {
            // SAFETY: The item is alive until we return.
            unsafe { Tracker::unlink(ptr::from_ref(&self.links).cast_mut()) };
        }
        drop(state);
        // An item built on the stack leaves the object debugger's books with its frame.
        #[cfg(CONFIG_DEBUG_OBJECTS_WORK)]
        // SAFETY: The `delayed_work` is initialised. Being dropped, the item is neither armed nor
        // pending (a queue would own a pointer that keeps it alive); the glue acts only on an
        // item on the stack, which no pointer kind can queue and so is not running either.
        unsafe {
            crate::rust_wq::glue::rust_wq_delayed_destroy(self.dwork.get())
        };
    }
}

/// A [`WorkItemPointer`] that may own a delayed item: [`Arc`], [`Pin<KBox>`] or a `&'static`
/// reference, not `ARef`.
///
/// A delayed item armed on a queue is linked into that queue's tracker (so that dropping the
/// queue can fire its timer), and must be unlinked before its memory goes: its
/// [`DelayedWork`]'s `PinnedDrop` unlinks it. `AlwaysRefCounted` does not promise that drop (an
/// implementation may free the object without running its destructors), so an `ARef` cannot own
/// a delayed item.
///
/// # Safety
///
/// Every [`DelayedWork`] in the `Target` is unlinked from its tracker before its memory is freed
/// or reused: the `Target` is dropped in place first (its `Drop` and `PinnedDrop` run), or its
/// memory outlives the module's registry, whose close empties every tracker of the module.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot own a delayed work item",
    label = "a delayed item is owned by an `Arc` or a `Pin<KBox>`, or is `&'static`",
    note = "a delayed item must be unlinked from its queue's tracker before its memory goes (by \
            its drop); `ARef`'s `AlwaysRefCounted` does not promise that drop"
)]
pub unsafe trait DelayedItemPointer: WorkItemPointer {}

// SAFETY: An `Arc`'s last reference drops its value in place before freeing it.
unsafe impl<T: Send + Sync + 'static> DelayedItemPointer for Arc<T> {}

// SAFETY: A `KBox` drops its value in place before freeing it.
unsafe impl<T: Send + 'static> DelayedItemPointer for Pin<KBox<T>> {}

// SAFETY: The memory of a `&'static T` is never freed or reused while the module runs (a `static`
// of the module, or memory that is never freed: see `static_work::leak_item`). The module's own
// memory goes only after its unload (`Registry::shut_down`) closed the registry, which empties
// every tracker of the module: the system queues' (their timers fired) and those of every owned
// queue still alive (fired and flushed; the others emptied theirs when they were dropped).
unsafe impl<T: Sync + 'static> DelayedItemPointer for &'static T {}

/// Declares that a type contains a [`DelayedWork<T, ID>`] field, which [`HasField`] locates.
/// Implement both with [`impl_has_delayed_work!`].
///
/// [`impl_has_delayed_work!`]: crate::impl_has_delayed_work
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `DelayedWork` field with ID {ID}: it cannot be armed with a delay",
    label = "this item has no `rust_wq::DelayedWork<{T}, {ID}>` field",
    note = "give it a `#[pin] dwork: DelayedWork<Self>` field, initialised with \
            `dwork <- new_delayed_work!()`, and declare it with \
            `impl_has_delayed_work! {{ impl HasDelayedWork<Self> for {Self} {{ self.dwork }} }}`",
    note = "an item with a plain `Work` field is queued at once with `enqueue(item)`"
)]
pub trait HasDelayedWork<T, const ID: u64 = 0>: HasField<DelayedWork<T, ID>> {}

/// How a delayed item is to be armed.
#[derive(Clone, Copy)]
pub(in crate::rust_wq) enum Arm {
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

/// Arms `item` on `wq` after `delay` jiffies, on `cpu` (`None`: the local or any CPU), and links
/// it in the tracker of `wq`: `tracker`, or the module's tracker of system timers if it is `None`.
/// `delay` is at most [`MAX_DELAY`]: the caller checked it
/// ([`DelayOutOfRange`](EnqueueErrorKind::DelayOutOfRange)), where a constant delay folds the
/// check away.
///
/// The module's unload gate is the arm lock's own interrupts-off section
/// ([`ArmLock::lock_gated`]), which also counts the arm in `counts` for an owned queue's `drain`:
/// one call into the C glue to lock, one to unlock, and no RCU read lock. Everything that the
/// gate must cover happens inside it: C arms the timer (or queues the item) and the item is linked
/// in its tracker before the guard drops, so the unload, which waits for that section before it
/// fires the module's system timers, finds the item linked, as it found it inside a [`Gate`]
/// before. The refusals keep their order: the caller refuses a closed gate before the delay is
/// checked (an early read, [`registry::gate_closed_early`]); a close between that read and the
/// lock's is refused here with the same error, before the arm state is looked at.
///
/// Inlined into each arming operation (`enqueue_delayed`, `mod_delayed` and their `_on` forms, per
/// kind of queue), so that an arm is one out-of-line level on top of the C glue and C's call, as
/// the operation's own constants fold into it.
///
/// # Safety
///
/// `wq` is valid during the call, and `bits` are the `reclaim::ON_*` bits of its flags. `tracker`
/// is the one tracker whose owner's drop fires the timers armed on `wq` (every arm on `wq` passes
/// it), and the caller borrows that owner (an owned queue), so that the drop cannot start before
/// this call returns; or `tracker` is `None` and `wq` lives forever (a system queue), whose timers
/// the unload fires. `counts` is null or the counts word of the owned queue of `wq`
/// ([`QueueCore::counts`](crate::rust_wq::queue::owned::QueueCore::counts)), which the caller
/// borrows.
///
/// [`Gate`]: crate::rust_wq::internal::registry::Gate
/// [`registry::gate_closed_early`]: crate::rust_wq::internal::registry::gate_closed_early
#[expect(clippy::too_many_arguments)]
#[inline(always)]
pub(in crate::rust_wq) unsafe fn arm<P: DelayedPointer<ID>, const ID: u64>(
    wq: *mut bindings::workqueue_struct,
    bits: u32,
    tracker: Option<&Tracker>,
    counts: *const *mut c_void,
    cpu: Option<u32>,
    item: P,
    delay: Jiffies,
    how: Arm,
) -> Result<Armed<P>, EnqueueError<P>> {
    debug_assert!(delay <= MAX_DELAY);
    let raw = item.into_raw();
    // SAFETY: `raw` is valid while we own it. Once C owns the reference (below), the item may
    // run and be dropped on another CPU; its memory still outlives `dw`: `DelayedWork`'s
    // `PinnedDrop` takes the `arm` lock, which we hold for as long as we use `dw`.
    let dw = unsafe { &*P::Target::raw_get_field(raw) };
    // SAFETY: `counts` is null or a counts word live while the caller borrows its queue, past the
    // guard.
    let Some(state) = (unsafe { dw.arm.lock_gated(counts) }) else {
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(Gate::refused(), unsafe {
            P::from_raw(raw)
        }));
    };
    if state.disabled > 0 || state.cancelling > 0 {
        drop(state);
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(EnqueueErrorKind::Busy, unsafe {
            P::from_raw(raw)
        }));
    }
    // Interrupts are off under the `arm` lock, so a CPU found online here stays online until
    // the timer is armed: taking a CPU down needs every CPU to run its stopper thread.
    let cpu = match cpu {
        None => WORK_CPU_UNBOUND,
        Some(n) => match cpu::online_cpu(n) {
            Ok(id) => id.as_u32() as i32,
            Err(e) => {
                drop(state);
                let kind = EnqueueErrorKind::of_cpu(e);
                // SAFETY: Nothing took the reference.
                return Err(EnqueueError::new(kind, unsafe { P::from_raw(raw) }));
            }
        },
    };
    let work = dw.as_raw();
    // SAFETY: The `work_struct` of a `DelayedWork`, initialised and alive (see above).
    let admitted = unsafe { borrowed::admit(ptr::addr_of_mut!((*work).work), &dw.seen, bits) };
    if let Err(e) = admitted {
        drop(state);
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(e, unsafe { P::from_raw(raw) }));
    }
    // The queue whose timer the item was last armed with, whose tracker its links are in if
    // they are linked (type invariant). C writes `dwork->wq` only when it arms the timer (a
    // delay of 0 queues at once and leaves it), which we do under the `arm` lock; `new` starts
    // it null.
    // SAFETY: The `delayed_work` is initialised and alive (see above).
    let last_wq = unsafe { (*dw.as_raw()).wq };
    // The tracker of `wq`: the module's for a system queue, whose registry the gate keeps alive.
    let tracker = match tracker {
        Some(tracker) => tracker,
        None => state.system_tracker(),
    };
    // SAFETY: The `delayed_work` is initialised and alive (see above), `wq` is valid and `cpu`
    // is unbound or online. While the timer may fire, `wq` stays valid: the item is linked in
    // `tracker` below, before the owner of `wq` can fire the timers it tracks and go (caller), or
    // before the unload can fire those of system queues (it waits for the gate we hold). Both
    // calls are irq-safe.
    let res = unsafe {
        match how {
            Arm::Queue => bindings::queue_delayed_work_on(cpu, wq, dw.as_raw(), delay),
            // `mod_delayed_work_on` returns `true` if the item was pending (that reference stays
            // with the queue), `false` if it was idle and is now queued, or is disabled in C. It
            // is disabled in C only inside `cancel_delayed_work_sync()`, and those calls are
            // counted under this lock and refused above (type invariant): `false` means queued.
            Arm::Modify => !bindings::mod_delayed_work_on(cpu, wq, dw.as_raw(), delay),
        }
    };
    // Whatever C did, the links must end up in the tracker of `dwork->wq`. C sets it to `wq`
    // when it arms the timer; a delay of 0 (queued at once) and a refused arm leave it as it
    // was, and then so do we.
    // SAFETY: As above; only arms write `wq`, under the `arm` lock we hold.
    let now_wq = unsafe { (*dw.as_raw()).wq };
    if now_wq == wq {
        // Still linked from an earlier arm on this queue is the common case of re-arming: the
        // links stay in its tracker until the arm ends (`Links::is_linked`), so the trackers'
        // lock is not needed. Otherwise the links move to `tracker` now; until then they stay
        // in the tracker of the queue the item was armed on before, so that queue's drop still
        // finds the item (and fires it into `wq`, which is alive).
        if !(dw.links.is_linked_under_arm() && last_wq == wq) {
            // SAFETY: The item is alive (see above).
            unsafe { tracker.link(ptr::from_ref(&dw.links).cast_mut()) };
        }
        // INVARIANT: The links are in the tracker of `wq`, now `dwork->wq`.
    }
    drop(state);
    match (res, how) {
        (true, _) => Ok(Armed::Queued),
        // SAFETY: The queue did not take the reference.
        (false, Arm::Queue) => Err(EnqueueError::new(EnqueueErrorKind::Busy, unsafe {
            P::from_raw(raw)
        })),
        // SAFETY: As above: the pending instance keeps its own reference.
        (false, Arm::Modify) => Ok(Armed::Modified(unsafe { P::from_raw(raw) })),
    }
}

/// Implements [`HasDelayedWork`] and [`HasField`] for a struct with a [`DelayedWork`] field.
#[macro_export]
macro_rules! impl_has_delayed_work {
    ($(impl$({$($generics:tt)*})?
       HasDelayedWork<$work_type:ty $(, $id:tt)?>
       for $self:ty
       { self.$field:ident }
    )*) => {$(
        $crate::__rust_wq_impl_has_field!(
            HasDelayedWork, DelayedWork,
            [$({$($generics)*})?], $work_type, [$($id)?], $self, $field
        );
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
        )
    };
}
