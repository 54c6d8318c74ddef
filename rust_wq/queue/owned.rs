// SPDX-License-Identifier: GPL-2.0

//! [`OwnedQueue`]: a workqueue allocated by `alloc_workqueue` and destroyed on drop.

use crate::rust_wq::{
    cpu,
    glue::{
        rust_wq_alloc_workqueue,
        rust_wq_count_finished,
        rust_wq_count_started,
        rust_wq_counts_alloc,
        rust_wq_counts_free,
        rust_wq_counts_sum,
        rust_wq_destroy_workqueue, //
    },
    internal::read_once,
    internal::reclaim,
    internal::registry::{
        self,
        Gate, //
    },
    internal::tracker::Tracker,
    queue::borrowed,
    Bh,
    Builder,
    EnqueueError,
    Kind,
    Limited,
    Ordered,
    PerCpu,
    Stats,
    Unbound,
    Unbounded,
    Work,
    WorkItem,
    WorkPointer,
    MAX_ACTIVE, //
};
use core::{
    marker::PhantomData,
    mem::ManuallyDrop,
    ptr::NonNull, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Full,
            Relaxed,
            Release, //
        },
        rcu,
        Arc, //
    },
};

/// A workqueue owned by the driver: allocated with [`Builder::build`], destroyed on drop.
///
/// All queueing goes through this handle, which is what makes [`OwnedQueue::drain`] exact and
/// delayed work safe: a delayed item armed here is tracked, and `Drop` fires its timer early so
/// the item runs before `destroy_workqueue()`, instead of a timer firing into freed memory later.
///
/// Dropping the queue waits for every queued item (it drains the queue), except where waiting
/// is impossible: dropped in a kworker (an item of this very queue, say) or in atomic context,
/// the queue is handed off to `system_dfl_long` and destroyed there, after this drop returned.
/// Either way its items all run before the module that queued them is unloaded
/// ([`Drained`](crate::rust_wq::Drained)).
///
/// # Invariants
///
/// `core` is registered with the module's registry until `Drop` (or the module's unload) takes
/// it off, and is dropped only by `Drop`.
pub struct OwnedQueue<K: Kind = PerCpu> {
    core: ManuallyDrop<Arc<QueueCore>>,
    stats: Option<KBox<Stats>>,
    _kind: PhantomData<K>,
}

// SAFETY: Every field is thread-safe; the C workqueue may be used from any thread.
unsafe impl<K: Kind> Send for OwnedQueue<K> {}
// SAFETY: As above; every method takes `&self` and synchronises through the C API or atomics.
unsafe impl<K: Kind> Sync for OwnedQueue<K> {}

/// The size of an owned queue's shared core (for the benchmark's size table).
#[cfg(rust_wq_testing)]
pub const QUEUE_CORE_SIZE: usize = core::mem::size_of::<QueueCore>();

/// The part of an owned queue that the module's registry and a hand-off may keep: the C queue
/// and the tracker of its delayed items.
///
/// # Invariants
///
/// `wq` is a valid workqueue from `rust_wq_alloc_workqueue` (with `lockdep`), destroyed only
/// when the last reference to its `QueueCore` goes; `tracker` tracks the delayed items armed on
/// it; `rcu` is set before an RCU item is first handed to RCU for it.
#[pin_data(PinnedDrop)]
pub(in crate::rust_wq) struct QueueCore {
    wq: NonNull<bindings::workqueue_struct>,
    /// The lockdep map and key of `wq` (null without lockdep), which outlive it: see
    /// `rust_wq_alloc_workqueue` in the C glue.
    lockdep: *mut c_void,
    /// The `reclaim::ON_*` bits of the queue's flags.
    bits: u32,
    /// Whether the queue has `WQ_MEM_RECLAIM`: waiting for it is reclaim-safe.
    reclaim: bool,
    #[pin]
    tracker: Tracker,
    /// Whether an RCU item was ever queued here
    /// ([`EnqueueDelayed::enqueue_rcu`](crate::rust_wq::EnqueueDelayed::enqueue_rcu)): its RCU
    /// callback may still be about to queue it, so the queue's destruction (and its drain) wait for
    /// the RCU callbacks first.
    rcu: Atomic<bool>,
    /// The per-CPU counts of the queue's handle ([`OwnedQueue::drain`]), made by its first drain
    /// (see [`Counts`]). Freed here, not by the handle, because a handle may be dropped in hard
    /// interrupt context, where `free_percpu`'s lock must not be taken.
    counts: Counts,
    #[pin]
    handoff: Work<QueueCore>,
}

