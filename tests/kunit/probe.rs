// SPDX-License-Identifier: GPL-2.0

//! Work items that record what happened to them, for the test thread to check.

use crate::event::{
    Changes,
    Event, //
};
use crate::rust_wq::prelude::*;
use crate::rust_wq::{
    self,
    cpu::TaskName,
    impl_has_delayed_work,
    impl_has_work,
    new_delayed_work,
    new_work,
    DelayedWork,
    OwnedQueue,
    Unbound,
    Work,
    WorkItem, //
};
use kernel::{
    bindings, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        SpinLockIrq, //
    },
    time::{
        delay::fsleep,
        hrtimer::{
            HrTimer,
            HrTimerCallback,
            HrTimerCallbackContext,
            HrTimerPointer,
            HrTimerRestart,
            RelativeHardMode, //
        },
        Delta,
        Instant,
        Monotonic, //
    },
};

#[cfg(not(rust_wq_ktap))]
extern "C" {
    fn rust_wq_kunit_skip(reason: *const kernel::ffi::c_char);
}

/// Marks the running KUnit case skipped, with `reason` (a doc example that is compiled, not
/// run; a case whose pattern lockdep reports by design).
#[cfg(not(rust_wq_ktap))]
pub(crate) fn skip(reason: &CStr) {
    // SAFETY: `reason` is a NUL-terminated string that lives for the call; the helper marks the
    // KUnit test that the current thread runs, if any, and copies the string.
    unsafe { rust_wq_kunit_skip(reason.as_char_ptr()) }
}

/// Without KUnit the runner (`ktap.rs`) knows no skipped case: the reason is only printed.
#[cfg(rust_wq_ktap)]
pub(crate) fn skip(reason: &CStr) {
    pr_info!("    # {}: not run\n", reason.to_str().unwrap_or("?"));
}

/// What the items of one test saw. Shared by the items and the test thread, which waits on
/// what the items announce: each run that starts or ends, each item dropped.
#[pin_data]
pub(crate) struct Shared {
    pub(crate) runs: Atomic<u32>,
    pub(crate) dropped: Atomic<u32>,
    pub(crate) running: Atomic<u32>,
    pub(crate) max_running: Atomic<u32>,
    /// Runs that started.
    pub(crate) entered: Atomic<u32>,
    pub(crate) last_cpu: Atomic<u32>,
    pub(crate) errno: Atomic<i32>,
    pub(crate) was_current: Atomic<u32>,
    /// Gates ([`Action::Gate`]) that waited in vain.
    pub(crate) gate_timeouts: Atomic<u32>,
    /// References that came back (cancelled, refused, not used).
    pub(crate) back: Atomic<u32>,
    #[pin]
    pub(crate) names: SpinLockIrq<Option<TaskName>>,
    #[pin]
    pub(crate) order: SpinLockIrq<KVec<u32>>,
    /// `jiffies` when a delayed probe last ran.
    pub(crate) ran_jiffies: Atomic<usize>,
    /// Announces each change of `entered`, `running`, `runs`, `dropped` and `gate_timeouts`.
    #[pin]
    pub(crate) changes: Changes,
    /// Lets the items that block ([`Action::Block`], [`DelayedAction::Block`]) return.
    #[pin]
    released: Event,
}

