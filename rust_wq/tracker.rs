// SPDX-License-Identifier: GPL-2.0

//! [`Tracker`]: the delayed items armed on one owned queue, so that the queue's drop can fire
//! their timers before `destroy_workqueue()`. See [`delayed`](crate::rust_wq::delayed) for the
//! protocol.

use crate::rust_wq::queue::WORK_CPU_UNBOUND;
use core::ptr;
use kernel::{
    bindings,
    new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        SpinLockIrq, //
    }, //
};

/// The node of a delayed item in a [`Tracker`] list.
pub(crate) struct Links {
    prev: *mut Links,
    next: *mut Links,
    linked: bool,
    /// The item's `delayed_work`.
    pub(crate) dwork: *mut bindings::delayed_work,
    /// Drops a reference taken back from the queue (the pointer type is erased here).
    pub(crate) drop_ref: Option<unsafe fn(*mut bindings::delayed_work)>,
}

impl Links {
    /// Unlinked links of an item.
    pub(crate) const fn new() -> Self {
        Self {
            prev: ptr::null_mut(),
            next: ptr::null_mut(),
            linked: false,
            dwork: ptr::null_mut(),
            drop_ref: None,
        }
    }
}

/// The delayed items armed on one owned queue.
///
/// # Invariants
///
/// Every item whose timer is armed on the owned queue of this tracker is linked in `list`.
/// A linked item is alive: it unlinks itself before it is freed.
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
            if (*node).linked {
                return;
            }
            (*node).prev = ptr::null_mut();
            (*node).next = head.0;
            (*node).linked = true;
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
            if !(*node).linked {
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
            (*node).linked = false;
        }
    }

    /// Fires every linked timer now: the items are queued on `wq` at once.
    ///
    /// # Safety
    ///
    /// `wq` is the valid queue of this tracker, and nobody arms new items on it concurrently.
    pub(crate) unsafe fn expedite_all(&self, wq: *mut bindings::workqueue_struct) {
        loop {
            let mut head = self.list.lock();
            let node = head.0;
            if node.is_null() {
                return;
            }
            // SAFETY: `node` is linked, hence valid, and we hold the lock.
            let (dwork, drop_ref) = unsafe {
                Self::unlink_locked(&mut head, node);
                ((*node).dwork, (*node).drop_ref)
            };
            // SAFETY: The item is alive while we hold the lock (it unlinks itself under this
            // lock before it is freed). `cancel_delayed_work` may be called in atomic context.
            // On `true` we took over the reference that the pending timer held.
            if !unsafe { bindings::cancel_delayed_work(dwork) } {
                continue;
            }
            drop(head);
            // SAFETY: We own a reference, so the item is alive; its `work_struct` is
            // initialised, and `wq` is valid (caller).
            let queued = unsafe {
                bindings::queue_work_on(WORK_CPU_UNBOUND, wq, ptr::addr_of_mut!((*dwork).work))
            };
            if queued {
                continue;
            }
            // Someone queued it in the meantime: that instance holds its own reference.
            if let Some(drop_ref) = drop_ref {
                // SAFETY: We own this reference and give it up exactly once.
                unsafe { drop_ref(dwork) };
            }
        }
    }
}
