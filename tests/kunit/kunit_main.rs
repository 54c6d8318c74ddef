// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for rust_wq. They run when the module is loaded, on the debug test kernel.
//!
//! Work items run on kworkers, where a failing `assert!` does not fail the test: items record
//! what they saw in a [`probe::Shared`] and the test thread asserts on it.

use kernel::prelude::*;

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

mod delayed;
mod items;
mod probe;
mod queues;
mod system;

module! {
    type: RustWqKunit,
    name: "rust_wq_kunit",
    authors: ["rust_wq developers"],
    description: "KUnit suites for rust_wq",
    license: "GPL",
}

struct RustWqKunit;

impl kernel::Module for RustWqKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}
