// SPDX-License-Identifier: GPL-2.0

//! rust_wq: the whole Linux workqueue API for Rust drivers, safe and sound.
//!
//! C header: [`include/linux/workqueue.h`](srctree/include/linux/workqueue.h)
//!
//! Reference: <https://docs.kernel.org/core-api/workqueue.html>
//!
//! - [`Drained`]: wraps the module type; nothing the module queued runs after its unload.
//! - [`OwnedQueue`]: queues from `alloc_workqueue`, configured by a typed [`Builder`]
//!   (per-CPU, unbound, ordered or BH; highpri, CPU-intensive, freezable, mem-reclaim, sysfs,
//!   power-efficient; `max_active`), destroyed on drop after firing any delayed work still armed.
//! - [`DevmQueue`]: an owned queue that belongs to a bound device ([`Builder::build_devm`], C's
//!   `devm_alloc_workqueue`), dropped when the device unbinds, its pending items run first.
//! - [`Work`] and [`DelayedWork`]: pinned work items embedded in an `Arc` or `Pin<KBox>` item, with
//!   [`new_work!`] / [`new_delayed_work!`] giving each call site its own lockdep class.
//! - [`RcuWork`]: items queued after an RCU grace period ([`EnqueueDelayed::enqueue_rcu`]) and
//!   flushed through it ([`RcuWorkRef::flush`]); queues and the module wait for their grace
//!   periods before they go.
//! - [`Enqueue`] and [`EnqueueDelayed`]: queueing, written once for every kind of queue, on the
//!   local CPU or a chosen one ([`Enqueue::enqueue_on`]), with a delay, or re-arming a pending
//!   timer ([`EnqueueDelayed::mod_delayed`]); a refused item always comes back in an
//!   [`EnqueueError`] with its [`EnqueueErrorKind`].
//! - Handles ([`Work::of`], [`DelayedWork::of`], [`RcuWork::of`]): pending/running state, cancel
//!   (giving the queue's reference back), flush, disable; waiting on itself from `run` is
//!   `EDEADLK`, waiting where sleeping is impossible `EAGAIN`, a reclaim item waiting for a
//!   non-reclaim queue `EDEADLK` ([Memory reclaim](crate::rust_wq::error#memory-reclaim)): errors,
//!   never a hang or a kernel warning.
//! - The system queues, including the non-deprecated [`system_percpu`] and [`system_dfl`].
//! - [`work_on_cpu!`](crate::work_on_cpu) and
//!   [`schedule_on_each_cpu!`](crate::schedule_on_each_cpu); [`cpu::TaskName`] to see which kworker
//!   ran an item.
//! - [`request_deferred_irq`]: a PCI interrupt whose top half defers to a work item, torn down
//!   in a safe order by the driver core; [`Slot`] to reach driver state from file operations.
//!
//! # Using it from a module
//!
//! Linux 7.3 cannot export Rust items from an out-of-tree module, so rust_wq is compiled into
//! each module that uses it. Mount it at the root of the module's crate, under this name (the
//! macros refer to `crate::rust_wq`), and wrap the module type in [`Drained`]:
//!
//! ```ignore (a driver's crate root, compiled as a crate of its own)
//! #[path = "../rust_wq/lib.rs"]
//! pub mod rust_wq;
//!
//! module! {
//!     type: rust_wq::Drained<MyDriver>,
//!     name: "my_driver",
//!     authors: ["..."],
//!     description: "...",
//!     license: "GPL",
//! }
//! # use kernel::prelude::*;
//! # struct MyDriver;
//! # impl kernel::Module for MyDriver {
//! #     fn init(_module: &'static ThisModule) -> Result<Self> {
//! #         Ok(MyDriver)
//! #     }
//! # }
//! ```
//!
//! Everything else is reached through `crate::rust_wq`, its macros included, from any module of the
//! driver: `use crate::rust_wq::{new_work, prelude::*, OwnedQueue, ...};` (the prelude brings the
//! queueing traits: [`Enqueue`], which every queue has, and [`EnqueueDelayed`], which the queues
//! that a timer cannot outlive have).
//!
//! # Examples
//!
//! An item that counts, queued on CPU 1 of a per-CPU high-priority queue (the KUnit suite
//! `rust_wq_doctests` runs this example, as every example of these pages):
//!
//! ```
//! use crate::rust_wq::{impl_has_work, new_work, prelude::*, OwnedQueue, Work, WorkItem};
//! use kernel::sync::{atomic::{Atomic, Relaxed}, Arc};
//!
//! #[pin_data]
//! struct Counter {
//!     hits: Atomic<u32>,
//!     #[pin]
//!     work: Work<Counter>,
//! }
//!
//! impl_has_work! { impl HasWork<Self> for Counter { self.work } }
//!
//! impl WorkItem for Counter {
//!     type Pointer = Arc<Counter>;
//!     fn run(this: Arc<Counter>) {
//!         this.hits.add(1, Relaxed);
//!     }
//! }
//!
//! let queue = OwnedQueue::percpu().highpri().max_active(4).build(c"counter")?;
//! let item = Arc::pin_init(
//!     pin_init!(Counter { hits: Atomic::new(0), work <- new_work!("Counter::work") }),
//!     GFP_KERNEL,
//! )?;
//! queue.enqueue_on(1, item.clone())?;   // EINVAL/ENODEV if CPU 1 is missing or offline
//! Work::of(&*item).flush()?;             // EDEADLK if called from `Counter::run`
//! assert_eq!(item.hits.load(Relaxed), 1);
//! drop(queue);                           // fires armed timers, drains, destroys
//! # Ok::<(), Error>(())
//! ```

