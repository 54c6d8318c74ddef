// SPDX-License-Identifier: GPL-2.0

//! [`OwnedQueue`]: a workqueue allocated by `alloc_workqueue` and destroyed on drop.

use crate::rust_wq::{
    builder::{
        Bh,
        Builder,
        Kind,
        Limited,
        Ordered,
        PerCpu,
        Unbound,
        MAX_ACTIVE, //
    },
    cpu,
    delayed::{
        self,
        Arm,
        Armed, //
    },
    queue::{
        target_cpu,
        WORK_CPU_UNBOUND, //
    },
    tracker::Tracker,
    EnqueueError,
    HasDelayedWork,
    HasWork,
    Queue,
    WorkItem,
    WorkItemPointer, //
};
use core::{
    marker::PhantomData,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        Arc,
    },
    time::Jiffies,
};

/// A workqueue owned by the driver: allocated with [`Builder::build`], destroyed on drop.
///
/// All queueing goes through this handle, which is what makes [`OwnedQueue::drain`] exact and
/// delayed work safe: a delayed item armed here is tracked, and `Drop` fires its timer early so
/// the item runs before `destroy_workqueue()`, instead of a timer firing into freed memory later.
///
/// Dropping the queue waits for every queued item (it drains the queue). Do not drop it from an
/// item running on it, and do not flush it from there: both would wait for themselves.
///
/// # Invariants
///
/// `wq` is a valid workqueue from `alloc_workqueue`, destroyed only by `Drop`; `tracker` tracks
/// the delayed items armed on it.
pub struct OwnedQueue<K: Kind = PerCpu> {
    wq: NonNull<bindings::workqueue_struct>,
    tracker: Arc<Tracker>,
    started: Atomic<u64>,
    finished: Atomic<u64>,
    stats: Option<KBox<Stats>>,
    _kind: PhantomData<K>,
}

// SAFETY: The C workqueue may be used from any thread; the other fields are thread-safe.
unsafe impl<K: Kind> Send for OwnedQueue<K> {}
// SAFETY: As above; every method takes `&self` and synchronises through the C API or atomics.
unsafe impl<K: Kind> Sync for OwnedQueue<K> {}

/// Per-queue accounting, kept when the queue was built with [`Builder::stats`].
pub struct Stats {
    per_cpu: KVec<Atomic<u64>>,
    rejected: Atomic<u64>,
    delayed: Atomic<u64>,
}

