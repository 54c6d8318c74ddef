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
//! queue; `highpri` and `max_active` tune the owned queues.

#[path = "../rust_wq/lib.rs"]
pub mod rust_wq;

#[path = "edu/chardev.rs"]
mod chardev;
#[path = "edu/driver.rs"]
mod driver;

crate::impl_has_work! { impl HasWork<Self> for driver::Hub { self.work } }

kernel::module_pci_driver! {
    type: driver::EduDriver,
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