// SAFETY: The C workqueue may be used from any thread; `counts` is set once (atomically) and its
// counters are only changed by per-CPU increments and read by sums, both safe from any thread;
// the other fields are thread-safe.
unsafe impl Send for QueueCore {}
// SAFETY: As above.
unsafe impl Sync for QueueCore {}

crate::impl_has_work! { impl HasWork<Self> for QueueCore { self.handoff } }

/// One enqueue on an owned queue in progress ([`QueueCore::count`]): counted as finished when
/// dropped, after the queueing it covers, in the counters it was counted as started in (none if
/// the queue had none yet).
pub(in crate::rust_wq) struct Counting<'a> {
    counts: *mut c_void,
    _core: PhantomData<&'a QueueCore>,
}

impl Drop for Counting<'_> {
    #[inline(always)]
    fn drop(&mut self) {
        if self.counts.is_null() {
            return;
        }
        // The queueing done while counting is visible before its end is counted: the glue
        // orders the two (`smp_wmb()`).
        // SAFETY: `counts` is a live per-CPU allocation of the glue, freed with the `QueueCore`
        // that `self` borrows.
        unsafe { rust_wq_count_finished(self.counts) };
    }
}

impl QueueCore {
    /// The C queue.
    #[inline]
    pub(in crate::rust_wq) fn wq(&self) -> *mut bindings::workqueue_struct {
        self.wq.as_ptr()
    }

    /// The word that holds the per-CPU enqueue counts, for the glue's plain enqueue to read
    /// inside its interrupts-off section and count in (as [`QueueCore::count`] does): null
    /// until the first drain, then a live per-CPU allocation of the glue while `self` is.
    #[inline]
    pub(in crate::rust_wq) fn counts(&self) -> *const *mut c_void {
        self.counts.word.as_ptr().cast_const()
    }

    /// The `reclaim::ON_*` bits of queueing here.
    #[inline]
    pub(in crate::rust_wq) fn bits(&self) -> u32 {
        self.bits
    }

    /// The tracker of the delayed items armed on the queue.
    #[inline]
    pub(in crate::rust_wq) fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// The flag that makes the queue's destruction wait for RCU callbacks (see `rcu`).
    #[inline]
    pub(in crate::rust_wq) fn rcu_used(&self) -> &Atomic<bool> {
        &self.rcu
    }

    /// Starts counting one enqueue for [`OwnedQueue::drain`]'s bookkeeping; the enqueue is
    /// counted as finished when the returned guard is dropped. Nothing is counted while the
    /// queue has no counters (never drained).
    ///
    /// The caller is in an RCU read-side critical section (the unload's gate, say) from this
    /// call until its queueing is done: a first drain that makes the counters waits for such
    /// sections (see [`Counts`]), so an enqueue that found none has queued its item by then.
    #[inline(always)]
    pub(in crate::rust_wq) fn count(&self) -> Counting<'_> {
        // SAFETY: `word` is an `Atomic` pointer: valid, aligned, a word, only changed atomically.
        let counts = unsafe { read_once(self.counts()) };
        if !counts.is_null() {
            // SAFETY: `counts` is a live per-CPU allocation of the glue (freed with `self`,
            // which the caller holds).
            unsafe { rust_wq_count_started(counts) };
        }
        Counting {
            counts,
            _core: PhantomData,
        }
    }

    /// Fires the timers armed on the queue and waits for everything queued on it. Sleeps.
    pub(in crate::rust_wq) fn quiesce(&self) {
        // SAFETY: The timers tracked here target `wq`, valid while `self` is.
        unsafe { self.tracker.expedite_all() };
        // SAFETY: `wq` is valid (type invariant); the callers may sleep.
        unsafe { bindings::__flush_workqueue(self.wq.as_ptr()) };
    }

    /// Takes the queue off the module's registry and fires its timers; the queue is destroyed
    /// when `this` (or the registry's reference, if the module is being unloaded) goes.
    fn retire(this: Arc<Self>) {
        drop(registry::unregister(&this));
        // SAFETY: The timers tracked here target `wq`, valid while `this` is.
        unsafe { this.tracker.expedite_all() };
        drop(this);
    }
}

