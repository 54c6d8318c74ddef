// SPDX-License-Identifier: GPL-2.0

//! [`DevmQueue`]: an owned queue that belongs to a bound device and goes when the device
//! unbinds (C's `devm_alloc_workqueue` / `devm_alloc_ordered_workqueue`).
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)
//!
//! - `devm_alloc_workqueue(dev, fmt, flags, max_active, ...)`: `OwnedQueue::percpu()` /
//!   `unbound()` / `bh()` ... `.build_devm(dev, name)`;
//! - `devm_alloc_ordered_workqueue(dev, fmt, flags, ...)`: `OwnedQueue::ordered()` ...
//!   `.build_devm(dev, name)`;
//! - the `destroy_workqueue` that C's devres action calls at unbind: the unbind drops the
//!   [`OwnedQueue`] (its armed timers fire, its pending items run, then it is destroyed).
//!
//! # Why not C's `devm_alloc_workqueue`
//!
//! C's devres action calls `destroy_workqueue()` on the raw queue at unbind, whoever still uses
//! it: a Rust handle to it would then point at freed memory, and a delayed item still armed on it
//! would fire its timer into the freed queue. Here the queue is an [`OwnedQueue`] kept in a
//! [`Devres`]: at unbind, the devres action first revokes access to it (and waits for an RCU
//! grace period, so that no [`DevmQueue::try_access`] can still be using it), then drops it. The
//! drop of an [`OwnedQueue`] fires the timers still armed on it and runs every item still pending
//! before `destroy_workqueue()`: items pending at unbind run, exactly once, before the unbind
//! finishes. After it, enqueueing through the [`DevmQueue`] is refused with `ENODEV` and the item
//! handed back.
//!
//! The drop happens in the context that unbinds the device: `remove` of the bus, the module's
//! unload, a write to the driver's `unbind` file in sysfs. If that is a kworker, the queue is
//! destroyed by the hand-off of [`OwnedQueue`]'s drop instead, after its items have run but
//! possibly after the unbind returned.
//!
//! # Module lifetime
//!
//! A devres action of a device runs when that device unbinds from its driver, which can be long
//! after the code that registered it returned. Both the action ([`Devres`]'s release callback,
//! monomorphised into this module) and the items it runs are code of this module, so the action
//! must not run after the module is gone. That is why [`Builder::build_devm`] takes the device
//! in the [`Core`] context, which only the driver's own bus callbacks (`probe`, `unbind`) are
//! given: the device is then bound to a driver of this very module. The module's exit drops the
//! driver's registration, and unregistering a driver unbinds every device bound to it
//! (`driver_unregister()` → `driver_detach()` → `devres_release_all()`, synchronously, after
//! waiting for asynchronous probes; the driver is taken off the bus first, so nothing binds
//! again). So every devm queue of the module has been dropped, and its items run, while the
//! module's type is dropped, before [`Drained`](crate::rust_wq::Drained) closes the module's
//! registry; what the unbind handed off (above) is waited for by that close, as for any
//! [`OwnedQueue`].
//!
//! (A `&Device<Bound>` alone would not do: an auxiliary device's parent, say, is bound to
//! another module's driver, and can outlive this module while still bound.)
//!
//! # Dropping a `DevmQueue`
//!
//! Dropping the [`DevmQueue`] itself (when the driver state that holds it goes) drops the queue
//! if the device is still bound, or waits for an unbind that is dropping it right now. The
//! latter would hang in an item of the queue itself, since the unbind waits for that item: the
//! drop of a [`DevmQueue`] in a kworker (or in atomic context, where it must not wait) is handed
//! off to `system_dfl_long`, as [`OwnedQueue`]'s own drop is, and the module's unload waits for
//! the hand-off. So an item may hold the last reference to the state that owns its own queue.
//!
//! # Examples
//!
//! ```no_run (needs a bound PCI device: the one probe is given)
//! # use crate::rust_wq::{impl_has_work, new_work, EnqueueErrorKind, OwnedQueue, Work, WorkItem};
//! # use kernel::{device::Core, pci, sync::Arc};
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
//! # fn probe(pdev: &pci::Device<Core<'_>>, item: Arc<Job>) -> Result {
//! // In `probe`, with `pdev: &pci::Device<Core<'_>>`:
//! let slow = OwnedQueue::ordered().build_devm(pdev.as_ref(), c"my_driver_slow")?;
//! // Later, from any context, while the device may be unbinding:
//! match slow.enqueue(item) {
//!     Ok(()) => {}
//!     Err(e) if e.kind() == EnqueueErrorKind::DeviceUnbound => { /* `e.into_item()` */ }
//!     Err(_) => { /* pending already (`EBUSY`) */ }
//! }
//! # Ok(())
//! # }
//! ```

use crate::rust_wq::{
    internal::registry,
    queue::builder::Kind,
    queue::owned,
    Builder,
    OwnedQueue,
    Work,
    WorkItem, //
};
use core::mem::ManuallyDrop;
use kernel::{
    device::{
        Bound,
        Core,
        Device, //
    },
    devres::Devres,
    prelude::*,
    revocable::RevocableGuard,
};

