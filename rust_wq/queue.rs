// SPDX-License-Identifier: GPL-2.0

//! Queues: what items are queued on.
//!
//! - [`Queue`] ([`borrowed`]): a `workqueue_struct` borrowed, such as a system queue
//!   ([`system`]).
//! - [`OwnedQueue`] ([`owned`]): a queue from `alloc_workqueue`, configured by a typed
//!   [`Builder`] ([`builder`]), with its accounting ([`Stats`]).
//! - [`DevmQueue`] ([`devm`]): an owned queue that belongs to a bound device.
//! - [`Enqueue`] and [`EnqueueDelayed`] ([`enqueue`]): the queueing operations, written once
//!   and offered by every kind of queue.

pub mod borrowed;
pub mod builder;
pub mod devm;
pub mod enqueue;
pub mod owned;
pub mod stats;
pub mod system;

pub use borrowed::Queue;
pub use builder::{
    Bh,
    Builder,
    Kind,
    Limited,
    Ordered,
    PerCpu,
    Threaded,
    Unbound,
    Unbounded,
    DEFAULT_MAX_ACTIVE,
    MAX_ACTIVE, //
};
pub use devm::DevmQueue;
pub use enqueue::{
    CpuTimers,
    DelayedPointer,
    Enqueue,
    EnqueueDelayed,
    RcuPointer,
    WorkPointer, //
};
pub use owned::OwnedQueue;
pub use stats::Stats;
