// SPDX-License-Identifier: GPL-2.0

//! [`Tracker`]: the delayed items armed on one owned queue (or, per module, on the system
//! queues), so that the queue's drop (or the module's unload) can fire their timers before the
//! queue (or the module's code) goes away. See [`delayed`](crate::rust_wq::item::delayed) for the
//! protocol.
//!
//! Every tracker of a module is a circular list behind one lock of the module (a raw spinlock of
//! the C glue, see [`TrackersGuard`]): an item can then unlink itself without knowing which tracker
//! it is in, so it does not keep a pointer to it, and a tracker is only a list head inside its
//! queue, not an allocation of its own. The lock is taken when an item is linked (its first arm on
//! a queue), unlinked (armed on another queue, or dropped) and when a queue goes away; re-arming an
//! item on the queue it is linked in takes it not.

use crate::rust_wq::{
    glue::{
        rust_wq_trackers_lock_irqsave,
        rust_wq_trackers_unlock_irqrestore, //
    },
    internal::read_once,
};
use core::{
    cell::UnsafeCell,
    marker::PhantomPinned,
    ptr, //
};
use kernel::{
    bindings,
    ffi::c_ulong,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Relaxed,
        Release, //
    },
    types::NotThreadSafe,
};

/// Holds the lock of all trackers of this module, a raw spinlock (it nests inside the arm lock of
/// an item, which spins with interrupts off), with interrupts off.
pub(in crate::rust_wq) struct TrackersGuard {
    flags: c_ulong,
    /// Interrupts are restored on this CPU.
    _not_send: NotThreadSafe,
}

impl TrackersGuard {
    /// Takes the lock.
    #[inline]
    pub(in crate::rust_wq) fn lock() -> Self {
        // SAFETY: The lock is defined (and initialised) statically in the glue; the flags are
        // given back when the guard drops.
        let flags = unsafe { rust_wq_trackers_lock_irqsave() };
        Self {
            flags,
            _not_send: NotThreadSafe,
        }
    }
}

impl Drop for TrackersGuard {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: We hold the lock, taken on this CPU with these flags.
        unsafe { rust_wq_trackers_unlock_irqrestore(self.flags) };
    }
}

/// The node of a delayed item in a [`Tracker`] list, or a tracker's list head.
///
/// Its fields are only written under [`TrackersGuard`]. `next` is null while the node is in no list
/// (and in the head of a list never used); it is also read without the lock, by the item's own
/// arming and flushing (see [`Links::is_linked`]).
pub(in crate::rust_wq) struct Links {
    next: Atomic<*mut Links>,
    prev: UnsafeCell<*mut Links>,
}

impl Links {
    /// Unlinked links of an item.
    pub(in crate::rust_wq) const fn new() -> Self {
        Self {
            next: Atomic::new(ptr::null_mut()),
            prev: UnsafeCell::new(ptr::null_mut()),
        }
    }

    /// Whether the links are in a tracker, read without its lock by the item's arming and
    /// flushing, under the item's arm lock.
    ///
    /// Only a tracker's [`Tracker::expedite_all`] unlinks an item that is not arming or being
    /// dropped, and it runs only when the tracker's queue is being dropped (nobody can arm on it:
    /// its handle is gone) or the module's registry is closed (arming is refused). So while an
    /// item arms on the queue of the tracker it is linked in, nobody else unlinks it: `true`
    /// stays true until the arm ends. `expedite_all` fires an item's timer before it unlinks
    /// it, and unlinks with a release store: `false` means the timer is not armed by an arm
    /// that came before.
    #[inline]
    pub(in crate::rust_wq) fn is_linked(&self) -> bool {
        !self.next.load(Acquire).is_null()
    }

    /// [`Links::is_linked`] for the item's arming, which only decides whether to link the item
    /// in the tracker of the queue it armed on: a plain `READ_ONCE()`, inline, where an acquire
    /// load is a call to a C helper. It orders nothing after it, and needs to: whether it is
    /// null was last set by the item's previous arm or drop (under the arm lock, which the
    /// caller's acquire orders before it) or by a tracker's [`Tracker::expedite_all`]; a
    /// neighbour's `link` or unlink rewrites a linked `next` too, without this item's arm lock,
    /// but only from one non-null value to another, which does not change the answer. When the
    /// answer matters (the item stays linked in the tracker of the very queue it arms on), that
    /// tracker's `expedite_all` cannot run meanwhile (see [`Links::is_linked`]) and one that ran
    /// before (a queue dropped earlier at the same address) happened before the queue the caller
    /// borrows was made; otherwise the caller links the item anyway, under the trackers' lock,
    /// which reads the links again.
    #[inline]
    pub(in crate::rust_wq) fn is_linked_under_arm(&self) -> bool {
        // SAFETY: `next` is a live, aligned pointer-sized atomic, only written by atomic stores.
        !unsafe { read_once(self.next.as_ptr().cast_const()) }.is_null()
    }
}

/// The delayed items armed on one owned queue, or on the system queues for one module: the head
/// of a circular list of their [`Links`], under [`TrackersGuard`].
///
/// # Invariants
///
/// Every item whose timer is armed on the queue(s) of this tracker is linked here, from before the
/// queue can be dropped (or the module closes its registry) until the timer has fired or was
/// stopped. (Inside an arm, C arms the timer just before the item is linked: the arm borrows the
/// queue, or holds the registry open, so the drop cannot come in between.) A linked item is alive:
/// it unlinks itself under the lock before it is freed. The tracker does not move once something
/// was linked in it (it is pinned), and it is empty when it is dropped: its owner calls
/// [`Tracker::expedite_all`] when the queue(s) can take no more arms.
#[pin_data(PinnedDrop)]
pub(in crate::rust_wq) struct Tracker {
    head: Links,
    #[pin]
    _pin: PhantomPinned,
}

