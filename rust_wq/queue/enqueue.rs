// SPDX-License-Identifier: GPL-2.0

//! [`Enqueue`] and [`EnqueueDelayed`]: the queueing operations, written once and offered by
//! every kind of queue (delayed and RCU items by those that a timer cannot outlive).
//!
//! | | [`Queue`] | `&'static` [`Queue`] | [`OwnedQueue`] | [`DevmQueue`] |
//! |---|---|---|---|---|
//! | [`Enqueue`]: plain items, closures, in-tree items | yes | yes | yes | yes |
//! | [`EnqueueDelayed`]: delayed and RCU items | no: a timer would outlive the borrow | yes | yes | yes |
//! | a CPU's timer ([`CpuTimers`]) | - | `EINVAL` on the BH system queues | threaded kinds | threaded kinds |
//!
//! A [`DevmQueue`]'s operations run under its devres guard (an RCU read-side critical section:
//! see [`DevmQueue::try_access`]), which is why nothing there allocates or sleeps.
//!
//! What differs between the kinds is supplied by each (its `Site`): an owned queue counts its
//! enqueues for [`OwnedQueue::drain`], keeps [`Stats`](crate::rust_wq::Stats) and tracks the
//! timers armed on it; a queue that lives forever tracks them in the module's registry; a
//! [`DevmQueue`] refuses with [`EnqueueErrorKind::DeviceUnbound`] once its device is unbound.
//! The traits are sealed, and in scope through [`crate::rust_wq::prelude`].

use crate::rust_wq::{
    closure::spawn::{
        self,
        SpawnClass, //
    },
    cpu,
    internal::{
        reclaim,
        registry::{
            self,
            Gate, //
        },
    },
    item::{
        delayed::{
            self,
            Arm, //
        },
        kernel_item::KernelItem,
        rcu_work,
    },
    queue::{
        borrowed::{
            self,
            WORK_CPU_UNBOUND, //
        },
        owned::{
            Counting,
            QueueCore, //
        },
        Kind, Threaded,
    },
    Armed,
    Delay,
    DelayedItemPointer,
    DevmQueue,
    EnqueueError,
    EnqueueErrorKind,
    HasDelayedWork,
    HasRcuWork,
    HasWork,
    OwnedQueue,
    Queue,
    WorkItem,
    WorkItemPointer,
    MAX_DELAY, //
};
use core::ops::Deref;
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*,
    sync::{
        atomic::Relaxed,
        rcu, //
    },
    time::Jiffies, //
};

/// A pointer that owns an item with a [`Work`](crate::rust_wq::Work) field `ID`: what the
/// plain enqueues take (`Arc<T>`, `Pin<KBox<T>>`, `ARef<T>`, `&'static T`).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be queued with `enqueue`: it cannot own a queued work item, or its \
               item has no `Work` field with ID {ID}"
)]
pub trait WorkPointer<const ID: u64>:
    WorkItemPointer<Target: WorkItem<ID, Pointer = Self> + HasWork<Self::Target, ID>>
{
}

impl<P, const ID: u64> WorkPointer<ID> for P where
    P: WorkItemPointer<Target: WorkItem<ID, Pointer = P> + HasWork<P::Target, ID>>
{
}

/// A pointer that owns an item with a [`DelayedWork`](crate::rust_wq::DelayedWork) field `ID`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be armed with a delay: it cannot own a delayed work item, or its \
               item has no `DelayedWork` field with ID {ID}"
)]
pub trait DelayedPointer<const ID: u64>:
    DelayedItemPointer<Target: WorkItem<ID, Pointer = Self> + HasDelayedWork<Self::Target, ID>>
{
}

impl<P, const ID: u64> DelayedPointer<ID> for P where
    P: DelayedItemPointer<Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>>
{
}

/// A pointer that owns an item with an [`RcuWork`](crate::rust_wq::RcuWork) field `ID`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be queued after a grace period: it cannot own a queued work item, \
               or its item has no `RcuWork` field with ID {ID}"
)]
pub trait RcuPointer<const ID: u64>:
    WorkItemPointer<Target: WorkItem<ID, Pointer = Self> + HasRcuWork<Self::Target, ID>>
{
}

impl<P, const ID: u64> RcuPointer<ID> for P where
    P: WorkItemPointer<Target: WorkItem<ID, Pointer = P> + HasRcuWork<P::Target, ID>>
{
}

