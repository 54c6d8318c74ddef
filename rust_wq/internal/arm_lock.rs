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
//! Arming takes it inside the module's unload gate ([`ArmLock::lock_gated`]): the gate is then
//! the lock's own interrupts-off section, with no RCU read lock or helper call of its own.
//!
//! [`DelayedWork`]: crate::rust_wq::DelayedWork

use crate::rust_wq::{
    glue::{
        rust_wq_arm_lock,
        rust_wq_arm_lock_gated,
        rust_wq_arm_unlock,
        rust_wq_delayed_cancel_sync_counted, //
    },
    internal::{
        bool_or_errno,
        registry::{
            self,
            Registry, //
        },
        tracker::Tracker,
    },
};
use core::{
    ffi::c_void,
    ops::{
        Deref,
        DerefMut, //
    },
    ptr, //
};
use kernel::{
    bindings,
    error::Result,
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
            counts: ptr::null_mut(),
            _not_send: NotThreadSafe,
        }
    }

    /// Takes the lock inside the module's unload gate, and counts one enqueue in the counts that
    /// `counts` holds (the word of an owned queue's per-CPU counts, [`QueueCore::counts`], read
    /// once in the section; or null) until the guard drops; `None`
    /// if the gate is closed (nothing taken, nothing counted: see [`Gate::refused`] for why).
    ///
    /// One call into the C glue (`rust_wq_arm_lock_gated`) turns interrupts off, reads the gate
    /// word ([`registry::gate_word`], the module's registry) once, and takes the lock only if it
    /// is not null; interrupts stay off until the guard drops. That section is the gate, as the
    /// plain enqueue's is ([`Queue::enqueue_gated`] says why): the unload stores null, then
    /// `synchronize_rcu()` waits for every such section that read the registry, and only then
    /// fires the timers the module armed and frees the registry. So while the guard lives, the
    /// unload has not passed the arm by, and the registry is alive
    /// ([`GatedArmGuard::system_tracker`]).
    /// The counts are those of `drain` ([`QueueCore::count`]): the glue counts the start after the
    /// lock's acquire, before anything is queued under it, and the end in the unlock, after.
    ///
    /// # Safety
    ///
    /// `counts` is null or the counts word of an owned queue's core that outlives the guard (an
    /// `Atomic` pointer, null or a live per-CPU allocation of the glue's counts freed with the
    /// core).
    ///
    /// [`QueueCore::counts`]: crate::rust_wq::queue::owned::QueueCore::counts
    /// [`QueueCore::count`]: crate::rust_wq::queue::owned::QueueCore::count
    /// [`Gate::refused`]: crate::rust_wq::internal::registry::Gate::refused
    /// [`Queue::enqueue_gated`]: crate::rust_wq::Queue
    #[inline]
    pub(in crate::rust_wq) unsafe fn lock_gated(
        &self,
        counts: *const *mut c_void,
    ) -> Option<GatedArmGuard<'_>> {
        let mut word = 0u32;
        let mut flags: c_ulong = 0;
        let mut counted: *mut c_void = ptr::null_mut();
        // SAFETY: `word` is a live atomic `u32` (the same layout as C's `atomic_t`), only changed
        // atomically; the gate word is a static of this module, valid and aligned, only written
        // atomically; `counts` is null or a counts word live until the guard drops (the caller's
        // promise), whose counts the glue reads and counts in, and gives in `counted`. On a
        // non-null return the glue holds the lock with interrupts off and gives their flags.
        let reg = unsafe {
            rust_wq_arm_lock_gated(
                self.word.as_ptr().cast(),
                &mut word,
                &mut flags,
                registry::gate_word(),
                counts,
                &mut counted,
            )
        };
        if reg.is_null() {
            return None;
        }
        let registry = reg.cast_const().cast::<Registry>();
        // INVARIANT: We hold the lock until the guard drops, and with it the section in which
        // the published registry was read (not null, with acquire): it is freed only after its
        // drop's `synchronize_rcu()`, which waits for that section.
        Some(GatedArmGuard {
            registry,
            guard: ArmGuard {
                lock: self,
                state: ArmState::decode(word),
                flags,
                counts: counted,
                _not_send: NotThreadSafe,
            },
        })
    }

    /// C's `cancel_delayed_work_sync()` of `dwork`, the item whose arm state this is, counted
    /// as a cancel in progress while C waits (C disables the item meanwhile, so arming is refused
    /// then, here, where it is visible: see [`ArmState::cancelling`]), with the checks of a wait in
    /// the same glue call (`rust_wq_delayed_cancel_sync_counted`), in this order: `EAGAIN` where
    /// the caller may not sleep, `EDEADLK` from the item's own `run`, `EOVERFLOW` if
    /// [`MAX_DISABLE`] cancels are in progress already. Returns whether the item was pending.
    ///
    /// The glue takes and releases this lock as [`ArmLock::lock`] and its guard do (interrupts off,
    /// told to lockdep), and changes only the cancel count while it holds it, in the layout it is
    /// given from here: so only the holder of the lock changes the state (type invariant), and the
    /// count is raised before C disables the item and lowered after C's call returns, as
    /// [`DelayedWork::cancel_sync`](crate::rust_wq::DelayedWork) did in three rounds of the lock.
    ///
    /// # Safety
    ///
    /// `dwork` is the initialised `delayed_work` of the item of this lock, alive during the call.
    #[inline]
    pub(in crate::rust_wq) unsafe fn cancel_sync_counted(
        &self,
        dwork: *mut bindings::delayed_work,
    ) -> Result<bool> {
        const MASK: u32 = DISABLED_MASK << CANCELLING_SHIFT;
        // SAFETY: `dwork` is initialised and alive (the caller's promise); the glue waits only
        // where the caller may sleep and is not the worker running the item. `word` is a live
        // atomic `u32` (the layout of C's `atomic_t`), changed only under the lock.
        let r = unsafe {
            rust_wq_delayed_cancel_sync_counted(
                dwork,
                self.word.as_ptr().cast(),
                1 << CANCELLING_SHIFT,
                MASK,
                MAX_DISABLE << CANCELLING_SHIFT,
            )
        };
        bool_or_errno(r)
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
    /// The per-CPU counts in which the guard counts an enqueue ([`ArmLock::lock_gated`]), or
    /// null.
    counts: *mut c_void,
    /// Interrupts are restored on this CPU.
    _not_send: NotThreadSafe,
}

