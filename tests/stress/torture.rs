// SPDX-License-Identifier: GPL-2.0

//! Part 7: the randomized API torture (issue #16), in the spirit of rcutorture and locktorture.
//!
//! A seeded xorshift drives random sequences of every public operation of rust_wq on every kind
//! of item and queue, from every kind of context, at once:
//!
//! - queues: owned per-CPU, power-efficient, unbound, ordered and BH queues with random flags
//!   (highpri, CPU-intensive, freezable, mem-reclaim, sysfs, stats) and `max_active`, the legacy
//!   constructors, and the system queues; six slots of owned queues that are built, dropped
//!   (with items queued and armed on them, while other contexts operate on those items), flushed,
//!   drained and resized (`set_max_active`) all the time;
//! - items: `Arc` and `Pin<KBox>` plain and delayed items, RCU items, static items
//!   (`declare_work!`), `try_spawn!` closures, scoped closures (`rust_wq::scope`), in-tree
//!   `kernel::workqueue` items (`Arc` and `Pin<KBox>`, through `enqueue_kernel_item`), and items
//!   built on the stack (initialised, asked, cancelled, disabled, flushed and dropped). `ARef`
//!   items need an `unsafe impl AlwaysRefCounted` (no kernel type that can hold a work item
//!   implements it), so they are left to `rust_wq_more_api`: this case is safe code only;
//! - operations: enqueue (local, on a CPU, cloned, on a NUMA node, after an enable,
//!   `schedule_work`), arm and re-arm delayed items (`_on` a CPU too), RCU and in-tree queueing,
//!   cancel, `cancel_sync`, flush, disable, `disable_sync`, enable, queue flush, drain,
//!   `set_max_active`, congestion and stats, queue build and drop (also right after arming
//!   items on it and queueing kworkers that wait for them), `try_spawn!`, `scope`,
//!   `work_on_cpu!` and `schedule_on_each_cpu!`;
//! - contexts: the test's thread; worker threads (kworkers of a queue of the case, as the other
//!   parts run theirs); agents, items whose run makes random operations in a kworker or, on BH
//!   queues, in softirq context; leaves (plain items, closures) that requeue themselves from
//!   their runs; a high-resolution timer's hard-interrupt callback; sections with interrupts off
//!   (a `SpinLockIrq` held); scope closures; functions run by `work_on_cpu!`. Operations that
//!   sleep must come back as errors where sleeping is impossible (interrupts off, softirq, hard
//!   interrupt: `EAGAIN`) or would deadlock (`EDEADLK`), never as a kernel splat; they are
//!   counted, and one that succeeds there is a violation;
//! - meanwhile a thread takes every CPU but CPU 0 down and up for the first
//!   `torture_hotplug_secs`.
//!
//! Every item keeps books: queueings that handed it to a queue, runs, and cancels (or disables)
//! that took the queue's reference back. After the run stops, everything is flushed and drained
//! until no run is in flight, and then for every item `queued == ran + cancelled` exactly, every
//! boxed item is back home, every closure ran once, every item is dropped exactly once (drops
//! equal creations) and none is alive. Each kind of operation and each context is exercised at
//! least once (the test's thread first sweeps every operation, plainly and with interrupts off,
//! before the concurrent part starts).
//!
//! The run lasts `torture_secs` and at least `torture_min_ops` operations; time only ends the
//! loop, the verdict is exactness. A machine too slow to make `torture_min_ops` operations in
//! 240 s fails loudly. The seed is printed first; `make stress SUITE=rust_wq_stress_torture
//! QEMU_APPEND=rust_wq_stress.torture_seed=N` replays its sequences (the threads' interleaving
//! differs from run to run, as in any torture).

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_torture)]
mod tests {
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        Armed,
        Bh,
        DelayedItemPointer,
        DelayedWork,
        EnqueueError,
        HasDelayedWork,
        HasRcuWork,
        HasWork,
        KernelItem,
        Ordered,
        OwnedQueue,
        PerCpu,
        Queue,
        RcuWork,
        Slot,
        StaticWork,
        Unbound,
        Work,
        WorkItem,
        WorkItemPointer,
        MAX_DELAY, //
    };
    use crate::thread::{
        next,
        spawn, //
    };
    use kernel::{
        alloc::Flags,
        new_spinlock_irq,
        prelude::*,
        str::CString,
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
            Jiffies,
            Monotonic, //
        },
        workqueue as kw,
    };
    use pin_init::stack_pin_init;

    // ---------------------------------------------------------------------------------------
    // Operations, contexts, outcomes and their counters.

    /// The operations the torture makes.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Op {
        Enqueue,
        EnqueueOn,
        EnqueueCloned,
        EnqueueNode,
        EnableAndEnqueue,
        Schedule,
        EnqueueDelayed,
        EnqueueDelayedOn,
        ModDelayed,
        ModDelayedOn,
        EnqueueRcu,
        EnqueueKernel,
        Cancel,
        CancelSync,
        Flush,
        Disable,
        DisableSync,
        Enable,
        QueueFlush,
        QueueDrain,
        SetMaxActive,
        QueueState,
        BuildQueue,
        DropQueue,
        DropUnderWaits,
        TrySpawn,
        Scope,
        WorkOnCpu,
        EachCpu,
        OnStack,
    }

    const N_OPS: usize = 30;

    impl Op {
        const ALL: [Op; N_OPS] = [
            Op::Enqueue,
            Op::EnqueueOn,
            Op::EnqueueCloned,
            Op::EnqueueNode,
            Op::EnableAndEnqueue,
            Op::Schedule,
            Op::EnqueueDelayed,
            Op::EnqueueDelayedOn,
            Op::ModDelayed,
            Op::ModDelayedOn,
            Op::EnqueueRcu,
            Op::EnqueueKernel,
            Op::Cancel,
            Op::CancelSync,
            Op::Flush,
            Op::Disable,
            Op::DisableSync,
            Op::Enable,
            Op::QueueFlush,
            Op::QueueDrain,
            Op::SetMaxActive,
            Op::QueueState,
            Op::BuildQueue,
            Op::DropQueue,
            Op::DropUnderWaits,
            Op::TrySpawn,
            Op::Scope,
            Op::WorkOnCpu,
            Op::EachCpu,
            Op::OnStack,
        ];

        fn name(self) -> &'static str {
            match self {
                Op::Enqueue => "enqueue",
                Op::EnqueueOn => "enqueue_on",
                Op::EnqueueCloned => "enqueue_cloned",
                Op::EnqueueNode => "enqueue_on_node",
                Op::EnableAndEnqueue => "enable_and_enqueue",
                Op::Schedule => "schedule_[delayed_]work",
                Op::EnqueueDelayed => "enqueue_delayed",
                Op::EnqueueDelayedOn => "enqueue_delayed_on",
                Op::ModDelayed => "mod_delayed",
                Op::ModDelayedOn => "mod_delayed_on",
                Op::EnqueueRcu => "enqueue_rcu",
                Op::EnqueueKernel => "enqueue_kernel_item",
                Op::Cancel => "cancel",
                Op::CancelSync => "cancel_sync",
                Op::Flush => "flush (item)",
                Op::Disable => "disable",
                Op::DisableSync => "disable_sync",
                Op::Enable => "enable",
                Op::QueueFlush => "flush (queue)",
                Op::QueueDrain => "drain",
                Op::SetMaxActive => "set_max_active",
                Op::QueueState => "congested/stats/pending",
                Op::BuildQueue => "build queue",
                Op::DropQueue => "drop queue",
                Op::DropUnderWaits => "drop queue under waits",
                Op::TrySpawn => "try_spawn!",
                Op::Scope => "scope",
                Op::WorkOnCpu => "work_on_cpu!",
                Op::EachCpu => "schedule_on_each_cpu!",
                Op::OnStack => "item on the stack",
            }
        }

        /// How often the operation is picked, relative to the others.
        fn weight(self) -> u32 {
            match self {
                Op::Enqueue => 12,
                Op::EnqueueOn => 8,
                Op::EnqueueCloned => 4,
                Op::EnqueueNode => 3,
                Op::EnableAndEnqueue => 3,
                Op::Schedule => 3,
                Op::EnqueueDelayed => 8,
                Op::EnqueueDelayedOn => 5,
                Op::ModDelayed => 6,
                Op::ModDelayedOn => 4,
                Op::EnqueueRcu => 3,
                Op::EnqueueKernel => 4,
                Op::Cancel => 8,
                Op::CancelSync => 5,
                Op::Flush => 7,
                Op::Disable => 3,
                Op::DisableSync => 2,
                Op::Enable => 10,
                Op::QueueFlush => 2,
                Op::QueueDrain => 1,
                Op::SetMaxActive => 2,
                Op::QueueState => 3,
                Op::BuildQueue => 3,
                Op::DropQueue => 1,
                Op::DropUnderWaits => 2,
                Op::TrySpawn => 5,
                Op::Scope => 2,
                Op::WorkOnCpu => 2,
                Op::EachCpu => 1,
                Op::OnStack => 3,
            }
        }

        /// Whether the operation may sleep in the kernel: where sleeping is impossible, rust_wq
        /// must refuse it.
        fn sleeps(self) -> bool {
            matches!(
                self,
                Op::CancelSync
                    | Op::Flush
                    | Op::DisableSync
                    | Op::QueueFlush
                    | Op::QueueDrain
                    | Op::SetMaxActive
                    | Op::BuildQueue
                    | Op::DropQueue
                    | Op::DropUnderWaits
                    | Op::Scope
                    | Op::WorkOnCpu
                    | Op::EachCpu
            )
        }
    }

    /// Where an operation runs.
    #[derive(Clone, Copy, PartialEq, Eq)]
    enum Ctx {
        /// The test's own thread (no kworker).
        Thread,
        /// A worker thread: a long-running closure on a queue of the case.
        Worker,
        /// An agent: an item whose run makes operations in a kworker (waits only for leaves).
        Agent,
        /// A leaf: an item or a closure that requeues itself, or makes a non-waiting
        /// operation, from its run in a kworker.
        Leaf,
        /// Softirq context: a BH agent, leaf or closure.
        Bh,
        /// The hard-interrupt callback of a high-resolution timer.
        HardIrq,
        /// Interrupts off: a `SpinLockIrq` held by the test's thread or a worker.
        IrqOff,
        /// A closure spawned on a `rust_wq::scope`.
        ScopeJob,
        /// The function of a `work_on_cpu!` (CPU hotplug held off).
        OnCpu,
    }

    const N_CTX: usize = 9;

    impl Ctx {
        const ALL: [Ctx; N_CTX] = [
            Ctx::Thread,
            Ctx::Worker,
            Ctx::Agent,
            Ctx::Leaf,
            Ctx::Bh,
            Ctx::HardIrq,
            Ctx::IrqOff,
            Ctx::ScopeJob,
            Ctx::OnCpu,
        ];

        fn name(self) -> &'static str {
            match self {
                Ctx::Thread => "thread",
                Ctx::Worker => "worker",
                Ctx::Agent => "agent (kworker)",
                Ctx::Leaf => "leaf (kworker)",
                Ctx::Bh => "BH",
                Ctx::HardIrq => "hardirq",
                Ctx::IrqOff => "irqs off",
                Ctx::ScopeJob => "scope job",
                Ctx::OnCpu => "work_on_cpu fn",
            }
        }

        /// Sleeping is impossible here.
        fn atomic(self) -> bool {
            matches!(self, Ctx::Bh | Ctx::HardIrq | Ctx::IrqOff)
        }

        /// A kworker runs this (`PF_WQ_WORKER`).
        fn kworker(self) -> bool {
            matches!(
                self,
                Ctx::Worker | Ctx::Agent | Ctx::Leaf | Ctx::ScopeJob | Ctx::OnCpu
            )
        }

        /// Whether rust_wq must refuse `op` here: sleeping where it is impossible (`EAGAIN`),
        /// waiting for a whole queue or a scope in a kworker, or for CPU hotplug inside
        /// `work_on_cpu!` (`EDEADLK`).
        fn refuses(self, op: Op) -> bool {
            (self.atomic() && op.sleeps())
                || (self.kworker() && matches!(op, Op::QueueFlush | Op::QueueDrain | Op::Scope))
                || (self == Ctx::OnCpu && matches!(op, Op::WorkOnCpu | Op::EachCpu))
        }

        /// Whether the operation is made here at all. Agents wait only for leaves, and build no
        /// queue and hold off no CPU hotplug: both take the hotplug lock, which is left to the
        /// threads, conservatively (a run that takes it while a holder waits for that run is the
        /// hang of issue #16, item 3). Leaves, scope closures and the
        /// functions of `work_on_cpu!` do not wait (a wait from an item of an ordered queue for
        /// one behind it never ends: rule 7 of docs/soundness.md), except where rust_wq must
        /// refuse it; the function of a `work_on_cpu!` builds no queue (`alloc_workqueue` takes the hotplug
        /// lock that its caller holds: issue #16, item 3). Items on the stack stay off the
        /// interrupt stacks (a frame there is not the task's: the object debugger sees no stack
        /// object).
        fn allows(self, op: Op) -> bool {
            match self {
                Ctx::Thread | Ctx::Worker | Ctx::IrqOff => true,
                Ctx::Bh | Ctx::HardIrq => op != Op::OnStack,
                Ctx::Agent => !matches!(
                    op,
                    Op::BuildQueue | Op::DropUnderWaits | Op::WorkOnCpu | Op::EachCpu
                ),
                Ctx::Leaf | Ctx::ScopeJob | Ctx::OnCpu => !op.sleeps() || self.refuses(op),
            }
        }

        /// Whether waits (flush, `cancel_sync`, `disable_sync`) may target agents: only from
        /// contexts no agent waits for, or where they are refused anyway.
        fn may_wait_for_agents(self) -> bool {
            matches!(self, Ctx::Thread | Ctx::Worker) || self.atomic()
        }
    }

    /// The errors counted by name; the rest as "other".
    const ERRNOS: [(Error, &str); 13] = [
        (EBUSY, "EBUSY"),
        (EINVAL, "EINVAL"),
        (ENODEV, "ENODEV"),
        (EAGAIN, "EAGAIN"),
        (EDEADLK, "EDEADLK"),
        (ENOMEM, "ENOMEM"),
        (EEXIST, "EEXIST"),
        (ESHUTDOWN, "ESHUTDOWN"),
        (EOVERFLOW, "EOVERFLOW"),
        (ENOSPC, "ENOSPC"),
        (EPERM, "EPERM"),
        (ENAMETOOLONG, "ENAMETOOLONG"),
        (EIO, "EIO"),
    ];
    const N_ERR: usize = ERRNOS.len() + 1;

    /// What must never happen.
    #[derive(Clone, Copy)]
    enum Violation {
        /// An operation that rust_wq must refuse in its context succeeded.
        NotRefused,
        /// A cancel or disable of an item on the stack (never queued) handed a reference back.
        StackReference,
        /// `work_on_cpu!` or `schedule_on_each_cpu!` ran a function on another CPU, or not once
        /// per CPU.
        WrongCpu,
        /// `scope` returned before each of its closures ran exactly once.
        ScopeLost,
    }

    const N_VIOL: usize = 4;
    const VIOLATION_NAMES: [&str; N_VIOL] = [
        "operation not refused where it must be",
        "reference handed back for an item on the stack",
        "function run on a wrong CPU or not once per CPU",
        "scope closure lost or run twice",
    ];

    static OPS_OK: [Atomic<u64>; N_OPS] = [const { Atomic::new(0) }; N_OPS];
    static OPS_ERR: [Atomic<u64>; N_OPS] = [const { Atomic::new(0) }; N_OPS];
    static OPS_SKIP: [Atomic<u64>; N_OPS] = [const { Atomic::new(0) }; N_OPS];
    static CTX_OPS: [Atomic<u64>; N_CTX] = [const { Atomic::new(0) }; N_CTX];
    static ERRS: [Atomic<u64>; N_ERR] = [const { Atomic::new(0) }; N_ERR];
    static VIOLATIONS: [Atomic<u64>; N_VIOL] = [const { Atomic::new(0) }; N_VIOL];

    /// Items, closures and scope closures made, and dropped.
    static CREATED: Atomic<u64> = Atomic::new(0);
    static DROPPED: Atomic<u64> = Atomic::new(0);
    /// Runs (of items and closures) begun and ended.
    static RUNS_BEGUN: Atomic<u64> = Atomic::new(0);
    static RUNS_DONE: Atomic<u64> = Atomic::new(0);
    /// `try_spawn!` closures queued, and run.
    static CLOSURES_QUEUED: Atomic<u64> = Atomic::new(0);
    static CLOSURES_RAN: Atomic<u64> = Atomic::new(0);
    /// Scope closures spawned (all ran: `scope` waits).
    static SCOPE_JOBS: Atomic<u64> = Atomic::new(0);
    /// Owned queues built, and dropped.
    static QUEUES_BUILT: Atomic<u64> = Atomic::new(0);
    static QUEUES_DROPPED: Atomic<u64> = Atomic::new(0);
    /// CPUs taken offline.
    static CPU_DOWNS: Atomic<u64> = Atomic::new(0);
    /// Timer callbacks.
    static TICKS: Atomic<u64> = Atomic::new(0);
    /// The seed, and a sequence number, for the contexts that have no random state of their own.
    static SEED: Atomic<u32> = Atomic::new(0);
    static SEQ: Atomic<u32> = Atomic::new(0);
    /// How many violations were explained in the log.
    static EXPLAINED: Atomic<u32> = Atomic::new(0);

    /// The state of the run, for the items, closures and the timer, which have no other way to
    /// it: published while the run goes on, taken back for the verdict.
    static SHARED: Slot<Shared> = Slot::new();

    fn count(counters: &[Atomic<u64>], i: usize) {
        if let Some(c) = counters.get(i) {
            c.add(1, Relaxed);
        }
    }

    fn read(counters: &[Atomic<u64>], i: usize) -> u64 {
        counters.get(i).map_or(0, |c| c.load(Relaxed))
    }

    fn errno_index(e: Error) -> usize {
        ERRNOS
            .iter()
            .position(|(x, _)| *x == e)
            .unwrap_or(ERRNOS.len())
    }

    fn note_error(e: Error) {
        count(&ERRS, errno_index(e));
    }

    fn violation(v: Violation, ctx: Ctx, op: Op) {
        count(&VIOLATIONS, v as usize);
        if EXPLAINED.fetch_add(1, Relaxed) < 10 {
            pr_err!(
                "    # violation: {} ({}, in {})\n",
                VIOLATION_NAMES.get(v as usize).copied().unwrap_or("?"),
                op.name(),
                ctx.name()
            );
        }
    }

    /// The outcome of one operation.
    enum Outcome {
        /// Done (whatever it found: a cancel of an idle item is done too).
        Done,
        /// Refused with an error.
        Refused(Error),
        /// Nothing to do it with (an empty queue slot, a boxed item away from home).
        Skipped,
    }

    /// `?` for an `Outcome`: an error is the operation's outcome.
    macro_rules! try_out {
        ($e:expr) => {
            match $e {
                Ok(v) => v,
                Err(e) => return Outcome::Refused(e),
            }
        };
    }

    fn outcome<T>(r: Result<T>) -> Outcome {
        match r {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::Refused(e),
        }
    }

    fn record(op: Op, ctx: Ctx, out: &Outcome) {
        count(&CTX_OPS, ctx as usize);
        match out {
            Outcome::Done => {
                count(&OPS_OK, op as usize);
                if ctx.refuses(op) {
                    violation(Violation::NotRefused, ctx, op);
                }
            }
            Outcome::Refused(e) => {
                count(&OPS_ERR, op as usize);
                note_error(*e);
            }
            Outcome::Skipped => count(&OPS_SKIP, op as usize),
        }
    }

    fn reset_counters() {
        for set in [
            &OPS_OK[..],
            &OPS_ERR[..],
            &OPS_SKIP[..],
            &CTX_OPS[..],
            &ERRS[..],
            &VIOLATIONS[..],
        ] {
            for c in set {
                c.store(0, Relaxed);
            }
        }
        for c in [
            &CLOSURES_QUEUED,
            &CLOSURES_RAN,
            &SCOPE_JOBS,
            &QUEUES_BUILT,
            &QUEUES_DROPPED,
            &CPU_DOWNS,
            &TICKS,
        ] {
            c.store(0, Relaxed);
        }
        EXPLAINED.store(0, Relaxed);
    }

    fn total_ops() -> u64 {
        CTX_OPS.iter().map(|c| c.load(Relaxed)).sum()
    }

    // ---------------------------------------------------------------------------------------
    // Random numbers.

    /// An xorshift32 sequence.
    struct Rng(u32);

    /// A 32-bit mix (the murmur3 finaliser): nearby inputs give unrelated seeds.
    fn mix(mut x: u32) -> u32 {
        x ^= x >> 16;
        x = x.wrapping_mul(0x85eb_ca6b);
        x ^= x >> 13;
        x = x.wrapping_mul(0xc2b2_ae35);
        x ^ (x >> 16)
    }

    impl Rng {
        fn new(seed: u32) -> Self {
            Rng(if seed == 0 { 0x9e37_79b9 } else { seed })
        }

        /// The sequence of a context of the run: the seed mixed with the context's number.
        fn of(stream: u32) -> Self {
            Rng::new(mix(SEED.load(Relaxed) ^ mix(stream.wrapping_add(1))))
        }

        /// For runs and callbacks, which have no sequence of their own: the next of a shared
        /// counter, mixed with the seed.
        fn shared() -> Self {
            Rng::of(0x1000_0000 | SEQ.fetch_add(1, Relaxed))
        }

        fn next(&mut self) -> u32 {
            next(&mut self.0)
        }

        /// A number below `n` (0 for `n == 0`).
        fn below(&mut self, n: u32) -> u32 {
            if n == 0 {
                0
            } else {
                self.next() % n
            }
        }

        fn one_in(&mut self, n: u32) -> bool {
            self.below(n) == 0
        }

        fn index(&mut self) -> usize {
            self.next() as usize
        }
    }

    fn pick<T>(v: &KVec<T>, i: usize) -> Option<&T> {
        v.get(i % v.len().max(1))
    }

    /// An operation this context makes, by weight.
    fn pick_op(rng: &mut Rng, ctx: Ctx) -> Op {
        let total: u32 = Op::ALL.iter().map(|op| op.weight()).sum();
        loop {
            let mut r = rng.below(total);
            for op in Op::ALL {
                if r < op.weight() {
                    if ctx.allows(op) {
                        return op;
                    }
                    break;
                }
                r -= op.weight();
            }
        }
    }

    // ---------------------------------------------------------------------------------------
    // Items and their books.

    /// Counts itself made, and dropped when it goes: every item, closure and scope closure holds
    /// one, so drops equal creations exactly when each went exactly once.
    struct Token;

    impl Token {
        fn new() -> Self {
            CREATED.add(1, Relaxed);
            Token
        }
    }

    impl Drop for Token {
        fn drop(&mut self) {
            DROPPED.add(1, Relaxed);
        }
    }

    /// Counts a run begun, and ended when it goes (the last thing a run does).
    struct RunGuard;

    impl RunGuard {
        fn new() -> Self {
            RUNS_BEGUN.add(1, Relaxed);
            RunGuard
        }
    }

    impl Drop for RunGuard {
        fn drop(&mut self) {
            RUNS_DONE.add(1, Relaxed);
        }
    }

    /// What happened to one item: queueings that handed it to a queue (counted before the
    /// queueing, taken back if it was refused), runs, and cancels or disables that took the
    /// queue's reference back.
    struct Books {
        queued: Atomic<u64>,
        ran: Atomic<u64>,
        cancelled: Atomic<u64>,
    }

    impl Books {
        const fn new() -> Self {
            Self {
                queued: Atomic::new(0),
                ran: Atomic::new(0),
                cancelled: Atomic::new(0),
            }
        }

        fn about_to_queue(&self) {
            self.queued.add(1, Relaxed);
        }

        fn not_queued(&self) {
            self.queued.fetch_sub(1, Relaxed);
        }

        fn balanced(&self) -> bool {
            self.queued.load(Relaxed) == self.ran.load(Relaxed) + self.cancelled.load(Relaxed)
        }

        fn reset(&self) {
            self.queued.store(0, Relaxed);
            self.ran.store(0, Relaxed);
            self.cancelled.store(0, Relaxed);
        }

        /// Books a reference that a cancel or disable gave back.
        fn back<P>(&self, p: Option<P>) -> Outcome {
            if p.is_some() {
                self.cancelled.add(1, Relaxed);
            }
            Outcome::Done
        }

        fn back_or<P>(&self, r: Result<Option<P>>) -> Outcome {
            match r {
                Ok(p) => self.back(p),
                Err(e) => Outcome::Refused(e),
            }
        }
    }

    /// Items that know their books and their home (boxed items).
    trait Booked {
        fn books(&self) -> &Books;
        fn id(&self) -> usize;
    }

    /// A plain item behind an `Arc`: threaded or BH (a lockdep class each).
    #[pin_data]
    struct Plain {
        bh: bool,
        books: Books,
        _token: Token,
        #[pin]
        work: Work<Plain>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Plain { self.work } }

    impl Plain {
        fn new(bh: bool) -> Result<Arc<Self>> {
            if bh {
                Arc::pin_init(
                    pin_init!(Plain {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        work <- crate::new_work!("torture::Plain::work (BH)"),
                    }),
                    GFP_KERNEL,
                )
            } else {
                Arc::pin_init(
                    pin_init!(Plain {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        work <- crate::new_work!("torture::Plain::work"),
                    }),
                    GFP_KERNEL,
                )
            }
        }
    }

    impl WorkItem for Plain {
        type Pointer = Arc<Plain>;

        fn run(this: Arc<Plain>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            let ctx = if this.bh { Ctx::Bh } else { Ctx::Leaf };
            let mut rng = Rng::shared();
            match SHARED.get() {
                Some(sh) if sh.running() && rng.one_in(8) => {
                    let dest = sh.dest_for(this.bh, &mut rng);
                    this.books.about_to_queue();
                    let out = settle(&this.books, put_work(dest, this.clone(), How::Local));
                    record(Op::Enqueue, ctx, &out);
                }
                _ => drop(this),
            }
            drop(g);
        }
    }

    /// A delayed item behind an `Arc`: threaded or BH.
    #[pin_data]
    struct Later {
        bh: bool,
        books: Books,
        _token: Token,
        #[pin]
        dwork: DelayedWork<Later>,
    }

    crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for Later { self.dwork } }

    impl Later {
        fn new(bh: bool) -> Result<Arc<Self>> {
            if bh {
                Arc::pin_init(
                    pin_init!(Later {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        dwork <- crate::new_delayed_work!("torture::Later::dwork (BH)"),
                    }),
                    GFP_KERNEL,
                )
            } else {
                Arc::pin_init(
                    pin_init!(Later {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        dwork <- crate::new_delayed_work!("torture::Later::dwork"),
                    }),
                    GFP_KERNEL,
                )
            }
        }
    }

    impl WorkItem for Later {
        type Pointer = Arc<Later>;

        fn run(this: Arc<Later>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            let ctx = if this.bh { Ctx::Bh } else { Ctx::Leaf };
            let mut rng = Rng::shared();
            match SHARED.get() {
                Some(sh) if sh.running() && rng.one_in(8) => {
                    let dest = sh.dest_for(this.bh, &mut rng);
                    let modify = rng.one_in(2);
                    let delay = rng.below(4) as Jiffies;
                    this.books.about_to_queue();
                    let out = settle(&this.books, arm(dest, this.clone(), None, delay, modify));
                    let op = if modify {
                        Op::ModDelayed
                    } else {
                        Op::EnqueueDelayed
                    };
                    record(op, ctx, &out);
                }
                _ => drop(this),
            }
            drop(g);
        }
    }

    /// An RCU item behind an `Arc`: threaded or BH.
    #[pin_data]
    struct Deferred {
        bh: bool,
        books: Books,
        _token: Token,
        #[pin]
        rwork: RcuWork<Deferred>,
    }

    crate::impl_has_rcu_work! { impl HasRcuWork<Self> for Deferred { self.rwork } }

    impl Deferred {
        fn new(bh: bool) -> Result<Arc<Self>> {
            if bh {
                Arc::pin_init(
                    pin_init!(Deferred {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        rwork <- crate::new_rcu_work!("torture::Deferred::rwork (BH)"),
                    }),
                    GFP_KERNEL,
                )
            } else {
                Arc::pin_init(
                    pin_init!(Deferred {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        rwork <- crate::new_rcu_work!("torture::Deferred::rwork"),
                    }),
                    GFP_KERNEL,
                )
            }
        }
    }

    impl WorkItem for Deferred {
        type Pointer = Arc<Deferred>;

        fn run(this: Arc<Deferred>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            let ctx = if this.bh { Ctx::Bh } else { Ctx::Leaf };
            let mut rng = Rng::shared();
            match SHARED.get() {
                Some(sh) if sh.running() && rng.one_in(16) => {
                    let dest = sh.dest_for(this.bh, &mut rng);
                    this.books.about_to_queue();
                    let out = settle(&this.books, put_rcu(dest, this.clone()));
                    record(Op::EnqueueRcu, ctx, &out);
                }
                _ => drop(this),
            }
            drop(g);
        }
    }

    /// An agent: its run makes random operations (in a kworker, or in softirq context on BH
    /// queues). Threaded agents go only on queues of their own kind (the agents' queue and
    /// system queues without a concurrency limit), never behind the leaves they wait for.
    #[pin_data]
    struct Agent {
        bh: bool,
        books: Books,
        _token: Token,
        #[pin]
        work: Work<Agent>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Agent { self.work } }

    impl Agent {
        fn new(bh: bool) -> Result<Arc<Self>> {
            if bh {
                Arc::pin_init(
                    pin_init!(Agent {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        work <- crate::new_work!("torture::Agent::work (BH)"),
                    }),
                    GFP_KERNEL,
                )
            } else {
                Arc::pin_init(
                    pin_init!(Agent {
                        bh,
                        books: Books::new(),
                        _token: Token::new(),
                        work <- crate::new_work!("torture::Agent::work"),
                    }),
                    GFP_KERNEL,
                )
            }
        }
    }

    impl WorkItem for Agent {
        type Pointer = Arc<Agent>;

        fn run(this: Arc<Agent>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            let ctx = if this.bh { Ctx::Bh } else { Ctx::Agent };
            let mut rng = Rng::shared();
            if let Some(sh) = SHARED.get() {
                if sh.running() {
                    // Waiting for itself: `EDEADLK` (`EAGAIN` in softirq context), not a hang.
                    if rng.one_in(16) {
                        let out = outcome(Work::of(&*this).flush());
                        // (In softirq context `record` sees it: any flush must be refused.)
                        if matches!(out, Outcome::Done) && ctx == Ctx::Agent {
                            violation(Violation::NotRefused, ctx, Op::Flush);
                        }
                        record(Op::Flush, ctx, &out);
                    }
                    drop(this);
                    for _ in 0..1 + rng.below(2) {
                        sh.random_op(ctx, &mut rng);
                    }
                }
            }
            drop(g);
        }
    }

    /// A plain item owned by a box; at home in its slot of [`Shared::boxes`] while idle.
    #[pin_data]
    struct Boxed {
        id: usize,
        books: Books,
        _token: Token,
        #[pin]
        work: Work<Boxed>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Boxed { self.work } }

    impl Booked for Boxed {
        fn books(&self) -> &Books {
            &self.books
        }
        fn id(&self) -> usize {
            self.id
        }
    }

    impl WorkItem for Boxed {
        type Pointer = Pin<KBox<Boxed>>;

        fn run(this: Pin<KBox<Boxed>>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            let mut rng = Rng::shared();
            if let Some(sh) = SHARED.get() {
                if sh.running() && rng.one_in(8) {
                    let dest = sh.dest_for(false, &mut rng);
                    this.books.about_to_queue();
                    let out = sh.settle_box(&sh.boxes, put_work(dest, this, How::Local));
                    record(Op::Enqueue, Ctx::Leaf, &out);
                } else {
                    home(&sh.boxes, this);
                }
            }
            drop(g);
        }
    }

    /// A delayed item owned by a box; at home in [`Shared::boxes_later`] while idle.
    #[pin_data]
    struct BoxedLater {
        id: usize,
        books: Books,
        _token: Token,
        #[pin]
        dwork: DelayedWork<BoxedLater>,
    }

    crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for BoxedLater { self.dwork } }

    impl Booked for BoxedLater {
        fn books(&self) -> &Books {
            &self.books
        }
        fn id(&self) -> usize {
            self.id
        }
    }

    impl WorkItem for BoxedLater {
        type Pointer = Pin<KBox<BoxedLater>>;

        fn run(this: Pin<KBox<BoxedLater>>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            let mut rng = Rng::shared();
            if let Some(sh) = SHARED.get() {
                if sh.running() && rng.one_in(8) {
                    let dest = sh.dest_for(false, &mut rng);
                    let delay = rng.below(4) as Jiffies;
                    this.books.about_to_queue();
                    let out = sh.settle_box(&sh.boxes_later, arm(dest, this, None, delay, false));
                    record(Op::EnqueueDelayed, Ctx::Leaf, &out);
                } else {
                    home(&sh.boxes_later, this);
                }
            }
            drop(g);
        }
    }

    /// An item of the in-tree `kernel::workqueue` behind an `Arc`.
    #[pin_data]
    struct InTree {
        books: Books,
        _token: Token,
        #[pin]
        work: kw::Work<InTree>,
    }

    kernel::impl_has_work! { impl HasWork<Self> for InTree { self.work } }

    impl kw::WorkItem for InTree {
        type Pointer = Arc<InTree>;

        fn run(this: Arc<InTree>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            drop(this);
            drop(g);
        }
    }

    /// An item of the in-tree `kernel::workqueue` owned by a box; at home in
    /// [`Shared::boxes_kernel`] while idle.
    #[pin_data]
    struct InTreeBoxed {
        id: usize,
        books: Books,
        _token: Token,
        #[pin]
        work: kw::Work<InTreeBoxed>,
    }

    kernel::impl_has_work! { impl HasWork<Self> for InTreeBoxed { self.work } }

    impl Booked for InTreeBoxed {
        fn books(&self) -> &Books {
            &self.books
        }
        fn id(&self) -> usize {
            self.id
        }
    }

    impl kw::WorkItem for InTreeBoxed {
        type Pointer = Pin<KBox<InTreeBoxed>>;

        fn run(this: Pin<KBox<InTreeBoxed>>) {
            let g = RunGuard::new();
            this.books.ran.add(1, Relaxed);
            if let Some(sh) = SHARED.get() {
                home(&sh.boxes_kernel, this);
            }
            drop(g);
        }
    }

    /// Static items (`declare_work!`): two for threaded queues, one for BH queues.
    static STATIC_BOOKS: [Books; 3] = [const { Books::new() }; 3];

    fn static_ran(k: usize) {
        let g = RunGuard::new();
        if let Some(b) = STATIC_BOOKS.get(k) {
            b.ran.add(1, Relaxed);
        }
        drop(g);
    }

    fn static_run_0() {
        static_ran(0);
    }

    fn static_run_1() {
        static_ran(1);
    }

    fn static_run_bh() {
        static_ran(2);
    }

    crate::rust_wq::declare_work!(static TORTURE_STATIC_0 = static_run_0);
    crate::rust_wq::declare_work!(static TORTURE_STATIC_1 = static_run_1);
    crate::rust_wq::declare_work!(static TORTURE_STATIC_BH = static_run_bh);

    /// A static item and its books: `bh` for the BH one, else the threaded one `k % 2`.
    fn static_item(bh: bool, k: usize) -> (&'static StaticWork, &'static Books) {
        match (bh, k % 2) {
            (true, _) => (&TORTURE_STATIC_BH, &STATIC_BOOKS[2]),
            (false, 0) => (&TORTURE_STATIC_0, &STATIC_BOOKS[0]),
            (false, _) => (&TORTURE_STATIC_1, &STATIC_BOOKS[1]),
        }
    }

    /// An item with a field of each kind, built on the stack and never queued.
    #[pin_data]
    struct OnStack {
        #[pin]
        work: Work<OnStack, 0>,
        #[pin]
        dwork: DelayedWork<OnStack, 1>,
        #[pin]
        rwork: RcuWork<OnStack, 2>,
    }

    crate::impl_has_work! { impl HasWork<Self, 0> for OnStack { self.work } }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for OnStack { self.dwork } }
    crate::impl_has_rcu_work! { impl HasRcuWork<Self, 2> for OnStack { self.rwork } }

    impl WorkItem<0> for OnStack {
        type Pointer = Arc<OnStack>;
        fn run(_this: Arc<OnStack>) {}
    }

    impl WorkItem<1> for OnStack {
        type Pointer = Arc<OnStack>;
        fn run(_this: Arc<OnStack>) {}
    }

    impl WorkItem<2> for OnStack {
        type Pointer = Arc<OnStack>;
        fn run(_this: Arc<OnStack>) {}
    }

    /// A `try_spawn!` closure: runs once, makes an operation now and then (`always`: always),
    /// counts itself.
    fn closure_body(token: Token, bh: bool, seed: u32, always: bool) {
        let g = RunGuard::new();
        let mut rng = Rng::new(seed);
        if let Some(sh) = SHARED.get() {
            if sh.running() && (always || rng.one_in(4)) {
                sh.random_op(if bh { Ctx::Bh } else { Ctx::Leaf }, &mut rng);
            }
        }
        CLOSURES_RAN.add(1, Relaxed);
        drop(token);
        drop(g);
    }

    /// A closure that waits for a delayed item (flush, or `cancel_sync`) while its queue goes.
    fn waiter(token: Token, target: Arc<Later>, cancel: bool) {
        let g = RunGuard::new();
        let h = DelayedWork::of(&*target);
        let (op, out) = if cancel {
            (Op::CancelSync, target.books.back_or(h.cancel_sync()))
        } else {
            (Op::Flush, outcome(h.flush()))
        };
        record(op, Ctx::Agent, &out);
        drop(target);
        CLOSURES_RAN.add(1, Relaxed);
        drop(token);
        drop(g);
    }

    /// The timer whose hard-interrupt callback makes an operation every two milliseconds.
    #[pin_data]
    struct Ticker {
        #[pin]
        timer: HrTimer<Ticker>,
    }

    impl HrTimerCallback for Ticker {
        type Pointer<'a> = Arc<Ticker>;

        fn run(
            _this: ArcBorrow<'_, Ticker>,
            mut ctx: HrTimerCallbackContext<'_, Ticker>,
        ) -> HrTimerRestart {
            TICKS.add(1, Relaxed);
            let Some(sh) = SHARED.get() else {
                return HrTimerRestart::NoRestart;
            };
            if !sh.running() {
                return HrTimerRestart::NoRestart;
            }
            let mut rng = Rng::shared();
            sh.random_op(Ctx::HardIrq, &mut rng);
            drop(sh);
            ctx.forward_now(Delta::from_micros(2000));
            HrTimerRestart::Restart
        }
    }

    kernel::impl_has_hr_timer! {
        impl HasHrTimer<Self> for Ticker {
            mode: RelativeHardMode<Monotonic>,
            field: self.timer
        }
    }

    // ---------------------------------------------------------------------------------------
    // Queues.

    /// A queue to put an item on: an owned queue (a reference of its own, so that dropping it
    /// may be the queue's last drop, in whatever context) or a system queue.
    #[derive(Clone)]
    enum Dest {
        PerCpu(Arc<OwnedQueue<PerCpu>>),
        Unbound(Arc<OwnedQueue<Unbound>>),
        Ordered(Arc<OwnedQueue<Ordered>>),
        Bh(Arc<OwnedQueue<Bh>>),
        System(&'static Queue),
    }

    /// Runs `$e` with `$q` bound to the queue of `$dest`, whatever its kind.
    macro_rules! on {
        ($dest:expr, $q:ident => $e:expr) => {
            match $dest {
                Dest::PerCpu($q) => $e,
                Dest::Unbound($q) => $e,
                Dest::Ordered($q) => $e,
                Dest::Bh($q) => $e,
                Dest::System($q) => $e,
            }
        };
    }

    /// Runs `$e` with `$q` bound to the owned queue of `$dest`; `$other` for a system queue.
    macro_rules! on_owned {
        ($dest:expr, $q:ident => $e:expr, _ => $other:expr) => {
            match $dest {
                Dest::PerCpu($q) => $e,
                Dest::Unbound($q) => $e,
                Dest::Ordered($q) => $e,
                Dest::Bh($q) => $e,
                Dest::System(_) => $other,
            }
        };
    }

    /// The owned queues, in six slots: two per-CPU, two unbound, one ordered, one BH. Each is
    /// a rust_wq [`Slot`]: a reference is had without a lock (RCU), so that the hard-interrupt
    /// context can have one too (it may take no `spinlock_t`: PREEMPT_RT's rules, which
    /// lockdep enforces here); taking a queue out waits for a grace period, and so sleeps.
    struct Slots {
        percpu: [Slot<OwnedQueue<PerCpu>>; 2],
        unbound: [Slot<OwnedQueue<Unbound>>; 2],
        ordered: Slot<OwnedQueue<Ordered>>,
        bh: Slot<OwnedQueue<Bh>>,
    }

    const SLOTS: u32 = 6;
    const BH_SLOT: u32 = 5;

    impl Slots {
        fn new() -> Self {
            Self {
                percpu: [Slot::new(), Slot::new()],
                unbound: [Slot::new(), Slot::new()],
                ordered: Slot::new(),
                bh: Slot::new(),
            }
        }

        /// A new reference to the queue in `slot`. Any context.
        fn get(&self, slot: u32) -> Option<Dest> {
            match slot {
                0 | 1 => self.percpu.get(slot as usize)?.get().map(Dest::PerCpu),
                2 | 3 => self
                    .unbound
                    .get(slot as usize - 2)?
                    .get()
                    .map(Dest::Unbound),
                4 => self.ordered.get().map(Dest::Ordered),
                _ => self.bh.get().map(Dest::Bh),
            }
        }

        /// Takes the queue out of `slot`. Sleeps (`EAGAIN` where the caller cannot).
        fn take(&self, slot: u32) -> Result<Option<Dest>> {
            Ok(match slot {
                0 | 1 => self
                    .percpu
                    .get(slot as usize)
                    .ok_or(EINVAL)?
                    .take()?
                    .map(Dest::PerCpu),
                2 | 3 => self
                    .unbound
                    .get(slot as usize - 2)
                    .ok_or(EINVAL)?
                    .take()?
                    .map(Dest::Unbound),
                4 => self.ordered.take()?.map(Dest::Ordered),
                _ => self.bh.take()?.map(Dest::Bh),
            })
        }

        /// Puts `q` in `slot` if that is empty and of its kind; `q` back otherwise.
        fn put(&self, slot: u32, q: Dest) -> Option<Dest> {
            match (slot, q) {
                (0 | 1, Dest::PerCpu(q)) => match self.percpu.get(slot as usize) {
                    Some(s) => s.publish(q).err().map(Dest::PerCpu),
                    None => Some(Dest::PerCpu(q)),
                },
                (2 | 3, Dest::Unbound(q)) => match self.unbound.get(slot as usize - 2) {
                    Some(s) => s.publish(q).err().map(Dest::Unbound),
                    None => Some(Dest::Unbound(q)),
                },
                (4, Dest::Ordered(q)) => self.ordered.publish(q).err().map(Dest::Ordered),
                (BH_SLOT, Dest::Bh(q)) => self.bh.publish(q).err().map(Dest::Bh),
                (_, q) => Some(q),
            }
        }
    }

    /// The system queues without `WQ_BH`.
    const SYSTEM_THREADED: [fn() -> &'static Queue; 8] = [
        rust_wq::system_percpu,
        rust_wq::system_dfl,
        rust_wq::system_dfl_long,
        rust_wq::system_highpri,
        rust_wq::system_long,
        rust_wq::system_freezable,
        rust_wq::system_power_efficient,
        rust_wq::system_freezable_power_efficient,
    ];

    /// What a queueing did with the item.
    enum Put<P> {
        /// The queue took it.
        Queued,
        /// `mod_delayed` moved the timer of the pending item; the pointer given is back.
        Modified(P),
        /// Refused, with the item back.
        Refused(Error, P),
        /// The queue does not offer the operation (a CPU's timer on an owned BH queue, a node
        /// on a per-CPU queue, an enable on a system queue).
        NotHere(P),
    }

    fn put_of<P>(r: Result<(), EnqueueError<P>>) -> Put<P> {
        match r {
            Ok(()) => Put::Queued,
            Err(e) => Put::Refused(e.error(), e.into_item()),
        }
    }

    /// Settles the books of a queueing of an item the caller still holds (an `Arc`, a static):
    /// anything but `Queued` takes the queueing back.
    fn settle<P>(books: &Books, put: Put<P>) -> Outcome {
        match put {
            Put::Queued => Outcome::Done,
            Put::Modified(_) => {
                books.not_queued();
                Outcome::Done
            }
            Put::Refused(e, _) => {
                books.not_queued();
                Outcome::Refused(e)
            }
            Put::NotHere(_) => {
                books.not_queued();
                Outcome::Skipped
            }
        }
    }

    /// How a plain item is queued.
    #[derive(Clone, Copy)]
    enum How {
        Local,
        On(u32),
        Node(u32),
        EnableAnd,
    }

    fn put_work<P>(dest: Dest, item: P, how: How) -> Put<P>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<Pointer = P> + HasWork<P::Target>,
    {
        match how {
            How::Local => put_of(on!(dest, q => q.enqueue(item))),
            How::On(cpu) => put_of(on!(dest, q => q.enqueue_on(cpu, item))),
            How::Node(node) => match dest {
                Dest::Unbound(q) => put_of(q.enqueue_on_node(node, item)),
                Dest::Ordered(q) => put_of(q.enqueue_on_node(node, item)),
                _ => Put::NotHere(item),
            },
            How::EnableAnd => {
                on_owned!(dest, q => put_of(q.enable_and_enqueue(item)), _ => Put::NotHere(item))
            }
        }
    }

    fn armed<P>(r: Result<Armed<P>, EnqueueError<P>>) -> Put<P> {
        match r {
            Ok(Armed::Queued) => Put::Queued,
            Ok(Armed::Modified(p)) => Put::Modified(p),
            Err(e) => Put::Refused(e.error(), e.into_item()),
        }
    }

    /// Arms (or, `modify`, re-arms) a delayed item, on `cpu` if given.
    fn arm<P>(dest: Dest, item: P, cpu: Option<u32>, delay: Jiffies, modify: bool) -> Put<P>
    where
        P: DelayedItemPointer,
        P::Target: WorkItem<Pointer = P> + HasDelayedWork<P::Target>,
    {
        match (cpu, modify) {
            (None, false) => put_of(on!(dest, q => q.enqueue_delayed(item, delay))),
            (None, true) => armed(on!(dest, q => q.mod_delayed(item, delay))),
            (Some(c), false) => match dest {
                Dest::PerCpu(q) => put_of(q.enqueue_delayed_on(c, item, delay)),
                Dest::Unbound(q) => put_of(q.enqueue_delayed_on(c, item, delay)),
                Dest::Ordered(q) => put_of(q.enqueue_delayed_on(c, item, delay)),
                Dest::Bh(_) => Put::NotHere(item),
                Dest::System(q) => put_of(q.enqueue_delayed_on(c, item, delay)),
            },
            (Some(c), true) => match dest {
                Dest::PerCpu(q) => armed(q.mod_delayed_on(c, item, delay)),
                Dest::Unbound(q) => armed(q.mod_delayed_on(c, item, delay)),
                Dest::Ordered(q) => armed(q.mod_delayed_on(c, item, delay)),
                Dest::Bh(_) => Put::NotHere(item),
                Dest::System(q) => armed(q.mod_delayed_on(c, item, delay)),
            },
        }
    }

    fn put_rcu<P>(dest: Dest, item: P) -> Put<P>
    where
        P: WorkItemPointer,
        P::Target: WorkItem<Pointer = P> + HasRcuWork<P::Target>,
    {
        put_of(on!(dest, q => q.enqueue_rcu(item)))
    }

    fn put_kernel<P: KernelItem<0>>(dest: Dest, item: P) -> Put<P> {
        put_of(on!(dest, q => q.enqueue_kernel_item(item)))
    }

    /// Takes the boxed item at home in slot `i` (modulo their number), if it is there; none in
    /// hard-interrupt context (the homes are behind a `spinlock_t`).
    fn take_home<T>(
        ctx: Ctx,
        homes: &SpinLockIrq<KVec<Option<Pin<KBox<T>>>>>,
        i: usize,
    ) -> Option<Pin<KBox<T>>> {
        if ctx == Ctx::HardIrq {
            return None;
        }
        let mut v = homes.lock();
        let n = v.len().max(1);
        v.get_mut(i % n)?.take()
    }

    /// Puts a boxed item back home (it is dropped if it has none, which the verdict sees).
    fn home<T: Booked>(homes: &SpinLockIrq<KVec<Option<Pin<KBox<T>>>>>, item: Pin<KBox<T>>) {
        let id = item.id();
        let mut v = homes.lock();
        if let Some(slot) = v.get_mut(id) {
            if slot.is_none() {
                *slot = Some(item);
            }
        }
    }

    /// Builds an owned queue for `slot` with random flags and `max_active` (or a legacy
    /// constructor's), named `name`.
    fn build_queue(slot: u32, name: &CStr, rng: &mut Rng) -> Result<Dest> {
        let sysfs = rng.one_in(8);
        match slot {
            0 | 1 => {
                if rng.one_in(10) {
                    return arc_dest(OwnedQueue::create_workqueue(name)?, Dest::PerCpu);
                }
                let mut b = if rng.one_in(4) {
                    OwnedQueue::power_efficient()
                } else {
                    OwnedQueue::percpu()
                };
                if rng.one_in(3) {
                    b = b.highpri();
                }
                if rng.one_in(4) {
                    b = b.cpu_intensive();
                }
                if rng.one_in(6) {
                    b = b.freezable();
                }
                if rng.one_in(6) {
                    b = b.mem_reclaim();
                }
                if sysfs {
                    b = b.sysfs();
                }
                if rng.one_in(2) {
                    b = b.max_active(1 + rng.below(8));
                }
                if rng.one_in(4) {
                    b = b.stats();
                }
                arc_dest(b.build(name)?, Dest::PerCpu)
            }
            2 | 3 => {
                if rng.one_in(10) {
                    return arc_dest(OwnedQueue::create_freezable_workqueue(name)?, Dest::Unbound);
                }
                let mut b = OwnedQueue::unbound();
                if rng.one_in(3) {
                    b = b.highpri();
                }
                if rng.one_in(6) {
                    b = b.freezable();
                }
                if rng.one_in(6) {
                    b = b.mem_reclaim();
                }
                if sysfs {
                    b = b.sysfs();
                }
                // One item at a time on a third of them: flushes there touch the queue's
                // lockdep map (issue #16, item 1).
                match rng.below(3) {
                    0 => b = b.max_active(1),
                    1 => b = b.max_active(2 + rng.below(15)),
                    _ => {}
                }
                if rng.one_in(4) {
                    b = b.stats();
                }
                arc_dest(b.build(name)?, Dest::Unbound)
            }
            4 => {
                if rng.one_in(10) {
                    return arc_dest(
                        OwnedQueue::create_singlethread_workqueue(name)?,
                        Dest::Ordered,
                    );
                }
                let mut b = OwnedQueue::ordered();
                if rng.one_in(3) {
                    b = b.highpri();
                }
                if rng.one_in(6) {
                    b = b.freezable();
                }
                if rng.one_in(6) {
                    b = b.mem_reclaim();
                }
                if sysfs {
                    b = b.sysfs();
                }
                if rng.one_in(4) {
                    b = b.stats();
                }
                arc_dest(b.build(name)?, Dest::Ordered)
            }
            _ => {
                let mut b = OwnedQueue::bh();
                if rng.one_in(2) {
                    b = b.highpri();
                }
                if rng.one_in(4) {
                    b = b.stats();
                }
                arc_dest(b.build(name)?, Dest::Bh)
            }
        }
    }

    fn arc_dest<K: rust_wq::Kind>(
        q: OwnedQueue<K>,
        f: impl FnOnce(Arc<OwnedQueue<K>>) -> Dest,
    ) -> Result<Dest> {
        let q = Arc::new(q, GFP_KERNEL)?;
        QUEUES_BUILT.add(1, Relaxed);
        Ok(f(q))
    }

    // ---------------------------------------------------------------------------------------
    // The shared state and the operations.

    /// The families of items with handles (cancel, flush, disable...).
    #[derive(Clone, Copy)]
    enum HFam {
        Plain,
        PlainBh,
        Later,
        LaterBh,
        Static,
        StaticBh,
        Agent,
        AgentBh,
    }

    fn pick_hfam(rng: &mut Rng, agents: bool) -> HFam {
        match rng.below(16) {
            0..=3 => HFam::Plain,
            4..=5 => HFam::PlainBh,
            6..=9 => HFam::Later,
            10 => HFam::LaterBh,
            11 => HFam::Static,
            12 => HFam::StaticBh,
            13 | 14 if agents => HFam::Agent,
            15 if agents => HFam::AgentBh,
            13 | 14 => HFam::Plain,
            _ => HFam::Later,
        }
    }

    /// Runs `$body` with `$books` and `$h` bound to the books and the handle of an item of
    /// family `$fam` (`Skipped` if the family is empty).
    macro_rules! with_handle {
        ($sh:expr, $fam:expr, $i:expr, |$books:ident, $h:ident| $body:expr) => {
            match $fam {
                HFam::Plain => match pick(&$sh.plain, $i) {
                    Some(it) => {
                        let $books = &it.books;
                        let $h = Work::of(&**it);
                        $body
                    }
                    None => Outcome::Skipped,
                },
                HFam::PlainBh => match pick(&$sh.plain_bh, $i) {
                    Some(it) => {
                        let $books = &it.books;
                        let $h = Work::of(&**it);
                        $body
                    }
                    None => Outcome::Skipped,
                },
                HFam::Later => match pick(&$sh.later, $i) {
                    Some(it) => {
                        let $books = &it.books;
                        let $h = DelayedWork::of(&**it);
                        $body
                    }
                    None => Outcome::Skipped,
                },
                HFam::LaterBh => match pick(&$sh.later_bh, $i) {
                    Some(it) => {
                        let $books = &it.books;
                        let $h = DelayedWork::of(&**it);
                        $body
                    }
                    None => Outcome::Skipped,
                },
                HFam::Static | HFam::StaticBh => {
                    let (item, $books) = static_item(matches!($fam, HFam::StaticBh), $i);
                    let $h = Work::of(item);
                    $body
                }
                HFam::Agent => match pick(&$sh.agents, $i) {
                    Some(it) => {
                        let $books = &it.books;
                        let $h = Work::of(&**it);
                        $body
                    }
                    None => Outcome::Skipped,
                },
                HFam::AgentBh => match pick(&$sh.agents_bh, $i) {
                    Some(it) => {
                        let $books = &it.books;
                        let $h = Work::of(&**it);
                        $body
                    }
                    None => Outcome::Skipped,
                },
            }
        };
    }

    /// Everything the contexts of the run share.
    #[pin_data]
    struct Shared {
        plain: KVec<Arc<Plain>>,
        plain_bh: KVec<Arc<Plain>>,
        later: KVec<Arc<Later>>,
        later_bh: KVec<Arc<Later>>,
        /// Delayed items only armed by `drop_under_waits`.
        doomed: KVec<Arc<Later>>,
        deferred: KVec<Arc<Deferred>>,
        deferred_bh: KVec<Arc<Deferred>>,
        agents: KVec<Arc<Agent>>,
        agents_bh: KVec<Arc<Agent>>,
        in_tree: KVec<Arc<InTree>>,
        #[pin]
        boxes: SpinLockIrq<KVec<Option<Pin<KBox<Boxed>>>>>,
        #[pin]
        boxes_later: SpinLockIrq<KVec<Option<Pin<KBox<BoxedLater>>>>>,
        #[pin]
        boxes_kernel: SpinLockIrq<KVec<Option<Pin<KBox<InTreeBoxed>>>>>,
        n_boxes: [usize; 3],
        slots: Slots,
        /// The threaded agents' own queue (never dropped during the run).
        agent_queue: Arc<OwnedQueue<Unbound>>,
        /// Held for the sections with interrupts off.
        #[pin]
        irqs_off: SpinLockIrq<()>,
        /// Held by scopes for their spawns with interrupts off (a lock of its own: a scope that
        /// was wrongly not refused in a section of `irqs_off` would otherwise spin on it).
        #[pin]
        scope_irqs_off: SpinLockIrq<()>,
        /// The run is over: runs stop making operations.
        stop: Atomic<u32>,
        /// CPU hotplug goes on.
        hotplug: Atomic<u32>,
        /// `nr_cpu_ids`.
        cpus: u32,
        /// Numbers queue names.
        serial: Atomic<u32>,
        /// Spawn scope closures with `GFP_KERNEL` with interrupts off (issue #16, item 6).
        atomic_spawn: bool,
    }

    impl Shared {
        fn running(&self) -> bool {
            self.stop.load(Relaxed) == 0
        }

        fn slot(&self, slot: u32) -> Option<Dest> {
            self.slots.get(slot)
        }

        /// A threaded queue: an owned one of the five threaded slots, or a system queue.
        fn threaded_dest(&self, rng: &mut Rng) -> Dest {
            let r = rng.below(16);
            if r < BH_SLOT {
                if let Some(d) = self.slot(r) {
                    return d;
                }
            }
            let f = SYSTEM_THREADED
                .get(rng.below(8) as usize)
                .copied()
                .unwrap_or(rust_wq::system_dfl);
            Dest::System(f())
        }

        /// A BH queue: the owned one, or a system one.
        fn bh_dest(&self, rng: &mut Rng) -> Dest {
            match rng.below(3) {
                0 => self
                    .slot(BH_SLOT)
                    .unwrap_or(Dest::System(rust_wq::system_bh())),
                1 => Dest::System(rust_wq::system_bh()),
                _ => Dest::System(rust_wq::system_bh_highpri()),
            }
        }

        fn dest_for(&self, bh: bool, rng: &mut Rng) -> Dest {
            if bh {
                self.bh_dest(rng)
            } else {
                self.threaded_dest(rng)
            }
        }

        /// A queue for a threaded agent: the agents' queue, or a system queue that no leaf can
        /// fill up (no concurrency limit worth the name).
        fn agent_dest(&self, rng: &mut Rng) -> Dest {
            match rng.below(6) {
                0 | 1 => Dest::Unbound(self.agent_queue.clone()),
                2 => Dest::System(rust_wq::system_dfl()),
                3 => Dest::System(rust_wq::system_percpu()),
                4 => Dest::System(rust_wq::system_highpri()),
                _ => Dest::System(rust_wq::system_long()),
            }
        }

        /// An owned queue of any slot, or the agents' queue.
        fn owned_dest(&self, rng: &mut Rng) -> Option<Dest> {
            let r = rng.below(SLOTS + 1);
            if r == SLOTS {
                return Some(Dest::Unbound(self.agent_queue.clone()));
            }
            self.slot(r)
        }

        fn pick_cpu(&self, rng: &mut Rng) -> u32 {
            // `nr_cpu_ids` itself now and then: no such CPU (`EINVAL`).
            rng.below(self.cpus + 1)
        }

        fn delay(rng: &mut Rng) -> Jiffies {
            match rng.below(16) {
                0..=3 => 0,
                4..=9 => (1 + rng.below(4)) as Jiffies,
                10..=13 => (10 + rng.below(50)) as Jiffies,
                14 => 2500,
                _ if rng.one_in(4) => MAX_DELAY + 1,
                _ => 1,
            }
        }

        /// Settles a queueing of a boxed item: back home unless the queue took it.
        fn settle_box<T: Booked>(
            &self,
            homes: &SpinLockIrq<KVec<Option<Pin<KBox<T>>>>>,
            put: Put<Pin<KBox<T>>>,
        ) -> Outcome {
            let (out, item) = match put {
                Put::Queued => return Outcome::Done,
                Put::Modified(b) => (Outcome::Done, b),
                Put::Refused(e, b) => (Outcome::Refused(e), b),
                Put::NotHere(b) => (Outcome::Skipped, b),
            };
            item.books().not_queued();
            home(homes, item);
            out
        }

        fn random_op(&self, ctx: Ctx, rng: &mut Rng) {
            let op = pick_op(rng, ctx);
            self.op(ctx, op, rng);
        }

        /// One operation of the test's thread or a worker: one in eight with interrupts off.
        fn drive(&self, ctx: Ctx, rng: &mut Rng) {
            if rng.one_in(8) {
                let op = pick_op(rng, Ctx::IrqOff);
                let guard = self.irqs_off.lock();
                self.op(Ctx::IrqOff, op, rng);
                drop(guard);
            } else {
                self.random_op(ctx, rng);
            }
        }

        fn op(&self, ctx: Ctx, op: Op, rng: &mut Rng) {
            let out = match op {
                Op::Enqueue => self.enqueue(ctx, rng, How::Local),
                Op::EnqueueOn => {
                    let cpu = self.pick_cpu(rng);
                    self.enqueue(ctx, rng, How::On(cpu))
                }
                Op::EnqueueNode => {
                    let node = rng.below(cpu::nr_node_ids() + 1);
                    self.enqueue(ctx, rng, How::Node(node))
                }
                Op::EnableAndEnqueue => self.enqueue(ctx, rng, How::EnableAnd),
                Op::EnqueueCloned => self.enqueue_cloned(rng),
                Op::Schedule => self.schedule(ctx, rng),
                Op::EnqueueDelayed => self.arm_op(ctx, rng, false, false),
                Op::EnqueueDelayedOn => self.arm_op(ctx, rng, true, false),
                Op::ModDelayed => self.arm_op(ctx, rng, false, true),
                Op::ModDelayedOn => self.arm_op(ctx, rng, true, true),
                Op::EnqueueRcu => self.enqueue_rcu(rng),
                Op::EnqueueKernel => self.enqueue_kernel(ctx, rng),
                Op::Cancel => {
                    let fam = pick_hfam(rng, true);
                    with_handle!(self, fam, rng.index(), |books, h| books.back(h.cancel()))
                }
                Op::CancelSync => {
                    let fam = pick_hfam(rng, ctx.may_wait_for_agents());
                    with_handle!(self, fam, rng.index(), |books, h| books
                        .back_or(h.cancel_sync()))
                }
                Op::Disable => {
                    let fam = pick_hfam(rng, true);
                    with_handle!(self, fam, rng.index(), |books, h| books
                        .back_or(h.disable()))
                }
                Op::DisableSync => {
                    let fam = pick_hfam(rng, ctx.may_wait_for_agents());
                    with_handle!(self, fam, rng.index(), |books, h| books
                        .back_or(h.disable_sync()))
                }
                Op::Enable => {
                    let fam = pick_hfam(rng, true);
                    with_handle!(self, fam, rng.index(), |_books, h| {
                        h.enable();
                        Outcome::Done
                    })
                }
                Op::Flush => self.flush_item(ctx, rng),
                Op::QueueFlush => match self.owned_dest(rng) {
                    Some(d) => outcome(on_owned!(d, q => q.flush(), _ => Ok(()))),
                    None => Outcome::Skipped,
                },
                Op::QueueDrain => self.drain(ctx, rng),
                Op::SetMaxActive => self.set_max_active(rng),
                Op::QueueState => self.queue_state(rng),
                Op::BuildQueue => self.build(ctx, rng),
                Op::DropQueue => match self.slots.take(rng.below(SLOTS)) {
                    Ok(Some(q)) => {
                        // The slot's reference goes here; the last one goes here or in whichever
                        // context drops its last clone: the queue is destroyed at once, or
                        // handed off where that cannot wait.
                        drop(q);
                        QUEUES_DROPPED.add(1, Relaxed);
                        Outcome::Done
                    }
                    Ok(None) => Outcome::Skipped,
                    Err(e) => Outcome::Refused(e),
                },
                Op::DropUnderWaits => self.drop_under_waits(ctx, rng),
                Op::TrySpawn => self.try_spawn(ctx, rng),
                Op::Scope => self.scope(ctx, rng),
                Op::WorkOnCpu => self.work_on_cpu(ctx, rng),
                Op::EachCpu => self.each_cpu(ctx),
                Op::OnStack => on_stack(ctx, rng),
            };
            record(op, ctx, &out);
        }

        fn enqueue(&self, ctx: Ctx, rng: &mut Rng, how: How) -> Outcome {
            let i = rng.index();
            // Items of threaded lockdep classes; a node only on unbound (or ordered) queues.
            let threaded = |sh: &Self, rng: &mut Rng| match how {
                How::Node(_) => match rng.below(3) {
                    0 => sh.slot(2),
                    1 => sh.slot(3),
                    _ => sh.slot(4),
                }
                .unwrap_or(Dest::System(rust_wq::system_dfl())),
                How::EnableAnd => sh
                    .slot(rng.below(BH_SLOT))
                    .unwrap_or(Dest::System(rust_wq::system_dfl())),
                _ => sh.threaded_dest(rng),
            };
            match rng.below(16) {
                0..=5 => {
                    let Some(it) = pick(&self.plain, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = threaded(self, rng);
                    it.books.about_to_queue();
                    settle(&it.books, put_work(dest, it.clone(), how))
                }
                6..=7 => {
                    let Some(it) = pick(&self.plain_bh, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = self.bh_dest(rng);
                    it.books.about_to_queue();
                    settle(&it.books, put_work(dest, it.clone(), how))
                }
                8..=10 => {
                    let Some(b) = take_home(ctx, &self.boxes, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = threaded(self, rng);
                    b.books.about_to_queue();
                    self.settle_box(&self.boxes, put_work(dest, b, how))
                }
                11 => {
                    let (item, books) = static_item(false, i);
                    let dest = threaded(self, rng);
                    books.about_to_queue();
                    settle(books, put_work(dest, item, how))
                }
                12 => {
                    let (item, books) = static_item(true, i);
                    let dest = self.bh_dest(rng);
                    books.about_to_queue();
                    settle(books, put_work(dest, item, how))
                }
                13 | 14 => {
                    let Some(it) = pick(&self.agents, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = match how {
                        How::EnableAnd | How::Node(_) => Dest::Unbound(self.agent_queue.clone()),
                        _ => self.agent_dest(rng),
                    };
                    it.books.about_to_queue();
                    settle(&it.books, put_work(dest, it.clone(), how))
                }
                _ => {
                    // BH agents do not wait: any BH queue.
                    let Some(it) = pick(&self.agents_bh, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = self.bh_dest(rng);
                    it.books.about_to_queue();
                    settle(&it.books, put_work(dest, it.clone(), how))
                }
            }
        }

        fn enqueue_cloned(&self, rng: &mut Rng) -> Outcome {
            let i = rng.index();
            let (it, dest) = match rng.below(4) {
                0 | 1 => (pick(&self.plain, i), self.threaded_dest(rng)),
                2 => (pick(&self.plain_bh, i), self.bh_dest(rng)),
                _ => {
                    let Some(a) = pick(&self.agents, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = self.agent_dest(rng);
                    a.books.about_to_queue();
                    let r = on!(dest, q => q.enqueue_cloned(a));
                    if r.is_err() {
                        a.books.not_queued();
                    }
                    return outcome(r);
                }
            };
            let Some(it) = it else {
                return Outcome::Skipped;
            };
            it.books.about_to_queue();
            let r = on!(dest, q => q.enqueue_cloned(it));
            if r.is_err() {
                it.books.not_queued();
            }
            outcome(r)
        }

        fn schedule(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let i = rng.index();
            match rng.below(5) {
                0 => {
                    let Some(it) = pick(&self.plain, i) else {
                        return Outcome::Skipped;
                    };
                    it.books.about_to_queue();
                    settle(&it.books, put_of(rust_wq::schedule_work(it.clone())))
                }
                1 => {
                    let (item, books) = static_item(false, i);
                    books.about_to_queue();
                    settle(books, put_of(rust_wq::schedule_work(item)))
                }
                2 => {
                    let Some(b) = take_home(ctx, &self.boxes, i) else {
                        return Outcome::Skipped;
                    };
                    b.books.about_to_queue();
                    self.settle_box(&self.boxes, put_of(rust_wq::schedule_work(b)))
                }
                3 => {
                    let Some(it) = pick(&self.later, i) else {
                        return Outcome::Skipped;
                    };
                    let delay = Self::delay(rng);
                    it.books.about_to_queue();
                    settle(
                        &it.books,
                        put_of(rust_wq::schedule_delayed_work(it.clone(), delay)),
                    )
                }
                _ => {
                    let Some(b) = take_home(ctx, &self.boxes_later, i) else {
                        return Outcome::Skipped;
                    };
                    let delay = Self::delay(rng);
                    b.books.about_to_queue();
                    self.settle_box(
                        &self.boxes_later,
                        put_of(rust_wq::schedule_delayed_work(b, delay)),
                    )
                }
            }
        }

        /// Arms a delayed item (`on`: on a CPU; `modify`: `mod_delayed`).
        fn arm_op(&self, ctx: Ctx, rng: &mut Rng, on: bool, modify: bool) -> Outcome {
            let i = rng.index();
            let delay = Self::delay(rng);
            let cpu = if on { Some(self.pick_cpu(rng)) } else { None };
            match rng.below(8) {
                0..=4 => {
                    let Some(it) = pick(&self.later, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = self.threaded_dest(rng);
                    it.books.about_to_queue();
                    settle(&it.books, arm(dest, it.clone(), cpu, delay, modify))
                }
                5 => {
                    // On a BH queue, a CPU's timer is refused (`EINVAL` on system BH queues;
                    // owned BH queues do not offer it at all).
                    let Some(it) = pick(&self.later_bh, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = self.bh_dest(rng);
                    it.books.about_to_queue();
                    settle(&it.books, arm(dest, it.clone(), cpu, delay, modify))
                }
                _ => {
                    let Some(b) = take_home(ctx, &self.boxes_later, i) else {
                        return Outcome::Skipped;
                    };
                    let dest = self.threaded_dest(rng);
                    b.books.about_to_queue();
                    self.settle_box(&self.boxes_later, arm(dest, b, cpu, delay, modify))
                }
            }
        }

        fn enqueue_rcu(&self, rng: &mut Rng) -> Outcome {
            let i = rng.index();
            let bh = rng.one_in(3);
            let v = if bh {
                &self.deferred_bh
            } else {
                &self.deferred
            };
            let Some(it) = pick(v, i) else {
                return Outcome::Skipped;
            };
            let dest = self.dest_for(bh, rng);
            it.books.about_to_queue();
            settle(&it.books, put_rcu(dest, it.clone()))
        }

        fn enqueue_kernel(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let i = rng.index();
            let dest = match rng.below(8) {
                0..=2 => self
                    .slot(rng.below(BH_SLOT))
                    .unwrap_or(Dest::System(rust_wq::system_dfl())),
                3 => Dest::System(try_out!(Queue::from_kernel(kw::system_highpri()))),
                4 => Dest::System(try_out!(Queue::from_kernel(kw::system_long()))),
                5 => Dest::System(try_out!(Queue::from_kernel(kw::system_power_efficient()))),
                // The deprecated `system()`: `EINVAL`.
                6 if rng.one_in(4) => Dest::System(try_out!(Queue::from_kernel(kw::system()))),
                6 => Dest::System(try_out!(Queue::from_kernel(kw::system_freezable()))),
                // No in-tree items on BH queues: `EINVAL`.
                _ => self
                    .slot(BH_SLOT)
                    .unwrap_or(Dest::System(try_out!(Queue::from_kernel(kw::system_bh())))),
            };
            if rng.one_in(2) {
                let Some(it) = pick(&self.in_tree, i) else {
                    return Outcome::Skipped;
                };
                it.books.about_to_queue();
                settle(&it.books, put_kernel(dest, it.clone()))
            } else {
                let Some(b) = take_home(ctx, &self.boxes_kernel, i) else {
                    return Outcome::Skipped;
                };
                b.books.about_to_queue();
                self.settle_box(&self.boxes_kernel, put_kernel(dest, b))
            }
        }

        fn flush_item(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let i = rng.index();
            if rng.one_in(6) {
                // RCU items: `rcu_barrier()` and a flush.
                let v = if rng.one_in(3) {
                    &self.deferred_bh
                } else {
                    &self.deferred
                };
                return match pick(v, i) {
                    Some(it) => outcome(RcuWork::of(&**it).flush()),
                    None => Outcome::Skipped,
                };
            }
            let fam = pick_hfam(rng, ctx.may_wait_for_agents());
            with_handle!(self, fam, i, |_books, h| outcome(h.flush()))
        }

        /// Drains an owned queue. The test's thread first takes it out of its slot, so that
        /// only the operations already under way (which hold a reference) can still queue on
        /// it (a drain waits for those too, and would never end if new ones kept coming); it
        /// goes back if the slot is still empty.
        fn drain(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let slot = rng.below(SLOTS);
            if ctx != Ctx::Thread {
                return match self.slot(slot) {
                    Some(d) => outcome(on_owned!(d, q => q.drain(), _ => Ok(()))),
                    None => Outcome::Skipped,
                };
            }
            let d = match self.slots.take(slot) {
                Ok(Some(d)) => d,
                Ok(None) => return Outcome::Skipped,
                Err(e) => return Outcome::Refused(e),
            };
            let r = on_owned!(&d, q => q.drain(), _ => Ok(()));
            let back = self.slots.put(slot, d);
            if back.is_some() {
                QUEUES_DROPPED.add(1, Relaxed);
            }
            drop(back);
            outcome(r)
        }

        fn set_max_active(&self, rng: &mut Rng) -> Outcome {
            let n = match rng.below(10) {
                0 => 0,
                1 => 100_000,
                2..=4 => 1,
                _ => 2 + rng.below(15),
            };
            match self.slot(rng.below(4)) {
                Some(Dest::PerCpu(q)) => outcome(q.set_max_active(n)),
                Some(Dest::Unbound(q)) => outcome(q.set_max_active(n)),
                _ => Outcome::Skipped,
            }
        }

        fn queue_state(&self, rng: &mut Rng) -> Outcome {
            let i = rng.index();
            let fam = pick_hfam(rng, true);
            let _ = with_handle!(self, fam, i, |_books, h| {
                let _ = (h.is_pending(), h.is_running(), h.is_current());
                Outcome::Done
            });
            let Some(d) = self.owned_dest(rng) else {
                return Outcome::Skipped;
            };
            let cpu = if rng.one_in(2) {
                None
            } else {
                Some(self.pick_cpu(rng))
            };
            on_owned!(d, q => {
                if let Some(s) = q.stats() {
                    let _ = (s.enqueued(), s.rejected(), s.delayed(), s.enqueued_on(0));
                }
                outcome(q.congested(cpu))
            }, _ => Outcome::Skipped)
        }

        fn build(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            if !matches!(ctx, Ctx::Thread | Ctx::Worker) {
                // Refused where the caller cannot sleep (`EAGAIN`); a static name: no
                // allocation of ours either.
                return match OwnedQueue::unbound().build(c"rwq_tt_atomic") {
                    Ok(q) => {
                        drop(q);
                        Outcome::Done
                    }
                    Err(e) => Outcome::Refused(e),
                };
            }
            self.rebuild(rng.below(SLOTS), rng)
        }

        /// Builds a queue for `slot` and puts it there; the queue that was there goes.
        fn rebuild(&self, slot: u32, rng: &mut Rng) -> Outcome {
            let serial = self.serial.fetch_add(1, Relaxed);
            let name = match CString::try_from_fmt(fmt!("rwq_tt_{slot}_{serial}")) {
                Ok(n) => n,
                Err(e) => return Outcome::Refused(e),
            };
            let q = match build_queue(slot, &name, rng) {
                Ok(q) => q,
                Err(e) => return Outcome::Refused(e),
            };
            let old = match self.slots.take(slot) {
                Ok(old) => old,
                Err(e) => return Outcome::Refused(e),
            };
            // Another context may have filled the slot meanwhile: then the new queue goes.
            let spare = self.slots.put(slot, q);
            let dropped = u64::from(old.is_some()) + u64::from(spare.is_some());
            QUEUES_DROPPED.add(dropped, Relaxed);
            // Dropped with items queued and armed on it, while other contexts work on them.
            drop(old);
            drop(spare);
            Outcome::Done
        }

        /// Builds a queue whose flushes also take the queue's lockdep map (one item at a time,
        /// ordered, or with a rescuer), arms delayed items of a pool of their own on it, queues
        /// kworkers that wait for them (`flush`, or `cancel_sync`), and drops the queue at once,
        /// under the waits (the shape of issue #16, item 1). Threads only: it builds a queue
        /// (refused elsewhere).
        fn drop_under_waits(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            if !matches!(ctx, Ctx::Thread | Ctx::Worker) {
                return match OwnedQueue::ordered().build(c"rwq_tt_atomic") {
                    Ok(q) => {
                        drop(q);
                        Outcome::Done
                    }
                    Err(e) => Outcome::Refused(e),
                };
            }
            let serial = self.serial.fetch_add(1, Relaxed);
            let name = match CString::try_from_fmt(fmt!("rwq_tt_doomed_{serial}")) {
                Ok(n) => n,
                Err(e) => return Outcome::Refused(e),
            };
            let q = match rng.below(4) {
                0 => OwnedQueue::unbound()
                    .max_active(1)
                    .build(&name)
                    .and_then(|q| arc_dest(q, Dest::Unbound)),
                1 => OwnedQueue::ordered()
                    .build(&name)
                    .and_then(|q| arc_dest(q, Dest::Ordered)),
                2 => OwnedQueue::unbound()
                    .mem_reclaim()
                    .build(&name)
                    .and_then(|q| arc_dest(q, Dest::Unbound)),
                _ => OwnedQueue::percpu()
                    .max_active(1)
                    .build(&name)
                    .and_then(|q| arc_dest(q, Dest::PerCpu)),
            };
            let q = match q {
                Ok(q) => q,
                Err(e) => return Outcome::Refused(e),
            };
            let first = rng.index();
            for k in 0..4 {
                let Some(it) = pick(&self.doomed, first.wrapping_add(k)) else {
                    break;
                };
                // Armed for ten seconds: only the waits and the queue's drop fire it.
                it.books.about_to_queue();
                let _ = settle(&it.books, arm(q.clone(), it.clone(), None, 2500, false));
                let token = Token::new();
                let target = it.clone();
                let cancel = rng.one_in(4);
                CLOSURES_QUEUED.add(1, Relaxed);
                let f = move || waiter(token, target, cancel);
                if crate::try_spawn!(rust_wq::system_dfl(), GFP_KERNEL, f).is_err() {
                    CLOSURES_QUEUED.fetch_sub(1, Relaxed);
                }
            }
            // The last reference: destroyed here (handed off from a worker) as the waits start.
            drop(q);
            QUEUES_DROPPED.add(1, Relaxed);
            Outcome::Done
        }

        fn try_spawn(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let bh = rng.one_in(4);
            let dest = self.dest_for(bh, rng);
            // `GFP_KERNEL` where the caller cannot sleep: `EAGAIN`. Only that in hard-interrupt
            // context: no allocation there (PREEMPT_RT's rules, which lockdep enforces here).
            let may_sleep = ctx == Ctx::HardIrq || rng.one_in(2);
            let flags: Flags = if may_sleep { GFP_KERNEL } else { GFP_ATOMIC };
            let token = Token::new();
            let seed = rng.next();
            let f = move || closure_body(token, bh, seed, false);
            CLOSURES_QUEUED.add(1, Relaxed);
            let r = on!(dest, q => crate::try_spawn!(q, flags, f));
            if r.is_err() {
                CLOSURES_QUEUED.fetch_sub(1, Relaxed);
            } else if may_sleep && ctx.atomic() {
                violation(Violation::NotRefused, ctx, Op::TrySpawn);
            }
            outcome(r)
        }

        /// A scope: up to four closures on `system_dfl` or an owned queue, borrowing counters
        /// from this frame, some spawned with interrupts off (`GFP_ATOMIC`); with
        /// `torture_atomic_spawn`, one more with `GFP_KERNEL` and interrupts off, which must be
        /// refused (issue #16, item 6). Every closure spawned must have run exactly once when
        /// `scope` returns.
        fn scope(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let n = 1 + rng.below(4) as usize;
            let queue = if rng.one_in(2) {
                self.slot(rng.below(BH_SLOT))
            } else {
                None
            };
            let seed = rng.next();
            let probe = self.atomic_spawn && rng.one_in(4);
            let mut hits = [0u32; 5];
            let (jobs, extra) = hits.split_at_mut(4);
            let r = rust_wq::scope(|s| {
                let mut spawned = 0u32;
                for (k, hit) in jobs.iter_mut().take(n).enumerate() {
                    let token = Token::new();
                    let job = move || {
                        *hit += 1;
                        let mut rng = Rng::new(mix(seed ^ k as u32));
                        self.random_op(Ctx::ScopeJob, &mut rng);
                        drop(token);
                    };
                    let r = match (k % 3, &queue) {
                        (0, Some(Dest::PerCpu(q))) => {
                            crate::rust_wq::spawn_on!(s, &**q, GFP_KERNEL, job)
                        }
                        (0, Some(Dest::Unbound(q))) => {
                            crate::rust_wq::spawn_on!(s, &**q, GFP_KERNEL, job)
                        }
                        (0, Some(Dest::Ordered(q))) => {
                            crate::rust_wq::spawn_on!(s, &**q, GFP_KERNEL, job)
                        }
                        (1, _) => {
                            let guard = self.scope_irqs_off.lock();
                            let r = crate::rust_wq::spawn!(s, GFP_ATOMIC, job);
                            drop(guard);
                            r
                        }
                        _ => crate::rust_wq::spawn!(s, GFP_KERNEL, job),
                    };
                    if r.is_ok() {
                        spawned += 1;
                    }
                }
                if probe {
                    if let Some(hit) = extra.first_mut() {
                        let token = Token::new();
                        let guard = self.scope_irqs_off.lock();
                        let r = crate::rust_wq::spawn!(s, GFP_KERNEL, move || {
                            *hit += 1;
                            drop(token);
                        });
                        drop(guard);
                        match r {
                            Ok(()) => {
                                violation(Violation::NotRefused, Ctx::IrqOff, Op::Scope);
                                spawned += 1;
                            }
                            Err(e) => note_error(e),
                        }
                    }
                }
                spawned
            });
            match r {
                Ok(spawned) => {
                    SCOPE_JOBS.add(u64::from(spawned), Relaxed);
                    if hits.iter().sum::<u32>() != spawned {
                        violation(Violation::ScopeLost, ctx, Op::Scope);
                    }
                    Outcome::Done
                }
                Err(e) => Outcome::Refused(e),
            }
        }

        fn work_on_cpu(&self, ctx: Ctx, rng: &mut Rng) -> Outcome {
            let target = self.pick_cpu(rng);
            let check = |ran_on: u32| {
                if ran_on != target {
                    violation(Violation::WrongCpu, ctx, Op::WorkOnCpu);
                }
            };
            match rng.below(4) {
                0 | 1 => match crate::work_on_cpu!(target, cpu::current_cpu) {
                    Ok(c) => {
                        check(c);
                        Outcome::Done
                    }
                    Err(e) => Outcome::Refused(e),
                },
                2 => {
                    let seed = rng.next();
                    let r = crate::work_on_cpu!(target, || {
                        let mut rng = Rng::new(seed);
                        self.random_op(Ctx::OnCpu, &mut rng);
                        cpu::current_cpu()
                    });
                    match r {
                        Ok(c) => {
                            check(c);
                            Outcome::Done
                        }
                        Err(e) => Outcome::Refused(e),
                    }
                }
                _ => {
                    // CPU hotplug from the function: `EDEADLK` (its caller holds it off).
                    let victim = 1 + rng.below(self.cpus.saturating_sub(1).max(1));
                    match crate::work_on_cpu!(target, || cpu::take_offline(victim)) {
                        Ok(Ok(())) => {
                            violation(Violation::NotRefused, Ctx::OnCpu, Op::WorkOnCpu);
                            let _ = cpu::bring_online(victim);
                            Outcome::Done
                        }
                        Ok(Err(e)) => {
                            note_error(e);
                            Outcome::Done
                        }
                        Err(e) => Outcome::Refused(e),
                    }
                }
            }
        }

        fn each_cpu(&self, ctx: Ctx) -> Outcome {
            let runs = Atomic::<u32>::new(0);
            let wrong = Atomic::<u32>::new(0);
            let r = crate::schedule_on_each_cpu!(|n: u32| {
                runs.add(1, Relaxed);
                if cpu::current_cpu() != n {
                    wrong.add(1, Relaxed);
                }
            });
            match r {
                Ok(k) => {
                    if runs.load(Relaxed) != k || wrong.load(Relaxed) != 0 {
                        violation(Violation::WrongCpu, ctx, Op::EachCpu);
                    }
                    Outcome::Done
                }
                Err(e) => Outcome::Refused(e),
            }
        }

        /// Whether nothing is left: every item's books balance, every boxed item is home, every
        /// closure ran, and no run is in flight.
        fn quiet(&self) -> bool {
            let boxes = self.boxes.lock().iter().filter(|b| b.is_some()).count();
            let boxes_later = self
                .boxes_later
                .lock()
                .iter()
                .filter(|b| b.is_some())
                .count();
            let boxes_kernel = self
                .boxes_kernel
                .lock()
                .iter()
                .filter(|b| b.is_some())
                .count();
            let done = RUNS_DONE.load(Relaxed);
            let begun = RUNS_BEGUN.load(Relaxed);
            let mut balanced = true;
            self.each_books(|b| balanced &= b.balanced());
            balanced
                && [boxes, boxes_later, boxes_kernel] == self.n_boxes
                && CLOSURES_QUEUED.load(Relaxed) == CLOSURES_RAN.load(Relaxed)
                && begun == done
        }

        /// Calls `f` with the books of every item of the run that is not boxed (the boxed ones
        /// are checked at home).
        fn each_books(&self, mut f: impl FnMut(&Books)) {
            for v in [&self.plain, &self.plain_bh] {
                v.iter().for_each(|i| f(&i.books));
            }
            for v in [&self.later, &self.later_bh, &self.doomed] {
                v.iter().for_each(|i| f(&i.books));
            }
            for v in [&self.deferred, &self.deferred_bh] {
                v.iter().for_each(|i| f(&i.books));
            }
            for v in [&self.agents, &self.agents_bh] {
                v.iter().for_each(|i| f(&i.books));
            }
            self.in_tree.iter().for_each(|i| f(&i.books));
            STATIC_BOOKS.iter().for_each(f);
        }

        /// Waits for everything queued, armed or in its grace period: each item flushed, each
        /// owned queue drained (only the test's thread may).
        fn settle_all(&self) {
            for it in Iterator::chain(self.plain.iter(), self.plain_bh.iter()) {
                let _ = Work::of(&**it).flush();
            }
            for it in Iterator::chain(self.agents.iter(), self.agents_bh.iter()) {
                let _ = Work::of(&**it).flush();
            }
            for v in [&self.later, &self.later_bh, &self.doomed] {
                for it in v.iter() {
                    let _ = DelayedWork::of(&**it).flush();
                }
            }
            for it in Iterator::chain(self.deferred.iter(), self.deferred_bh.iter()) {
                let _ = RcuWork::of(&**it).flush();
            }
            for k in 0..3 {
                let (item, _) = static_item(k == 2, k);
                let _ = Work::of(item).flush();
            }
            for slot in 0..SLOTS {
                if let Some(d) = self.slot(slot) {
                    let _ = on_owned!(d, q => q.drain(), _ => Ok(()));
                }
            }
            let _ = self.agent_queue.drain();
        }
    }

    /// Builds an item with one field of each kind on the stack, asks and tries of it what a
    /// user may of an item nobody queued, and drops it with the frame: nothing may come back,
    /// waits must be refused where sleeping is impossible, and the object debugger must know
    /// the item as a stack object (issue #16, item 4).
    #[inline(never)]
    fn on_stack(ctx: Ctx, rng: &mut Rng) -> Outcome {
        stack_pin_init!(let item = pin_init!(OnStack {
            work <- crate::new_work!("torture::OnStack::work"),
            dwork <- crate::new_delayed_work!("torture::OnStack::dwork"),
            rwork <- crate::new_rcu_work!("torture::OnStack::rwork"),
        }));
        let it: &OnStack = &item;
        let w = Work::<OnStack, 0>::of(it);
        let d = DelayedWork::<OnStack, 1>::of(it);
        let r = RcuWork::<OnStack, 2>::of(it);
        let mut bad = w.is_pending() || d.is_pending() || r.is_pending();
        // A reference handed back for an item on the stack would free the stack: keep it.
        let mut none = |p: Option<Arc<OnStack>>| {
            if let Some(p) = p {
                core::mem::forget(p);
                bad = true;
            }
        };
        // Waits: done (nothing to wait for) where the caller may sleep, refused where not.
        let waited = |ok: bool| {
            if ok && ctx.atomic() {
                violation(Violation::NotRefused, ctx, Op::OnStack);
            }
        };
        for _ in 0..1 + rng.below(3) {
            match rng.below(8) {
                0 => none(w.cancel()),
                1 => {
                    none(w.disable().ok().flatten());
                    w.enable();
                }
                2 => waited(w.flush().is_ok()),
                3 => match w.cancel_sync() {
                    Ok(p) => {
                        none(p);
                        waited(true);
                    }
                    Err(_) => waited(false),
                },
                4 => {
                    none(d.cancel());
                    none(d.disable().ok().flatten());
                    d.enable();
                }
                5 => waited(d.flush().is_ok()),
                6 => match d.cancel_sync() {
                    Ok(p) => {
                        none(p);
                        waited(true);
                    }
                    Err(_) => waited(false),
                },
                _ => waited(r.flush().is_ok()),
            }
        }
        if bad {
            violation(Violation::StackReference, ctx, Op::OnStack);
        }
        Outcome::Done
    }

    // ---------------------------------------------------------------------------------------
    // The run.

    /// A worker thread: random operations until the run stops.
    fn worker(idx: u32) {
        let Some(sh) = SHARED.get() else {
            return;
        };
        let mut rng = Rng::of(1 + idx);
        let mut n = 0u32;
        while sh.running() {
            sh.drive(Ctx::Worker, &mut rng);
            n = n.wrapping_add(1);
            // Let the queues' workers run on this CPU too.
            if n % 64 == 0 {
                fsleep(Delta::from_micros(200));
            }
        }
    }

    /// Takes every CPU but CPU 0 down and up while hotplug is on.
    fn toggle_cpus() {
        let Some(sh) = SHARED.get() else {
            return;
        };
        while sh.running() && sh.hotplug.load(Relaxed) != 0 {
            for c in 1..sh.cpus {
                if cpu::take_offline(c).is_ok() {
                    CPU_DOWNS.add(1, Relaxed);
                }
                fsleep(Delta::from_millis(20));
                let _ = cpu::bring_online(c);
                fsleep(Delta::from_millis(20));
                if !sh.running() || sh.hotplug.load(Relaxed) == 0 {
                    break;
                }
            }
        }
    }

    /// A seed from the time: jiffies, and the nanoseconds a short sleep took (timer jitter).
    fn time_seed() -> u32 {
        let t0 = Instant::<Monotonic>::now();
        fsleep(Delta::from_micros(50));
        let ns = t0.elapsed().as_nanos() as u64;
        let j = rust_wq::jiffies() as u64;
        let s = mix((j as u32) ^ mix(ns as u32) ^ mix((ns >> 32) as u32));
        if s == 0 {
            1
        } else {
            s
        }
    }

    /// Stops the run when it goes.
    struct Stopper<'a>(&'a Shared);

    impl Drop for Stopper<'_> {
        fn drop(&mut self) {
            self.0.hotplug.store(0, Relaxed);
            self.0.stop.store(1, Relaxed);
        }
    }

    /// Waits up to `ms` milliseconds for `cond`, checking it every 5 ms: only for the settling at
    /// the end, whose condition (the books of the whole run) nothing announces.
    fn wait_for(ms: i64, cond: impl Fn() -> bool) -> bool {
        let t0 = Instant::<Monotonic>::now();
        while !cond() {
            if t0.elapsed().as_millis() > ms {
                return false;
            }
            fsleep(Delta::from_millis(5));
        }
        true
    }

    fn homes<T>(
        n: usize,
        mut f: impl FnMut(usize) -> Result<Pin<KBox<T>>>,
    ) -> Result<KVec<Option<Pin<KBox<T>>>>> {
        let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
        for id in 0..n {
            v.push(Some(f(id)?), GFP_KERNEL)?;
        }
        Ok(v)
    }

    fn many<T>(n: usize, mut f: impl FnMut() -> Result<T>) -> Result<KVec<T>> {
        let mut v = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            v.push(f()?, GFP_KERNEL)?;
        }
        Ok(v)
    }

    const N_BOXES: [usize; 3] = [12, 6, 4];

    fn make_shared(atomic_spawn: bool) -> Result<Arc<Shared>> {
        let boxes = homes(N_BOXES[0], |id| {
            KBox::pin_init(
                pin_init!(Boxed {
                    id,
                    books: Books::new(),
                    _token: Token::new(),
                    work <- crate::new_work!("torture::Boxed::work"),
                }),
                GFP_KERNEL,
            )
        })?;
        let boxes_later = homes(N_BOXES[1], |id| {
            KBox::pin_init(
                pin_init!(BoxedLater {
                    id,
                    books: Books::new(),
                    _token: Token::new(),
                    dwork <- crate::new_delayed_work!("torture::BoxedLater::dwork"),
                }),
                GFP_KERNEL,
            )
        })?;
        let boxes_kernel = homes(N_BOXES[2], |id| {
            KBox::pin_init(
                pin_init!(InTreeBoxed {
                    id,
                    books: Books::new(),
                    _token: Token::new(),
                    work <- kw::new_work!("torture::InTreeBoxed::work"),
                }),
                GFP_KERNEL,
            )
        })?;
        let in_tree = many(4, || {
            Arc::pin_init(
                pin_init!(InTree {
                    books: Books::new(),
                    _token: Token::new(),
                    work <- kw::new_work!("torture::InTree::work"),
                }),
                GFP_KERNEL,
            )
        })?;
        let agent_queue = Arc::new(
            OwnedQueue::unbound()
                .max_active(8)
                .build(c"rwq_tt_agents")?,
            GFP_KERNEL,
        )?;
        let plain = many(24, || Plain::new(false))?;
        let plain_bh = many(12, || Plain::new(true))?;
        let later = many(16, || Later::new(false))?;
        let later_bh = many(8, || Later::new(true))?;
        let doomed = many(8, || Later::new(false))?;
        let deferred = many(8, || Deferred::new(false))?;
        let deferred_bh = many(4, || Deferred::new(true))?;
        let agents = many(8, || Agent::new(false))?;
        let agents_bh = many(4, || Agent::new(true))?;
        Arc::pin_init(
            pin_init!(Shared {
                plain,
                plain_bh,
                later,
                later_bh,
                doomed,
                deferred,
                deferred_bh,
                agents,
                agents_bh,
                in_tree,
                boxes <- new_spinlock_irq!(boxes, "torture::Shared::boxes"),
                boxes_later <- new_spinlock_irq!(boxes_later, "torture::Shared::boxes_later"),
                boxes_kernel <- new_spinlock_irq!(boxes_kernel, "torture::Shared::boxes_kernel"),
                n_boxes: N_BOXES,
                slots: Slots::new(),
                agent_queue,
                irqs_off <- new_spinlock_irq!((), "torture::Shared::irqs_off"),
                scope_irqs_off <- new_spinlock_irq!((), "torture::Shared::scope_irqs_off"),
                stop: Atomic::new(0),
                hotplug: Atomic::new(0),
                cpus: cpu::nr_cpu_ids(),
                serial: Atomic::new(0),
                atomic_spawn,
            }),
            GFP_KERNEL,
        )
    }

    fn print_figures(seed: u32, ms: i64) {
        let total = total_ops();
        pr_info!(
            "    # torture_seed={seed}: {total} operations in {ms} ms ({} per second)\n",
            total * 1000 / (ms.max(1) as u64)
        );
        for op in Op::ALL {
            let i = op as usize;
            pr_info!(
                "    #   {:<24} done {:>7}  refused {:>6}  skipped {:>5}\n",
                op.name(),
                read(&OPS_OK, i),
                read(&OPS_ERR, i),
                read(&OPS_SKIP, i)
            );
        }
        for ctx in Ctx::ALL {
            pr_info!(
                "    #   in {:<16} {:>8} operations\n",
                ctx.name(),
                read(&CTX_OPS, ctx as usize)
            );
        }
        for (i, (_, name)) in ERRNOS.iter().enumerate() {
            let n = read(&ERRS, i);
            if n > 0 {
                pr_info!("    #   {:<12} {:>8}\n", name, n);
            }
        }
        let other = read(&ERRS, ERRNOS.len());
        if other > 0 {
            pr_info!("    #   {:<12} {:>8}\n", "other", other);
        }
        pr_info!(
            "    # {} owned queues built, {} dropped; {} closures, {} scope closures; {} CPU downs; \
             {} timer callbacks; {} runs\n",
            QUEUES_BUILT.load(Relaxed),
            QUEUES_DROPPED.load(Relaxed),
            CLOSURES_QUEUED.load(Relaxed),
            SCOPE_JOBS.load(Relaxed),
            CPU_DOWNS.load(Relaxed),
            TICKS.load(Relaxed),
            RUNS_DONE.load(Relaxed)
        );
    }

    /// The longest the random part may take before the run fails as too slow (KUnit stops a
    /// case at 300 s).
    const CAP_MS: i64 = 240_000;
    /// How many queues the sweep drops under waits.
    const SWEEP_DROPS: u32 = 60;

    /// The longest the quiescence at the end may take.
    const QUIET_MS: i64 = 60_000;

    #[test]
    fn random_api_sequences_lose_nothing_and_run_nothing_twice() -> Result {
        let p = crate::torture_params();
        let seed = if p.seed != 0 { p.seed } else { time_seed() };
        pr_info!(
            "    # torture_seed={seed} (replay: make stress SUITE=rust_wq_stress_torture \
             QEMU_APPEND=rust_wq_stress.torture_seed={seed}); {} s, at least {} operations, {} \
             threads, CPU hotplug for {} s, GFP_KERNEL scope spawns with interrupts off: {}\n",
            p.secs,
            p.min_ops,
            p.threads,
            p.hotplug_secs,
            if p.atomic_spawn { "on" } else { "off" }
        );
        SEED.store(seed, Relaxed);
        reset_counters();
        for b in &STATIC_BOOKS {
            b.reset();
        }
        let created_before = CREATED.load(Relaxed);
        let dropped_before = DROPPED.load(Relaxed);
        let online_before: KVec<u32> = {
            let mut v = KVec::new();
            for c in cpu::online_cpus() {
                v.push(c, GFP_KERNEL)?;
            }
            v
        };

        let shared = make_shared(p.atomic_spawn)?;
        // Fill the slots with queues before anything else.
        let mut rng = Rng::of(0);
        for slot in 0..SLOTS {
            let name = CString::try_from_fmt(fmt!("rwq_tt_{slot}_init"))?;
            let q = build_queue(slot, &name, &mut rng)?;
            drop(shared.slots.put(slot, q));
        }
        if let Err(sh) = SHARED.publish(shared.clone()) {
            drop(sh);
            return Err(EBUSY);
        }
        let sh = &*shared;
        let t0 = Instant::<Monotonic>::now();

        // The sweep: every operation from the test's thread, then with interrupts off.
        for op in Op::ALL {
            sh.op(Ctx::Thread, op, &mut rng);
        }
        for op in Op::ALL {
            let guard = sh.irqs_off.lock();
            sh.op(Ctx::IrqOff, op, &mut rng);
            drop(guard);
        }
        // Queues dropped under waits while the test's thread is alone (the shape of
        // `rust_wq_misuse`'s case for issue #16, item 1); the concurrent part drops more, under
        // load.
        for _ in 0..SWEEP_DROPS {
            sh.op(Ctx::Thread, Op::DropUnderWaits, &mut rng);
        }
        // Each context once: an agent and a BH agent (flushed: they ran), a leaf closure, a
        // function on CPU 0, a scope.
        for agent in [sh.agents.first(), sh.agents_bh.first()]
            .into_iter()
            .flatten()
        {
            for _ in 0..rust_wq::MAX_DISABLE {
                if Work::of(&**agent).disable_depth() == 0 {
                    break;
                }
                Work::of(&**agent).enable();
            }
            let dest = if agent.bh {
                Dest::System(rust_wq::system_bh())
            } else {
                Dest::System(rust_wq::system_dfl())
            };
            agent.books.about_to_queue();
            let out = settle(&agent.books, put_work(dest, agent.clone(), How::Local));
            record(Op::Enqueue, Ctx::Thread, &out);
            let _ = Work::of(&**agent).flush();
        }
        {
            let token = Token::new();
            CLOSURES_QUEUED.add(1, Relaxed);
            let seed = rng.next();
            if crate::try_spawn!(rust_wq::system_dfl(), GFP_KERNEL, move || closure_body(
                token, false, seed, true
            ))
            .is_err()
            {
                CLOSURES_QUEUED.fetch_sub(1, Relaxed);
            }
        }
        let seed_on_cpu = rng.next();
        let _ = crate::work_on_cpu!(0, || {
            let mut rng = Rng::new(seed_on_cpu);
            sh.random_op(Ctx::OnCpu, &mut rng);
        });
        sh.op(Ctx::Thread, Op::Scope, &mut rng);

        // The concurrent part: workers, CPU hotplug, the timer, and the test's thread.
        let drivers = OwnedQueue::unbound()
            .max_active(p.threads + 2)
            .build(c"rwq_tt_drivers")?;
        let ticker = Arc::pin_init(pin_init!(Ticker { timer <- HrTimer::new() }), GFP_KERNEL)?;
        let ticking = ticker.clone().start(Delta::from_micros(500));
        // From here on, any way out stops the run first (then the timer goes, and the drivers'
        // queue waits for its threads).
        let stopper = Stopper(sh);
        for i in 0..p.threads {
            spawn(&drivers, move || worker(i))?;
        }
        if p.hotplug_secs > 0 {
            sh.hotplug.store(1, Relaxed);
            spawn(&drivers, toggle_cpus)?;
        }
        let secs_ms = i64::from(p.secs) * 1000;
        let hotplug_ms = i64::from(p.hotplug_secs) * 1000;
        let mut n = 0u32;
        let mut too_slow = false;
        loop {
            sh.drive(Ctx::Thread, &mut rng);
            n = n.wrapping_add(1);
            if n % 64 != 0 {
                continue;
            }
            fsleep(Delta::from_micros(200));
            let ms = t0.elapsed().as_millis();
            if ms >= hotplug_ms {
                sh.hotplug.store(0, Relaxed);
            }
            if ms >= secs_ms && total_ops() >= p.min_ops {
                break;
            }
            if ms >= CAP_MS {
                too_slow = true;
                break;
            }
        }

        // Stop, and wait until nothing is left.
        drop(stopper);
        drivers.flush()?;
        drop(ticking);
        // Back to the CPUs of the start (errors: already so).
        for c in 1..sh.cpus {
            let _ = if online_before.contains(&c) {
                cpu::bring_online(c)
            } else {
                cpu::take_offline(c)
            };
        }
        // Each round waits on events (every item's flush, every owned queue's drain); the books
        // of the whole run (runs begun and done, boxed items home, closures run) announce
        // nothing, so rounds go on until they balance.
        let quiet = wait_for(QUIET_MS, || {
            sh.settle_all();
            sh.quiet()
        });
        let ms = t0.elapsed().as_millis();
        print_figures(seed, ms);

        // The books, item by item.
        let mut unbalanced = 0;
        let (mut queued, mut ran, mut cancelled) = (0u64, 0u64, 0u64);
        sh.each_books(|b| {
            queued += b.queued.load(Relaxed);
            ran += b.ran.load(Relaxed);
            cancelled += b.cancelled.load(Relaxed);
            if !b.balanced() {
                unbalanced += 1;
                pr_err!(
                    "    # unbalanced item: queued {}, ran {}, cancelled {}\n",
                    b.queued.load(Relaxed),
                    b.ran.load(Relaxed),
                    b.cancelled.load(Relaxed)
                );
            }
        });
        let boxes_home = [
            sh.boxes.lock().iter().filter(|b| b.is_some()).count(),
            sh.boxes_later.lock().iter().filter(|b| b.is_some()).count(),
            sh.boxes_kernel
                .lock()
                .iter()
                .filter(|b| b.is_some())
                .count(),
        ];
        let mut boxes_unbalanced = 0;
        let mut boxed = |b: &Books| {
            queued += b.queued.load(Relaxed);
            ran += b.ran.load(Relaxed);
            boxes_unbalanced += u32::from(!b.balanced());
        };
        sh.boxes
            .lock()
            .iter()
            .flatten()
            .for_each(|b| boxed(&b.books));
        sh.boxes_later
            .lock()
            .iter()
            .flatten()
            .for_each(|b| boxed(&b.books));
        sh.boxes_kernel
            .lock()
            .iter()
            .flatten()
            .for_each(|b| boxed(&b.books));
        pr_info!(
            "    # items: queued {queued} = ran {ran} + cancelled {cancelled}; closures queued {} \
             ran {}; boxed items home {:?} of {:?}\n",
            CLOSURES_QUEUED.load(Relaxed),
            CLOSURES_RAN.load(Relaxed),
            boxes_home,
            N_BOXES
        );

        // Everything goes: the queues (drained and destroyed here), then the items.
        drop(drivers);
        drop(ticker);
        let taken = SHARED.take()?;
        drop(taken);
        drop(shared);
        let created = CREATED.load(Relaxed) - created_before;
        let dropped = DROPPED.load(Relaxed) - dropped_before;
        pr_info!(
            "    # {created} items, closures and scope closures made, {dropped} dropped; \
             violations {} {} {} {}\n",
            read(&VIOLATIONS, 0),
            read(&VIOLATIONS, 1),
            read(&VIOLATIONS, 2),
            read(&VIOLATIONS, 3)
        );

        if too_slow {
            pr_err!(
                "    # too slow to finish: {} of {} operations in {} s\n",
                total_ops(),
                p.min_ops,
                CAP_MS / 1000
            );
        }
        assert!(!too_slow);
        assert!(quiet);
        assert_eq!(unbalanced, 0);
        assert_eq!(boxes_unbalanced, 0);
        assert_eq!(boxes_home, N_BOXES);
        assert_eq!(CLOSURES_QUEUED.load(Relaxed), CLOSURES_RAN.load(Relaxed));
        assert_eq!(created, dropped);
        for v in 0..N_VIOL {
            assert_eq!(read(&VIOLATIONS, v), 0);
        }
        for op in Op::ALL {
            let i = op as usize;
            assert!(read(&OPS_OK, i) + read(&OPS_ERR, i) + read(&OPS_SKIP, i) > 0);
        }
        for ctx in Ctx::ALL {
            assert!(read(&CTX_OPS, ctx as usize) > 0);
        }
        Ok(())
    }
}
