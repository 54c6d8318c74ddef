// SPDX-License-Identifier: GPL-2.0

//! KUnit suites for rust_wq. They run when the module is loaded, on the debug test kernel.
//!
//! Work items run on kworkers, where a failing `assert!` does not fail the test: items record
//! what they saw in a [`probe::Shared`] and the test thread asserts on it.

use crate::rust_wq::prelude::*;
use kernel::prelude::*;

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

pub mod event;

#[cfg(not(rust_wq_ktap))]
mod class;
#[cfg(not(rust_wq_ktap))]
mod context;
#[cfg(not(rust_wq_ktap))]
mod delayed;
#[cfg(not(rust_wq_ktap))]
mod devm;
#[cfg(not(rust_wq_ktap))]
mod doctests;
#[cfg(not(rust_wq_ktap))]
mod errors;
#[cfg(not(rust_wq_ktap))]
mod interop;
#[cfg(not(rust_wq_ktap))]
mod item;
#[cfg(not(rust_wq_ktap))]
mod misuse;
#[cfg(not(rust_wq_ktap))]
mod more_api;
mod probe;
#[cfg(not(rust_wq_ktap))]
mod queue;
#[cfg(not(rust_wq_ktap))]
mod rcu_work;
#[cfg(not(rust_wq_ktap))]
mod scope;
#[cfg(not(rust_wq_ktap))]
mod soundness;
#[cfg(not(rust_wq_ktap))]
mod static_work;
#[cfg(not(rust_wq_ktap))]
mod system;
#[cfg(not(rust_wq_ktap))]
mod work_box;

// A kernel without KUnit (a distribution's): the same suites as plain modules (written by
// `ktap_suites.py` at build time), run by the module itself, which prints KTAP.
#[cfg(rust_wq_ktap)]
mod ktap;
#[cfg(rust_wq_ktap)]
include!(env!("RUST_WQ_KTAP_SUITES"));

module! {
    type: rust_wq::Drained<RustWqKunit>,
    name: "rust_wq_kunit",
    authors: ["rust_wq developers"],
    description: "KUnit suites for rust_wq",
    license: "GPL",
}

/// The module keeps a queue with work still pending and a timer still armed, so that every
/// `rmmod` of the test module also tests unloading with work in flight: the queue's drop must
/// fire the timer, run everything and leave no splat.
struct RustWqKunit {
    _busy: rust_wq::OwnedQueue,
}

impl kernel::Module for RustWqKunit {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        use probe::{
            Action,
            DelayedProbe,
            Probe,
            Shared, //
        };
        let busy = rust_wq::OwnedQueue::percpu()
            .max_active(1)
            .build(c"rwq_unload")?;
        let s = Shared::new()?;
        busy.enqueue_on(0, Probe::new(&s, 0, Action::Sleep(100))?)?;
        for i in 1..=4 {
            busy.enqueue_on(0, Probe::new(&s, i, Action::Record)?)?;
        }
        busy.enqueue_delayed(
            DelayedProbe::new(&s)?,
            kernel::time::Delta::from_millis(600_000),
        )?;
        #[cfg(rust_wq_ktap)]
        ktap::run(&suites());
        Ok(Self { _busy: busy })
    }
}
