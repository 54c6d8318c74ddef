// SPDX-License-Identifier: GPL-2.0

//! rust_wq_bench: instructions per operation of rust_wq against a C twin (`bench_c.c`) doing the
//! same work through the C API, and the in-tree `kernel::workqueue` where it can, in one boot.
//!
//! Run by `make bench` on the benchmark kernel (-O2, no debug options) under QEMU with
//! `-icount shift=0`: one guest nanosecond is one instruction. Every work function calls the same
//! C body and every wait and clock read goes through the same C helpers. Per scenario: one
//! discarded warm-up round per implementation, then `ROUNDS` rounds in alternating order
//! (C, rust_wq, in-tree; then reversed), each after a short sleep and `rcu_barrier()`, the driver
//! pinned to CPU 0. Prints figures; asserts nothing.

use core::mem::size_of;
use kernel::{
    prelude::*,
    sync::{
        rcu,
        Arc, //
    },
    time::{
        delay::fsleep,
        Delta, //
    },
};

#[path = "../rust_wq/lib.rs"]
pub mod rust_wq;

use rust_wq::{
    DelayedWork,
    DelayedWorkOps,
    OwnedQueue,
    Work,
    WorkItem,
    WorkOps, //
};

module! {
    type: rust_wq::Drained<RustWqBench>,
    name: "rust_wq_bench",
    authors: ["rust_wq developers"],
    description: "rust_wq against a C twin and kernel::workqueue, instruction counts",
    license: "GPL",
}

/// The C side: helpers shared by every implementation, and the C twin's scenarios.
#[repr(C)]
struct RawCtx {
    _opaque: [u8; 0],
}

extern "C" {
    fn rwq_ctx_new() -> *mut RawCtx;
    fn rwq_ctx_free(c: *mut RawCtx);
    fn rwq_ctx_arm(c: *mut RawCtx, n: c_int);
    fn rwq_ctx_wait(c: *mut RawCtx);
    fn rwq_body(c: *mut RawCtx);
    fn rwq_now() -> u64;
    fn rwq_preempt_off();
    fn rwq_preempt_on();
    fn rwq_pin_cpu0() -> c_int;
    fn rwq_fifo(on: bool);
    fn rwq_calibrate() -> u64;
    fn rwq_c_ping(queue: c_int, n: c_int) -> u64;
    fn rwq_c_burst(max_active: c_int, n: c_int) -> u64;
    fn rwq_c_pending(queue: c_int, n: c_int) -> u64;
    fn rwq_c_queue_cancel(n: c_int) -> u64;
    fn rwq_c_idle(flush: c_int, n: c_int) -> u64;
    fn rwq_c_delayed(queue: c_int, n: c_int) -> u64;
    fn rwq_c_create_destroy(n: c_int) -> u64;
    fn rwq_c_xping(cpu: c_int, n: c_int) -> u64;
    fn rwq_c_burst4(cpus: c_int, n: c_int) -> u64;
}

/// The completion shared by the items of one measurement (a C `struct rwq_ctx`).
struct Ctx(*mut RawCtx);

// SAFETY: The C context is an atomic counter and a completion, both usable from any thread.
unsafe impl Send for Ctx {}
// SAFETY: As above.
unsafe impl Sync for Ctx {}

impl Ctx {
    fn new() -> Result<Self> {
        // SAFETY: Allocates and initialises a context, or returns NULL.
        let c = unsafe { rwq_ctx_new() };
        if c.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self(c))
    }

    fn arm(&self, n: u32) {
        // SAFETY: `self.0` is a live context.
        unsafe { rwq_ctx_arm(self.0, n as c_int) }
    }

    fn wait(&self) {
        // SAFETY: `self.0` is a live context.
        unsafe { rwq_ctx_wait(self.0) }
    }

    fn hit(&self) {
        // SAFETY: `self.0` is a live context.
        unsafe { rwq_body(self.0) }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        // SAFETY: `self.0` came from `rwq_ctx_new` and nobody uses it any more.
        unsafe { rwq_ctx_free(self.0) }
    }
}

fn now() -> u64 {
    // SAFETY: Reads the clock.
    unsafe { rwq_now() }
}

