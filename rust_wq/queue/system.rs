// SPDX-License-Identifier: GPL-2.0

//! The kernel's system workqueues, and C's `schedule_work` / `schedule_delayed_work` on them.
//!
//! `system_wq` and `system_unbound_wq` are deprecated in 7.3 (queueing on them warns); this
//! module offers their replacements [`system_percpu`] and [`system_dfl`] instead.
//!
//! The system queues outlive every module, but the items a module puts there run its code: its
//! [`Drained`](crate::rust_wq::Drained) wrapper fires their timers and flushes these queues when
//! the module is unloaded.

use crate::rust_wq::prelude::*;
use crate::rust_wq::{
    Delay,
    DelayedPointer,
    EnqueueError,
    Queue,
    WorkPointer, //
};
use kernel::bindings;

macro_rules! system_queue {
    ($(#[$doc:meta])* $name:ident => $sym:ident) => {
        $(#[$doc])*
        #[inline]
        pub fn $name() -> &'static Queue {
            // SAFETY: The system queues are created at boot, before any module runs, and are
            // never destroyed; the pointer is never written after boot.
            unsafe { Queue::from_raw(bindings::$sym) }
        }
    };
}

system_queue!(
    /// `system_percpu_wq` ("events"): the per-CPU default queue.
    system_percpu => system_percpu_wq
);
system_queue!(
    /// `system_dfl_wq` ("events_unbound"): the unbound default queue.
    system_dfl => system_dfl_wq
);
system_queue!(
    /// `system_dfl_long_wq`: unbound, for items that may run long.
    system_dfl_long => system_dfl_long_wq
);
system_queue!(
    /// `system_highpri_wq`: per-CPU, high priority.
    system_highpri => system_highpri_wq
);
system_queue!(
    /// `system_long_wq`: per-CPU, for items that may run long.
    system_long => system_long_wq
);
system_queue!(
    /// `system_freezable_wq`: per-CPU, frozen during suspend.
    system_freezable => system_freezable_wq
);
system_queue!(
    /// `system_power_efficient_wq`: per-CPU unless `workqueue.power_efficient` is set.
    system_power_efficient => system_power_efficient_wq
);
system_queue!(
    /// `system_freezable_power_efficient_wq`.
    system_freezable_power_efficient => system_freezable_power_efficient_wq
);
system_queue!(
    /// `system_bh_wq`: softirq context; items must not sleep.
    system_bh => system_bh_wq
);
system_queue!(
    /// `system_bh_highpri_wq`: high-priority softirq context; items must not sleep.
    system_bh_highpri => system_bh_highpri_wq
);

/// The C `schedule_work`: queues `item` on [`system_percpu`].
///
/// # Errors
///
/// Those of [`Enqueue::enqueue`], with the item back in the
/// [`EnqueueError`].
#[inline]
pub fn schedule_work<P: WorkPointer<ID>, const ID: u64>(item: P) -> Result<(), EnqueueError<P>> {
    system_percpu().enqueue(item)
}

/// The C `schedule_delayed_work`: queues `item` on [`system_percpu`] after `delay` (jiffies, or
/// a [`Delay`] of another unit).
///
/// # Errors
///
/// Those of [`EnqueueDelayed::enqueue_delayed`],
/// with the item back in the [`EnqueueError`].
#[inline]
pub fn schedule_delayed_work<P: DelayedPointer<ID>, const ID: u64>(
    item: P,
    delay: impl Delay,
) -> Result<(), EnqueueError<P>> {
    system_percpu().enqueue_delayed(item, delay)
}
