// SPDX-License-Identifier: GPL-2.0

//! Items embedded in storage that a driver frees, queued by reference with no count:
//! [`WorkBox`].
//!
//! C drivers embed their `work_struct`s in their device state, queue them by address and cancel
//! them in teardown. A [`WorkBox<T>`] is that: a pinned heap allocation holding the driver's `T`,
//! whose [`Work`] and [`DelayedWork`] fields are queued with [`WorkBox::enqueue`] and
//! [`WorkBox::enqueue_delayed`], which copy a pointer and count nothing. The box's drop disables
//! every field ever queued through it and waits until none runs, then drops `T` and frees the
//! memory, as a C driver's teardown does.
//!
//! # Why rust_wq owns the allocation
//!
//! "The storage's drop cancels and waits" cannot be sound for storage rust_wq does not free:
//! safe code can drop that storage from the item's own `run` (take it out of a global
//! `Mutex<Option<..>>`), where the drop cannot wait for itself, and the memory would be freed while
//! `run` still uses it. A `WorkBox` is rust_wq's own allocation, so where its drop should not wait
//! it hands the rest of the drop to a kworker, through a `work_struct` the allocation carries for
//! that (no allocation when dropping): in any kworker (one of the box's own runs, or a run that one
//! of them waits for) and wherever the caller cannot sleep (atomic context, a spinlock or an RCU
//! read lock held). The module's unload waits for such hand-offs. In a task that may sleep the drop
//! waits, as C's `cancel_work_sync` in a driver's teardown: not under a lock that the box's items
//! take (a cycle of waits, as with mutexes). [`core::mem::forget`] of a box leaks its memory; its
//! queued items run, and the unload drains them, as for any item.
//!
//! # What `run` gets
//!
//! An item of a box implements [`BoxItem`], not [`WorkItem`] (a blanket impl makes every
//! `BoxItem` a `WorkItem` whose pointer is the box's). Its `run` gets a `Pin<&Self>` that lives
//! only for the call, so nothing of it outlives the run, and a [`Requeue`] that queues or arms the
//! same field again (what a C item does with its own `work_struct`).
//!
//! # One queue per field
//!
//! C runs a work item on one worker at a time only within one workqueue: queued on a second
//! workqueue while it runs on a first, it runs on both at once, and `cancel_work_sync` waits for
//! the last one only. A counted pointer does not care (each run holds a count); a box would be
//! freed under the first run. So each field of a box goes to one queue: the queue of its first
//! enqueue, for the box's life. Queueing it on another is `EXDEV` (a field may go on any CPU of
//! its queue). Every run of a field is then on that queue, and a cancel that waits waits for all.
//! [`WorkBox::cancel_all`] frees the fields to go to another queue (a queue made anew). C's one
//! exception, an ordered queue whose pool is replaced by a root change of the workqueue cpumask,
//! is soundness.md's rule 20.
//!
//! # Which fields the drop retires
//!
//! Each field is recorded in the box's header at its first enqueue (through the box, or a
//! [`Requeue`]), with the function that retires it (made for that field: it knows the field's
//! kind and place) and its queue: at most [`WorkBox::FIELDS`] distinct fields, an enqueue of one
//! more is refused with `ENOSPC`. The drop retires the recorded fields in the order they were
//! recorded: disables each (for good: no queueing of it succeeds afterwards) and waits for its run.
//! A run still going can record a field only after those before it in the header, so the drop,
//! which goes on to the end of the header, meets it; once it meets an empty slot, every field
//! recorded is retired and idle, and nothing is left to record one.
//!
//! # The pointer stays inside rust_wq
//!
//! The pointer a queue holds for a box item ([`BoxRef`]) is valid only while the box lives, so
//! safe code must never hold one. Only the box makes one; the box's methods drop what a queue
//! gives back (a refused enqueue's, a cancel's); and the handles' `cancel` and `disable`
//! ([`WorkRef`](crate::rust_wq::WorkRef), [`DelayedWorkRef`](crate::rust_wq::DelayedWorkRef)),
//! which give the queue's pointer back, require a [`GivenBack`](crate::rust_wq::GivenBack)
//! pointer, which `BoxRef` is not: a box's fields are cancelled with [`WorkBox::cancel_sync`]
//! and its kin. A box's fields cannot be disabled (the drop is their teardown; only
//! [`WorkBox::cancel_all`] disables them while it runs, and enables them again), and cannot be
//! queued after an RCU grace period (a grace period cannot be cancelled).
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
    queue::enqueue::raw_queue,
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
    /// Runs the item on a kworker. `this` lives only for the call; `again` queues the field again.
    fn run(this: Pin<&Self>, again: Requeue<'_, Self, ID>);
}

