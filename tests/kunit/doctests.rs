// SPDX-License-Identifier: GPL-2.0

//! The examples of rust_wq's documentation and of the README, as the KUnit suite
//! `rust_wq_doctests`: one case per example, named after its file and line.
//!
//! `scripts/doctests.py` writes the suite at build time (tests/kunit/Kbuild) from the examples
//! themselves, as the kernel's `scripts/rustdoc_test_gen.rs` does for the `kernel` crate; the
//! examples are written as in a module of a driver, which this is.

use kernel::prelude::*;

include!(env!("RUST_WQ_DOCTESTS"));
