// SPDX-License-Identifier: GPL-2.0

//! rust_wq_stress: the torture suite (`make stress`). Each case drives rust_wq hard from several
//! threads at once and then checks exact figures: nothing lost, nothing run twice, nothing left.
//! Sizes are module parameters (`make stress STRESS_ITEMS= STRESS_OPS= STRESS_SECS=`).

use kernel::prelude::*;

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

mod alloc_failure;
mod bad_input;
mod delayed_churn;
mod exactly_once;
mod hotplug;
mod semantics;
mod thread;

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

struct RustWqStress;

impl kernel::Module for RustWqStress {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}