/// What a [`BoxItem::run`] has to queue its own field again, as a C item queues its own
/// `work_struct` (a `Work` and a `DelayedWork` field of one `ID` both run `BoxItem<ID>`: either
/// is queued). It lives only for the call.
///
/// Sound while the box's drop runs: the field queued is recorded first (see [`WorkBox`]); the
/// drop has not retired it yet (it will, later), or is retiring it, and C keeps it disabled (the
/// queueing is `EBUSY`); a field retired before stays disabled.
pub struct Requeue<'a, T: Send + Sync + 'static, const ID: u64> {
    inner: &'a Inner<T>,
}

impl<T: BoxItem<ID>, const ID: u64> Requeue<'_, T, ID> {
    /// Queues the `Work` field `ID` on `queue`, as [`WorkBox::enqueue`].
    ///
    /// # Errors
    ///
    /// Those of [`WorkBox::enqueue`].
    #[inline]
    pub fn enqueue(&self, queue: &impl Enqueue) -> Result
    where
        T: HasWork<T, ID>,
    {
        self.inner.enqueue::<ID>(queue, None)
    }

    /// Arms the `DelayedWork` field `ID` on `queue`, as [`WorkBox::enqueue_delayed`].
    ///
    /// # Errors
    ///
    /// Those of [`WorkBox::enqueue_delayed`].
    #[inline]
    pub fn enqueue_delayed(&self, queue: &impl EnqueueDelayed, delay: impl Delay) -> Result
    where
        T: HasDelayedWork<T, ID>,
    {
        self.inner.enqueue_delayed::<ID>(queue, delay)
    }
}

/// The pointer to an item in a [`WorkBox`] that a queue holds while the item is pending: a raw
/// pointer, no count. Only the box makes one, and none reaches safe code (see the
/// [module documentation](self)); it must be public to be the pointer of public impls.
///
/// # Invariants
///
/// `ptr` is the value of an `Inner<T>`.
#[doc(hidden)]
pub struct BoxRef<T, const ID: u64> {
    ptr: NonNull<T>,
}

// SAFETY: Sending a `BoxRef` lets another thread get a `Pin<&T>`, so `T: Sync`.
unsafe impl<T: Sync, const ID: u64> Send for BoxRef<T, ID> {}

// SAFETY: A `BoxRef` is made only by `Inner::{enqueue, arm}`, for the value of a live box whose
// field `ID` is recorded with the queue it is queued on (since the last `WorkBox::cancel_all`,
// which leaves no `BoxRef` in any queue: it returns with every field idle). The box's drop
// does not free the value before every recorded field is disabled and idle (or it leaks the
// memory), and each field runs on its one queue only, where C runs it on one worker at a time and
// a disable that waits waits for that run; so the value stays valid, and unmoved (pinned, and
// never moved out), until the queue gives the pointer to `run` (which returns before the drop goes
// on) or a cancel takes it. Nothing is counted: `from_raw` gives back the pointer `into_raw` took.
unsafe impl<T: Send + Sync + 'static, const ID: u64> WorkItemPointer for BoxRef<T, ID> {
    type Target = T;

    #[inline]
    fn into_raw(self) -> *mut T {
        self.ptr.as_ptr()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        // INVARIANT: `ptr` comes from `into_raw` (the caller's promise).
        Self {
            // SAFETY: `ptr` comes from `into_raw`, so it is not null.
            ptr: unsafe { NonNull::new_unchecked(ptr) },
        }
    }
}

// SAFETY: The value of a box is dropped in place (the `KBox` of `Inner` drops it) before its memory
// is freed, or the memory is never freed (a forgotten box, a refused disable).
unsafe impl<T: Send + Sync + 'static, const ID: u64> DelayedItemPointer for BoxRef<T, ID> {}