impl Stats {
    fn new() -> Result<KBox<Self>> {
        let n = cpu::nr_cpu_ids() as usize;
        let mut per_cpu = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            per_cpu.push(Atomic::new(0), GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Self {
                per_cpu,
                rejected: Atomic::new(0),
                delayed: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    fn count(&self, cpu: i32, ok: bool) {
        if !ok {
            self.rejected.add(1, Relaxed);
            return;
        }
        let cpu = if cpu == WORK_CPU_UNBOUND {
            cpu::current_cpu() as usize
        } else {
            cpu as usize
        };
        if let Some(c) = self.per_cpu.get(cpu) {
            c.add(1, Relaxed);
        }
    }

    /// Items accepted, by the CPU they were queued on (the local CPU when none was chosen).
    pub fn enqueued_on(&self, cpu: u32) -> u64 {
        self.per_cpu
            .get(cpu as usize)
            .map_or(0, |c| c.load(Relaxed))
    }

    /// Items accepted in all (the sum over all CPUs of [`Stats::enqueued_on`]).
    pub fn enqueued(&self) -> u64 {
        self.per_cpu.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// Enqueues refused (`EBUSY`, `EINVAL`, `ENODEV`).
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Relaxed)
    }

    /// Accepted enqueues that armed a timer (a subset of [`Stats::enqueued`]).
    pub fn delayed(&self) -> u64 {
        self.delayed.load(Relaxed)
    }
}

impl OwnedQueue<PerCpu> {
    /// A per-CPU queue (`WQ_PERCPU`).
    pub fn percpu() -> Builder<PerCpu> {
        Builder::new(0)
    }

    /// A per-CPU queue that the kernel may make unbound to save power
    /// (`WQ_POWER_EFFICIENT | WQ_PERCPU`, see `workqueue.power_efficient`).
    pub fn power_efficient() -> Builder<PerCpu> {
        Builder::new(bindings::wq_flags_WQ_POWER_EFFICIENT)
    }

    /// The legacy `create_workqueue(name)`: per-CPU, `WQ_MEM_RECLAIM`, one item at a time per
    /// CPU.
    pub fn create_workqueue(name: &CStr) -> Result<Self> {
        Self::percpu().mem_reclaim().max_active(1).build(name)
    }
}

impl OwnedQueue<Unbound> {
    /// An unbound queue (`WQ_UNBOUND`).
    pub fn unbound() -> Builder<Unbound> {
        Builder::new(0)
    }
}

impl OwnedQueue<Ordered> {
    /// An ordered queue: one item at a time, in queueing order (`alloc_ordered_workqueue`).
    pub fn ordered() -> Builder<Ordered> {
        Builder::new(0)
    }

    /// The legacy `create_singlethread_workqueue(name)`: ordered, `WQ_MEM_RECLAIM`.
    pub fn create_singlethread_workqueue(name: &CStr) -> Result<Self> {
        Self::ordered().mem_reclaim().build(name)
    }
}

impl OwnedQueue<Bh> {
    /// A BH queue: items run in softirq context and must not sleep (`WQ_BH`).
    pub fn bh() -> Builder<Bh> {
        Builder::new(0)
    }
}

impl<K: Kind> OwnedQueue<K> {
    pub(crate) fn alloc(name: &CStr, flags: u32, max_active: i32, stats: bool) -> Result<Self> {
        let tracker = Tracker::new()?;
        let stats = if stats { Some(Stats::new()?) } else { None };
        // SAFETY: The format is `"%s"` and its one argument a NUL-terminated string; flags and
        // `max_active` were checked by the builder. We are in a context that may sleep (GFP).
        let wq = unsafe {
            bindings::alloc_workqueue_noprof(
                c"%s".as_char_ptr(),
                flags,
                max_active,
                name.as_char_ptr(),
            )
        };
        // INVARIANT: `wq` is a fresh workqueue; nothing is armed on it yet.
        Ok(Self {
            wq: NonNull::new(wq).ok_or(ENOMEM)?,
            tracker,
            started: Atomic::new(0),
            finished: Atomic::new(0),
            stats,
            _kind: PhantomData,
        })
    }

    /// Returns the raw `workqueue_struct`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::workqueue_struct {
        self.wq.as_ptr()
    }

    fn queue(&self) -> &Queue {
        // SAFETY: `wq` is valid for as long as `self` (type invariant).
        unsafe { Queue::from_raw(self.as_raw()) }
    }

    /// The accounting of this queue, if it was built with [`Builder::stats`].
    pub fn stats(&self) -> Option<&Stats> {
        self.stats.as_deref()
    }

    fn account<T, P>(
        &self,
        cpu: i32,
        res: Result<T, EnqueueError<P>>,
    ) -> Result<T, EnqueueError<P>> {
        if let Some(s) = &self.stats {
            s.count(cpu, res.is_ok());
        }
        res
    }

    /// Runs `f` as one enqueue for [`OwnedQueue::drain`]'s bookkeeping.
    fn counted<R>(&self, f: impl FnOnce() -> R) -> R {
        self.started.add(1, Relaxed);
        let r = f();
        self.finished.fetch_add(1, Release);
        r
    }

    /// Queues `item` on the local CPU (per-CPU and BH queues) or anywhere (unbound queues).
    ///
    /// Fails with `EBUSY`, handing the item back, if it is pending or disabled.
    pub fn enqueue<P, const ID: u64>(&self, item: P) -> Result<(), EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasWork<P::Target, ID>,
    {
        let res = self.counted(|| self.queue().enqueue(item));
        self.account(WORK_CPU_UNBOUND, res)
    }

    /// Queues `item` on `cpu`'s worker pool; `EINVAL` for no such CPU, `ENODEV` if offline.
    pub fn enqueue_on<P, const ID: u64>(&self, cpu: u32, item: P) -> Result<(), EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasWork<P::Target, ID>,
    {
        let res = self.counted(|| self.queue().enqueue_on(cpu, item));
        self.account(cpu as i32, res)
    }

    fn arm<P, const ID: u64>(
        &self,
        cpu: Option<u32>,
        item: P,
        delay: Jiffies,
        how: Arm,
    ) -> Result<Armed<P>, EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        let cpu = match target_cpu(cpu) {
            Ok(cpu) => cpu,
            Err(e) => return self.account(0, Err(EnqueueError::new(e, item))),
        };
        // SAFETY: `wq` is valid and `tracker` is its tracker; `self` is borrowed for the call.
        // `cpu` is unbound or was online just now (a delayed item on a CPU that goes offline
        // meanwhile runs elsewhere).
        let res = self.counted(|| unsafe {
            delayed::arm(self.as_raw(), Some(&self.tracker), cpu, item, delay, how)
        });
        if let (Some(s), Ok(Armed::Queued)) = (&self.stats, &res) {
            s.delayed.add(1, Relaxed);
        }
        self.account(cpu, res)
    }