/// A plain rust_wq item.
#[pin_data]
struct Ours {
    ctx: Arc<Ctx>,
    #[pin]
    work: Work<Ours>,
}

impl_has_work! { impl HasWork<Self> for Ours { self.work } }

impl WorkItem for Ours {
    type Pointer = Arc<Ours>;

    fn run(this: Arc<Ours>) {
        this.ctx.hit();
    }
}

impl Ours {
    fn new(ctx: &Arc<Ctx>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { ctx: ctx.clone(), work <- new_work!("Ours::work") }),
            GFP_KERNEL,
        )
    }
}

/// A delayed rust_wq item.
#[pin_data]
struct OursD {
    ctx: Arc<Ctx>,
    #[pin]
    dwork: DelayedWork<OursD>,
}

impl_has_delayed_work! { impl HasDelayedWork<Self> for OursD { self.dwork } }

impl WorkItem for OursD {
    type Pointer = Arc<OursD>;

    fn run(this: Arc<OursD>) {
        this.ctx.hit();
    }
}

/// An item of the in-tree `kernel::workqueue`.
#[pin_data]
struct InTree {
    ctx: Arc<Ctx>,
    #[pin]
    work: kernel::workqueue::Work<InTree>,
}

kernel::impl_has_work! { impl HasWork<Self> for InTree { self.work } }

impl kernel::workqueue::WorkItem for InTree {
    type Pointer = Arc<InTree>;

    fn run(this: Arc<InTree>) {
        this.ctx.hit();
    }
}

impl InTree {
    fn new(ctx: &Arc<Ctx>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { ctx: ctx.clone(), work <- kernel::new_work!("InTree::work") }),
            GFP_KERNEL,
        )
    }
}

/// Which queue a scenario uses: an owned per-CPU queue, or `system_percpu`.
#[derive(Clone, Copy, PartialEq)]
enum Q {
    Owned,
    System,
}

fn owned(max_active: u32) -> Result<OwnedQueue> {
    let b = OwnedQueue::percpu();
    if max_active == 0 {
        b.build(c"rwq_r")
    } else {
        b.max_active(max_active).build(c"rwq_r")
    }
}

/// Ping-pong: `enqueue` one item and wait for it to run, `n` times.
#[inline(always)]
fn ping_loop(n: u32, enqueue: impl Fn(Arc<Ours>)) -> Result<u64> {
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = Ours::new(&ctx)?;
    let t0 = now();
    for _ in 0..n {
        ctx.arm(1);
        enqueue(it.clone());
        ctx.wait();
    }
    let t = now() - t0;
    it.flush()?;
    Ok(t)
}

fn r_ping(q: Q, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    match q {
        Q::Owned => ping_loop(n, |it| drop(oq.enqueue(it))),
        Q::System => ping_loop(n, |it| drop(rust_wq::system_percpu().enqueue(it))),
    }
}

/// Ping-pong across CPUs: the driver (on CPU 0) queues on `cpu`'s pool.
fn r_xping(cpu: u32, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    ping_loop(n, |it| drop(oq.enqueue_on(cpu, it)))
}

fn it_ping(n: u32) -> Result<u64> {
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = InTree::new(&ctx)?;
    let t0 = now();
    for _ in 0..n {
        ctx.arm(1);
        let _ = kernel::workqueue::system().enqueue(it.clone());
        ctx.wait();
    }
    Ok(now() - t0)
}

/// A burst: `enqueue` (given each item's index) `n` items with preemption off, then wait for
/// all of them.
#[inline(always)]
fn burst_loop(n: u32, enqueue: impl Fn(u32, Arc<Ours>)) -> Result<u64> {
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let mut items = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    for _ in 0..n {
        items.push(Ours::new(&ctx)?, GFP_KERNEL)?;
    }
    ctx.arm(n);
    let t0 = now();
    // SAFETY: Paired below; nothing in between sleeps.
    unsafe { rwq_preempt_off() };
    for (i, it) in items.iter().enumerate() {
        enqueue(i as u32, it.clone());
    }
    // SAFETY: Paired above.
    unsafe { rwq_preempt_on() };
    ctx.wait();
    Ok(now() - t0)
}

