// SPDX-License-Identifier: GPL-2.0

//! Deferred interrupts: a hard-IRQ top half whose bottom half is a work item.
//!
//! [`request_deferred_irq`] registers the MSI (or else the legacy INTx) interrupt of a bound PCI
//! device. The handler state is an [`Arc<T>`] that is both the top half ([`TopHalf`]) and the
//! bottom half (a [`WorkItem`] with a [`Work`] field): the top half
//! acknowledges the device and queues `T` wherever it likes, the bottom half runs in process
//! context.
//!
//! The registration belongs to the device (devres), so it cannot be leaked, and it is torn down
//! in the only safe order when the device unbinds (or the driver's module goes away):
//!
//! 1. [`TopHalf::quiesce`]: the driver stops the device from raising interrupts (with the handler
//!    still in place, so a level-triggered shared line cannot be left asserted with nobody to
//!    acknowledge it);
//! 2. `free_irq()`: no top half runs or will run;
//! 3. the bottom half is flushed, then cancelled with `cancel_work_sync()` (it may have requeued
//!    itself): no bottom half is pending or running;
//! 4. the reference to `T` is dropped; the queue, if `T` owns it, goes with the last reference;
//! 5. the MSI vector, if it is one, is given back (`pci_free_irq_vectors()`).
//!
//! This is why the function is safe where `kernel::irq::Registration::new` is not.
//!
//! # Examples
//!
//! The shape of `samples/edu/driver.rs` (see it for the whole driver):
//!
//! ```no_run (needs a bound PCI device and its interrupt)
//! use crate::rust_wq::{request_deferred_irq, TopHalf};
//! use kernel::{irq::IrqReturn, sync::{atomic::Relaxed, Arc, ArcBorrow}};
//! # use crate::rust_wq::{impl_has_work, OwnedQueue, Work, WorkItem};
//! # use kernel::{device::Core, pci, sync::{atomic::Atomic, SpinLockIrq}};
//! # struct Ring([u32; 16], usize);
//! # impl Ring {
//! #     fn push(&mut self, status: u32) {
//! #         if self.1 < self.0.len() {
//! #             self.0[self.1] = status;
//! #             self.1 += 1;
//! #         }
//! #     }
//! # }
//! # #[pin_data]
//! # struct Hub {
//! #     #[pin]
//! #     work: Work<Hub>,
//! #     #[pin]
//! #     ring: SpinLockIrq<Ring>,
//! #     queue: OwnedQueue,
//! #     coalesced: Atomic<u64>,
//! # }
//! # impl_has_work! { impl HasWork<Self> for Hub { self.work } }
//! # impl WorkItem for Hub {
//! #     type Pointer = Arc<Hub>;
//! #     fn run(this: Arc<Hub>) {
//! #         this.ring.lock().1 = 0;
//! #     }
//! # }
//! # impl Hub {
//! #     fn ack_status(&self) -> u32 {
//! #         1
//! #     }
//! #     fn stop_device(&self) {}
//! # }
//! impl TopHalf for Hub {
//!     fn top_half(this: ArcBorrow<'_, Hub>) -> IrqReturn {
//!         let status = this.ack_status(); // reads and acknowledges the device's status
//!         if status == 0 {
//!             return IrqReturn::None; // shared line: not ours
//!         }
//!         this.ring.lock().push(status); // no allocation, no sleeping
//!         if this.queue.enqueue(Arc::from(this)).is_err() {
//!             this.coalesced.add(1, Relaxed); // still pending: that run sees this event too
//!         }
//!         IrqReturn::Handled
//!     }
//!
//!     fn quiesce(this: &Arc<Hub>) {
//!         this.stop_device(); // no new requests, no interrupt on completion
//!     }
//! }
//!
//! # fn probe(pdev: &pci::Device<Core<'_>>, hub: Arc<Hub>) -> Result {
//! // In `probe`, with `hub: Arc<Hub>` (which also implements `WorkItem`: the bottom half):
//! request_deferred_irq(pdev, c"my_driver", hub.clone())?;
//! # Ok(())
//! # }
//! ```