pub(in crate::rust_wq) mod sealed {
    use crate::rust_wq::{
        queue::owned::QueueCore,
        Queue,
        Stats, //
    };

    /// The queue of a [`Site`]. Its C queue and bits are read where an operation uses them, not
    /// when the site is made: for an owned queue they are loads from its core, which would
    /// otherwise come before the checks that may refuse the item and be kept across their calls.
    #[derive(Clone, Copy)]
    pub(in crate::rust_wq) enum SiteQueue<'a> {
        /// An owned queue's shared part: its C queue and bits, its drain counts, its tracker of
        /// armed timers, its RCU flag.
        Owned(&'a QueueCore),
        /// A queue that is not owned (a system queue, or one borrowed from C).
        Borrowed(&'a Queue),
    }

    /// What a queue is for the operations, as its kind supplies it.
    ///
    /// # Invariants
    ///
    /// The C queue of `queue` is valid, neither destroyed nor drained (`drain_workqueue`) while
    /// the site lives. A [`SiteQueue::Borrowed`] queue lives forever (a system queue) or the site
    /// is used only for plain items.
    pub struct Site<'a> {
        pub(in crate::rust_wq) queue: SiteQueue<'a>,
        /// Whether this is a BH queue.
        pub(in crate::rust_wq) bh: bool,
        pub(in crate::rust_wq) stats: Option<&'a Stats>,
    }

    /// What a kind of queue supplies to the operations: see the [module documentation](super).
    pub trait Sink {
        /// Runs `op` with this queue's site and `arg`, or `gone` with `arg` if the queue takes
        /// nothing any more (a [`DevmQueue`](crate::rust_wq::DevmQueue) whose device was
        /// unbound). Two closures rather than a `Result` around `op`'s: the kinds that cannot
        /// refuse return `op`'s result as it is, with no wrapper to test again.
        fn with_site<A, R>(
            &self,
            arg: A,
            op: impl FnOnce(&Site<'_>, A) -> R,
            gone: impl FnOnce(A) -> R,
        ) -> R;

        /// Whether this is a BH queue, known without the site (and its guard).
        fn is_bh(&self) -> bool;
    }

    /// Kinds of queue on which a timer may be bound to a CPU.
    pub trait CpuTimersSealed {}
}

use sealed::{
    Sink,
    Site,
    SiteQueue, //
};

/// Kinds of queue on which a delayed item may be armed to run on a chosen CPU
/// ([`EnqueueDelayed::enqueue_delayed_on`], [`EnqueueDelayed::mod_delayed_on`]): the threaded
/// owned and devm queues; `&'static Queue` refuses it on the BH system queues with
/// [`EnqueueErrorKind::CpuTimerOnBh`]. A BH timer that fires after its CPU went offline would
/// queue on the dead CPU's pool (C warns, and the item never runs).
pub trait CpuTimers: sealed::CpuTimersSealed {}

impl<K: Threaded> sealed::CpuTimersSealed for OwnedQueue<K> {}
impl<K: Threaded> CpuTimers for OwnedQueue<K> {}
impl<K: Threaded> sealed::CpuTimersSealed for DevmQueue<K> {}
impl<K: Threaded> CpuTimers for DevmQueue<K> {}
impl sealed::CpuTimersSealed for &'static Queue {}
impl CpuTimers for &'static Queue {}

impl Queue {
    #[inline(always)]
    fn site(&self) -> Site<'_> {
        // INVARIANT: A borrowed `Queue` is valid and neither destroyed nor drained while
        // borrowed (`Queue::from_raw`).
        Site {
            queue: SiteQueue::Borrowed(self),
            bh: self.is_system_bh(),
            stats: None,
        }
    }
}

/// Whether queues of kind `K` are BH queues: known from the type, a constant.
#[inline(always)]
fn kind_is_bh<K: Kind>() -> bool {
    K::FLAGS & bindings::wq_flags_WQ_BH != 0
}

impl<K: Kind> OwnedQueue<K> {
    #[inline(always)]
    pub(in crate::rust_wq) fn site(&self) -> Site<'_> {
        // INVARIANT: The core's queue is valid while the core is, and drained only by its
        // destruction, which cannot begin while `self` is borrowed.
        Site {
            queue: SiteQueue::Owned(self.core()),
            bh: kind_is_bh::<K>(),
            stats: self.stats(),
        }
    }
}