impl Shared {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                runs: Atomic::new(0),
                dropped: Atomic::new(0),
                running: Atomic::new(0),
                max_running: Atomic::new(0),
                entered: Atomic::new(0),
                last_cpu: Atomic::new(u32::MAX),
                errno: Atomic::new(0),
                was_current: Atomic::new(0),
                gate_timeouts: Atomic::new(0),
                back: Atomic::new(0),
                ran_jiffies: Atomic::new(0),
                names <- new_spinlock_irq!(None),
                order <- new_spinlock_irq!(KVec::new()),
                changes <- Changes::new(),
                released <- Event::new(),
            }),
            GFP_KERNEL,
        )
    }

    pub(crate) fn runs(&self) -> u32 {
        self.runs.load(Relaxed)
    }

    pub(crate) fn name(&self) -> Option<TaskName> {
        *self.names.lock()
    }

    /// Lets the items that block return, now and from now on.
    pub(crate) fn release(&self) {
        self.released.set();
    }

    /// Whether [`Shared::release`] was called.
    pub(crate) fn is_released(&self) -> bool {
        self.released.is_set()
    }

    /// Counts a run of something that is not a probe (a closure, an item of
    /// `kernel::workqueue`), and announces it.
    pub(crate) fn count_run(&self) {
        self.runs.add(1, Relaxed);
        self.changes.notify();
    }

    /// Counts an item dropped, and announces it.
    pub(crate) fn count_drop(&self) {
        self.dropped.add(1, Relaxed);
        self.changes.notify();
    }

    /// Waits until `count` is at least `n`, and returns it then: whether it is exactly `n` is
    /// the caller's to check. A wait that ran out returns less, and the log says "too slow to
    /// finish" with the caller's line.
    #[track_caller]
    fn wait_count(&self, count: &Atomic<u32>, n: u32) -> u32 {
        let _ = self.changes.wait_until(|| count.load(Relaxed) >= n);
        count.load(Relaxed)
    }

    /// Waits until `n` runs have started; how many have then (see [`Shared::wait_count`]).
    #[track_caller]
    pub(crate) fn wait_entered(&self, n: u32) -> u32 {
        self.wait_count(&self.entered, n)
    }

    /// Waits until `n` runs have finished; how many have then (see [`Shared::wait_count`]).
    #[track_caller]
    pub(crate) fn wait_runs(&self, n: u32) -> u32 {
        self.wait_count(&self.runs, n)
    }

    /// Waits until `n` items were dropped; how many were then (see [`Shared::wait_count`]).
    #[track_caller]
    pub(crate) fn wait_dropped(&self, n: u32) -> u32 {
        self.wait_count(&self.dropped, n)
    }

    /// Records one run: CPU, worker name, concurrency.
    /// Records a run that starts; returns how many started before it (its arrival index).
    fn enter(&self, tag: u32) -> u32 {
        let now = self.running.fetch_add(1, Relaxed) + 1;
        let mut max = self.max_running.load(Relaxed);
        while now > max {
            match self.max_running.cmpxchg(max, now, Relaxed) {
                Ok(_) => break,
                Err(m) => max = m,
            }
        }
        self.last_cpu.store(rust_wq::cpu::current_cpu(), Relaxed);
        *self.names.lock() = Some(TaskName::current());
        let _ = self.order.lock().push(tag, GFP_ATOMIC);
        let arrival = self.entered.fetch_add(1, Relaxed);
        self.changes.notify();
        arrival
    }

    fn leave(&self) {
        self.running.fetch_sub(1, Relaxed);
        self.count_run();
    }
}

pub(crate) use crate::event::PATIENCE_MS;

/// Polls `cond` every millisecond until it holds, for up to [`PATIENCE_MS`]; quietly `false`
/// if it never did. Only for a state that nothing announces (C's own state, a count of
/// rust_wq's): whatever can wait on an event does ([`Shared`], [`Event`], [`Changes`]).
pub(crate) fn poll(cond: impl Fn() -> bool) -> bool {
    let t0 = Instant::<Monotonic>::now();
    while !cond() {
        if t0.elapsed().as_millis() >= PATIENCE_MS {
            return cond();
        }
        fsleep(Delta::from_millis(1));
    }
    true
}

/// Waits until `cond` holds, as [`poll`]; if it never did, the log says "too slow to finish"
/// with the caller's line, so that a wait that ran out is told apart from a wrong result.
#[track_caller]
pub(crate) fn wait_for(cond: impl Fn() -> bool) -> bool {
    let at = core::panic::Location::caller();
    if poll(cond) {
        return true;
    }
    pr_info!(
        "    # too slow to finish: waited {} s at {}:{} and it did not happen\n",
        PATIENCE_MS / 1000,
        at.file(),
        at.line()
    );
    false
}

