// SPDX-License-Identifier: GPL-2.0

//! Lockdep classes of work items, and the kind of worker their items run in.
//!
//! C gives every `work_struct` a lockdep map whose class is its initialiser's (one per
//! [`new_work!`](crate::new_work) or [`new_delayed_work!`](crate::new_delayed_work) site), and
//! takes it around every run. A BH queue runs items in softirq context, any other queue in a
//! kworker with softirqs enabled: once items of one class have run in both, lockdep reports an
//! inconsistent lock state (`{IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W}`), which stops a kernel with
//! `panic_on_warn`. So on kernels with `CONFIG_LOCKDEP` the first queueing of an item of a class
//! decides where the items of that class may go: on BH queues only, or on threaded queues only;
//! the other kind is `EINVAL` (the item comes back). Items meant for both need a class each: two
//! sites, such as two `Work` fields with their own `ID`s. Without lockdep there are no classes
//! and nothing to report, and nothing is checked.

#[cfg(CONFIG_LOCKDEP)]
use kernel::sync::atomic::{
    Atomic,
    Relaxed, //
};
use kernel::{bindings, prelude::*, sync::LockClassKey};

/// The lockdep class of the work items made at one site, and where they have been queued.
///
/// Made by [`new_work!`](crate::new_work) and [`new_delayed_work!`](crate::new_delayed_work),
/// one per call site.
///
/// # Invariants
///
/// `key` is at offset 0 (`repr(C)`), so a pointer to it is a pointer to the `WorkClass`; the
/// `WorkClass` is static. `kinds` goes from 0 to [`BH`] or [`THREADED`] once and stays.
#[repr(C)]
#[pin_data]
pub struct WorkClass {
    #[pin]
    key: LockClassKey,
    #[cfg(CONFIG_LOCKDEP)]
    kinds: Atomic<u32>,
}

/// Items of the class went on a BH queue.
#[cfg(CONFIG_LOCKDEP)]
const BH: u32 = 1;
/// Items of the class went on a threaded queue.
#[cfg(CONFIG_LOCKDEP)]
const THREADED: u32 = 2;

impl WorkClass {
    /// The initialiser of a `static` class, for [`static_work_class!`](crate::static_work_class)
    /// only (which keeps the `unsafe` out of the driver's crate): a class anywhere but in a
    /// `static` has a key that lockdep reports as unregistered.
    #[doc(hidden)]
    #[allow(clippy::declare_interior_mutable_const)] // Copied into a `static` at each site.
    pub const STATIC: Self = Self {
        // SAFETY: `STATIC` only initialises `static`s (see above), which keep the key in static
        // memory, as `LockClassKey::new_static` requires.
        key: unsafe { LockClassKey::new_static() },
        #[cfg(CONFIG_LOCKDEP)]
        kinds: Atomic::new(0),
    };

    /// The lockdep key to initialise a `work_struct` with.
    pub(crate) fn key_ptr(&self) -> *mut bindings::lock_class_key {
        self.key.as_ptr()
    }
}

/// Records that `work` is about to go on a BH queue (`bh`) or a threaded one: `EINVAL` if items
/// of its class went on the other kind before.
///
/// # Safety
///
/// `work` is an initialised `work_struct` of a `Work` or `DelayedWork`, whose lockdep key is
/// then that of a [`WorkClass`] (their constructors take nothing else).
#[cfg(CONFIG_LOCKDEP)]
#[inline]
pub(crate) unsafe fn note(work: *mut bindings::work_struct, bh: bool) -> Result {
    // SAFETY: `work` is initialised (caller); its initialiser wrote the key, which stays.
    let key = unsafe { (*work).lockdep_map.key };
    if key.is_null() {
        return Ok(());
    }
    // SAFETY: The key is the first field of a static `WorkClass` (caller, type invariant).
    let class = unsafe { &*key.cast::<WorkClass>() };
    let want = if bh { BH } else { THREADED };
    match class.kinds.load(Relaxed) {
        cur if cur == want => Ok(()),
        // INVARIANT: `kinds` only leaves 0.
        0 => match class.kinds.cmpxchg(0, want, Relaxed) {
            Ok(_) => Ok(()),
            Err(now) if now == want => Ok(()),
            Err(_) => Err(EINVAL),
        },
        _ => Err(EINVAL),
    }
}

/// Without lockdep there is nothing to check (see the [module documentation](self)).
///
/// # Safety
///
/// As with lockdep: `work` is an initialised `work_struct` of a `Work` or `DelayedWork`.
#[cfg(not(CONFIG_LOCKDEP))]
#[inline(always)]
pub(crate) unsafe fn note(_work: *mut bindings::work_struct, _bh: bool) -> Result {
    Ok(())
}

/// A [`WorkClass`] of this call site, pinned in static memory.
#[doc(hidden)]
#[macro_export]
macro_rules! static_work_class {
    () => {{
        static CLASS: $crate::rust_wq::WorkClass = $crate::rust_wq::WorkClass::STATIC;
        ::core::pin::Pin::static_ref(&CLASS)
    }};
}
