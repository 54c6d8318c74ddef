// SPDX-License-Identifier: GPL-2.0

//! [`Slot`]: hands a driver's shared state to code that only has static context, such as the
//! `open` of a misc device.

use core::ptr;
use kernel::prelude::*;
use kernel::sync::{
    atomic::{
        Acquire,
        Atomic,
        Full, //
    },
    rcu,
    Arc,
    ArcBorrow, //
};

/// A place for one [`Arc<T>`], usable as a `static`.
///
/// [`Slot::get`] hands out new references under RCU, so [`Slot::take`] can empty the slot while
/// readers run: it waits for a grace period before it gives the slot's reference back.
///
/// # Invariants
///
/// `ptr` is null or comes from `Arc::into_raw`, and that reference belongs to the slot.
pub struct Slot<T: Send + Sync> {
    ptr: Atomic<*const T>,
}

// SAFETY: The slot only hands out `Arc<T>`, which is `Send + Sync` for `T: Send + Sync`.
unsafe impl<T: Send + Sync> Sync for Slot<T> {}
// SAFETY: As above.
unsafe impl<T: Send + Sync> Send for Slot<T> {}

impl<T: Send + Sync> Slot<T> {
    /// An empty slot.
    pub const fn new() -> Self {
        // INVARIANT: Null.
        Self {
            ptr: Atomic::new(ptr::null()),
        }
    }

    /// Puts `value` into the slot.
    ///
    /// # Errors
    ///
    /// `value` comes back if the slot is full.
    pub fn publish(&self, value: Arc<T>) -> Result<(), Arc<T>> {
        let raw = Arc::into_raw(value);
        // INVARIANT: On success the slot owns the reference from `into_raw`.
        match self.ptr.cmpxchg(ptr::null(), raw, Full) {
            Ok(_) => Ok(()),
            // SAFETY: The slot did not take the reference.
            Err(_) => Err(unsafe { Arc::from_raw(raw) }),
        }
    }

    /// A new reference to the value in the slot, if any.
    pub fn get(&self) -> Option<Arc<T>> {
        let _guard = rcu::read_lock();
        let raw = self.ptr.load(Acquire);
        if raw.is_null() {
            return None;
        }
        // SAFETY: `raw` came from `Arc::into_raw` (type invariant), and the slot's reference is
        // dropped only a grace period after it left the slot, which cannot end while we hold the
        // RCU read lock.
        let borrowed = unsafe { ArcBorrow::from_raw(raw) };
        Some(borrowed.into())
    }

    /// Empties the slot and returns its value once no [`Slot::get`] can still be reading it.
    /// Sleeps.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep; the value stays in the slot.
    pub fn take(&self) -> Result<Option<Arc<T>>> {
        crate::rust_wq::cpu::may_sleep()?;
        let raw = self.ptr.xchg(ptr::null(), Full);
        if raw.is_null() {
            return Ok(None);
        }
        // Wait for the readers that may have seen `raw`.
        rcu::synchronize_rcu();
        // SAFETY: The slot owned this reference (type invariant), and nobody else can see it now.
        Ok(Some(unsafe { Arc::from_raw(raw) }))
    }
}

impl<T: Send + Sync> Drop for Slot<T> {
    fn drop(&mut self) {
        let raw = *self.ptr.get_mut();
        if !raw.is_null() {
            // SAFETY: The slot owned this reference (type invariant). We have the slot
            // exclusively, so no `Slot::get` is reading it: no grace period is needed.
            drop(unsafe { Arc::from_raw(raw) });
        }
    }
}

impl<T: Send + Sync> Default for Slot<T> {
    fn default() -> Self {
        Self::new()
    }
}