/// A count that threads add to and others wait for, any number of them (arrivals at a
/// barrier, closures that ran).
#[pin_data]
pub(crate) struct Count {
    n: Atomic<u32>,
    #[pin]
    changes: Changes,
}

impl Count {
    pub(crate) fn new() -> impl PinInit<Self> {
        pin_init!(Self { n: Atomic::new(0), changes <- Changes::new() })
    }

    pub(crate) fn new_arc() -> Result<Arc<Self>> {
        Arc::pin_init(Self::new(), GFP_KERNEL)
    }

    /// Adds one, and announces it. Task or softirq context.
    pub(crate) fn add(&self) {
        self.n.add(1, Relaxed);
        self.changes.notify();
    }

    pub(crate) fn get(&self) -> u32 {
        self.n.load(Relaxed)
    }

    /// Waits until the count is at least `n`, and returns it then: whether it is exactly `n`
    /// is the caller's to check. A wait that ran out returns less, and the log says "too slow
    /// to finish" with the caller's line.
    #[track_caller]
    pub(crate) fn wait_reach(&self, n: u32) -> u32 {
        let _ = self.changes.wait_until(|| self.get() >= n);
        self.get()
    }
}

/// Whether C holds `item` disabled now (the disable depth in its off-queue data, read once):
/// another thread's `cancel_sync` or `disable_sync` has got that far.
pub(crate) fn c_disabled(item: &Probe) -> bool {
    let work = Work::of(item).as_raw();
    // SAFETY: `data` is the `atomic_long_t` of the item's initialised `work_struct`, which C
    // only changes atomically; it is read atomically.
    let data = unsafe { Atomic::<i64>::from_ptr(core::ptr::addr_of_mut!((*work).data.counter)) }
        .load(Relaxed);
    let pwq = 1i64 << bindings::work_bits_WORK_STRUCT_PWQ_BIT;
    let depth = (data >> bindings::work_bits_WORK_OFFQ_DISABLE_SHIFT)
        & ((1i64 << bindings::work_bits_WORK_OFFQ_DISABLE_BITS) - 1);
    data & pwq == 0 && depth > 0
}

/// What a [`Probe`] does when it runs.
pub(crate) enum Action {
    /// Nothing but recording.
    Record,
    /// Sleeps this many milliseconds.
    Sleep(u32),
    /// A barrier of `k`: the runs arrive in groups of `k` (in the order they start), and each
    /// waits (sleeping) until the last of its group has arrived, then sleeps 5 ms, in which one
    /// more would show. So `k` run at once if the queue lets them: a concurrency limit of `k`
    /// is reached by the items themselves, not by timing. If a group never completes, after
    /// [`PATIENCE_MS`], `Shared::gate_timeouts` counts it (and later gates of that `Shared` no
    /// longer wait).
    Gate(u32),
    /// Sleeps until [`Shared::release`] (holds a worker), however long that takes.
    Block,
    /// Tries to cancel itself synchronously, records the errno.
    SelfCancel,
    /// Tries to flush itself, records the errno.
    SelfFlush,
    /// Sleeps this many milliseconds, then calls [`Shared::release`] of the other [`Shared`].
    Release(Arc<Shared>, u32),
    /// Requeues itself on `queue` until `left` reaches zero.
    Chain {
        queue: Arc<OwnedQueue<Unbound>>,
        left: Atomic<u32>,
    },
}

/// A plain work item.
#[pin_data(PinnedDrop)]
pub(crate) struct Probe {
    pub(crate) shared: Arc<Shared>,
    pub(crate) tag: u32,
    pub(crate) action: Action,
    #[pin]
    work: Work<Probe>,
}

impl_has_work! { impl HasWork<Self> for Probe { self.work } }