/// An [`ArmGuard`] taken inside the module's unload gate ([`ArmLock::lock_gated`]): while it
/// lives, the module's unload has not fired the timers armed on system queues, and its registry
/// is alive.
///
/// # Invariants
///
/// `registry` is the published registry, and `guard` keeps the interrupts-off section in which it
/// was read, so the registry is neither closed nor freed while the guard lives (as for a
/// [`Gate`](crate::rust_wq::internal::registry::Gate), whose fields are in the same order).
pub(in crate::rust_wq) struct GatedArmGuard<'a> {
    /// A pointer, not a reference: the registry is alive for as long as the guard, not for the
    /// lock's borrow `'a`.
    registry: *const Registry,
    guard: ArmGuard<'a>,
}

impl GatedArmGuard<'_> {
    /// The tracker of the delayed items armed on system queues: its timers are fired by the
    /// unload, which cannot pass this guard by (see [`ArmLock::lock_gated`]).
    #[inline]
    pub(in crate::rust_wq) fn system_tracker(&self) -> &Tracker {
        // SAFETY: The registry is alive while the guard is (type invariant), and the returned
        // reference borrows the guard.
        unsafe { &(*self.registry).system }
    }
}

impl Deref for GatedArmGuard<'_> {
    type Target = ArmState;

    fn deref(&self) -> &ArmState {
        &self.guard.state
    }
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
        // `counts` is null or live until now (`ArmLock::lock_gated`'s caller).
        unsafe {
            rust_wq_arm_unlock(
                self.lock.word.as_ptr().cast(),
                self.state.encode(),
                self.flags,
                self.counts,
            )
        };
    }
}