fn r_burst(max_active: u32, n: u32) -> Result<u64> {
    let oq = owned(max_active)?;
    burst_loop(n, |_, it| drop(oq.enqueue(it)))
}

/// A burst spread over CPUs 0 .. `cpus` - 1.
fn r_burst4(cpus: u32, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    burst_loop(n, |i, it| drop(oq.enqueue_on(i % cpus, it)))
}

/// A pending item enqueued again: by reference (`enqueue_cloned`, no reference taken), or by
/// value (`enqueue(it.clone())`, the clone handed back and dropped).
fn r_pending(q: Q, by_value: bool, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let sq = rust_wq::system_percpu();
    match (q, by_value) {
        (Q::Owned, false) => pending_loop(n, |p| oq.enqueue_cloned(p).is_ok()),
        (Q::Owned, true) => pending_loop(n, |p| oq.enqueue(p.clone()).is_ok()),
        (Q::System, false) => pending_loop(n, |p| sq.enqueue_cloned(p).is_ok()),
        (Q::System, true) => pending_loop(n, |p| sq.enqueue(p.clone()).is_ok()),
    }
}

/// The loop of [`r_pending`], one copy per way of enqueueing.
#[inline(always)]
fn pending_loop(n: u32, enqueue: impl Fn(&Arc<Ours>) -> bool) -> Result<u64> {
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = Ours::new(&ctx)?;
    ctx.arm(1);
    // SAFETY: Paired below; nothing in between sleeps (refused enqueues do not).
    unsafe { rwq_preempt_off() };
    enqueue(&it);
    let t0 = now();
    for _ in 0..n {
        enqueue(&it);
    }
    let t = now() - t0;
    // SAFETY: Paired above.
    unsafe { rwq_preempt_on() };
    ctx.wait();
    it.flush()?;
    Ok(t)
}

fn it_pending(n: u32) -> Result<u64> {
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = InTree::new(&ctx)?;
    ctx.arm(1);
    // SAFETY: Paired below; nothing in between sleeps.
    unsafe { rwq_preempt_off() };
    let _ = kernel::workqueue::system().enqueue(it.clone());
    let t0 = now();
    for _ in 0..n {
        let _ = kernel::workqueue::system().enqueue(it.clone());
    }
    let t = now() - t0;
    // SAFETY: Paired above.
    unsafe { rwq_preempt_on() };
    ctx.wait();
    Ok(t)
}

fn r_queue_cancel(n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = Ours::new(&ctx)?;
    // SAFETY: Paired below; nothing in between sleeps.
    unsafe { rwq_preempt_off() };
    let t0 = now();
    for _ in 0..n {
        let _ = oq.enqueue(it.clone());
        drop(it.cancel());
    }
    let t = now() - t0;
    // SAFETY: Paired above.
    unsafe { rwq_preempt_on() };
    Ok(t)
}

fn r_idle(flush: bool, n: u32) -> Result<u64> {
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = Ours::new(&ctx)?;
    let t0 = now();
    for _ in 0..n {
        if flush {
            let _ = it.flush();
        } else {
            let _ = it.cancel_sync();
        }
    }
    Ok(now() - t0)
}

fn r_delayed(q: Q, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = Arc::pin_init(
        pin_init!(OursD { ctx: ctx.clone(), dwork <- new_delayed_work!("OursD::dwork") }),
        GFP_KERNEL,
    )?;
    let t0 = now();
    for _ in 0..n {
        let _ = match q {
            Q::Owned => oq.enqueue_delayed(it.clone(), 1000),
            Q::System => rust_wq::system_percpu().enqueue_delayed(it.clone(), 1000),
        };
        drop(DelayedWorkOps::cancel(&*it));
    }
    Ok(now() - t0)
}

fn r_create_destroy(n: u32) -> Result<u64> {
    let t0 = now();
    for _ in 0..n {
        drop(OwnedQueue::percpu().build(c"rwq_r_cd")?);
    }
    Ok(now() - t0)
}