impl<T: BoxItem<ID>, const ID: u64> WorkItem<ID> for T {
    type Pointer = BoxRef<T, ID>;

    #[inline]
    fn run(this: BoxRef<T, ID>) {
        // SAFETY: `this.ptr` is the value of an `Inner<T>` (the type invariant), alive and pinned
        // while its field runs (see `BoxRef`); the references live only for this call.
        let inner = unsafe { Inner::of_value(this.ptr.as_ptr()) };
        // SAFETY: The value is pinned in its box and never moved out.
        let value = unsafe { Pin::new_unchecked(&inner.value) };
        <T as BoxItem<ID>>::run(value, Requeue { inner })
    }
}

/// The ID of the `work_struct` that a box carries for the hand-off of its drop.
const HANDOFF: u64 = u64::MAX;

/// How many distinct fields a box records (see [`WorkBox::FIELDS`]).
const SLOTS: usize = 4;

/// The function of a recorded field: with `false` it retires the field (disables it and waits
/// for its run), with `true` it undoes that (enables it), for [`WorkBox::cancel_all`].
type RetireFn<T> = unsafe fn(*const T, bool) -> Result<bool>;

/// A field recorded in a box's header: its [`RetireFn`] and its C queue, as addresses (0: none
/// yet). Each is set once, and cleared only by [`WorkBox::cancel_all`].
struct Slot {
    retire: Atomic<usize>,
    queue: Atomic<usize>,
}

#[pin_data]
struct Inner<T: Send + Sync + 'static> {
    #[pin]
    handoff: Work<Inner<T>, HANDOFF>,
    /// The fields ever queued, in the order of their first queueing.
    fields: [Slot; SLOTS],
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