impl Sink for Queue {
    #[inline(always)]
    fn with_site<A, R>(
        &self,
        arg: A,
        op: impl FnOnce(&Site<'_>, A) -> R,
        _gone: impl FnOnce(A) -> R,
    ) -> R {
        op(&self.site(), arg)
    }

    fn is_bh(&self) -> bool {
        self.is_system_bh()
    }
}

impl Sink for &'static Queue {
    #[inline(always)]
    fn with_site<A, R>(
        &self,
        arg: A,
        op: impl FnOnce(&Site<'_>, A) -> R,
        gone: impl FnOnce(A) -> R,
    ) -> R {
        // INVARIANT: As above; a `&'static Queue` lives forever.
        (**self).with_site(arg, op, gone)
    }

    fn is_bh(&self) -> bool {
        (**self).is_bh()
    }
}

impl<K: Kind> Sink for OwnedQueue<K> {
    #[inline(always)]
    fn with_site<A, R>(
        &self,
        arg: A,
        op: impl FnOnce(&Site<'_>, A) -> R,
        _gone: impl FnOnce(A) -> R,
    ) -> R {
        op(&self.site(), arg)
    }

    fn is_bh(&self) -> bool {
        kind_is_bh::<K>()
    }
}

impl<K: Kind> Sink for DevmQueue<K> {
    #[inline]
    fn with_site<A, R>(
        &self,
        arg: A,
        op: impl FnOnce(&Site<'_>, A) -> R,
        gone: impl FnOnce(A) -> R,
    ) -> R {
        match self.try_access() {
            // The guard keeps the queue from being dropped while `op` runs.
            Some(queue) => queue.with_site(arg, op, gone),
            None => gone(arg),
        }
    }

    fn is_bh(&self) -> bool {
        kind_is_bh::<K>()
    }
}

/// The C queue that `queue` queues on, or `None` if it takes nothing any more (a
/// [`DevmQueue`] whose device was unbound). For an owned or a system queue, a load.
#[inline(always)]
pub(in crate::rust_wq) fn raw_queue<Q: Sink + ?Sized>(
    queue: &Q,
) -> Option<*mut bindings::workqueue_struct> {
    queue.with_site((), |site, ()| Some(site.wq()), |()| None)
}

impl Site<'_> {
    /// The owned queue's core, if the queue is owned.
    #[inline(always)]
    fn core(&self) -> Option<&QueueCore> {
        match self.queue {
            SiteQueue::Owned(core) => Some(core),
            SiteQueue::Borrowed(_) => None,
        }
    }

    /// The C queue.
    #[inline(always)]
    fn wq(&self) -> *mut bindings::workqueue_struct {
        match self.queue {
            SiteQueue::Owned(core) => core.wq(),
            SiteQueue::Borrowed(queue) => queue.as_raw(),
        }
    }

    /// The `reclaim::ON_*` bits of queueing here.
    #[inline(always)]
    fn bits(&self) -> u32 {
        match self.queue {
            SiteQueue::Owned(core) => core.bits(),
            SiteQueue::Borrowed(queue) => queue.bits(),
        }
    }

    #[inline(always)]
    fn queue(&self) -> &Queue {
        match self.queue {
            // SAFETY: The core's queue is valid and neither destroyed nor drained while `self`
            // lives (type invariant). For an owned queue (which `from_raw`'s contract excludes,
            // for its timers and flags), the `&Queue` stays private to the site: it is given the
            // queue's own `bits` explicitly for every call and never arms a timer (the site's
            // `arm` uses the owned queue's tracker).
            SiteQueue::Owned(core) => unsafe { Queue::from_raw(core.wq()) },
            SiteQueue::Borrowed(queue) => queue,
        }
    }

    /// Starts counting one enqueue for [`OwnedQueue::drain`]'s bookkeeping (owned queues),
    /// finished when the guard is dropped.
    #[inline(always)]
    fn count(&self) -> Option<Counting<'_>> {
        self.core().map(QueueCore::count)
    }

    /// Runs `f` as one enqueue for [`OwnedQueue::drain`]'s bookkeeping (owned queues), the count
    /// and `f` in one RCU read-side critical section (see [`QueueCore::count`]): `f` must not
    /// sleep.
    #[inline(always)]
    fn counted<R>(&self, f: impl FnOnce() -> R) -> R {
        let _rcu = self.core().map(|_| rcu::read_lock());
        let _counting = self.count();
        f()
    }