pub mod closure;
pub mod cpu;
pub mod drained;
pub mod driver;
pub mod error;
pub(in crate::rust_wq) mod glue;
pub(in crate::rust_wq) mod internal;
pub mod item;
pub mod prelude;
pub mod queue;
#[cfg(rust_wq_testing)]
pub mod testing;

pub use closure::{
    on_cpu::{
        schedule_on_each_cpu_in,
        work_on_cpu_in, //
    },
    scope::{
        scope,
        JobClass,
        Scope, //
    },
};
pub use drained::Drained;
pub use driver::{
    request_deferred_irq,
    Slot,
    TopHalf, //
};
pub use error::{
    EnqueueError,
    EnqueueErrorKind, //
};
pub use internal::class::CLASSES;
pub use item::{
    delayed::{
        Armed,
        Delay,
        DelayedItemPointer,
        DelayedWork,
        HasDelayedWork,
        MAX_DELAY, //
    },
    field::HasField,
    handle::{
        DelayedWorkRef,
        RcuWorkRef,
        WorkRef, //
    },
    kernel_item::KernelItem,
    rcu_work::{
        HasRcuWork,
        RcuWork, //
    },
    static_work::{
        leak_item,
        StaticWork, //
    },
    work::{
        GivenBack,
        HasWork,
        Work,
        WorkItem,
        WorkItemPointer, //
    },
    work_box::{
        BoxItem,
        Requeue,
        WorkBox, //
    },
};
pub use queue::{
    system::{
        schedule_delayed_work,
        schedule_work,
        system_bh,
        system_bh_highpri,
        system_dfl,
        system_dfl_long,
        system_freezable,
        system_freezable_power_efficient,
        system_highpri,
        system_long,
        system_percpu,
        system_power_efficient, //
    },
    Bh,
    Builder,
    CpuTimers,
    DelayedPointer,
    DevmQueue,
    Enqueue,
    EnqueueDelayed,
    Kind,
    Limited,
    Ordered,
    OwnedQueue,
    PerCpu,
    Queue,
    RcuPointer,
    Stats,
    Threaded,
    Unbound,
    Unbounded,
    WorkPointer,
    DEFAULT_MAX_ACTIVE,
    MAX_ACTIVE, //
};

/// The deepest nesting of [`WorkRef::disable`] / [`DelayedWorkRef::disable`] (`EOVERFLOW`
/// beyond).
pub const MAX_DISABLE: u32 = internal::arm_lock::MAX_DISABLE;

pub use crate::{
    declare_work,
    impl_has_delayed_work,
    impl_has_rcu_work,
    impl_has_work,
    new_delayed_work,
    new_rcu_work,
    new_work,
    schedule_on_each_cpu,
    spawn,
    spawn_on,
    try_spawn,
    work_on_cpu, //
};

/// The current `jiffies`: the clock that the delays of delayed work count in.
#[inline]
pub fn jiffies() -> kernel::time::Jiffies {
    // SAFETY: `jiffies` is an always-valid, aligned kernel variable that the tick updates with
    // single-word stores; C reads it the same way (a volatile load).
    unsafe { core::ptr::read_volatile(core::ptr::addr_of!(kernel::bindings::jiffies)) }
}
