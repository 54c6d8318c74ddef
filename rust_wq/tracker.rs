// SPDX-License-Identifier: GPL-2.0

//! [`Tracker`]: the delayed items armed on one owned queue (or, per module, on the system
//! queues), so that the queue's drop (or the module's unload) can fire their timers before the
//! queue (or the module's code) goes away. See [`delayed`](crate::rust_wq::delayed) for the
//! protocol.

use core::ptr;
use kernel::{
    bindings, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, SpinLockIrq,
    },
};

/// The node of a delayed item in a [`Tracker`] list.
///
/// Its fields are only written under the lock of the tracker it is linked in, or, while it is
/// linked in none, under the `arm` lock of its item. `linked` is also read without the tracker's
/// lock, by the item's own arming (see [`Links::is_linked`]).
pub(crate) struct Links {
    prev: *mut Links,
    next: *mut Links,
    linked: Atomic<bool>,
    /// The item's `delayed_work`.
    pub(crate) dwork: *mut bindings::delayed_work,
}

impl Links {
    /// Whether the links are in a tracker, read without its lock by the item's arming, under
    /// the item's `arm` lock.
    ///
    /// Only a tracker's [`Tracker::expedite_all`] unlinks an item that is not arming or being
    /// dropped, and it runs only when the tracker's queue is being dropped (nobody can arm on it:
    /// its handle is gone) or the module's registry is closed (arming is refused). So while an
    /// item arms on a tracker's queue, nobody else changes its `linked` in that tracker: `true`
    /// stays true until the arm ends.
    pub(crate) fn is_linked(&self) -> bool {
        self.linked.load(Relaxed)
    }

    /// Unlinked links of an item.
    pub(crate) const fn new() -> Self {
        Self {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            linked: Atomic::new(false),
            dwork: ptr::null_mut(),
        }
    }
}

/// The delayed items armed on one owned queue.
///
/// # Invariants
///
/// Every item whose timer is armed on the queue(s) of this tracker (one owned queue, or the
/// system queues for the tracker of a module's registry) is linked in `list`, from before the
/// queue can be dropped (or the module closes its registry) until the timer has fired. A linked
/// item is alive: it unlinks itself under the lock before it is freed.
#[pin_data]
pub(crate) struct Tracker {
    #[pin]
    list: SpinLockIrq<ListHead>,
}

struct ListHead(*mut Links);

// SAFETY: The raw pointers are only followed under the lock, to items that are alive while
// linked (the invariant of `Tracker`).
unsafe impl Send for ListHead {}

impl Tracker {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { list <- new_spinlock_irq!(ListHead(ptr::null_mut()), "rust_wq::Tracker") }),
            GFP_KERNEL,
        )
    }

    /// Holds off [`Tracker::expedite_all`] (and linking) while the guard lives.
    pub(crate) fn hold(&self) -> impl Sized + '_ {
        self.list.lock()
    }

    /// Links `node` unless it is linked here already. The caller holds the `arm` lock of its
    /// item.
    ///
    /// # Safety
    ///
    /// `node` is valid and not linked in any other tracker.
    pub(crate) unsafe fn link(&self, node: *mut Links) {
        let mut head = self.list.lock();
        // SAFETY: `node` is valid (caller); the list is protected by the lock we hold.
        unsafe {
            if (*node).linked.load(Relaxed) {
                return;
            }
            (*node).prev = ptr::null_mut();
            (*node).next = head.0;
            (*node).linked.store(true, Relaxed);
            if !head.0.is_null() {
                (*head.0).prev = node;
            }
        }
        head.0 = node;
    }

    /// Unlinks `node` if it is still linked here.
    ///
    /// # Safety
    ///
    /// `node` is valid and, if linked, linked in this tracker.
    pub(crate) unsafe fn unlink(&self, node: *mut Links) {
        let mut head = self.list.lock();
        // SAFETY: `node` and its neighbours are valid while linked (type invariant), and we
        // hold the lock.
        unsafe { Self::unlink_locked(&mut head, node) }
    }

    /// # Safety
    ///
    /// The list lock is held, and `node` is valid.
    unsafe fn unlink_locked(head: &mut ListHead, node: *mut Links) {
        // SAFETY: See the callers.
        unsafe {
            if !(*node).linked.load(Relaxed) {
                return;
            }
            let (prev, next) = ((*node).prev, (*node).next);
            if prev.is_null() {
                head.0 = next;
            } else {
                (*prev).next = next;
            }
            if !next.is_null() {
                (*next).prev = prev;
            }
            (*node).linked.store(false, Relaxed);
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
    pub(crate) unsafe fn expedite_all(&self) {
        // One item per lock round: interrupts are off only for one timer at a time.
        loop {
            let mut head = self.list.lock();
            let node = head.0;
            if node.is_null() {
                return;
            }
            // SAFETY: `node` is linked, hence valid, and we hold the lock. The item is alive
            // while linked: it unlinks itself under this lock before it is freed.
            let dwork = unsafe {
                Self::unlink_locked(&mut head, node);
                (*node).dwork
            };
            // SAFETY: The item is alive (see above). The timer is `TIMER_IRQSAFE`, so it may be
            // deleted synchronously with interrupts off; its callback takes no lock of ours.
            let timer = unsafe { ptr::addr_of_mut!((*dwork).timer) };
            // SAFETY: As above.
            if unsafe { bindings::timer_delete_sync(timer) } != 0 {
                // SAFETY: We stopped a pending timer: firing it ourselves queues the item on
                // `dwork->wq` (valid, caller) and `dwork->cpu`, with interrupts off as it needs.
                unsafe { bindings::delayed_work_timer_fn(timer) };
            }
            drop(head);
        }
    }
}