    /// Counts `res` in the queue's [`Stats`], if it keeps them; `cpu` as C's `cpu` argument.
    #[inline(always)]
    fn account<T, P>(
        &self,
        cpu: i32,
        res: Result<T, EnqueueError<P>>,
    ) -> Result<T, EnqueueError<P>> {
        if let Some(s) = self.stats {
            s.count(cpu, res.is_ok());
        }
        res
    }

    /// Queues `item` on the worker pool of `cpu` (`enqueue_on_cpu` refuses a pending item
    /// itself).
    #[inline(always)]
    fn enqueue_on<P: WorkPointer<ID>, const ID: u64>(
        &self,
        cpu: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let res = self
            .queue()
            .enqueue_on_cpu(cpu, self.bits(), self.core(), item);
        self.account(cpu as i32, res)
    }

    /// Queues `item`, found idle by the caller (or new: a closure), on the local CPU or
    /// anywhere. The caller's check is only a shortcut: C's own grab of the `PENDING` bit refuses
    /// an item that became pending since (`Busy`).
    #[inline(always)]
    fn enqueue_found_idle<P: WorkPointer<ID>, const ID: u64>(
        &self,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let res = self
            .queue()
            .enqueue_gated(WORK_CPU_UNBOUND, self.bits(), self.core(), item);
        self.account(WORK_CPU_UNBOUND, res)
    }

    /// Queues `item` near NUMA node `node` (unbound queues only: the caller's type says so).
    pub(in crate::rust_wq) fn enqueue_node<P: WorkPointer<ID>, const ID: u64>(
        &self,
        node: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let node = match cpu::online_node(node) {
            Ok(node) => node,
            Err(e) => {
                let e = EnqueueError::new(EnqueueErrorKind::of_node(e), item);
                return self.account(WORK_CPU_UNBOUND, Err(e));
            }
        };
        let item = match borrowed::refuse_if_pending(item) {
            Ok(item) => item,
            Err(e) => return self.account(WORK_CPU_UNBOUND, Err(e)),
        };
        let res = self.counted(|| {
            self.queue()
                .enqueue_gated_to(borrowed::Target::Node(node), self.bits(), item)
        });
        self.account(WORK_CPU_UNBOUND, res)
    }

    /// Counts the refusal of a pending item by [`Enqueue::enqueue_cloned`].
    #[inline(always)]
    fn refuse_pending(&self) -> Result {
        if let Some(s) = self.stats {
            s.count(WORK_CPU_UNBOUND, false);
        }
        Err(EBUSY)
    }

    /// Queues a clone of `item`, found idle by the caller ([`Enqueue::enqueue_cloned`]).
    #[inline(always)]
    fn enqueue_cloned<P, const ID: u64>(&self, item: &P) -> Result
    where
        P: WorkPointer<ID> + Clone + Deref<Target = <P as WorkItemPointer>::Target>,
    {
        let res =
            self.queue()
                .enqueue_gated(WORK_CPU_UNBOUND, self.bits(), self.core(), item.clone());
        Ok(self.account(WORK_CPU_UNBOUND, res)?)
    }