impl Probe {
    pub(crate) fn new(shared: &Arc<Shared>, tag: u32, action: Action) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                shared: shared.clone(),
                tag,
                action,
                work <- new_work!("Probe::work"),
            }),
            GFP_KERNEL,
        )
    }

    /// A probe for BH queues. Its work runs in softirq context, so lockdep needs it in a class
    /// of its own, apart from the probes that run in kworkers.
    pub(crate) fn new_bh(shared: &Arc<Shared>) -> Result<Arc<Self>> {
        Self::new_bh_with(shared, Action::Record)
    }

    /// A probe for BH queues that does `action`.
    pub(crate) fn new_bh_with(shared: &Arc<Shared>, action: Action) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                shared: shared.clone(),
                tag: 0,
                action,
                work <- new_work!("Probe::work (BH)"),
            }),
            GFP_KERNEL,
        )
    }
}

#[pinned_drop]
impl PinnedDrop for Probe {
    fn drop(self: Pin<&mut Self>) {
        self.shared.count_drop();
    }
}

/// The errno of `r` (negative), 0 for `Ok`.
pub(crate) fn errno(r: Result<impl Sized>) -> i32 {
    match r {
        Ok(_) => 0,
        Err(e) => e.to_errno(),
    }
}

impl WorkItem for Probe {
    type Pointer = Arc<Probe>;

    fn run(this: Arc<Probe>) {
        let s = &this.shared;
        let arrival = s.enter(this.tag);
        s.was_current
            .store(u32::from(Work::of(&*this).is_current()), Relaxed);
        match &this.action {
            Action::Record => {}
            Action::Sleep(ms) => fsleep(Delta::from_millis(i64::from(*ms))),
            Action::Gate(k) => {
                let k = *k;
                // The group is complete once `entered` reaches its end. `entered` only grows:
                // a gate that wakes late still sees it, where a count of the runs at that
                // moment may have dropped again as the others left (and it would wait for a
                // group that had met).
                let start = arrival / k * k;
                let met =
                    || s.entered.load(Relaxed) >= start + k || s.gate_timeouts.load(Relaxed) > 0;
                if s.gate_timeouts.load(Relaxed) == 0 && !s.changes.wait_ms(PATIENCE_MS, met) {
                    s.gate_timeouts.add(1, Relaxed);
                    // The other gates of this `Shared` stop waiting too.
                    s.changes.notify();
                    pr_info!(
                        "    # too slow to finish: {} of {k} items of a group started after {} s\n",
                        s.entered.load(Relaxed).min(start + k) - start,
                        PATIENCE_MS / 1000
                    );
                }
                fsleep(Delta::from_millis(5));
            }
            Action::Block => s.released.wait_unbounded(),
            Action::Release(other, ms) => {
                fsleep(Delta::from_millis(i64::from(*ms)));
                other.release();
            }
            Action::SelfCancel => s
                .errno
                .store(errno(Work::of(&*this).cancel_sync()), Relaxed),
            Action::SelfFlush => s.errno.store(errno(Work::of(&*this).flush()), Relaxed),
            Action::Chain { queue, left } => {
                if left.fetch_sub(1, Relaxed) > 1 {
                    fsleep(Delta::from_millis(2));
                    if let Err(e) = queue.enqueue(this.clone()) {
                        s.errno.store(e.error().to_errno(), Relaxed);
                    }
                }
            }
        }
        s.leave();
    }
}

/// What a [`DelayedProbe`] does when it runs, besides recording.
#[derive(Clone, Copy, PartialEq)]
pub(crate) enum DelayedAction {
    /// Nothing else.
    Record,
    /// Tries to cancel itself synchronously, records the errno.
    SelfCancel,
    /// Sleeps until [`Shared::release`], however long that takes.
    Block,
}

/// A delayed work item; records the time of its run.
#[pin_data(PinnedDrop)]
pub(crate) struct DelayedProbe {
    pub(crate) shared: Arc<Shared>,
    pub(crate) action: DelayedAction,
    #[pin]
    dwork: DelayedWork<DelayedProbe>,
}