/// `n` calls of `f` with preemption off, in nanoseconds (instructions).
#[inline(always)]
fn blocks(n: u32, f: impl Fn()) -> Result<u64> {
    // SAFETY: Paired below; `f` does not sleep.
    unsafe { rwq_preempt_off() };
    let t0 = now();
    for _ in 0..n {
        f();
    }
    let t = now() - t0;
    // SAFETY: Paired above.
    unsafe { rwq_preempt_on() };
    Ok(t)
}

/// Prints what one building block of rust_wq's paths costs, over an empty loop.
fn block_row(name: &str, m: &[(u64, u64)]) {
    pr_info!("  {:<46} {:>4}\n", name, m[1].0.saturating_sub(m[0].0));
}

fn building_blocks() -> Result {
    const N: u32 = 1000;
    let ctx = Arc::new(Ctx::new()?, GFP_KERNEL)?;
    let it = Ours::new(&ctx)?;
    let word = kernel::sync::atomic::Atomic::<u64>::new(0);
    let empty = |n| blocks(n, || core::hint::black_box(()));
    pr_info!("building blocks (instructions each, over an empty loop):\n");
    let m = measure(
        N,
        3,
        &[&empty, &|n| {
            blocks(n, || {
                core::hint::black_box(word.load(kernel::sync::atomic::Relaxed));
            })
        }],
    )?;
    block_row("kernel Atomic load (a C helper call)", &m);
    let m = measure(
        N,
        3,
        &[&empty, &|n| {
            blocks(n, || drop(core::hint::black_box(rcu::read_lock())))
        }],
    )?;
    block_row("rcu::read_lock + unlock", &m);
    let m = measure(
        N,
        3,
        &[&empty, &|n| {
            blocks(n, || {
                core::hint::black_box(rust_wq::testing::gate_round_trip());
            })
        }],
    )?;
    block_row("unload gate (enter + leave)", &m);
    let m = measure(
        N,
        3,
        &[&empty, &|n| {
            blocks(n, || drop(core::hint::black_box(it.clone())))
        }],
    )?;
    block_row("Arc clone + drop (refcount_inc, refcount_dec)", &m);
    Ok(())
}

/// One implementation of a scenario: a name and a run of `n` operations returning nanoseconds.
type Run<'a> = &'a dyn Fn(u32) -> Result<u64>;

fn settle() {
    fsleep(Delta::from_millis(2));
    rcu::rcu_barrier();
}