impl<T: Send + Sync + 'static> Inner<T> {
    /// Whether the caller is a kworker running one of this box's items (`current_work()` inside
    /// the allocation).
    fn runs_here(&self) -> bool {
        let start = core::ptr::from_ref(self) as usize;
        // SAFETY: `current_work` may be called from any context.
        let cur = unsafe { bindings::current_work() } as usize;
        (start..start + core::mem::size_of::<Self>()).contains(&cur)
    }

    /// The function of the field recorded in `slot`, one of this box's, if one is.
    #[inline]
    fn recorded(slot: &Slot) -> Option<RetireFn<T>> {
        let f = slot.retire.load(Acquire);
        // SAFETY: A non-zero slot of an `Inner<T>` holds a `RetireFn<T>` stored by
        // `Inner::record_slow`.
        (f != 0).then(|| unsafe { core::mem::transmute::<usize, RetireFn<T>>(f) })
    }

    /// Retires the recorded fields in slot order (see the
    /// [module documentation](self#which-fields-the-drop-retires)), up to the first empty slot
    /// (every field recorded is then retired and idle: no run is left to record one) or the first
    /// refusal. Returns how many were retired, and the refusal.
    ///
    /// # Safety
    ///
    /// The caller may sleep and runs no item of this box.
    unsafe fn retire_all(&self) -> (usize, Result) {
        for (i, slot) in self.fields.iter().enumerate() {
            let Some(f) = Self::recorded(slot) else {
                return (i, Ok(()));
            };
            // SAFETY: The value is alive (`self` is); the caller may sleep and runs no item of
            // the box (the caller's promise).
            if let Err(e) = unsafe { f(&self.value, false) } {
                return (i, Err(e));
            }
        }
        (SLOTS, Ok(()))
    }

    /// The `Inner` whose value is at `value`.
    ///
    /// # Safety
    ///
    /// `value` is the value of a live `Inner<T>`, which lives for `'a`.
    #[inline]
    unsafe fn of_value<'a>(value: *mut T) -> &'a Self {
        // SAFETY: `value` is the field `value` of an `Inner<T>` (the caller's promise), so the
        // subtraction stays in that allocation and gives its start.
        unsafe {
            &*value
                .byte_sub(core::mem::offset_of!(Self, value))
                .cast::<Self>()
        }
    }

    /// Records the field whose retire function is `f` as queued on `wq`: `Ok` if it is recorded
    /// with that queue already or now, `EXDEV` if with another, `ENOSPC` if [`WorkBox::FIELDS`]
    /// others are recorded. A field recorded already costs a load and a compare or two per slot
    /// before it, inline; the first queueing of a field records it out of line.
    // Always inline, as `WorkBox::enqueue` and `Inner::enqueue`: the enqueue of a box's field
    // stays one call level, as that of an item by `&'static` reference (`make bench`: burst 707
    // -> 694 instructions per item).
    #[inline(always)]
    fn record(&self, f: RetireFn<T>, wq: *mut bindings::workqueue_struct) -> Result {
        let (f, wq) = (f as usize, wq as usize);
        for slot in &self.fields {
            // SAFETY: The slot's words are live and aligned, and written only atomically
            // (`cmpxchg`, and the stores of `WorkBox::cancel_all`). Relaxed reads are enough:
            // nothing is read through the values; a word is set once, and cleared only under
            // `&mut WorkBox` with no run alive, so every later read is ordered after the clear
            // (it sees 0 or what was set since), and whoever later drops the box (after this
            // queueing) sees what this queueing saw (coherence).
            let cur = unsafe { read_once(slot.retire.as_ptr().cast_const()) };
            if cur == f {
                // SAFETY: As above.
                if unsafe { read_once(slot.queue.as_ptr().cast_const()) } == wq {
                    return Ok(());
                }
                break;
            }
            if cur == 0 {
                break;
            }
        }
        self.record_slow(f, wq)
    }

    #[cold]
    #[inline(never)]
    fn record_slow(&self, f: usize, wq: usize) -> Result {
        for slot in &self.fields {
            let ours = match slot.retire.load(Acquire) {
                cur if cur == f => true,
                // A slot's retire function is claimed once; losing it to the same field is
                // finding it (so no field takes two slots).
                0 => match slot.retire.cmpxchg(0, f, Release) {
                    Ok(_) => true,
                    Err(now) => now == f,
                },
                _ => false,
            };
            if !ours {
                continue;
            }
            return match slot.queue.load(Acquire) {
                cur if cur == wq => Ok(()),
                0 => match slot.queue.cmpxchg(0, wq, Release) {
                    Ok(_) => Ok(()),
                    Err(now) if now == wq => Ok(()),
                    Err(_) => Err(EXDEV),
                },
                _ => Err(EXDEV),
            };
        }
        Err(ENOSPC)
    }

    /// Queues the `Work` field `ID` on `queue`, on `cpu` or the local CPU (`None`).
    #[inline(always)]
    fn enqueue<const ID: u64>(&self, queue: &impl Enqueue, cpu: Option<u32>) -> Result
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        let wq = raw_queue(queue).ok_or(ENODEV)?;
        self.record(retire_work_field::<T, ID>, wq)?;
        // INVARIANT: The value of `self`.
        let item = BoxRef::<T, ID> {
            ptr: NonNull::from(&self.value),
        };
        match cpu {
            None => queue.enqueue(item),
            Some(cpu) => queue.enqueue_on(cpu, item),
        }
        .map_err(|e| e.error())
    }

    /// Arms the `DelayedWork` field `ID` on `queue` after `delay`; with `modify`, moves its timer
    /// if it is armed (`Ok(false)`).
    #[inline]
    fn arm<const ID: u64>(
        &self,
        queue: &impl EnqueueDelayed,
        delay: impl Delay,
        modify: bool,
    ) -> Result<bool>
    where
        T: BoxItem<ID> + HasDelayedWork<T, ID>,
    {
        let wq = raw_queue(queue).ok_or(ENODEV)?;
        self.record(retire_delayed_field::<T, ID>, wq)?;
        // INVARIANT: The value of `self`.
        let item = BoxRef::<T, ID> {
            ptr: NonNull::from(&self.value),
        };
        if !modify {
            return queue
                .enqueue_delayed(item, delay)
                .map(|()| true)
                .map_err(|e| e.error());
        }
        match queue.mod_delayed(item, delay) {
            Ok(Armed::Queued) => Ok(true),
            // The pointer given is unused: it owns nothing.
            Ok(Armed::Modified(_)) => Ok(false),
            Err(e) => Err(e.error()),
        }
    }

    #[inline]
    fn enqueue_delayed<const ID: u64>(
        &self,
        queue: &impl EnqueueDelayed,
        delay: impl Delay,
    ) -> Result
    where
        T: BoxItem<ID> + HasDelayedWork<T, ID>,
    {
        self.arm::<ID>(queue, delay, false).map(|_| ())
    }
}