impl_has_delayed_work! { impl HasDelayedWork<Self> for DelayedProbe { self.dwork } }

impl DelayedProbe {
    pub(crate) fn new(shared: &Arc<Shared>) -> Result<Arc<Self>> {
        Self::with(shared, DelayedAction::Record)
    }

    pub(crate) fn with(shared: &Arc<Shared>, action: DelayedAction) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                shared: shared.clone(),
                action,
                dwork <- new_delayed_work!("DelayedProbe::dwork"),
            }),
            GFP_KERNEL,
        )
    }
}

#[pinned_drop]
impl PinnedDrop for DelayedProbe {
    fn drop(self: Pin<&mut Self>) {
        self.shared.count_drop();
    }
}

impl WorkItem for DelayedProbe {
    type Pointer = Arc<DelayedProbe>;

    fn run(this: Arc<DelayedProbe>) {
        let s = &this.shared;
        s.enter(0);
        s.ran_jiffies.store(rust_wq::jiffies(), Relaxed);
        match this.action {
            DelayedAction::Record => {}
            DelayedAction::SelfCancel => s
                .errno
                .store(errno(DelayedWork::of(&*this).cancel_sync()), Relaxed),
            DelayedAction::Block => s.released.wait_unbounded(),
        }
        s.leave();
    }
}

/// A work item owned by a `Pin<KBox>`: reports its run through `shared`.
#[pin_data(PinnedDrop)]
pub(crate) struct BoxedProbe {
    pub(crate) shared: Arc<Shared>,
    #[pin]
    work: Work<BoxedProbe>,
}

impl_has_work! { impl HasWork<Self> for BoxedProbe { self.work } }

impl BoxedProbe {
    pub(crate) fn new(shared: &Arc<Shared>) -> Result<Pin<KBox<Self>>> {
        KBox::pin_init(
            pin_init!(Self { shared: shared.clone(), work <- new_work!("BoxedProbe::work") }),
            GFP_KERNEL,
        )
    }
}

#[pinned_drop]
impl PinnedDrop for BoxedProbe {
    fn drop(self: Pin<&mut Self>) {
        self.shared.count_drop();
    }
}

impl WorkItem for BoxedProbe {
    type Pointer = Pin<KBox<BoxedProbe>>;

    fn run(this: Pin<KBox<BoxedProbe>>) {
        this.shared.enter(0);
        this.shared.leave();
    }
}

/// A work item that runs a closure once per run: for tests that need another thread to act at a
/// chosen moment (cancel, enable, drop a queue). Counts its runs in `shared`.
#[pin_data(PinnedDrop)]
pub(crate) struct Job<F: Fn() + Send + Sync + 'static> {
    pub(crate) shared: Arc<Shared>,
    f: F,
    #[pin]
    work: Work<Job<F>>,
}

impl_has_work! { impl{F: Fn() + Send + Sync + 'static} HasWork<Self> for Job<F> { self.work } }

impl<F: Fn() + Send + Sync + 'static> Job<F> {
    pub(crate) fn new(shared: &Arc<Shared>, f: F) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { shared: shared.clone(), f, work <- new_work!("Job::work") }),
            GFP_KERNEL,
        )
    }
}

#[pinned_drop]
impl<F: Fn() + Send + Sync + 'static> PinnedDrop for Job<F> {
    fn drop(self: Pin<&mut Self>) {
        self.shared.count_drop();
    }
}

impl<F: Fn() + Send + Sync + 'static> WorkItem for Job<F> {
    type Pointer = Arc<Job<F>>;

    fn run(this: Arc<Job<F>>) {
        this.shared.enter(0);
        (this.f)();
        this.shared.leave();
    }
}

/// Runs a function once in a chosen context and keeps what it returned, for the test thread to
/// check: in a kworker or in softirq ([`in_kworker`], [`in_softirq`]), or in hard-interrupt
/// context ([`in_hard_irq`]).
#[pin_data]
pub(crate) struct Call {
    f: fn() -> i32,
    out: Atomic<i32>,
    /// Set once `out` holds the answer.
    #[pin]
    done: Event,
    #[pin]
    work: Work<Call>,
    #[pin]
    timer: HrTimer<Call>,
}