/// Sorts a handful of samples. (core's sort ends in a panic function objtool does not know as
/// one that never returns, and it warns.)
fn sort(v: &mut [u64]) {
    for i in 1..v.len() {
        let mut j = i;
        while j > 0 && v[j - 1] > v[j] {
            v.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// Measures `impls` on `n` operations: returns the median nanoseconds per operation of each and
/// its spread in per mille of the median.
fn measure(n: u32, rounds: usize, impls: &[Run<'_>]) -> Result<KVec<(u64, u64)>> {
    let k = impls.len();
    let mut samples: KVec<KVec<u64>> = KVec::new();
    for _ in 0..k {
        samples.push(KVec::new(), GFP_KERNEL)?;
    }
    for f in impls {
        settle();
        f(n)?;
    }
    for r in 0..rounds {
        for i in 0..k {
            let i = if r % 2 == 0 { i } else { k - 1 - i };
            settle();
            let t = impls[i](n)?;
            samples[i].push(t, GFP_KERNEL)?;
        }
    }
    let mut out = KVec::new();
    for s in samples.iter_mut() {
        sort(s);
        let med = s[s.len() / 2];
        let spread = (s[s.len() - 1] - s[0]) * 1000 / med.max(1);
        out.push((med / u64::from(n), spread), GFP_KERNEL)?;
    }
    Ok(out)
}

/// A target ratio in per mille, printed as a ratio, or `-`.
struct Target(Option<u64>);

impl kernel::fmt::Display for Target {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.0 {
            None => f.pad("-"),
            Some(g) => write!(f, " {}.{:03}", g / 1000, g % 1000),
        }
    }
}

/// Prints one row: C, rust_wq and (if measured) in-tree, per operation, with ratios to C, and
/// whether rust_wq meets its target ratio (per mille), else what the rest is spent on (README,
/// "Benchmarks", has the whole account).
fn row(name: &str, m: &[(u64, u64)], goal: Option<(u64, &str)>) {
    let c = m[0].0.max(1);
    let ratio = |x: u64| x * 1000 / c;
    let r = m[1].0;
    let spread = m.iter().map(|x| x.1).max().unwrap_or(0);
    let (t, tr) = match m.get(2) {
        Some(&(t, _)) => (t, ratio(t)),
        None => (0, 0),
    };
    let verdict = match goal {
        None => "",
        Some((g, _)) if ratio(r) <= g => "  target met",
        Some((_, why)) => why,
    };
    let target = Target(goal.map(|(g, _)| g));
    if m.len() > 2 {
        pr_info!(
            "{:<36} {:>5} {:>7} {:>2}.{:03} {:>7} {:>2}.{:03} {:>4}.{}% {:>6} {}\n",
            name,
            c,
            r,
            ratio(r) / 1000,
            ratio(r) % 1000,
            t,
            tr / 1000,
            tr % 1000,
            spread / 10,
            spread % 10,
            target,
            verdict
        );
    } else {
        pr_info!(
            "{:<36} {:>5} {:>7} {:>2}.{:03} {:>7} {:>6} {:>4}.{}% {:>6} {}\n",
            name,
            c,
            r,
            ratio(r) / 1000,
            ratio(r) % 1000,
            "-",
            "-",
            spread / 10,
            spread % 10,
            target,
            verdict
        );
    }
}

fn c_run(f: unsafe extern "C" fn(c_int, c_int) -> u64, a: c_int) -> impl Fn(u32) -> Result<u64> {
    // SAFETY: The C twin's scenarios may be called from process context with any `n`.
    move |n| Ok(unsafe { f(a, n as c_int) })
}

struct RustWqBench;

impl kernel::Module for RustWqBench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        const ROUNDS: usize = 10;
        // SAFETY: Pins the current task to CPU 0.
        if unsafe { rwq_pin_cpu0() } != 0 {
            pr_warn!("could not pin to CPU 0\n");
        }
        // SAFETY: Reads the clock around a counted loop.
        let cal = unsafe { rwq_calibrate() };
        let per_mille = cal / 20_000;
        pr_info!(
            "calibration: 20000000 instructions took {cal} guest ns ({}.{:03} ns each; \
             figures below are guest ns)\n",
            per_mille / 1000,
            per_mille % 1000
        );
        pr_info!(
            "optimisation: {}\n",
            if cfg!(CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE) {
                "-O2 (CONFIG_CC_OPTIMIZE_FOR_PERFORMANCE)"
            } else {
                "-Os (CONFIG_CC_OPTIMIZE_FOR_SIZE): not a distribution build"
            }
        );
        pr_info!(
            "sizes: Work<T> {} (work_struct {}), DelayedWork<T> {} (delayed_work {}), \
             OwnedQueue {} + Arc<QueueCore> {} + per-CPU counters 16 per CPU\n",
            size_of::<Work<Ours>>(),
            size_of::<kernel::bindings::work_struct>(),
            size_of::<DelayedWork<OursD>>(),
            size_of::<kernel::bindings::delayed_work>(),
            size_of::<OwnedQueue>(),
            rust_wq::testing::QUEUE_CORE_SIZE + 8,
        );
        pr_info!(
            "{:<36} {:>5} {:>7} {:>6} {:>7} {:>6} {:>7} {:>6} {}\n",
            "instructions per operation",
            "C",
            "rust_wq",
            "rust/C",
            "in-tree",
            "tree/C",
            "spread",
            "target",
            "or where the rest goes (README)"
        );
        let m = measure(
            200,
            ROUNDS,
            &[&c_run(rwq_c_ping, 0), &|n| r_ping(Q::Owned, n)],
        )?;
        row(
            "ping-pong, owned per-CPU queue",
            &m,
            Some((1020, "gate, Arc")),
        );
        let m = measure(
            200,
            ROUNDS,
            &[&c_run(rwq_c_ping, 1), &|n| r_ping(Q::System, n), &it_ping],
        )?;
        row("ping-pong, system_percpu", &m, Some((1020, "gate, Arc")));
        for ma in [1u32, 8, 256] {
            let m = measure(
                1000,
                ROUNDS,
                &[&c_run(rwq_c_burst, ma as c_int), &|n| r_burst(ma, n)],
            )?;
            let name = match ma {
                1 => "burst 1000, max_active 1",
                8 => "burst 1000, max_active 8",
                _ => "burst 1000, max_active 256",
            };
            row(name, &m, Some((1020, "gate, Arc")));
        }
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_pending, 0), &|n| r_pending(Q::Owned, false, n)],
        )?;
        row("pending item: enqueue_cloned, owned", &m, Some((1500, "")));
        let m = measure(
            1000,
            ROUNDS,
            &[
                &c_run(rwq_c_pending, 1),
                &|n| r_pending(Q::System, false, n),
                &it_pending,
            ],
        )?;
        row("pending item: enqueue_cloned, system", &m, Some((1500, "")));
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_pending, 0), &|n| r_pending(Q::Owned, true, n)],
        )?;
        row(
            "pending item: enqueue(clone), owned",
            &m,
            Some((1500, "the clone: use enqueue_cloned")),
        );
        let m = measure(
            1000,
            ROUNDS,
            &[&|n| c_run(rwq_c_queue_cancel_2, 0)(n), &r_queue_cancel],
        )?;
        row("queue + cancel", &m, Some((1020, "gate, Arc")));
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_idle_2, 0), &|n| r_idle(false, n)],
        )?;
        row(
            "cancel_sync of an idle item",
            &m,
            Some((1020, "context checks")),
        );
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_idle_2, 1), &|n| r_idle(true, n)],
        )?;
        row("flush of an idle item", &m, Some((1020, "context checks")));
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_delayed, 0), &|n| r_delayed(Q::Owned, n)],
        )?;
        row(
            "delayed arm + cancel, owned",
            &m,
            Some((1020, "gate, arm lock")),
        );
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_delayed, 1), &|n| r_delayed(Q::System, n)],
        )?;
        row(
            "delayed arm + cancel, system",
            &m,
            Some((1020, "gate, arm lock")),
        );
        pr_info!("across CPUs (instructions of every CPU, idle ones excluded):\n");
        let m = measure(200, ROUNDS, &[&c_run(rwq_c_xping, 1), &|n| r_xping(1, n)])?;
        row("ping-pong, CPU 0 -> CPU 1, owned", &m, None);
        let m = measure(
            1000,
            ROUNDS,
            &[&c_run(rwq_c_burst4, 4), &|n| r_burst4(4, n)],
        )?;
        row("burst 1000 over 4 CPUs, owned", &m, None);
        building_blocks()?;
        // SAFETY: Switches the current task's policy; undone below.
        unsafe { rwq_fifo(true) };
        let m = measure(
            20,
            ROUNDS,
            &[&c_run(rwq_c_create_destroy_2, 0), &r_create_destroy],
        )?;
        // SAFETY: Undoes the above.
        unsafe { rwq_fifo(false) };
        row(
            "queue create + destroy (SCHED_FIFO)",
            &m,
            Some((1020, "per-CPU counters, registry")),
        );
        Ok(Self)
    }
}

/// Adapters to the `(int, int)` shape of `c_run`.
extern "C" fn rwq_c_queue_cancel_2(_a: c_int, n: c_int) -> u64 {
    // SAFETY: The C twin may be called from process context with any `n`.
    unsafe { rwq_c_queue_cancel(n) }
}

extern "C" fn rwq_c_idle_2(flush: c_int, n: c_int) -> u64 {
    // SAFETY: The C twin may be called from process context with any `n`.
    unsafe { rwq_c_idle(flush, n) }
}

extern "C" fn rwq_c_create_destroy_2(_a: c_int, n: c_int) -> u64 {
    // SAFETY: The C twin may be called from process context with any `n`.
    unsafe { rwq_c_create_destroy(n) }
}