impl WorkItem for QueueCore {
    type Pointer = Arc<QueueCore>;

    /// The hand-off: retires a queue dropped where it could not be destroyed.
    fn run(this: Arc<QueueCore>) {
        QueueCore::retire(this);
        registry::handoff_finished();
    }
}

#[pinned_drop]
impl PinnedDrop for QueueCore {
    fn drop(self: Pin<&mut Self>) {
        // No RCU item can be queued here any more (the handle is gone), but the RCU callbacks of
        // those queued before may not have run: after the barrier, their items are on `wq`.
        // The flag was set before the handle's last enqueue returned, which happened before the
        // last reference went (the reference count's release and acquire).
        if self.rcu.load(Acquire) {
            // May sleep: see below.
            rcu::rcu_barrier();
        }
        // SAFETY: The last reference is dropped by `OwnedQueue::drop` in a context that may
        // sleep and is no kworker, by the hand-off on `system_dfl_long`, by the module's
        // unload, or by `OwnedQueue::alloc` when the registry refused the new queue (it may
        // sleep, checked there, and nothing was queued yet); none of them runs on `wq`. No
        // timer targets `wq` any more (its tracker fired
        // them), no RCU callback will queue on it (the barrier above), and `destroy_workqueue`
        // drains it first. `wq` and `lockdep` come from `rust_wq_alloc_workqueue` (type
        // invariant), and are used by nothing after this.
        unsafe { rust_wq_destroy_workqueue(self.wq.as_ptr(), self.lockdep) };
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
    /// Like C's, it is `__WQ_LEGACY`, so its items may flush queues without `WQ_MEM_RECLAIM`
    /// (code ported from C does).
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]: `EINVAL` or `ENAMETOOLONG` for the name, `ENOMEM`, `EAGAIN`
    /// where the caller cannot sleep, `EINVAL` for a module not wrapped in
    /// [`Drained`](crate::rust_wq::Drained), `ESHUTDOWN` during its unload.
    pub fn create_workqueue(name: &CStr) -> Result<Self> {
        Builder::<PerCpu>::new(bindings::wq_flags___WQ_LEGACY)
            .mem_reclaim()
            .max_active(1)
            .build(name)
    }
}

impl OwnedQueue<Unbound> {
    /// An unbound queue (`WQ_UNBOUND`).
    pub fn unbound() -> Builder<Unbound> {
        Builder::new(0)
    }

    /// The legacy `create_freezable_workqueue(name)`: unbound, frozen during suspend,
    /// `WQ_MEM_RECLAIM`, `max_active` 1: one item at a time per NUMA node (as in C; use an
    /// [`ordered`](OwnedQueue::ordered) queue for one at a time in all). `__WQ_LEGACY` like
    /// [`OwnedQueue::create_workqueue`].
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]: `EINVAL` or `ENAMETOOLONG` for the name, `ENOMEM`, `EAGAIN`
    /// where the caller cannot sleep, `EINVAL` for a module not wrapped in
    /// [`Drained`](crate::rust_wq::Drained), `ESHUTDOWN` during its unload.
    pub fn create_freezable_workqueue(name: &CStr) -> Result<Self> {
        Builder::<Unbound>::new(bindings::wq_flags___WQ_LEGACY)
            .freezable()
            .mem_reclaim()
            .max_active(1)
            .build(name)
    }
}

impl OwnedQueue<Ordered> {
    /// An ordered queue: one item at a time, in queueing order (`alloc_ordered_workqueue`).
    pub fn ordered() -> Builder<Ordered> {
        Builder::new(0)
    }

    /// The legacy `create_singlethread_workqueue(name)`: ordered, `WQ_MEM_RECLAIM`, so an
    /// `OwnedQueue<Ordered>`. `__WQ_LEGACY` like [`OwnedQueue::create_workqueue`].
    ///
    /// # Errors
    ///
    /// As [`Builder::build`]: `EINVAL` or `ENAMETOOLONG` for the name, `ENOMEM`, `EAGAIN`
    /// where the caller cannot sleep, `EINVAL` for a module not wrapped in
    /// [`Drained`](crate::rust_wq::Drained), `ESHUTDOWN` during its unload.
    pub fn create_singlethread_workqueue(name: &CStr) -> Result<Self> {
        Builder::<Ordered>::new(bindings::wq_flags___WQ_LEGACY)
            .mem_reclaim()
            .build(name)
    }
}

