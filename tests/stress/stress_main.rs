// SPDX-License-Identifier: GPL-2.0

//! rust_wq_stress: the torture suite (`make stress`). Each case drives rust_wq hard from several
//! threads at once and then checks exact figures: nothing lost, nothing run twice, nothing left.
//! Sizes are module parameters (`make stress STRESS_ITEMS= STRESS_OPS= STRESS_SECS=`).

use kernel::prelude::*;

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

#[path = "../kunit/event.rs"]
pub mod event;

mod alloc_failure;
mod bad_input;
mod delayed;
mod exactly_once;
mod hotplug;
mod semantics;
mod thread;
mod torture;

module! {
    type: rust_wq::Drained<RustWqStress>,
    name: "rust_wq_stress",
    authors: ["rust_wq developers"],
    description: "The rust_wq torture suite",
    license: "GPL",
    params: {
        items: u32 {
            default: 1024,
            description: "Distinct items of the exactly-once case",
        },
        ops: u32 {
            default: 1000000,
            description: "Successful enqueues the exactly-once case makes",
        },
        secs: u32 {
            default: 200,
            description: "Longest time a case may drive load, in seconds",
        },
        hotplug_secs: u32 {
            default: 60,
            description: "How long CPUs go down and up under load, in seconds",
        },
        torture_seed: u32 {
            default: 0,
            description: "Seed of the randomized torture (0: from the time; printed at its start)",
        },
        torture_secs: u32 {
            default: 60,
            description: "Shortest run of the randomized torture, in seconds (1 to 200)",
        },
        torture_min_ops: u32 {
            default: 20000,
            description: "Operations the randomized torture makes at least, however long it takes",
        },
        torture_threads: u32 {
            default: 3,
            description: "Threads of the randomized torture besides the test's own (1 to 8)",
        },
        torture_hotplug_secs: u32 {
            default: 30,
            description: "CPUs go down and up for the first N seconds of the torture (0: never)",
        },
        torture_atomic_spawn: u32 {
            default: 1,
            description: "0: the torture spawns no scope closures with GFP_KERNEL with interrupts off",
        },
    },
}

/// The sizes given to the module.
pub(crate) struct Sizes {
    pub(crate) items: u32,
    pub(crate) ops: u64,
    pub(crate) secs: u32,
}

pub(crate) fn sizes() -> Sizes {
    Sizes {
        items: module_parameters::items.value().max(1),
        ops: u64::from(module_parameters::ops.value()),
        secs: module_parameters::secs.value().max(1),
    }
}

/// How long the hotplug case toggles CPUs.
pub(crate) fn hotplug_secs() -> u32 {
    module_parameters::hotplug_secs.value().max(1)
}

/// The parameters of the randomized torture (`rust_wq_stress_torture`).
pub(crate) struct TortureParams {
    pub(crate) seed: u32,
    pub(crate) secs: u32,
    pub(crate) min_ops: u64,
    pub(crate) threads: u32,
    pub(crate) hotplug_secs: u32,
    pub(crate) atomic_spawn: bool,
}

pub(crate) fn torture_params() -> TortureParams {
    TortureParams {
        seed: module_parameters::torture_seed.value(),
        secs: module_parameters::torture_secs.value().clamp(1, 200),
        min_ops: u64::from(module_parameters::torture_min_ops.value()),
        threads: module_parameters::torture_threads.value().clamp(1, 8),
        hotplug_secs: module_parameters::torture_hotplug_secs.value(),
        atomic_spawn: module_parameters::torture_atomic_spawn.value() != 0,
    }
}

struct RustWqStress;

impl kernel::Module for RustWqStress {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}