/// Retires the `Work` field `ID` of the `T` at `value`: disables it and waits for its run, and
/// returns whether it was pending; with `revive`, undoes one such retire.
///
/// # Safety
///
/// `value` is a live `T` for the call; to retire, the caller may sleep and runs no item of its
/// box; to revive, the field was retired by the caller.
unsafe fn retire_work_field<T: BoxItem<ID> + HasWork<T, ID>, const ID: u64>(
    value: *const T,
    revive: bool,
) -> Result<bool> {
    // SAFETY: `value` is live (the caller's promise); `raw_get_field` locates the field in it.
    let work = unsafe { &*T::raw_get_field(value.cast_mut()) };
    if revive {
        return Ok(work.enable());
    }
    work.start_disable()?;
    // SAFETY: The field is initialised; the caller may sleep and is not the worker running it
    // (the caller's promise). C's count stays below its limit (`start_disable`).
    let was_pending = unsafe { bindings::disable_work_sync(work.as_raw()) };
    work.finish_disable();
    Ok(was_pending)
}

/// Retires the `DelayedWork` field `ID` of the `T` at `value`: disarms and disables it and waits
/// for its run, and returns whether it was pending; with `revive`, undoes one such retire.
///
/// # Safety
///
/// As for [`retire_work_field`].
unsafe fn retire_delayed_field<T: BoxItem<ID> + HasDelayedWork<T, ID>, const ID: u64>(
    value: *const T,
    revive: bool,
) -> Result<bool> {
    // SAFETY: `value` is live (the caller's promise); `raw_get_field` locates the field in it.
    let dwork = unsafe { &*T::raw_get_field(value.cast_mut()) };
    if revive {
        return Ok(dwork.enable());
    }
    // The caller may sleep and is not the item's own run (the caller's promise).
    dwork.disable(true)
}

/// The end of a box's drop, in a task that may sleep and runs none of the box's items (a task
/// that is no kworker, or the hand-off's kworker): retires every recorded field in turn (see the
/// [module documentation](self#which-fields-the-drop-retires)), then drops the value and frees the
/// memory.
///
/// A refused disable leaks the memory instead, a leak rather than a free under an item: none is
/// reachable (`EOVERFLOW` needs disables of the field, which a box's fields have none of, or as
/// many `cancel_sync`s under way as `MAX_DISABLE`, which need a `&WorkBox` while the drop has it).
fn finish<T: Send + Sync + 'static>(inner: Pin<KBox<Inner<T>>>) {
    // SAFETY: The caller may sleep and runs no item of the box (this function's caller's promise).
    if unsafe { inner.retire_all() }.1.is_err() {
        core::mem::forget(inner);
        return;
    }
    drop(inner);
}

/// A pinned heap allocation, owned by rust_wq, whose [`Work`] and [`DelayedWork`] fields are
/// queued by reference with no count; its drop disables them and waits. See the
/// [module documentation](self).
///
/// # Invariants
///
/// `inner` is initialised, except inside `drop`, which takes it.
pub struct WorkBox<T: Send + Sync + 'static> {
    inner: ManuallyDrop<Pin<KBox<Inner<T>>>>,
}