impl OwnedQueue<Bh> {
    /// A BH queue: items run in softirq context and must not sleep (`WQ_BH`).
    pub fn bh() -> Builder<Bh> {
        Builder::new(0)
    }
}

impl<K: Kind> OwnedQueue<K> {
    pub(in crate::rust_wq) fn alloc(
        name: &CStr,
        flags: u32,
        max_active: i32,
        stats: bool,
    ) -> Result<Self> {
        cpu::may_sleep()?;
        // Freed by `Counts::drop` (with the `QueueCore`, or here if what follows fails).
        let counts = Counts::new(flags & bindings::wq_flags_WQ_MEM_RECLAIM != 0)?;
        let stats = if stats { Some(Stats::new()?) } else { None };
        let mut lockdep = core::ptr::null_mut();
        let mut err = 0;
        // SAFETY: `name` is a NUL-terminated string; flags and `max_active` were checked by the
        // builder; `lockdep` and `err` are valid for writes. We may sleep (checked above).
        let wq = unsafe {
            rust_wq_alloc_workqueue(
                name.as_char_ptr(),
                flags,
                max_active,
                &mut lockdep,
                &mut err,
            )
        };
        let wq = NonNull::new(wq).ok_or_else(|| Error::from_errno(err))?;
        // INVARIANT: `wq` is a fresh workqueue; nothing is armed on it yet.
        let core = Arc::pin_init(
            pin_init!(QueueCore {
                wq,
                lockdep,
                bits: reclaim::bits_of(flags),
                reclaim: flags & bindings::wq_flags_WQ_MEM_RECLAIM != 0,
                tracker <- Tracker::new(),
                rcu: Atomic::new(false),
                counts,
                handoff <- crate::new_work!("rust_wq::OwnedQueue::handoff"),
            }),
            GFP_KERNEL,
        )
        .inspect_err(|_| {
            // SAFETY: `wq` and `lockdep` come from `rust_wq_alloc_workqueue`; the queue is ours
            // alone and empty.
            unsafe { rust_wq_destroy_workqueue(wq.as_ptr(), lockdep) }
        })?;
        // Dropping `core` on failure destroys the queue.
        Gate::enter()?.register(&core)?;
        // INVARIANT: Registered above.
        Ok(Self {
            core: ManuallyDrop::new(core),
            stats,
            _kind: PhantomData,
        })
    }

