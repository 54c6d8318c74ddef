// SPDX-License-Identifier: GPL-2.0

//! The kernel's system workqueues, and delayed work on them.
//!
//! `system_wq` and `system_unbound_wq` are deprecated in 7.3 (queueing on them warns); this
//! module offers their replacements [`system_percpu`] and [`system_dfl`] instead.
//!
//! The system queues outlive every module, but the items a module puts there run its code: its
//! [`Drained`](crate::rust_wq::Drained) wrapper fires their timers and flushes these queues when
//! the module is unloaded.

use crate::rust_wq::{
    internal::registry::Gate,
    item::delayed::{
        self,
        Arm,
        Armed,
        Delay, //
    },
    item::rcu_work,
    DelayedItemPointer,
    EnqueueError,
    EnqueueErrorKind,
    HasDelayedWork,
    HasRcuWork,
    HasWork,
    Queue,
    WorkItem,
    WorkItemPointer, //
};
use kernel::{
    bindings,
    time::Jiffies, //
};

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
/// Those of [`Queue::enqueue`], with the item back in the [`EnqueueError`].
#[inline]
pub fn schedule_work<P, const ID: u64>(item: P) -> Result<(), EnqueueError<P>>
where
    P: WorkItemPointer,
    P::Target: WorkItem<ID, Pointer = P> + HasWork<P::Target, ID>,
{
    system_percpu().enqueue(item)
}

/// The C `schedule_delayed_work`: queues `item` on [`system_percpu`] after `delay` (jiffies, or
/// a [`Delay`] of another unit).
///
/// # Errors
///
/// Those of [`Queue::enqueue_delayed`], with the item back in the [`EnqueueError`].
#[inline]
pub fn schedule_delayed_work<P, const ID: u64>(
    item: P,
    delay: impl Delay,
) -> Result<(), EnqueueError<P>>
where
    P: DelayedItemPointer,
    P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
{
    system_percpu().enqueue_delayed(item, delay)
}