impl_has_work! { impl HasWork<Self> for Call { self.work } }

kernel::impl_has_hr_timer! {
    impl HasHrTimer<Self> for Call {
        mode: RelativeHardMode<Monotonic>,
        field: self.timer
    }
}

impl Call {
    /// A call for threaded queues and the timer; `bh`: for BH queues (a lockdep class of its
    /// own, as [`Probe::new_bh`]).
    fn new(f: fn() -> i32, bh: bool) -> Result<Arc<Self>> {
        if bh {
            Arc::pin_init(
                pin_init!(Self {
                    f,
                    out: Atomic::new(0),
                    done <- Event::new(),
                    work <- new_work!("Call::work (BH)"),
                    timer <- HrTimer::new(),
                }),
                GFP_KERNEL,
            )
        } else {
            Arc::pin_init(
                pin_init!(Self {
                    f,
                    out: Atomic::new(0),
                    done <- Event::new(),
                    work <- new_work!("Call::work"),
                    timer <- HrTimer::new(),
                }),
                GFP_KERNEL,
            )
        }
    }

    fn call(&self) {
        self.out.store((self.f)(), Relaxed);
        self.done.set();
    }

    /// What the function returned, once it ran; `None` if it did not within [`PATIENCE_MS`]
    /// (the log says so, with the caller's line).
    #[track_caller]
    fn wait(&self) -> Option<i32> {
        self.done.wait().then(|| self.out.load(Relaxed))
    }
}

impl WorkItem for Call {
    type Pointer = Arc<Call>;

    fn run(this: Arc<Call>) {
        this.call();
    }
}

impl HrTimerCallback for Call {
    type Pointer<'a> = Arc<Call>;

    fn run(this: ArcBorrow<'_, Call>, _ctx: HrTimerCallbackContext<'_, Call>) -> HrTimerRestart {
        this.call();
        HrTimerRestart::NoRestart
    }
}

/// Runs `f` in a kworker of `system_dfl`; what it returned.
#[track_caller]
pub(crate) fn in_kworker(f: fn() -> i32) -> Result<Option<i32>> {
    let c = Call::new(f, false)?;
    rust_wq::system_dfl().enqueue(c.clone())?;
    Ok(c.wait())
}

/// Runs `f` in softirq context, as an item of `system_bh`; what it returned.
#[track_caller]
pub(crate) fn in_softirq(f: fn() -> i32) -> Result<Option<i32>> {
    let c = Call::new(f, true)?;
    rust_wq::system_bh().enqueue(c.clone())?;
    Ok(c.wait())
}

/// Runs `f` in hard-interrupt context, the callback of a hard `hrtimer`; what it returned.
#[track_caller]
pub(crate) fn in_hard_irq(f: fn() -> i32) -> Result<Option<i32>> {
    let c = Call::new(f, false)?;
    let handle = c.clone().start(Delta::from_micros(100));
    let r = c.wait();
    // Cancels the timer if it never fired, and waits for a callback under way.
    drop(handle);
    Ok(r)
}

/// Enters memory reclaim (`PF_MEMALLOC`) for the guard's life, as a reclaimer does.
pub(crate) struct InReclaim(u32);

extern "C" {
    fn rust_wq_test_memalloc_save() -> u32;
    fn rust_wq_test_memalloc_restore(flags: u32);
}

impl InReclaim {
    pub(crate) fn enter() -> Self {
        // SAFETY: Sets `PF_MEMALLOC` on the current task; restored by `Drop`.
        Self(unsafe { rust_wq_test_memalloc_save() })
    }
}

impl Drop for InReclaim {
    fn drop(&mut self) {
        // SAFETY: Restores what `enter` saved, on the same task.
        unsafe { rust_wq_test_memalloc_restore(self.0) };
    }
}
