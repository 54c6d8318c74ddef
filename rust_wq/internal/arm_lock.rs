// SPDX-License-Identifier: GPL-2.0

//! [`ArmLock`]: the lock that serialises the arming of one delayed item, and the state it
//! protects, in one 32-bit word.
//!
//! A `spinlock_t` and its data would take 8 bytes of every [`DelayedWork`], and the item's
//! `seen` bits 4 more: with the tracker links that is 4 bytes past the 112 that keep a
//! `delayed_work`'s wrapper in the allocation size class of C's. So the lock is a bit of the word
//! it protects (bit 31), taken with interrupts off like a `spin_lock_irqsave`. It is taken and
//! released by the C glue, which tells lockdep about it (one class for all items).
//!
//! [`DelayedWork`]: crate::rust_wq::DelayedWork

use crate::rust_wq::glue::{
    rust_wq_arm_lock,
    rust_wq_arm_unlock, //
};
use core::ops::{
    Deref,
    DerefMut, //
};
use kernel::{
    ffi::c_ulong,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
    types::NotThreadSafe,
};

/// The lock bit of the word (`RUST_WQ_ARM_LOCKED` in the C glue).
const LOCKED: u32 = 1 << 31;
/// The `disabled` count: bits 0-14.
const DISABLED_MASK: u32 = 0x7fff;
/// The `cancelling` count: bits 15-29.
const CANCELLING_SHIFT: u32 = 15;

// The counts and the lock bit do not overlap.
const _: () = assert!((DISABLED_MASK | (DISABLED_MASK << CANCELLING_SHIFT)) & LOCKED == 0);

/// The deepest nesting of disables of one item, and the most `cancel_sync` calls waiting for it
/// at once. C counts the two together up to 65535 and warns beyond.
pub(in crate::rust_wq) const MAX_DISABLE: u32 = DISABLED_MASK;

/// What the arm lock of a delayed item protects.
///
/// Delayed items are disabled here, in Rust, never in C: C's `mod_delayed_work_on` does not say
/// when it refused a disabled item, and C's count warns on underflow and overflow. Every arm
/// checks this state under the lock first.
pub(in crate::rust_wq) struct ArmState {
    /// How often the item is disabled (at most [`MAX_DISABLE`]).
    pub(in crate::rust_wq) disabled: u32,
    /// How many `cancel_delayed_work_sync()` calls are in progress (at most [`MAX_DISABLE`]).
    /// C disables the item while such a call waits, so arming is refused (`EBUSY`) meanwhile,
    /// here, where it is visible.
    pub(in crate::rust_wq) cancelling: u32,
}

impl ArmState {
    fn decode(word: u32) -> Self {
        Self {
            disabled: word & DISABLED_MASK,
            cancelling: (word >> CANCELLING_SHIFT) & DISABLED_MASK,
        }
    }

    fn encode(&self) -> u32 {
        // The counts never exceed their masks: every increment checks `MAX_DISABLE` first.
        ((self.disabled & DISABLED_MASK) | ((self.cancelling & DISABLED_MASK) << CANCELLING_SHIFT))
            & !LOCKED
    }
}

/// A bit lock and the [`ArmState`] it protects.
///
/// # Lockdep
///
/// The C glue (`rust_wq/glue/arm_lock.c`) tells lockdep about the lock as about a raw spinlock
/// taken by `raw_spin_lock_irqsave()`: acquired before it spins, in one static class whose map
/// is `LD_WAIT_SPIN`. So lockdep checks what it checks for a raw spinlock:
///
/// - the order against every other lock: the trackers' lock nests inside it
///   ([`TrackersGuard`](crate::rust_wq::internal::tracker::TrackersGuard)), and any lock taken
///   around it;
/// - its use from interrupts: items are armed from hard interrupts too, and the lock is always
///   taken with interrupts off;
/// - that nothing that may sleep is taken inside it, on `PREEMPT_RT` too (`LD_WAIT_SPIN`).
///
/// One class for the locks of all items is right because no path holds two of them: every
/// operation takes its own item's lock only, and a queue's drop fires the items it tracks under
/// the trackers' lock alone. Lockdep would report any such nesting as recursive locking. A class
/// per item would need a key registered and unregistered with each item, and would check
/// nothing more.
///
/// The kernel's `bit_spin_lock()` is not used instead: it only disables preemption (the lock is
/// taken in interrupts), works on an `unsigned long` (the word is an `atomic_t` of 32 bits), and
/// lockdep does not see it at all.
///
/// # Invariants
///
/// `word` holds an encoded [`ArmState`], and [`LOCKED`] while an [`ArmGuard`] of it lives. Only
/// the holder of the lock changes the state.
pub(in crate::rust_wq) struct ArmLock {
    word: Atomic<u32>,
}

impl ArmLock {
    /// An unlocked lock: not disabled, no cancel in progress.
    pub(in crate::rust_wq) const fn new() -> Self {
        Self {
            word: Atomic::new(0),
        }
    }

    /// Takes the lock with interrupts off; spins while another CPU holds it.
    #[inline]
    pub(in crate::rust_wq) fn lock(&self) -> ArmGuard<'_> {
        let mut word = 0u32;
        // SAFETY: `word` is a live atomic `u32` (the same layout as C's `atomic_t`), only
        // changed atomically; the glue returns the interrupt flags that the guard restores.
        let flags = unsafe { rust_wq_arm_lock(self.word.as_ptr().cast(), &mut word) };
        // INVARIANT: We hold the lock until the guard drops.
        ArmGuard {
            lock: self,
            state: ArmState::decode(word),
            flags,
            _not_send: NotThreadSafe,
        }
    }

    /// The state now, read without the lock (advisory).
    pub(in crate::rust_wq) fn peek(&self) -> ArmState {
        ArmState::decode(self.word.load(Relaxed))
    }
}

/// Holds an [`ArmLock`], with interrupts off, and a copy of its state that is written back when
/// it drops.
pub(in crate::rust_wq) struct ArmGuard<'a> {
    lock: &'a ArmLock,
    state: ArmState,
    flags: c_ulong,
    /// Interrupts are restored on this CPU.
    _not_send: NotThreadSafe,
}

impl Deref for ArmGuard<'_> {
    type Target = ArmState;

    fn deref(&self) -> &ArmState {
        &self.state
    }
}

impl DerefMut for ArmGuard<'_> {
    fn deref_mut(&mut self) -> &mut ArmState {
        &mut self.state
    }
}

impl Drop for ArmGuard<'_> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: We hold the lock (type invariant of `ArmLock`), taken on this CPU with these
        // flags; the glue stores the state and clears the lock bit in one release store.
        unsafe {
            rust_wq_arm_unlock(
                self.lock.word.as_ptr().cast(),
                self.state.encode(),
                self.flags,
            )
        };
    }
}
