// SPDX-License-Identifier: GPL-2.0

//! The machinery that makes the public API sound, private to rust_wq: what a module queued and
//! must wait for before its code goes ([`registry`]), the delayed items armed on each queue
//! ([`tracker`]), the arm state of one delayed item ([`arm_lock`]), the flush dependencies of
//! memory reclaim ([`reclaim`]) and the lockdep classes of items ([`class`]).

pub(in crate::rust_wq) mod arm_lock;
pub(in crate::rust_wq) mod class;
pub(in crate::rust_wq) mod reclaim;
pub(in crate::rust_wq) mod registry;
pub(in crate::rust_wq) mod tracker;

/// `READ_ONCE(*p)` inline: one plain load of an aligned word, where the kernel's
/// `Atomic::load(Relaxed)` is an out-of-line call to a C helper (`atomic_read()` and friends,
/// themselves `READ_ONCE()`) on kernels without `CONFIG_RUST_INLINE_HELPERS` (every GCC-built
/// kernel). Under the kernel's memory model (LKMM), which the kernel's Rust atomics follow, a
/// volatile load of an aligned machine word is `READ_ONCE()`: a marked access, not a data race
/// with other marked accesses, and a single access (no tearing, no refetch, not elided). The
/// kernel's own Rust code reads `f_flags` and a timer's expiry the same way (`File::flags`,
/// `HrTimer`).
///
/// # Safety
///
/// `p` must be valid for reads and aligned, of a type no larger than a machine word (so the load
/// is one instruction), and every concurrent write of `*p` must be atomic (a C atomic or bit
/// operation, `WRITE_ONCE()`, or the kernel's Rust `Atomic`).
#[inline(always)]
pub(in crate::rust_wq) unsafe fn read_once<T: Copy>(p: *const T) -> T {
    const {
        assert!(core::mem::size_of::<T>() <= core::mem::size_of::<usize>());
    }
    // SAFETY: Valid and aligned (the caller's promise); the concurrent writes are atomic (the
    // caller's promise), so under the LKMM this is a `READ_ONCE()` of a word that only changes
    // atomically.
    unsafe { p.read_volatile() }
}