    /// Returns the raw `workqueue_struct`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::workqueue_struct {
        self.core.wq.as_ptr()
    }

    /// The queue's shared part.
    #[inline]
    pub(in crate::rust_wq) fn core(&self) -> &QueueCore {
        &self.core
    }

    /// The accounting of this queue, if it was built with [`Builder::stats`].
    pub fn stats(&self) -> Option<&Stats> {
        self.stats.as_deref()
    }

    /// Whether items wait on the queue's pool of `cpu` (`None`: the local CPU) because as many
    /// as `max_active` run there (C's `workqueue_congested`). A hint, possibly stale when it
    /// returns.
    ///
    /// # Errors
    ///
    /// - `EINVAL`: `cpu` is at or above `nr_cpu_ids`; `ENODEV`: `cpu` is offline.
    pub fn congested(&self, cpu: Option<u32>) -> Result<bool> {
        let cpu = borrowed::target_cpu(cpu)?;
        // SAFETY: `wq` is valid (type invariant); `cpu` is the local one or an online (so
        // possible) CPU, whose per-CPU pool pointer exists. Any context.
        Ok(unsafe { bindings::workqueue_congested(cpu, self.as_raw()) })
    }

    /// Waits until every item queued before the call has run. Sleeps.
    ///
    /// # Errors
    ///
    /// - `EAGAIN`: the caller cannot sleep (atomic context, a BH item).
    /// - `EDEADLK`: the caller is a kworker, which may be running an item of this queue (that item
    ///   would wait for itself); or it is in memory reclaim (`PF_MEMALLOC`) and this queue has no
    ///   `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
    pub fn flush(&self) -> Result {
        let ctx = may_wait_here()?;
        reclaim::may_flush(ctx, self.core.reclaim)?;
        // SAFETY: `wq` is valid (type invariant); we may sleep and run no item of it.
        unsafe { bindings::__flush_workqueue(self.as_raw()) };
        Ok(())
    }

    /// Waits until the queue is empty, including items queued meanwhile (e.g. by items requeueing
    /// themselves) and RCU items waiting for their grace period
    /// ([`EnqueueDelayed::enqueue_rcu`](crate::rust_wq::EnqueueDelayed::enqueue_rcu)). Armed timers
    /// are not waited for.
    ///
    /// Unlike C's `drain_workqueue`, enqueueing from elsewhere stays allowed meanwhile and is
    /// waited for; a chain that never stops keeps this from returning, and the queue's drop
    /// too (rule 17 of docs/soundness.md).
    ///
    /// The queue's first drain makes the per-CPU counters that every later enqueue counts in
    /// (queues that are never drained do without them), and waits for an RCU grace period. A
    /// `WQ_MEM_RECLAIM` queue, which may have to be drained when memory is short, has them from
    /// its creation.
    ///
    /// # Errors
    ///
    /// - Those of [`OwnedQueue::flush`].
    /// - `ENOMEM`: the first drain of a queue without `WQ_MEM_RECLAIM` could not allocate the
    ///   counters (memory is short, or the caller is being killed while another allocation of
    ///   per-CPU memory holds its lock): nothing was waited for; a later drain tries again.
    pub fn drain(&self) -> Result {
        let ctx = may_wait_here()?;
        reclaim::may_flush(ctx, self.core.reclaim)?;
        let counts = self.core.counts.get_or_make()?;
        loop {
            // SAFETY: `counts` is a live per-CPU allocation of the glue, freed with the core.
            let before = unsafe { rust_wq_counts_sum(counts, true) };
            // The RCU items whose enqueue finished before `before` was read are on the queue
            // once their callbacks ran.
            if self.core.rcu.load(Acquire) {
                rcu::rcu_barrier();
            }
            self.flush()?;
            // Nothing started since `before` was read, and everything started before had
            // finished queueing: the flush covered every item.
            // Each count only grows, and each sum reads every CPU's count once: `before` is at
            // most the number finished when it was read, this sum at least the number started
            // when it is read. Equal means none started in between and all had finished.
            // SAFETY: As above.
            if unsafe { rust_wq_counts_sum(counts, false) } == before {
                return Ok(());
            }
        }
    }
}

/// Checks that the caller may wait for a whole queue: it may sleep and is no kworker. Returns
/// its context for the reclaim check.
pub(in crate::rust_wq) fn may_wait_here() -> Result<cpu::Context> {
    let ctx = cpu::context();
    if !ctx.may_sleep() {
        return Err(EAGAIN);
    }
    if ctx.is_worker() {
        return Err(EDEADLK);
    }
    Ok(ctx)
}