    /// Arms (or re-arms) a delayed item. Inlined into each operation, so that the operation's
    /// constants (no CPU, which `Arm`, a constant delay) and the kind's (owned or not, BH or not)
    /// fold, and `delayed::arm` is called with them.
    ///
    /// # Safety
    ///
    /// The queue is owned (its core's tracker follows the timer), or it lives forever: the sites
    /// of the kinds that implement [`EnqueueDelayed`].
    #[inline(always)]
    unsafe fn arm<P: DelayedPointer<ID>, const ID: u64>(
        &self,
        cpu: Option<u32>,
        item: P,
        delay: Result<Jiffies>,
        how: Arm,
    ) -> Result<Armed<P>, EnqueueError<P>> {
        let target = cpu.map_or(WORK_CPU_UNBOUND, |c| c as i32);
        if cpu.is_some() && self.bh {
            let e = EnqueueError::new(EnqueueErrorKind::CpuTimerOnBh, item);
            return self.account(target, Err(e));
        }
        // The gate is taken with the arm lock, in its interrupts-off section (`delayed::arm`); a
        // closed one is refused first, as before the delay is checked.
        if registry::gate_closed_early() {
            return self.account(target, Err(EnqueueError::new(Gate::refused(), item)));
        }
        // Checked here rather than in `delayed::arm`, which then takes the delay by value: a
        // constant delay (the caller's, inlined) folds the check away, and `delayed::arm` gets it
        // in a register, not as a `Result` in memory.
        let delay = match delay {
            Ok(d) if d <= MAX_DELAY => d,
            Ok(_) | Err(_) => {
                let e = EnqueueError::new(EnqueueErrorKind::DelayOutOfRange, item);
                return self.account(target, Err(e));
            }
        };
        let core = self.core();
        // An owned queue's tracker, else (`None`) the module's, which `delayed::arm` reaches
        // through the gate it takes.
        let tracker = core.map(QueueCore::tracker);
        // Counted for `drain` in the arm lock's section (`delayed::arm`).
        let counts = core.map_or(core::ptr::null(), QueueCore::counts);
        // SAFETY: The C queue is valid (type invariant). For an owned queue, `tracker` is its
        // core's, which that queue's drop fires before it destroys the C queue (and the drop
        // cannot begin while the site lives), and `counts` its core's counts word; for a queue
        // that lives forever (the caller's promise when it is not owned), `tracker` is `None`
        // (the module's, which the unload fires, and which cannot close while `delayed::arm`
        // holds the gate) and `counts` null.
        let res = unsafe {
            delayed::arm(
                self.wq(),
                self.bits(),
                tracker,
                counts,
                cpu,
                item,
                delay,
                how,
            )
        };
        if let (Some(s), Ok(Armed::Queued)) = (self.stats, &res) {
            s.delayed.add(1, Relaxed);
        }
        self.account(target, res)
    }

    /// Queues an RCU item.
    ///
    /// # Safety
    ///
    /// As for [`Site::arm`]: the queue is owned, or it lives forever.
    unsafe fn enqueue_rcu<P: RcuPointer<ID>, const ID: u64>(
        &self,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let used = self.core().map(|core| core.rcu_used());
        // SAFETY: The C queue lives forever (not owned: the caller's promise), or it is the
        // owned queue's, whose destruction waits for the RCU callbacks first when `used` is set,
        // and cannot begin while the site lives (type invariant).
        let res = self.counted(|| unsafe { rcu_work::queue(self.wq(), self.bits(), used, item) });
        self.account(WORK_CPU_UNBOUND, res)
    }

    fn enqueue_kernel_item<P: KernelItem<ID>, const ID: u64>(
        &self,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let bits = if self.bh { reclaim::ON_BH } else { self.bits() };
        let res = self.counted(|| self.queue().enqueue_kernel_gated(bits, item));
        self.account(WORK_CPU_UNBOUND, res)
    }
}

/// Gives `item` back refused by a queue that takes nothing any more.
#[inline]
fn unbound<P, R>(item: P) -> Result<R, EnqueueError<P>> {
    Err(EnqueueError::new(EnqueueErrorKind::DeviceUnbound, item))
}

/// [`Enqueue::enqueue`] of an item found idle: out of line, so that the pending check before it
/// is all that is inlined at the call site.
#[inline(never)]
fn enqueue_idle<Q, P, const ID: u64>(queue: &Q, item: P) -> Result<(), EnqueueError<P>>
where
    Q: Enqueue + ?Sized,
    P: WorkPointer<ID>,
{
    queue.with_site(item, |site, item| site.enqueue_found_idle(item), unbound)
}

/// [`Enqueue::enqueue_cloned`] of an item found idle: out of line, as [`enqueue_idle`].
#[inline(never)]
fn enqueue_cloned_idle<Q, P, const ID: u64>(queue: &Q, item: &P) -> Result
where
    Q: Enqueue + ?Sized,
    P: WorkPointer<ID> + Clone + Deref<Target = <P as WorkItemPointer>::Target>,
{
    queue.with_site(
        item,
        |site, item| site.enqueue_cloned(item),
        |_| Err(ENODEV),
    )
}

/// Queueing of plain items, offered by every kind of queue: [`Queue`] (a system queue, or one
/// borrowed from C), [`OwnedQueue`] and [`DevmQueue`].
///
/// # Errors
///
/// A refused item comes back in the [`EnqueueError`], with one of these kinds (each method names
/// those it adds):
///
/// - [`Busy`](EnqueueErrorKind::Busy): the item is pending, disabled, or being cancelled by a
///   `cancel_sync`.
/// - [`NotDrained`](EnqueueErrorKind::NotDrained), [`Unloading`](EnqueueErrorKind::Unloading):
///   the module is not wrapped in [`Drained`](crate::rust_wq::Drained), or is being unloaded.
/// - [`ReclaimLatched`](EnqueueErrorKind::ReclaimLatched),
///   [`ClassContext`](EnqueueErrorKind::ClassContext),
///   [`TooManyClasses`](EnqueueErrorKind::TooManyClasses): the rules of memory reclaim and
///   lockdep classes (see [`error`](crate::rust_wq::error)).
/// - [`DeviceUnbound`](EnqueueErrorKind::DeviceUnbound): a [`DevmQueue`] whose device was
///   unbound.
pub trait Enqueue: Sink {
    /// Queues `item` on the local CPU (per-CPU and BH queues) or anywhere (unbound queues).
    ///
    /// # Errors
    ///
    /// Those of [`Enqueue`], with the item back.
    #[inline]
    fn enqueue<P: WorkPointer<ID>, const ID: u64>(&self, item: P) -> Result<(), EnqueueError<P>> {
        // A pending item is refused here, inlined at the call site: one load and a branch, with
        // no frame of its own (`enqueue_idle` has the rest). The site is still entered for the
        // refusal, so a gone `DevmQueue` says so first, as for any item, and `Stats` count it.
        match borrowed::refuse_if_pending(item) {
            Ok(item) => enqueue_idle(self, item),
            Err(e) => self.with_site(
                e,
                |site, e| site.account(WORK_CPU_UNBOUND, Err(e)),
                |e| unbound(e.into_item()),
            ),
        }
    }

