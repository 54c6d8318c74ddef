// SPDX-License-Identifier: GPL-2.0

//! The traits whose methods a driver calls: `use crate::rust_wq::prelude::*;`.
//!
//! [`Enqueue`] (every queue) and [`EnqueueDelayed`] (the queues that a timer cannot outlive) are
//! how queues take items; the handles
//! ([`Work::of`](crate::rust_wq::Work::of) and the others) need no trait.

pub use crate::rust_wq::{
    Enqueue,
    EnqueueDelayed, //
};