impl<K: Kind> OwnedQueue<K> {
    /// Queues `item` to run near NUMA node `node` (C's `queue_work_node`): on a worker of the
    /// pool of one of the node's CPUs, the local one if it is on the node. A preference, not a
    /// binding: the queue's affinity scope decides where its workers may run (docs/api.md, row
    /// `queue_work_node`).
    ///
    /// # Errors
    ///
    /// The item comes back in the [`EnqueueError`]:
    ///
    /// - `EINVAL`: `node` is at or above [`cpu::nr_node_ids`]; `ENODEV`: `node` is offline.
    /// - The errors of [`Enqueue::enqueue`](crate::rust_wq::Enqueue::enqueue).
    pub fn enqueue_on_node<P: WorkPointer<ID>, const ID: u64>(
        &self,
        node: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>>
    where
        K: Unbounded,
    {
        self.site().enqueue_node(node, item)
    }
}

impl<K: Kind> OwnedQueue<K> {
    /// Changes how many items may run at once (1 to [`MAX_ACTIVE`]). Sleeps.
    ///
    /// # Errors
    ///
    /// - `EINVAL`: `n` is 0 or above [`MAX_ACTIVE`].
    /// - `EAGAIN`: the caller cannot sleep.
    pub fn set_max_active(&self, n: u32) -> Result
    where
        K: Limited,
    {
        if !(1..=MAX_ACTIVE).contains(&n) {
            return Err(EINVAL);
        }
        cpu::may_sleep()?;
        // SAFETY: `wq` is valid; it is neither ordered nor BH (`Limited`); `n` is in range.
        unsafe { bindings::workqueue_set_max_active(self.as_raw(), n as i32) };
        Ok(())
    }
}

/// The per-CPU counters of an owned queue, made by its first [`OwnedQueue::drain`] (at its
/// creation if it has `WQ_MEM_RECLAIM`) and freed when dropped (by its [`QueueCore`], in a context
/// that may take `free_percpu`'s lock). A queue that is never drained does without them: its
/// creation and destruction allocate and free no per-CPU memory for rust_wq, and its enqueues
/// count nothing.
///
/// Why a drain still waits for every enqueue: the enqueues read `word` (once each) inside an RCU
/// read-side critical section that lasts until their queueing is done (the unload's gate: an
/// interrupts-off section in the plain enqueue's glue call or in the arm lock's, an RCU read lock
/// elsewhere), and count only in what they read. The first drain publishes the counters, then waits for a grace
/// period (`synchronize_rcu()`, which waits for interrupts-off regions too), so every enqueue
/// that read null has queued its item before `ready` is set; every later one counts. A drain that finds the counters published but not
/// `ready` (another drain's grace period not over) waits for a grace period itself. From then on
/// the drain's loop covers the uncounted items too: its first flush comes after them.
///
/// # Invariants
///
/// `word` is null or a per-CPU allocation of `rust_wq_counts_alloc`, set once, freed only by
/// `Drop`; `ready` is set only after a grace period that began after `word` was set.
struct Counts {
    word: Atomic<*mut c_void>,
    ready: Atomic<bool>,
}

impl Counts {
    /// No counters yet, or (`now`) counters made now: nothing can be queued on the queue before
    /// it is created, so they are ready at once. `ENOMEM` only if `now`.
    fn new(now: bool) -> Result<Self> {
        let word = if now {
            Self::alloc()?
        } else {
            core::ptr::null_mut()
        };
        // INVARIANT: `word` is null or fresh counters that no enqueue can have missed.
        Ok(Self {
            word: Atomic::new(word),
            ready: Atomic::new(now),
        })
    }

    /// Zeroed per-CPU counters, not published yet.
    fn alloc() -> Result<*mut c_void> {
        // SAFETY: Allocates zeroed per-CPU counters, or returns null.
        let counts = unsafe { rust_wq_counts_alloc() };
        if counts.is_null() {
            return Err(ENOMEM);
        }
        Ok(counts)
    }

    /// The counters, made and published first if there are none, once every enqueue that
    /// found none has queued its item. May sleep.
    fn get_or_make(&self) -> Result<*mut c_void> {
        let mut counts = self.word.load(Acquire);
        if counts.is_null() {
            let new = Self::alloc()?;
            // INVARIANT: Set once: only from null.
            counts = match self.word.cmpxchg(core::ptr::null_mut(), new, Full) {
                Ok(_) => new,
                Err(theirs) => {
                    // SAFETY: Ours, never published.
                    unsafe { rust_wq_counts_free(new) };
                    theirs
                }
            };
        }
        if !self.ready.load(Acquire) {
            // Every enqueue that read null before the store above has left its section.
            rcu::synchronize_rcu();
            // INVARIANT: After a grace period that began after `word` was set.
            self.ready.store(true, Release);
        }
        Ok(counts)
    }
}

impl Drop for Counts {
    fn drop(&mut self) {
        let counts = self.word.load(Relaxed);
        if !counts.is_null() {
            // SAFETY: Allocated by `rust_wq_counts_alloc` (type invariant), and nobody else has
            // it: the queue is going.
            unsafe { rust_wq_counts_free(counts) };
        }
    }
}

impl<K: Kind> Drop for OwnedQueue<K> {
    fn drop(&mut self) {
        // SAFETY: Taken once, here; `core` is not used after.
        let core = unsafe { ManuallyDrop::take(&mut self.core) };
        // `destroy_workqueue` flushes the queue: from memory reclaim, only a reclaim queue.
        if may_wait_here().is_ok_and(|ctx| reclaim::may_flush(ctx, core.reclaim).is_ok()) {
            QueueCore::retire(core);
            return;
        }
        // In a kworker (maybe one of this queue: `destroy_workqueue` would wait for itself) or in
        // atomic context: hand the destruction to a kworker of another queue.
        if let Err(core) = registry::hand_off(core) {
            // Unreachable (see `hand_off`), but retiring here is still better than a leak.
            QueueCore::retire(core);
        }
    }
}