    /// Queues `item` after `delay` jiffies (`0`: at once). `EBUSY` if it is pending or disabled.
    pub fn enqueue_delayed<P, const ID: u64>(
        &self,
        item: P,
        delay: Jiffies,
    ) -> Result<(), EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm(None, item, delay, Arm::Queue).map(|_| ())
    }

    /// Queues `item` on `cpu` after `delay` jiffies. `EINVAL`/`ENODEV` for a bad CPU.
    pub fn enqueue_delayed_on<P, const ID: u64>(
        &self,
        cpu: u32,
        item: P,
        delay: Jiffies,
    ) -> Result<(), EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm(Some(cpu), item, delay, Arm::Queue).map(|_| ())
    }

    /// Arms `item` to run after `delay`, whether it was pending or not (`mod_delayed_work`).
    ///
    /// Returns [`Armed::Queued`] if it was idle (the queue took `item`), or
    /// [`Armed::Modified`] with `item` unused if it was pending: its timer was moved. Fails with
    /// `EBUSY`, handing `item` back, if the item is disabled.
    pub fn mod_delayed<P, const ID: u64>(
        &self,
        item: P,
        delay: Jiffies,
    ) -> Result<Armed<P>, EnqueueError<P>>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<ID, Pointer = P> + HasDelayedWork<P::Target, ID>,
    {
        self.arm(None, item, delay, Arm::Modify)
    }

    /// Waits until every item queued before the call has run. Sleeps.
    pub fn flush(&self) {
        // SAFETY: `wq` is valid (type invariant).
        unsafe { bindings::__flush_workqueue(self.as_raw()) }
    }

    /// Waits until the queue is empty, including items queued meanwhile (e.g. by items
    /// requeueing themselves). Armed timers are not waited for. Sleeps.
    ///
    /// Unlike C's `drain_workqueue`, enqueueing from elsewhere stays allowed meanwhile and is
    /// waited for; a chain that never stops keeps this from returning.
    pub fn drain(&self) {
        loop {
            let before = self.finished.load(Acquire);
            self.flush();
            // Nothing started since `before` was read, and everything started before had
            // finished queueing: the flush covered every item.
            if self.started.load(Acquire) == before {
                return;
            }
        }
    }
}

impl<K: Limited> OwnedQueue<K> {
    /// Changes how many items may run at once: 1 to [`MAX_ACTIVE`], else `EINVAL`. Sleeps.
    pub fn set_max_active(&self, n: u32) -> Result {
        if !(1..=MAX_ACTIVE).contains(&n) {
            return Err(EINVAL);
        }
        // SAFETY: `wq` is valid; it is neither ordered nor BH (`Limited`); `n` is in range.
        unsafe { bindings::workqueue_set_max_active(self.as_raw(), n as i32) };
        Ok(())
    }
}

impl<K: Kind> Drop for OwnedQueue<K> {
    fn drop(&mut self) {
        // SAFETY: `wq` is the queue of `tracker`, and nobody can arm on it: we are exclusive.
        unsafe { self.tracker.expedite_all(self.as_raw()) };
        // SAFETY: No timer targets `wq` any more; `destroy_workqueue` drains it first.
        unsafe { bindings::destroy_workqueue(self.as_raw()) };
    }
}
