// SPDX-License-Identifier: GPL-2.0

//! Errors of queueing: [`EnqueueError`] hands the refused item back with an
//! [`EnqueueErrorKind`], one kind per cause, each with its errno.
//!
//! # Memory reclaim
//!
//! A queue with `WQ_MEM_RECLAIM` promises progress under memory pressure (it has a rescuer).
//! Its items must not wait for a queue without that promise, nor may a task in memory reclaim
//! (`PF_MEMALLOC`): C warns when they flush one (`check_flush_dependency()` in
//! `kernel/workqueue.c`), and the wait can deadlock under memory pressure. rust_wq returns
//! `EDEADLK` instead. Queues made by [`OwnedQueue::create_workqueue`] and
//! [`OwnedQueue::create_singlethread_workqueue`] are `__WQ_LEGACY`, which C exempts, and so does
//! rust_wq.
//!
//! The kernel does not tell a module which queue the current worker serves, so rust_wq keeps
//! track itself: every item remembers the kinds of queue it was ever queued on, and runs of an
//! item that was ever on a reclaim queue count as reclaim runners while they run. A flush from a
//! reclaim runner (or from `PF_MEMALLOC`) must target a queue known to have `WQ_MEM_RECLAIM`: an
//! owned queue built with it, or an item only ever queued on such queues, which is then latched:
//! queueing it on a queue without `WQ_MEM_RECLAIM` is [`EnqueueErrorKind::ReclaimLatched`] from
//! then on (so the wait cannot turn unsafe after the check). This errs on the safe side: an item
//! that was ever on a strict reclaim queue counts as a reclaim runner wherever it runs later.
//!
//! What rust_wq cannot see: a worker of another subsystem's reclaim queue that calls into the
//! module (a blocking `queue_rq` on `kblockd`, say). Such code must not wait for work without
//! `WQ_MEM_RECLAIM`; C would warn (rule 9 of docs/soundness.md).
//!
//! # Lockdep classes
//!
//! C gives every `work_struct` a lockdep map whose class is its initialiser's key (one per
//! [`new_work!`](crate::new_work) or [`new_delayed_work!`](crate::new_delayed_work) site), and
//! takes it around every run. A BH queue runs items in softirq context, any other queue in a
//! kworker with softirqs enabled: once items of one class have run in both, lockdep reports an
//! inconsistent lock state (`{IN-SOFTIRQ-W} -> {SOFTIRQ-ON-W}`), which stops a kernel with
//! `panic_on_warn`. So on kernels with `CONFIG_LOCKDEP` the first queueing of an item of a class
//! decides where the items of that class may go: on BH queues only, or on threaded queues only;
//! the other kind is [`EnqueueErrorKind::ClassContext`] (the item comes back). Items meant for
//! both need a class each: two sites, such as two `Work` fields with their own `ID`s.
//!
//! The module remembers the kinds of up to [`CLASSES`] classes it has queued (by the address of
//! their key, as lockdep does); queueing an item of one more class is
//! [`EnqueueErrorKind::TooManyClasses`]. A dynamic key that is freed and reused keeps its
//! predecessor's kind (a refusal, never a report). Without lockdep there are no classes and
//! nothing to report, and nothing is checked or stored.
//!
//! [`OwnedQueue::create_workqueue`]: crate::rust_wq::OwnedQueue::create_workqueue
//! [`OwnedQueue::create_singlethread_workqueue`]:
//!     crate::rust_wq::OwnedQueue::create_singlethread_workqueue
//! [`CLASSES`]: crate::rust_wq::CLASSES

use core::{
    fmt,
    mem::MaybeUninit, //
};
use kernel::prelude::*;