    /// Queues `item` on the worker pool of `cpu`. `cpu` must be online when the item is queued;
    /// a CPU that goes offline later makes the item run on another CPU, as in C.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - [`NoSuchCpu`](EnqueueErrorKind::NoSuchCpu): `cpu` is at or above `nr_cpu_ids`;
    ///   [`CpuOffline`](EnqueueErrorKind::CpuOffline): `cpu` is offline.
    /// - Those of [`Enqueue`].
    #[inline]
    fn enqueue_on<P: WorkPointer<ID>, const ID: u64>(
        &self,
        cpu: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        self.with_site(item, |site, item| site.enqueue_on(cpu, item), unbound)
    }

    /// Queues a clone of `item` (an `Arc`, say) unless the item is pending already: then it is
    /// `EBUSY` at the cost of one load, without touching the reference count.
    ///
    /// # Errors
    ///
    /// The errno of an error of [`Enqueue`]; the clone is dropped then, `item` stays the
    /// caller's.
    #[inline]
    fn enqueue_cloned<P, const ID: u64>(&self, item: &P) -> Result
    where
        P: WorkPointer<ID> + Clone + Deref<Target = <P as WorkItemPointer>::Target>,
    {
        // The pending check comes before the site is entered, inlined at the call site:
        // refusing a pending item loads nothing of the queue but its `Stats`, and needs no frame
        // (`enqueue_cloned_idle` has the rest).
        if crate::rust_wq::Work::<_, ID>::of(&**item).is_pending() {
            return self.with_site((), |site, ()| site.refuse_pending(), |()| Err(ENODEV));
        }
        enqueue_cloned_idle(self, item)
    }

    /// Undoes one [`disable`](crate::rust_wq::WorkRef::disable) of `item` and queues it if that
    /// made it enabled (C's `enable_and_queue_work`). The enable is done even when the item is
    /// not queued.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - [`Busy`](EnqueueErrorKind::Busy): the item stays disabled (disables were nested), was
    ///   not disabled at all (nothing to undo: C would warn), or is pending.
    /// - The other errors of [`Enqueue`].
    fn enable_and_enqueue<P: WorkPointer<ID>, const ID: u64>(
        &self,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let (item, enabled) = borrowed::peek_work(item, |w| w.enable());
        if !enabled {
            return Err(EnqueueError::new(EnqueueErrorKind::Busy, item));
        }
        self.enqueue(item)
    }

