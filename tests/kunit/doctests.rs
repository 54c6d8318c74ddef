// SPDX-License-Identifier: GPL-2.0

//! The examples of rust_wq's documentation and of the README, as the KUnit suite
//! `rust_wq_doctests`: one case per example, named after its file and line.
//!
//! `scripts/doctests.py` writes the suite at build time (tests/kunit/Kbuild) from the examples
//! themselves, as the kernel's `scripts/rustdoc_test_gen.rs` does for the `kernel` crate; the
//! examples are written as in a module of a driver, which this is.

use kernel::{
    ffi::c_char,
    prelude::*, //
};

extern "C" {
    fn rust_wq_kunit_skip(reason: *const c_char);
}

/// Marks the running case skipped, with `reason`: an example that is compiled, not run.
pub(crate) fn skip(reason: &CStr) {
    // SAFETY: `reason` is a NUL-terminated string that lives for the call; the helper marks the
    // KUnit test that the current thread runs, if any, and copies the string.
    unsafe { rust_wq_kunit_skip(reason.as_char_ptr()) }
}

include!(env!("RUST_WQ_DOCTESTS"));