/// Why an item was not queued: one kind per cause a caller would handle differently. Each
/// enqueue's `# Errors` section says which it can give; [`EnqueueErrorKind::errno`] (or
/// `Error::from`) is the errno C code would see. More kinds may come.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EnqueueErrorKind {
    /// `EBUSY`: the item is not idle: pending already (queued, its timer armed, or waiting for
    /// its grace period), disabled, or being cancelled by a `cancel_sync`. As in C, which
    /// refuses all three alike: the item will run, or must not, without this queueing.
    Busy,
    /// `EINVAL`: the CPU is at or above `nr_cpu_ids`.
    NoSuchCpu,
    /// `ENODEV`: the CPU is offline.
    CpuOffline,
    /// `EINVAL`: the NUMA node is at or above `nr_node_ids`.
    NoSuchNode,
    /// `ENODEV`: the NUMA node is offline.
    NodeOffline,
    /// `EINVAL`: the delay is negative or above [`MAX_DELAY`](crate::rust_wq::MAX_DELAY) (see
    /// [`Delay`](crate::rust_wq::Delay)); any error of a [`Delay`](crate::rust_wq::Delay)
    /// conversion is this kind.
    DelayOutOfRange,
    /// `EINVAL`: a timer bound to a CPU on a BH queue: once the CPU went offline, it would queue
    /// on the dead CPU's pool (C warns, and the item never runs).
    CpuTimerOnBh,
    /// `EINVAL`: reclaim waited for the item, and this queue has no `WQ_MEM_RECLAIM` (see
    /// [Memory reclaim](self#memory-reclaim)).
    ReclaimLatched,
    /// `EINVAL`: with lockdep, items of the item's lockdep class went on the other kind of queue,
    /// BH or threaded (see [Lockdep classes](self#lockdep-classes)).
    ClassContext,
    /// `ENOSPC`: with lockdep, the module has queued items of [`CLASSES`](crate::rust_wq::CLASSES)
    /// classes already and this is one more (see [Lockdep classes](self#lockdep-classes)).
    TooManyClasses,
    /// `EINVAL`: an in-tree `kernel::workqueue` item on a BH queue or a strict `WQ_MEM_RECLAIM`
    /// queue, which rust_wq cannot check for it (see [`KernelItem`](crate::rust_wq::KernelItem)).
    KernelItemQueue,
    /// `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained) (the log
    /// says what to write).
    NotDrained,
    /// `ESHUTDOWN`: the module is being unloaded.
    Unloading,
    /// `ENODEV`: the device of a [`DevmQueue`](crate::rust_wq::DevmQueue) was unbound, and the
    /// queue is gone.
    DeviceUnbound,
}

impl EnqueueErrorKind {
    /// The errno of this kind.
    pub fn errno(self) -> Error {
        match self {
            Self::Busy => EBUSY,
            Self::CpuOffline | Self::NodeOffline | Self::DeviceUnbound => ENODEV,
            Self::TooManyClasses => ENOSPC,
            Self::Unloading => ESHUTDOWN,
            Self::NoSuchCpu
            | Self::NoSuchNode
            | Self::DelayOutOfRange
            | Self::CpuTimerOnBh
            | Self::ReclaimLatched
            | Self::ClassContext
            | Self::KernelItemQueue
            | Self::NotDrained => EINVAL,
        }
    }

    /// The kind of a CPU refused by [`cpu::online_cpu`](crate::rust_wq::cpu::online_cpu):
    /// `EINVAL` is no such CPU, any other error an offline one.
    pub(in crate::rust_wq) fn of_cpu(e: Error) -> Self {
        if e == EINVAL {
            Self::NoSuchCpu
        } else {
            Self::CpuOffline
        }
    }

    /// The kind of a node refused by [`cpu::online_node`](crate::rust_wq::cpu::online_node).
    pub(in crate::rust_wq) fn of_node(e: Error) -> Self {
        if e == EINVAL {
            Self::NoSuchNode
        } else {
            Self::NodeOffline
        }
    }
}

impl From<EnqueueErrorKind> for Error {
    fn from(kind: EnqueueErrorKind) -> Error {
        kind.errno()
    }
}

/// Why an item was not queued, with the item handed back: nothing is lost.
///
/// [`EnqueueError::kind`] is the cause, [`EnqueueError::error`] its errno,
/// [`EnqueueError::into_item`] the item; `?` in a function that returns the kernel's `Result`
/// turns it into that errno (dropping the item).
///
/// # Invariants
///
/// `kind` is initialised.
pub struct EnqueueError<P> {
    /// The cause, behind `MaybeUninit` only to hide the kind's spare values from the layout: a
    /// `Result<(), EnqueueError<P>>` then says `Ok` with a null item pointer, in one register,
    /// rather than with a value of the kind's byte that an enqueue would have to carry in a
    /// second register to its return.
    kind: MaybeUninit<EnqueueErrorKind>,
    item: P,
}

impl<P> EnqueueError<P> {
    pub(in crate::rust_wq) fn new(kind: EnqueueErrorKind, item: P) -> Self {
        // INVARIANT: `kind` is initialised.
        Self {
            kind: MaybeUninit::new(kind),
            item,
        }
    }

    /// The cause.
    pub fn kind(&self) -> EnqueueErrorKind {
        // SAFETY: `kind` is initialised (type invariant).
        unsafe { self.kind.assume_init() }
    }

    /// The errno of the cause.
    pub fn error(&self) -> Error {
        self.kind().errno()
    }

    /// Takes the item back.
    pub fn into_item(self) -> P {
        self.item
    }
}

impl<P> fmt::Debug for EnqueueError<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EnqueueError({:?}: {:?})", self.kind(), self.error())
    }
}

impl<P> From<EnqueueError<P>> for Error {
    fn from(e: EnqueueError<P>) -> Error {
        e.error()
    }
}
