// SPDX-License-Identifier: GPL-2.0

//! Support for rust_wq's own tests and benchmarks, compiled only into their modules (their
//! Kbuild passes `--cfg rust_wq_testing`): not part of the library's API.
//!
//! - CPU hotplug: [`take_offline`] and [`bring_online`], refused where the operation could
//!   hang (rule 15 of docs/soundness.md); [`TaskName`]'s kworker predicates.
//! - The module's lifetime machinery: [`handoffs_in_flight`] (tests wait for the hand-offs of
//!   owned queues dropped in kworkers), [`gate_round_trip`] (the benchmark's cost breakdown).
//! - Sizes: [`QUEUE_CORE_SIZE`].
//!
//! [`TaskName`]: crate::rust_wq::cpu::TaskName

pub use crate::rust_wq::{
    cpu::{
        bring_online,
        take_offline, //
    },
    internal::registry::{
        gate_round_trip,
        handoffs_in_flight, //
    },
    queue::owned::QUEUE_CORE_SIZE,
};
