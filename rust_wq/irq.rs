// SPDX-License-Identifier: GPL-2.0

//! Deferred interrupts: a hard-IRQ top half whose bottom half is a work item.
//!
//! [`request_deferred_irq`] registers the legacy (INTx) interrupt of a bound PCI device. The
//! handler state is an [`Arc<T>`] that is both the top half ([`TopHalf`]) and the bottom half
//! (a [`WorkItem`] with a [`Work`](crate::rust_wq::Work) field): the top half acknowledges the
//! device and queues `T` wherever it likes, the bottom half runs in process context.
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
//! 4. the reference to `T` is dropped; the queue, if `T` owns it, goes with the last reference.
//!
//! This is why the function is safe where `kernel::irq::Registration::new` is not.
//!
//! # Examples
//!
//! The shape of `samples/edu/driver.rs` (see it for the whole driver):
//!
//! ```ignore
//! impl TopHalf for Hub {
//!     fn top_half(this: ArcBorrow<'_, Hub>) -> IrqReturn {
//!         let status = /* read and acknowledge the device's interrupt status */;
//!         if status == 0 {
//!             return IrqReturn::None; // shared line: not ours
//!         }
//!         this.ring.lock().push(status); // no allocation, no sleeping
//!         if this.queue.enqueue(this.into()).is_err() {
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
//! // In `probe`, with `hub: Arc<Hub>` (which also implements `WorkItem`: the bottom half):
//! rust_wq::request_deferred_irq(pdev, c"my_driver", hub.clone())?;
//! ```

use crate::rust_wq::{
    HasWork,
    WorkItem,
    WorkOps, //
};
use kernel::{
    bindings,
    device::Core,
    devres,
    irq::{
        IrqRequest,
        IrqReturn, //
    },
    pci::{
        self,
        IrqType,
        IrqTypes, //
    },
    prelude::*,
    sync::{
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

/// Owns a requested interrupt and the state its handler uses.
///
/// # Invariants
///
/// `irq` is requested with [`handler::<T>`] and the cookie `Arc::as_ptr(&state)`.
struct IrqGuard<T: TopHalf> {
    irq: u32,
    state: Arc<T>,
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
        let _ = self.state.flush();
        let _ = self.state.cancel_sync();
    }
}

/// Requests the INTx interrupt of `pdev` (shared) with `state` as top and bottom half.
///
/// The interrupt is freed, and the bottom half flushed and cancelled, when `pdev` unbinds; see
/// the [module documentation](self). `EBUSY` if the driver enabled MSI or MSI-X (call this
/// first: by then the PCI core has re-enabled INTx, which the kernel cannot tell us before).
/// Sleeps.
///
/// `pdev` is the device in the driver's own `probe` (`Core`): the registration then belongs to
/// a binding of this module's driver, which the module's unload undoes, so neither the handler
/// nor the bottom half can outlive the module's code. (A device bound to another driver, such as
/// an auxiliary device's parent, would keep them past this module's unload.)
pub fn request_deferred_irq<T: TopHalf>(
    pdev: &pci::Device<Core<'_>>,
    name: &'static CStr,
    state: Arc<T>,
) -> Result {
    // The device's legacy interrupt, through the PCI core's vector API. For INTx,
    // `pci_free_irq_vectors` (run when `vectors` drops) only disables MSI and MSI-X: the number
    // stays the device's interrupt, and INTx stays enabled, while the device is bound.
    let vectors = pdev.alloc_irq_vectors(1, 1, IrqTypes::default().with(IrqType::Intx))?;
    if !matches!(vectors.irq_type(), IrqType::Intx) {
        // The driver enabled MSI or MSI-X itself: dropping `vectors` would disable them under
        // its feet. Keep them as they are and refuse.
        core::mem::forget(vectors);
        return Err(EBUSY);
    }
    let irq = IrqRequest::from(vectors.index(0)?).irq();
    drop(vectors);
    let cookie = Arc::as_ptr(&state).cast_mut().cast::<c_void>();
    // SAFETY: `handler::<T>` matches `irq_handler_t` and expects this cookie, which stays valid
    // until `free_irq` (the guard below owns the `Arc`). `name` is static.
    kernel::error::to_result(unsafe {
        bindings::request_threaded_irq(
            irq,
            Some(handler::<T>),
            None,
            bindings::IRQF_SHARED as usize,
            name.as_char_ptr(),
            cookie,
        )
    })?;
    // INVARIANT: The interrupt was requested with `handler::<T>` and `cookie`.
    let guard = IrqGuard { irq, state };
    // On failure the guard is dropped, which frees the interrupt again.
    devres::register(pdev.as_ref(), guard, GFP_KERNEL)
}