impl Queue {
    fn arm_static<P, const ID: u64>(
        &'static self,
        cpu: Option<u32>,
        item: P,
        delay: kernel::error::Result<Jiffies>,
        how: Arm,
    ) -> Result<Armed<P>, EnqueueError<P>>
    where
        P: DelayedItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        // A CPU's timer on a BH queue: once the CPU went offline, it would queue on the dead
        // CPU's pool (C warns, and the item never runs).
        if cpu.is_some() && self.is_system_bh() {
            return Err(EnqueueError::new(EnqueueErrorKind::CpuTimerOnBh, item));
        }
        let gate = match Gate::enter() {
            Ok(gate) => gate,
            Err(e) => return Err(EnqueueError::new(e, item)),
        };
        let bits = self.bits();
        // SAFETY: A `&'static Queue` is never destroyed. The module's system tracker fires the
        // timers armed here at unload, which cannot start while we hold the gate.
        let res = unsafe {
            delayed::arm(
                self.as_raw(),
                bits,
                gate.system_tracker(),
                cpu,
                item,
                delay,
                how,
            )
        };
        drop(gate);
        res
    }

    /// Queues `item` after `delay` (jiffies, or a [`Delay`] of another unit; `0`: at once).
    /// Only on queues that live forever (`'static`): owned queues have their own, tracked,
    /// [`OwnedQueue::enqueue_delayed`]. If the module is unloaded first, the timer fires then
    /// and the item runs before the module's code goes.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - `EBUSY`: the item is pending (timer armed, or queued), disabled, or being cancelled by
    ///   a `cancel_sync`.
    /// - `EINVAL`: the delay is negative or above [`MAX_DELAY`](crate::rust_wq::MAX_DELAY) (see
    ///   [`Delay`]).
    /// - `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained);
    ///   `ESHUTDOWN`: it is being unloaded.
    /// - `EINVAL`: reclaim waited for the item and this queue has no `WQ_MEM_RECLAIM` (see [Memory
    ///   reclaim](crate::rust_wq::error#memory-reclaim)), or, with lockdep, the item's lockdep
    ///   class went on the other kind of queue, BH or threaded (see [Lockdep
    ///   classes](crate::rust_wq::error#lockdep-classes)).
    /// - `ENOSPC`: with lockdep, the module has queued items of
    ///   [`CLASSES`](crate::rust_wq::CLASSES) classes already and this is one more.
    ///
    /// [`OwnedQueue::enqueue_delayed`]: crate::rust_wq::OwnedQueue::enqueue_delayed
    pub fn enqueue_delayed<P, const ID: u64>(
        &'static self,
        item: P,
        delay: impl Delay,
    ) -> Result<(), EnqueueError<P>>
    where
        P: DelayedItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm_static(None, item, delay.jiffies(), Arm::Queue)
            .map(|_| ())
    }

    /// Queues `item` on `cpu` after `delay`, as [`Queue::enqueue_delayed`]. Not on the BH
    /// queues.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - `EINVAL`: `cpu` is at or above `nr_cpu_ids`; `ENODEV`: `cpu` is offline.
    /// - `EINVAL`: this is a BH queue (a BH timer that fires after its CPU went offline would
    ///   queue on the dead CPU's pool: C warns, and the item never runs).
    /// - The errors of [`Queue::enqueue_delayed`].
    pub fn enqueue_delayed_on<P, const ID: u64>(
        &'static self,
        cpu: u32,
        item: P,
        delay: impl Delay,
    ) -> Result<(), EnqueueError<P>>
    where
        P: DelayedItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm_static(Some(cpu), item, delay.jiffies(), Arm::Queue)
            .map(|_| ())
    }

    /// `mod_delayed_work_on`: arms `item` to run on `cpu` after `delay` whether it was pending
    /// or not, as [`Queue::mod_delayed`]. Not on the BH queues.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - `EINVAL`: `cpu` is at or above `nr_cpu_ids`; `ENODEV`: `cpu` is offline.
    /// - `EINVAL`: this is a BH queue (a BH timer that fires after its CPU went offline would
    ///   queue on the dead CPU's pool: C warns, and the item never runs).
    /// - The errors of [`Queue::mod_delayed`].
    pub fn mod_delayed_on<P, const ID: u64>(
        &'static self,
        cpu: u32,
        item: P,
        delay: impl Delay,
    ) -> Result<Armed<P>, EnqueueError<P>>
    where
        P: DelayedItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm_static(Some(cpu), item, delay.jiffies(), Arm::Modify)
    }

    /// `mod_delayed_work`: arms `item` after `delay` whether it was pending or not.
    ///
    /// Returns [`Armed::Queued`] if it was idle (the queue took `item`), or
    /// [`Armed::Modified`] with `item` unused if it was pending: its timer was moved.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - `EBUSY`: the item is disabled, or being cancelled by a `cancel_sync`.
    /// - `EINVAL`: the delay is negative or above [`MAX_DELAY`](crate::rust_wq::MAX_DELAY) (see
    ///   [`Delay`]).
    /// - `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained);
    ///   `ESHUTDOWN`: it is being unloaded.
    /// - `EINVAL`: reclaim waited for the item and this queue has no `WQ_MEM_RECLAIM` (see [Memory
    ///   reclaim](crate::rust_wq::error#memory-reclaim)), or, with lockdep, the item's lockdep
    ///   class went on the other kind of queue, BH or threaded (see [Lockdep
    ///   classes](crate::rust_wq::error#lockdep-classes)).
    /// - `ENOSPC`: with lockdep, the module has queued items of
    ///   [`CLASSES`](crate::rust_wq::CLASSES) classes already and this is one more.
    pub fn mod_delayed<P, const ID: u64>(
        &'static self,
        item: P,
        delay: impl Delay,
    ) -> Result<Armed<P>, EnqueueError<P>>
    where
        P: DelayedItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm_static(None, item, delay.jiffies(), Arm::Modify)
    }

    /// Queues `item` after an RCU grace period (`queue_rcu_work`): it runs once every RCU
    /// read-side critical section that had begun when this returned `Ok` has ended. Only on
    /// queues that live forever (`'static`), as the item reaches the queue later; owned queues
    /// have their own [`OwnedQueue::enqueue_rcu`]. If the module is unloaded first, the unload
    /// waits for the grace period and the run.
    ///
    /// BH queues are fine: the item runs in softirq context, like any item there.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - `EBUSY`: the item is pending (waiting for its grace period, or queued).
    /// - `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained);
    ///   `ESHUTDOWN`: it is being unloaded.
    /// - `EINVAL`: reclaim waited for the item and this queue has no `WQ_MEM_RECLAIM` (see [Memory
    ///   reclaim](crate::rust_wq::error#memory-reclaim)), or, with lockdep, the item's lockdep
    ///   class went on the other kind of queue, BH or threaded (see [Lockdep
    ///   classes](crate::rust_wq::error#lockdep-classes)).
    /// - `ENOSPC`: with lockdep, the module has queued items of
    ///   [`CLASSES`](crate::rust_wq::CLASSES) classes already and this is one more.
    ///
    /// [`OwnedQueue::enqueue_rcu`]: crate::rust_wq::OwnedQueue::enqueue_rcu
    pub fn enqueue_rcu<P, const ID: u64>(&'static self, item: P) -> Result<(), EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasRcuWork<P::Target, ID>,
    {
        // SAFETY: A `&'static Queue` is never destroyed, so it outlives every RCU callback that
        // queues on it and every run. (The unload waits for the callbacks before it flushes the
        // system queues; the owner of any other queue does, by `Queue::from_raw`'s contract.)
        unsafe { rcu_work::queue(self.as_raw(), self.bits(), None, item) }
    }
}
