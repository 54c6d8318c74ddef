// SPDX-License-Identifier: GPL-2.0

//! Helpers for drivers, built on the workqueue API rather than part of it: a PCI interrupt
//! whose top half defers to a work item ([`irq`]), and a [`Slot`] that hands a driver's state
//! to code that only has static context ([`slot`]).

pub mod irq;
pub mod slot;

pub use irq::{
    request_deferred_irq,
    TopHalf, //
};
pub use slot::Slot;