use crate::rust_wq::{
    glue::rust_wq_pci_msi_enabled,
    HasWork,
    Work,
    WorkItem, //
};
use kernel::{
    bindings,
    device::{
        Core,
        DeviceContext, //
    },
    devres,
    error::to_result,
    irq::IrqReturn,
    pci::{
        self,
        IrqType, //
    },
    prelude::*,
    sync::{
        aref::ARef,
        Arc,
        ArcBorrow, //
    },
};

/// The hard-IRQ half of a deferred interrupt.
pub trait TopHalf:
    WorkItem<Pointer = Arc<Self>> + HasWork<Self> + Send + Sync + Sized + 'static
{
    /// Runs in hard-IRQ context with interrupts off: must not sleep. Returns
    /// [`IrqReturn::None`] if the interrupt was not raised by this device (the line may be
    /// shared).
    fn top_half(this: ArcBorrow<'_, Self>) -> IrqReturn;

    /// Stops the device from raising further interrupts; called in process context, before the
    /// interrupt is freed, while the device is still bound. After it returns, the bottom half
    /// must not start device work that would interrupt again. May sleep.
    fn quiesce(this: &Arc<Self>);
}

/// The `irq_handler_t` of a deferred interrupt.
///
/// # Safety
///
/// `cookie` is the pointer of an `Arc<T>` kept alive until `free_irq` returns.
unsafe extern "C" fn handler<T: TopHalf>(
    _irq: c_int,
    cookie: *mut c_void,
) -> bindings::irqreturn_t {
    // SAFETY: The `IrqGuard` holds the `Arc` until after `free_irq`, which waits for us.
    let this = unsafe { ArcBorrow::from_raw(cookie.cast::<T>()) };
    bindings::irqreturn_t(T::top_half(this) as u32)
}

/// The device's MSI vector, allocated by [`request_deferred_irq`] and given back when dropped
/// (after the interrupt is freed: see [`IrqGuard`]).
///
/// # Invariants
///
/// `pdev` has MSI enabled by rust_wq's `pci_alloc_irq_vectors` call.
struct MsiVectors(ARef<pci::Device>);

impl Drop for MsiVectors {
    fn drop(&mut self) {
        // SAFETY: `pdev_raw` of a live device; the vectors are ours (type invariant) and no
        // interrupt is requested on them any more (the guard freed it).
        unsafe { bindings::pci_free_irq_vectors(pdev_raw(&self.0)) };
    }
}

/// The `struct pci_dev` of `pdev`.
fn pdev_raw<Ctx: DeviceContext>(pdev: &pci::Device<Ctx>) -> *mut bindings::pci_dev {
    // `pci::Device` is `#[repr(transparent)]` over `Opaque<bindings::pci_dev>`, which is
    // `#[repr(transparent)]` too: the pointers are the same, and C may write through it.
    core::ptr::from_ref(pdev).cast_mut().cast()
}

/// Owns a requested interrupt and the state its handler uses.
///
/// # Invariants
///
/// `irq` is requested with [`handler::<T>`] and the cookie `Arc::as_ptr(&state)`; if it is an
/// MSI interrupt, `msi` holds its vector.
struct IrqGuard<T: TopHalf> {
    irq: u32,
    state: Arc<T>,
    // Dropped after `drop` below freed the interrupt.
    _msi: Option<MsiVectors>,
}

impl<T: TopHalf> Drop for IrqGuard<T> {
    fn drop(&mut self) {
        T::quiesce(&self.state);
        let cookie = Arc::as_ptr(&self.state).cast_mut().cast::<c_void>();
        // SAFETY: `irq` was requested with this cookie (type invariant); `free_irq` waits for
        // running handlers.
        unsafe { bindings::free_irq(self.irq, cookie) };
        // No top half can queue the bottom half any more. Let a queued one run, then make sure
        // none is left (the bottom half may have requeued itself). Neither call can be made
        // from the bottom half itself: devres release runs in the driver core's context.
        let _ = Work::of(&*self.state).flush();
        let _ = Work::of(&*self.state).cancel_sync();
    }
}

/// Requests the MSI interrupt of `pdev`, or its INTx interrupt (shared) if it has no MSI, with
/// `state` as top and bottom half, and returns which of the two it is.
///
/// The interrupt is freed, and the bottom half flushed and cancelled, when `pdev` unbinds; see
/// the [module documentation](self). Sleeps.
///
/// MSI is preferred: a level-triggered INTx line that is freed and requested again (a driver
/// that unbinds and binds while its device interrupts) can be left undelivered by the interrupt
/// controller, which MSI does not have. A device sends MSI as a memory write, so rust_wq turns
/// on its bus mastering (`pci_set_master()`) when it takes MSI.
///
/// The vectors are the registration's until the device unbinds: the driver must not allocate or
/// free the device's vectors itself meanwhile, nor hold a `pci::IrqVectorRegistration` of it
/// when it calls this (dropping one frees all of the device's vectors, ours included, and C
/// warns about the handler left on them).
///
/// `pdev` is the device in the driver's own `probe` (`Core`): the registration then belongs to
/// a binding of this module's driver, which the module's unload undoes, so neither the handler
/// nor the bottom half can outlive the module's code. (A device bound to another driver, such as
/// an auxiliary device's parent, would keep them past this module's unload.)
///
/// # Errors
///
/// Nothing is left registered:
///
/// - `EBUSY`: the driver enabled MSI or MSI-X itself (then it owns the vectors; call this
///   first).
/// - The kernel's errors of `pci_alloc_irq_vectors()`, `pci_irq_vector()` and
///   `request_threaded_irq()`, and `ENOMEM` for the device resource.
pub fn request_deferred_irq<T: TopHalf>(
    pdev: &pci::Device<Core<'_>>,
    name: &'static CStr,
    state: Arc<T>,
) -> Result<IrqType> {
    let raw = pdev_raw(pdev);
    // SAFETY: `raw` is the bound device of `probe`.
    if unsafe { rust_wq_pci_msi_enabled(raw) } {
        // The driver's own vectors: C warns if they are allocated again, and freeing ours would
        // disable them under its feet.
        return Err(EBUSY);
    }
    // SAFETY: As above; `probe` runs under the device lock. MSI is not enabled (checked above),
    // so C allocates one MSI vector, or falls back to the INTx interrupt.
    to_result(unsafe {
        bindings::pci_alloc_irq_vectors(raw, 1, 1, bindings::PCI_IRQ_MSI | bindings::PCI_IRQ_INTX)
    })?;
    // SAFETY: As above.
    let msi = if unsafe { rust_wq_pci_msi_enabled(raw) } {
        // INVARIANT: We enabled MSI just above.
        Some(MsiVectors(pdev.into()))
    } else {
        // INTx: nothing to give back (`pci_free_irq_vectors` would only disable MSI, which a
        // later call of the driver's may have enabled by then).
        None
    };
    // SAFETY: As above; vector 0 was allocated just above.
    let irq = unsafe { bindings::pci_irq_vector(raw, 0) };
    // On failure `msi` gives the vector back.
    let irq = u32::try_from(irq).map_err(|_| Error::from_errno(irq))?;
    let cookie = Arc::as_ptr(&state).cast_mut().cast::<c_void>();
    // SAFETY: `handler::<T>` matches `irq_handler_t` and expects this cookie, which stays valid
    // until `free_irq` (the guard below owns the `Arc`). `name` is static.
    to_result(unsafe {
        bindings::request_threaded_irq(
            irq,
            Some(handler::<T>),
            None,
            bindings::IRQF_SHARED as usize,
            name.as_char_ptr(),
            cookie,
        )
    })?;
    if msi.is_some() {
        // SAFETY: As above. MSI is a memory write of the device's: it needs bus mastering
        // (left on when the device unbinds, as the driver's own `set_master` would be).
        unsafe { bindings::pci_set_master(raw) };
    }
    // INVARIANT: The interrupt was requested with `handler::<T>` and `cookie`; `msi` holds its
    // vector if it is MSI.
    let guard = IrqGuard {
        irq,
        state,
        _msi: msi,
    };
    let kind = if guard._msi.is_some() {
        IrqType::Msi
    } else {
        IrqType::Intx
    };
    // On failure the guard is dropped, which frees the interrupt and the vector again.
    devres::register(pdev.as_ref(), guard, GFP_KERNEL)?;
    Ok(kind)
}
