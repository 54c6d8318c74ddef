// SPDX-License-Identifier: GPL-2.0

//! rust_wq_edu: a driver for QEMU's `edu` PCI device whose interrupt top half defers its bottom
//! half to rust_wq, with a misc char device `/dev/rust_wq_edu` for userspace.
//!
//! This file is the crate's glue: it mounts rust_wq and declares the module and the `HasWork`
//! impl (macro expansions that the driver files' lint would reject). The driver itself,
//! `edu/driver.rs` and `edu/chardev.rs`, is `#![forbid(unsafe_code)]`.
//!
//! Run QEMU with `-device edu`. Module parameters choose the bottom half's queue: `queue=0` the
//! system queue (`schedule_work`), `queue=1` an owned per-CPU queue, `queue=2` an owned unbound
//! queue; `highpri` and `max_active` tune the owned queues. The bottom half's slow path, a tally
//! of the events it handled, runs on an ordered queue that belongs to the device
//! (`rust_wq_edu_slow`, a [`rust_wq::DevmQueue`]): the device's unbind drops it.

use kernel::prelude::*;

#[path = "../rust_wq/lib.rs"]
pub mod rust_wq;

#[path = "edu/chardev.rs"]
mod chardev;
#[path = "edu/driver.rs"]
mod driver;

crate::impl_has_work! { impl HasWork<Self> for driver::Hub { self.work } }
crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for driver::Tally { self.dwork } }

/// The module: the PCI driver's registration. Wrapped in [`rust_wq::Drained`], so that no
/// bottom half or delayed item of the driver can run after the module is gone.
#[pin_data]
struct EduModule {
    #[pin]
    _driver: kernel::driver::Registration<kernel::pci::Adapter<driver::EduDriver>>,
}

impl kernel::InPlaceModule for EduModule {
    fn init(module: &'static kernel::ThisModule) -> impl PinInit<Self, Error> {
        try_pin_init!(Self {
            _driver <- kernel::driver::Registration::new(c"rust_wq_edu", module),
        })
    }
}

kernel::prelude::module! {
    type: rust_wq::Drained<EduModule>,
    name: "rust_wq_edu",
    authors: ["rust_wq developers"],
    description: "QEMU edu device: hard-IRQ top half, rust_wq bottom half",
    license: "GPL",
    params: {
        queue: i32 {
            default: 1,
            description: "Bottom-half queue: 0 system (schedule_work), 1 owned per-CPU, 2 owned unbound",
        },
        highpri: bool {
            default: true,
            description: "Owned queue: high-priority workers",
        },
        max_active: i32 {
            default: 0,
            description: "Owned queue: max_active (0: the kernel's default)",
        },
    },
}