    /// Queues an item of the in-tree `kernel::workqueue` (see
    /// [`KernelItem`]), so that a driver can adopt rust_wq one
    /// item at a time.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - [`KernelItemQueue`](EnqueueErrorKind::KernelItemQueue): a BH queue, or one with
    ///   `WQ_MEM_RECLAIM` and without `__WQ_LEGACY` (rust_wq cannot check these rules for an
    ///   in-tree item).
    /// - [`Busy`](EnqueueErrorKind::Busy), [`NotDrained`](EnqueueErrorKind::NotDrained),
    ///   [`Unloading`](EnqueueErrorKind::Unloading),
    ///   [`DeviceUnbound`](EnqueueErrorKind::DeviceUnbound).
    fn enqueue_kernel_item<P: KernelItem<ID>, const ID: u64>(
        &self,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        self.with_site(item, |site, item| site.enqueue_kernel_item(item), unbound)
    }

    /// Queues the closure `f` to run once, as [`Enqueue::enqueue`] would queue an item, with
    /// the lockdep classes of the call site (use [`try_spawn!`](crate::try_spawn)). `flags` are
    /// those of its allocation: `GFP_ATOMIC` where the caller cannot sleep.
    ///
    /// # Errors
    ///
    /// `f` is dropped without running:
    ///
    /// - `EAGAIN`: `flags` may sleep (`GFP_KERNEL`) and the caller cannot.
    /// - `ENOMEM`: the closure's box could not be allocated.
    /// - The errno of an error of [`Enqueue`] (it cannot be `EBUSY`: the closure is new).
    fn try_spawn_in<F: FnOnce() + Send + 'static>(
        &self,
        class: SpawnClass,
        flags: Flags,
        f: F,
    ) -> Result {
        // Allocated before the site is entered: a `DevmQueue`'s site is an RCU read-side critical
        // section, where a `GFP_KERNEL` allocation must not sleep.
        let c = spawn::closure(f, class, self.is_bh(), flags)?;
        // A refused closure is dropped here, after the site: what it captured may sleep in its
        // `Drop`, which a `DevmQueue`'s guard would not allow.
        // New, so not pending: no pending check.
        self.with_site(c, |site, c| site.enqueue_found_idle(c), unbound)
            .map_err(|e| e.error())
    }
}

impl Enqueue for Queue {}
impl<K: Kind> Enqueue for OwnedQueue<K> {}
impl<K: Kind> Enqueue for DevmQueue<K> {}

/// Queueing of delayed and RCU items, offered by the queues that a timer or an RCU callback
/// cannot outlive: `&'static` [`Queue`] (the system queues: the module's unload fires the timers
/// and waits for the callbacks), [`OwnedQueue`] and [`DevmQueue`] (their drop does).
///
/// # Errors
///
/// Those of [`Enqueue`], and:
///
/// - [`DelayOutOfRange`](EnqueueErrorKind::DelayOutOfRange): the delay is negative or above
///   [`MAX_DELAY`] (see [`Delay`]).
pub trait EnqueueDelayed: Sink {
    /// Queues `item` after `delay` (jiffies, or a [`Delay`] of another unit; `0`: at once). If
    /// the queue goes first (an owned queue's drop, a devm queue's unbind, the module's unload
    /// for a system queue), the timer fires then and the item runs before.
    ///
    /// # Errors
    ///
    /// Those of [`EnqueueDelayed`], with the item back; [`Busy`](EnqueueErrorKind::Busy) means
    /// its timer is armed, or it is queued, disabled, or being cancelled by a `cancel_sync`.
    #[inline]
    fn enqueue_delayed<P: DelayedPointer<ID>, const ID: u64>(
        &self,
        item: P,
        delay: impl Delay,
    ) -> Result<(), EnqueueError<P>> {
        let delay = delay.jiffies();
        self.with_site(
            item,
            |site, item| {
                // SAFETY: `EnqueueDelayed` is implemented only for `&'static Queue` (a queue that
                // lives forever), `OwnedQueue` and `DevmQueue` (owned: their sites hold the core).
                unsafe { site.arm(None, item, delay, Arm::Queue) }.map(|_| ())
            },
            unbound,
        )
    }