/// An [`OwnedQueue`] that belongs to a bound device: the device's unbind drops it (its armed
/// timers fire, its pending items run, then it is destroyed), and from then on it refuses work
/// with `ENODEV`. Made by [`Builder::build_devm`]; see the [module documentation](self).
///
/// # Invariants
///
/// `inner` is dropped only by `Drop`, in a context that may wait for the device's unbind, or by
/// the hand-off.
pub struct DevmQueue<K: Kind> {
    inner: ManuallyDrop<Pin<KBox<DevmInner<K>>>>,
}

/// The [`Devres`] of a [`DevmQueue`], with the work item that drops it where the queue's drop
/// could not wait.
#[pin_data]
pub(in crate::rust_wq) struct DevmInner<K: Kind> {
    devres: Devres<OwnedQueue<K>>,
    #[pin]
    handoff: Work<DevmInner<K>>,
}

crate::impl_has_work! { impl{K: Kind} HasWork<DevmInner<K>> for DevmInner<K> { self.handoff } }

impl<K: Kind> WorkItem for DevmInner<K> {
    type Pointer = Pin<KBox<DevmInner<K>>>;

    /// The hand-off: drops a [`DevmQueue`] dropped where it could not wait.
    fn run(this: Pin<KBox<DevmInner<K>>>) {
        drop(this);
        registry::handoff_finished();
    }
}

impl<K: Kind> Builder<K> {
    /// Allocates the queue as [`Builder::build`] does, owned by `dev`: it is dropped when `dev`
    /// unbinds, or with the returned handle if that comes first (C's `devm_alloc_workqueue`).
    ///
    /// `dev` is the device in the driver's own `probe` or `unbind`, so that the unbind comes
    /// before the module's unload (see [the module documentation](crate::rust_wq::queue::devm)).
    ///
    /// # Errors
    ///
    /// Those of [`Builder::build`], and `ENOMEM` for the device resource.
    pub fn build_devm(self, dev: &Device<Core<'_>>, name: &CStr) -> Result<DevmQueue<K>> {
        let queue = self.build(name)?;
        // On failure the queue is dropped: drained and destroyed.
        let devres = Devres::new(dev, queue)?;
        // On failure the `Devres` is dropped, which drops the queue and the device resource.
        let inner = KBox::pin_init(
            pin_init!(DevmInner {
                devres,
                handoff <- crate::new_work!("rust_wq::DevmQueue::handoff"),
            }),
            GFP_KERNEL,
        )?;
        // INVARIANT: Dropped only by `Drop`.
        Ok(DevmQueue {
            inner: ManuallyDrop::new(inner),
        })
    }
}

impl<K: Kind> DevmQueue<K> {
    /// The device that owns the queue.
    pub fn device(&self) -> &Device {
        self.inner.devres.device()
    }

    /// The queue, given proof that its device is still bound. Unlike [`DevmQueue::try_access`],
    /// this holds no lock: the queue may be flushed and drained through it.
    ///
    /// # Errors
    ///
    /// - `EINVAL`: `dev` is not the device that owns the queue.
    pub fn access<'a>(&'a self, dev: &'a Device<Bound>) -> Result<&'a OwnedQueue<K>> {
        self.inner.devres.access(dev)
    }

    /// The queue, if its device has not unbound. The guard holds the RCU read lock: what is done
    /// under it must not sleep, so [`OwnedQueue::flush`] and [`OwnedQueue::drain`] fail with
    /// `EAGAIN` there.
    pub fn try_access(&self) -> Option<RevocableGuard<'_, OwnedQueue<K>>> {
        self.inner.devres.try_access()
    }

    /// Runs `f` with the queue if its device has not unbound, under the RCU read lock (see
    /// [`DevmQueue::try_access`]). The unbind waits for `f` to return before it drops the queue.
    pub fn try_access_with<R>(&self, f: impl FnOnce(&OwnedQueue<K>) -> R) -> Option<R> {
        self.inner.devres.try_access_with(f)
    }
}

impl<K: Kind> Drop for DevmQueue<K> {
    fn drop(&mut self) {
        // SAFETY: Taken once, here; `inner` is not used after.
        let inner = unsafe { ManuallyDrop::take(&mut self.inner) };
        // Dropping the `Devres` drops the queue (which hands itself off where it cannot be
        // destroyed), or waits for the unbind that is dropping it, which waits for the queue's
        // items: not from a kworker (maybe one of them), not where sleeping is impossible, not
        // from memory reclaim (the queue's items may allocate).
        if owned::may_wait_here().is_ok_and(|ctx| !ctx.in_memalloc()) {
            drop(inner);
            return;
        }
        if let Err(inner) = registry::hand_off(inner) {
            // Unreachable (see `hand_off`), but dropping here is still better than a leak.
            drop(inner);
        }
    }
}