// SAFETY: The links are only followed and written under the trackers' lock, and point at items that
// are alive while linked (the invariant).
unsafe impl Send for Tracker {}
// SAFETY: As above.
unsafe impl Sync for Tracker {}

impl Tracker {
    /// An empty tracker.
    pub(in crate::rust_wq) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            head: Links::new(),
            _pin: PhantomPinned,
        })
    }

    /// Moves `node` here, from the tracker it is in, if any, in one round of the lock. The caller
    /// holds the arm lock of its item.
    ///
    /// # Safety
    ///
    /// `node` is the links of an item that is alive.
    pub(in crate::rust_wq) unsafe fn link(&self, node: *mut Links) {
        let _guard = TrackersGuard::lock();
        let head = ptr::from_ref(&self.head).cast_mut();
        // SAFETY: `node` is valid (caller), the lists are protected by the lock we hold, and
        // their nodes are alive while linked (type invariant); the head does not move.
        unsafe {
            Self::unlink_locked(node);
            let mut first = self.head.next.load(Relaxed);
            if first.is_null() {
                // The first link: the empty circle.
                first = head;
                *self.head.prev.get() = head;
            }
            *(*node).prev.get() = head;
            (*node).next.store(first, Release);
            *(*first).prev.get() = node;
            self.head.next.store(node, Release);
        }
    }

    /// Unlinks `node` from the tracker it is in, if any.
    ///
    /// # Safety
    ///
    /// `node` is the links of an item that is alive.
    pub(in crate::rust_wq) unsafe fn unlink(node: *mut Links) {
        let _guard = TrackersGuard::lock();
        // SAFETY: `node` is valid (caller), and we hold the lock.
        unsafe { Self::unlink_locked(node) }
    }

    /// # Safety
    ///
    /// [`TrackersGuard`] is held, and `node` is valid.
    unsafe fn unlink_locked(node: *mut Links) {
        // SAFETY: See the callers; the neighbours of a linked node are linked too, hence valid.
        unsafe {
            let next = (*node).next.load(Relaxed);
            if next.is_null() {
                return;
            }
            let prev = *(*node).prev.get();
            (*prev).next.store(next, Release);
            *(*next).prev.get() = prev;
            *(*node).prev.get() = ptr::null_mut();
            (*node).next.store(ptr::null_mut(), Release);
        }
    }

    /// Fires every linked timer now: each item is queued at once on the queue and CPU it was
    /// armed for, as `flush_delayed_work()` does, without waiting for it. Items whose timer
    /// already fired are only unlinked.
    ///
    /// No reference moves: the pending instance keeps the one it had, from the arm to its run.
    /// `timer_delete_sync()` returning `true` means the timer was pending and will not run; the
    /// item's `PENDING` bit stays set meanwhile, so nobody else can grab or re-arm it until
    /// `delayed_work_timer_fn()` has queued it. When it returns `false`, the timer callback has
    /// finished (the item is queued, running or done) or the item was cancelled.
    ///
    /// # Safety
    ///
    /// Every queue that an item linked here is armed on stays valid during the call.
    pub(in crate::rust_wq) unsafe fn expedite_all(&self) {
        // Nothing was ever linked.
        if !self.head.is_linked() {
            return;
        }
        let head = ptr::from_ref(&self.head).cast_mut();
        // One item per lock round: interrupts are off only for one timer at a time.
        loop {
            let guard = TrackersGuard::lock();
            let node = self.head.next.load(Relaxed);
            if node == head {
                return;
            }
            // SAFETY: `node` is linked, hence valid, and we hold the lock. The item is alive
            // while linked: it unlinks itself under this lock before it is freed. Its
            // `delayed_work` sits at a fixed distance before its links (`links_to_dwork`).
            let timer = unsafe { ptr::addr_of_mut!((*links_to_dwork(node)).timer) };
            // SAFETY: As above. The timer is `TIMER_IRQSAFE`, so it may be deleted synchronously
            // with interrupts off; its callback takes no lock of ours.
            if unsafe { bindings::timer_delete_sync(timer) } != 0 {
                // SAFETY: We stopped a pending timer: firing it ourselves queues the item on
                // `dwork->wq` (valid, caller) and `dwork->cpu`, with interrupts off as it needs.
                unsafe { bindings::delayed_work_timer_fn(timer) };
            }
            // Unlinked only after the firing: an item that sees itself unlinked (its flush) sees
            // it queued.
            // SAFETY: `node` is valid and we hold the lock.
            unsafe { Self::unlink_locked(node) };
            drop(guard);
        }
    }
}

#[pinned_drop]
impl PinnedDrop for Tracker {
    fn drop(self: Pin<&mut Self>) {
        let next = self.head.next.load(Relaxed);
        // Its owner fired everything linked here first (type invariant): an item still linked
        // would point at freed memory.
        kernel::warn_on!(!next.is_null() && next != ptr::from_ref(&self.head).cast_mut());
    }
}

/// The `delayed_work` of the item whose links are at `node`.
///
/// # Safety
///
/// `node` is the `links` field of a `DelayedWork`.
unsafe fn links_to_dwork(node: *mut Links) -> *mut bindings::delayed_work {
    // SAFETY: `DelayedWork` is `repr(C)` and starts with its `delayed_work`; the offset of
    // `links` does not depend on its type parameters (`PhantomData` is zero-sized, every other
    // field's type is fixed), so the `DelayedWork<(), 0>` offset is every item's.
    unsafe {
        node.cast::<u8>()
            .sub(crate::rust_wq::item::delayed::LINKS_OFFSET)
            .cast::<bindings::delayed_work>()
    }
}
