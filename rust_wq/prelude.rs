// SPDX-License-Identifier: GPL-2.0

//! The traits whose methods a driver calls: `use crate::rust_wq::prelude::*;`.
//!
//! [`Enqueue`] and [`EnqueueDelayed`] are how every kind of queue takes items; the handles
//! ([`Work::of`](crate::rust_wq::Work::of) and the others) need no trait.

pub use crate::rust_wq::{
    Enqueue,
    EnqueueDelayed, //
};