    /// Queues `item` on `cpu` after `delay`, as [`EnqueueDelayed::enqueue_delayed`].
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - [`NoSuchCpu`](EnqueueErrorKind::NoSuchCpu), [`CpuOffline`](EnqueueErrorKind::CpuOffline).
    /// - [`CpuTimerOnBh`](EnqueueErrorKind::CpuTimerOnBh): a BH system queue (see
    ///   [`CpuTimers`]).
    /// - Those of [`EnqueueDelayed::enqueue_delayed`].
    #[inline]
    fn enqueue_delayed_on<P: DelayedPointer<ID>, const ID: u64>(
        &self,
        cpu: u32,
        item: P,
        delay: impl Delay,
    ) -> Result<(), EnqueueError<P>>
    where
        Self: CpuTimers,
    {
        let delay = delay.jiffies();
        self.with_site(
            item,
            |site, item| {
                // SAFETY: As in `enqueue_delayed`.
                unsafe { site.arm(Some(cpu), item, delay, Arm::Queue) }.map(|_| ())
            },
            unbound,
        )
    }

    /// Arms `item` to run after `delay`, whether it was pending or not (`mod_delayed_work`).
    ///
    /// Returns [`Armed::Queued`] if it was idle (the queue took `item`), or [`Armed::Modified`]
    /// with `item` unused if it was pending: its timer was moved.
    ///
    /// # Errors
    ///
    /// Those of [`EnqueueDelayed`], with the item back; [`Busy`](EnqueueErrorKind::Busy) means
    /// the item is disabled, or being cancelled by a `cancel_sync`.
    #[inline]
    fn mod_delayed<P: DelayedPointer<ID>, const ID: u64>(
        &self,
        item: P,
        delay: impl Delay,
    ) -> Result<Armed<P>, EnqueueError<P>> {
        let delay = delay.jiffies();
        self.with_site(
            item,
            |site, item| {
                // SAFETY: `EnqueueDelayed` is implemented only for `&'static Queue` (a queue that
                // lives forever), `OwnedQueue` and `DevmQueue` (owned: their sites hold the core).
                unsafe { site.arm(None, item, delay, Arm::Modify) }
            },
            unbound,
        )
    }

    /// Arms `item` to run on `cpu` after `delay`, whether it was pending or not
    /// (`mod_delayed_work_on`): [`EnqueueDelayed::mod_delayed`] on a chosen CPU.
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - [`NoSuchCpu`](EnqueueErrorKind::NoSuchCpu), [`CpuOffline`](EnqueueErrorKind::CpuOffline).
    /// - [`CpuTimerOnBh`](EnqueueErrorKind::CpuTimerOnBh): a BH system queue (see
    ///   [`CpuTimers`]).
    /// - Those of [`EnqueueDelayed::mod_delayed`].
    #[inline]
    fn mod_delayed_on<P: DelayedPointer<ID>, const ID: u64>(
        &self,
        cpu: u32,
        item: P,
        delay: impl Delay,
    ) -> Result<Armed<P>, EnqueueError<P>>
    where
        Self: CpuTimers,
    {
        let delay = delay.jiffies();
        self.with_site(
            item,
            |site, item| {
                // SAFETY: As in `enqueue_delayed`.
                unsafe { site.arm(Some(cpu), item, delay, Arm::Modify) }
            },
            unbound,
        )
    }

    /// Queues `item` after an RCU grace period (`queue_rcu_work`): it runs once every RCU
    /// read-side critical section that had begun when this returned `Ok` has ended, on any CPU
    /// (per-CPU queues: the CPU the RCU callback ran on). BH queues are fine: the item runs in
    /// softirq context, like any item there.
    ///
    /// The queue's drop (and [`OwnedQueue::drain`]) waits for the grace period and runs the
    /// item, as the module's unload does for a system queue. There is no cancel: see
    /// [`rcu_work`] (the module).
    ///
    /// # Errors
    ///
    /// Those of [`Enqueue`], with the item back; [`Busy`](EnqueueErrorKind::Busy) means it is
    /// waiting for its grace period, or queued.
    #[inline]
    fn enqueue_rcu<P: RcuPointer<ID>, const ID: u64>(
        &self,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        self.with_site(
            item,
            |site, item| {
                // SAFETY: As in `enqueue_delayed`.
                unsafe { site.enqueue_rcu(item) }
            },
            unbound,
        )
    }
}

impl EnqueueDelayed for &'static Queue {}
impl<K: Kind> EnqueueDelayed for OwnedQueue<K> {}
impl<K: Kind> EnqueueDelayed for DevmQueue<K> {}
