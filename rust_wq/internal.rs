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

/// A glue call's answer that is a `bool` or a negative errno: `kernel::error::to_result`
/// inline (that one is an out-of-line call in the `kernel` crate; this is one test).
#[inline(always)]
pub(in crate::rust_wq) fn bool_or_errno(r: kernel::ffi::c_int) -> kernel::error::Result<bool> {
    if r < 0 {
        return Err(kernel::error::Error::from_errno(r));
    }
    Ok(r != 0)
}

/// The types [`read_once`] reads: integers and pointers, each one machine access.
pub(in crate::rust_wq) trait Word: Copy {}
impl Word for i32 {}
impl Word for u32 {}
impl Word for i64 {}
impl Word for u64 {}
impl Word for isize {}
impl Word for usize {}
impl<T> Word for *mut T {}
impl<T> Word for *const T {}

/// `READ_ONCE(*p)` inline: one load of an aligned integer or pointer, where the kernel's
/// `Atomic::load(Relaxed)` is an out-of-line call to a C helper (`atomic_read()` and friends,
/// themselves `READ_ONCE()`) on kernels without `CONFIG_RUST_INLINE_HELPERS` (GCC-built kernels,
/// and most Clang-built ones: it is experimental). Under the kernel's memory model (LKMM), a
/// volatile load of an aligned machine word is `READ_ONCE()`: a marked access, not a data race
/// with other marked accesses, and a single access (no tearing, no refetch, not elided). Rust's
/// own rules do not bless a volatile load racing with another CPU's write, as the kernel says of
/// the same pattern (`rust/kernel/io.rs`; `File::flags` and `HrTimer` read fields this way too,
/// marked `FIXME(read_once)` until the kernel has a `READ_ONCE` for Rust): this is the LKMM's
/// answer, as in C.
///
/// # Safety
///
/// `p` must be valid for reads and aligned, and every concurrent write of `*p` must be atomic (a
/// C atomic or bit operation, `WRITE_ONCE()`, or the kernel's Rust `Atomic`).
#[inline(always)]
pub(in crate::rust_wq) unsafe fn read_once<T: Word>(p: *const T) -> T {
    const {
        assert!(core::mem::size_of::<T>() <= core::mem::size_of::<usize>());
    }
    // SAFETY: Valid and aligned (the caller's promise); the concurrent writes are atomic (the
    // caller's promise), so under the LKMM this is a `READ_ONCE()` of a word that only changes
    // atomically.
    unsafe { p.read_volatile() }
}