impl<T: Send + Sync + 'static> WorkBox<T> {
    /// How many distinct fields of a box can be queued.
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
                fields: [const {
                    Slot {
                        retire: Atomic::new(0),
                        queue: Atomic::new(0),
                    }
                }; SLOTS],
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

    /// Queues the [`Work`] field `ID` of the value on `queue` (on the local CPU for per-CPU
    /// queues), by reference.
    ///
    /// # Errors
    ///
    /// - `EXDEV`: the field went on another queue before (see
    ///   [One queue per field](self#one-queue-per-field)).
    /// - `ENOSPC`: the field would be one more than [`Self::FIELDS`] queued.
    /// - `ENODEV`: a [`DevmQueue`](crate::rust_wq::DevmQueue) whose device was unbound.
    /// - Those of [`Enqueue`] (`EBUSY` while the field is pending, ...).
    #[inline(always)]
    pub fn enqueue<const ID: u64>(&self, queue: &impl Enqueue) -> Result
    where
        T: BoxItem<ID> + HasWork<T, ID>,
    {
        self.inner().enqueue::<ID>(queue, None)
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
        self.inner().enqueue::<ID>(queue, Some(cpu))
    }

    /// Arms the [`DelayedWork`] field `ID` of the value to run on `queue` after `delay`, as
    /// [`EnqueueDelayed::enqueue_delayed`].
    ///
    /// # Errors
    ///
    /// - `EXDEV`, `ENOSPC`, `ENODEV`: as for [`Self::enqueue`].
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
        self.inner().enqueue_delayed::<ID>(queue, delay)
    }

    /// Arms the [`DelayedWork`] field `ID` to run after `delay`, whether it was armed or not,
    /// as [`EnqueueDelayed::mod_delayed`]. Returns `true` if the field was idle (now armed),
    /// `false` if it was pending (its timer moved).
    ///
    /// # Errors
    ///
    /// - `EXDEV`, `ENOSPC`, `ENODEV`: as for [`Self::enqueue`].
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
        self.inner().arm::<ID>(queue, delay, true)
    }

    /// Cancels every field queued so far and waits until none runs, then forgets the queues they
    /// went to: each field may go to another queue afterwards (the driver's queue was made anew,
    /// say). With `&mut self` no other caller can queue a field meanwhile; a run still going, or
    /// the timer of a delayed field, can queue only a field that this has not retired yet (it
    /// retires it later): a retired field stays disabled (by C for a plain field, by its arm
    /// lock for a delayed one) until this enables it again, at its end.
    ///
    /// It waits as the drop does in a task that may sleep: not under a lock that the box's items
    /// take, nor from an item that one of them waits for (a cycle of waits, as with mutexes:
    /// soundness.md rule 7). On an ordered queue whose pool root replaces meanwhile, rule 20.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep.
    /// - `EDEADLK`: the caller is one of the box's own runs (it would wait for itself).
    ///
    /// Nothing else: a field's retire could only be refused with `EOVERFLOW`, which needs
    /// disables or `cancel_sync`s of it under way at once, and `&mut self` rules them out. (Were it
    /// refused, the fields retired before it would be enabled again, their queues kept.)
    pub fn cancel_all(&mut self) -> Result {
        let inner: &Inner<T> = &self.inner;
        let ctx = cpu::context();
        if !ctx.may_sleep() {
            return Err(EAGAIN);
        }
        if ctx.is_worker() && inner.runs_here() {
            return Err(EDEADLK);
        }
        // SAFETY: The caller may sleep and runs no item of the box (checked above).
        let (retired, res) = unsafe { inner.retire_all() };
        // On success the fields retired are all the recorded ones, idle and disabled, and, as in
        // the drop, no run is left that could record another: the slots may be cleared, then the
        // fields enabled again. On an error only the fields retired are enabled again.
        for slot in inner.fields.iter().take(retired) {
            let Some(f) = Inner::<T>::recorded(slot) else {
                continue;
            };
            if res.is_ok() {
                slot.queue.store(0, Release);
                slot.retire.store(0, Release);
            }
            // SAFETY: The value is alive (`self` is), and the field retired by this call.
            let _ = unsafe { f(&inner.value, true) };
        }
        res
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

    /// Cancels the [`Work`] field `ID` and waits until it runs nowhere (C's `cancel_work_sync`:
    /// a field runs on its one queue only, where this waits for its run). Returns whether it was
    /// pending.
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
        let ctx = cpu::context();
        // In a kworker (one of the box's own runs, whose retire would wait for itself, or a run
        // that one of them waits for), or where the caller cannot sleep: a kworker of
        // `system_dfl_long` finishes the drop; it may wait, and runs no item of the box.
        if ctx.is_worker() || !ctx.may_sleep() {
            if let Err(inner) = registry::hand_off(inner) {
                // Unreachable (see `hand_off`); a leak rather than a free under an item.
                core::mem::forget(inner);
            }
            return;
        }
        finish(inner);
    }
}
