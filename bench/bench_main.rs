// SPDX-License-Identifier: GPL-2.0

//! rust_wq_bench: instructions per operation of rust_wq against a C twin (`bench_c.c`) doing the
//! same work through the C API, and the in-tree `kernel::workqueue` on the same queue where it
//! can, in one boot.
//!
//! Run by `make bench` on the benchmark kernel (-O2, no debug options) under QEMU with
//! `-icount shift=0`: one guest nanosecond is one instruction. Every work function calls the same
//! C body and every wait and clock read goes through the same C helpers. Per scenario: one
//! discarded warm-up round per implementation, then `ROUNDS` rounds in alternating order
//! (C, rust_wq, in-tree; then reversed), each after a short sleep and `rcu_barrier()`, the driver
//! pinned to CPU 0. Items are reused as drivers reuse them: each has been queued and has run
//! before its timed operations (steady state), except in the rows named "first enqueue". The
//! timed loops are written out (macros, not closures), so that nothing but the operation and the
//! C helpers that every implementation shares runs between the clock reads.
//!
//! Prints its figures as Markdown tables, each row with its target ratio (issue #19) and how far
//! it is from it: `make bench` puts them into `docs/benchmarks.md` (`scripts/bench_table.py`).
//! Figures, not a test: it asserts nothing.

use crate::rust_wq::prelude::*;
use core::{
    mem::size_of,
    num::NonZeroU32, //
};
use kernel::{
    bindings,
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
    system_percpu,
    BoxItem,
    DelayedWork,
    OwnedQueue,
    Requeue,
    Work,
    WorkBox,
    WorkItem, //
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
    fn rwq_settle();
    fn rwq_pin_cpu0() -> c_int;
    fn rwq_sched(policy: c_int);
    fn rwq_calibrate() -> u64;
    fn rwq_c_queue_new(max_active: c_int) -> *mut bindings::workqueue_struct;
    fn rwq_c_queue_free(wq: *mut bindings::workqueue_struct);
    fn rwq_c_ping(queue: c_int, cpu: c_int, n: c_int) -> u64;
    fn rwq_c_burst(max_active: c_int, cpus: c_int, mode: c_int, n: c_int) -> u64;
    fn rwq_c_pending(queue: c_int, n: c_int) -> u64;
    fn rwq_c_queue_cancel(n: c_int) -> u64;
    fn rwq_c_idle(flush: c_int, ran: c_int, n: c_int) -> u64;
    fn rwq_c_delayed(queue: c_int, sync: c_int, n: c_int) -> u64;
    fn rwq_c_create_destroy(unbound: c_int, n: c_int) -> u64;
}

/// The completion shared by the items of one measurement (a C `struct rwq_ctx`).
struct Ctx(*mut RawCtx);

// SAFETY: The C context is an atomic counter and a completion, both usable from any thread.
unsafe impl Send for Ctx {}
// SAFETY: As above.
unsafe impl Sync for Ctx {}

impl Ctx {
    fn new() -> Result<Arc<Self>> {
        // SAFETY: Allocates and initialises a context, or returns NULL.
        let c = unsafe { rwq_ctx_new() };
        if c.is_null() {
            return Err(ENOMEM);
        }
        Ok(Arc::new(Self(c), GFP_KERNEL)?)
    }

    #[inline(always)]
    fn arm(&self, n: u32) {
        // SAFETY: `self.0` is a live context.
        unsafe { rwq_ctx_arm(self.0, n as c_int) }
    }

    #[inline(always)]
    fn wait(&self) {
        // SAFETY: `self.0` is a live context.
        unsafe { rwq_ctx_wait(self.0) }
    }

    #[inline(always)]
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

#[inline(always)]
fn now() -> u64 {
    // SAFETY: Reads the clock.
    unsafe { rwq_now() }
}

#[inline(always)]
fn preempt_off() {
    // SAFETY: Paired with `preempt_on` by every caller; nothing in between sleeps.
    unsafe { rwq_preempt_off() }
}

#[inline(always)]
fn preempt_on() {
    // SAFETY: Paired with `preempt_off` by every caller.
    unsafe { rwq_preempt_on() }
}

/// The driver's scheduling policy.
#[derive(Clone, Copy)]
enum Sched {
    /// SCHED_FIFO: the driver preempts a worker that wakes it. Every row but the "waking the
    /// worker" ones: no row then depends on where CFS lets a wakeup preempt.
    Fifo,
    /// SCHED_IDLE: a worker the driver wakes preempts it at once, and the driver never preempts
    /// a worker, which goes to sleep after each item.
    Idle,
    /// SCHED_NORMAL, as the driver was loaded.
    Normal,
}

fn sched(policy: Sched) {
    let p = match policy {
        Sched::Normal => 0,
        Sched::Fifo => 1,
        Sched::Idle => 2,
    };
    // SAFETY: Changes the current task's policy; any process context.
    unsafe { rwq_sched(p) }
}

/// Between an untimed first pass and the timed one (the C twin's `rwq_settle`).
fn settle_short() {
    // SAFETY: Sleeps; called from process context.
    unsafe { rwq_settle() }
}

/// A plain rust_wq item, owned through an `Arc`.
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

impl OursD {
    fn new(ctx: &Arc<Ctx>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { ctx: ctx.clone(), dwork <- new_delayed_work!("OursD::dwork") }),
            GFP_KERNEL,
        )
    }
}

/// An item embedded in storage that lives as long as the module, queued by `&'static`
/// reference: no reference count. Its storage is a pinned box leaked once at load
/// ([`Embedded`]), as a driver leaks (or declares `static`) a fixed number of items.
#[pin_data]
struct Emb {
    ctx: Arc<Ctx>,
    #[pin]
    work: Work<Emb>,
}

impl_has_work! { impl HasWork<Self> for Emb { self.work } }

impl WorkItem for Emb {
    type Pointer = &'static Emb;

    fn run(this: &'static Emb) {
        this.ctx.hit();
    }
}

/// A delayed [`Emb`].
#[pin_data]
struct EmbD {
    ctx: Arc<Ctx>,
    #[pin]
    dwork: DelayedWork<EmbD>,
}

impl_has_delayed_work! { impl HasDelayedWork<Self> for EmbD { self.dwork } }

impl WorkItem for EmbD {
    type Pointer = &'static EmbD;

    fn run(this: &'static EmbD) {
        this.ctx.hit();
    }
}

/// The embedded items of the run, leaked at load (some 70 KiB, once per boot): `EMBEDDED`
/// plain ones and a delayed one, sharing one context.
struct Embedded {
    ctx: Arc<Ctx>,
    items: KVec<&'static Emb>,
    delayed: &'static EmbD,
}

/// How many embedded items there are: the largest burst.
const EMBEDDED: usize = 1000;

impl Embedded {
    fn new() -> Result<Self> {
        let ctx = Ctx::new()?;
        let mut items = KVec::with_capacity(EMBEDDED, GFP_KERNEL)?;
        for _ in 0..EMBEDDED {
            let c = ctx.clone();
            let b = KBox::pin_init(
                pin_init!(Emb { ctx: c, work <- new_work!("Emb::work") }),
                GFP_KERNEL,
            )?;
            items.push(rust_wq::leak_item(b), GFP_KERNEL)?;
        }
        let c = ctx.clone();
        let delayed = rust_wq::leak_item(KBox::pin_init(
            pin_init!(EmbD { ctx: c, dwork <- new_delayed_work!("EmbD::dwork") }),
            GFP_KERNEL,
        )?);
        Ok(Self {
            ctx,
            items,
            delayed,
        })
    }

    fn one(&self) -> &'static Emb {
        self.items[0]
    }
}

/// A driver's state in a [`WorkBox`]: a plain field and a delayed one, queued by reference with
/// no count, cancelled by the box's drop.
#[pin_data]
struct Dev {
    ctx: Arc<Ctx>,
    #[pin]
    work: Work<Dev, 0>,
    #[pin]
    dwork: DelayedWork<Dev, 1>,
}

impl_has_work! { impl HasWork<Self, 0> for Dev { self.work } }
impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Dev { self.dwork } }

impl BoxItem<0> for Dev {
    fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {
        this.ctx.hit();
    }
}

impl BoxItem<1> for Dev {
    fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 1>) {
        this.ctx.hit();
    }
}

/// `EMBEDDED` + 1 boxes of driver state, made at load and dropped at the end of the run, and the
/// queues they go to (each field of a box goes to one queue): the burst's (`max_active` 256) for
/// the first `EMBEDDED`, the default one for the last (queue + cancel, delayed arm + cancel).
struct Boxes {
    ctx: Arc<Ctx>,
    items: KVec<WorkBox<Dev>>,
    burst: OwnedQueue,
    single: OwnedQueue,
}

impl Boxes {
    fn new() -> Result<Self> {
        let ctx = Ctx::new()?;
        let mut items = KVec::with_capacity(EMBEDDED + 1, GFP_KERNEL)?;
        for _ in 0..=EMBEDDED {
            let c = ctx.clone();
            let b = WorkBox::new(
                pin_init!(Dev {
                    ctx: c,
                    work <- new_work!("Dev::work"),
                    dwork <- new_delayed_work!("Dev::dwork"),
                }),
                GFP_KERNEL,
            )?;
            items.push(b, GFP_KERNEL)?;
        }
        Ok(Self {
            ctx,
            items,
            burst: owned(256)?,
            single: owned(0)?,
        })
    }

    fn one(&self) -> &WorkBox<Dev> {
        &self.items[EMBEDDED]
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

/// A C-allocated per-CPU queue (`rwq_c_queue_new`, as the C twin's), for the in-tree API,
/// which cannot allocate one.
struct CQueue(*mut bindings::workqueue_struct);

impl CQueue {
    fn new(max_active: u32) -> Result<Self> {
        // SAFETY: Allocates a queue, or returns NULL.
        let wq = unsafe { rwq_c_queue_new(max_active as c_int) };
        if wq.is_null() {
            return Err(ENOMEM);
        }
        Ok(Self(wq))
    }

    fn tree(&self) -> &kernel::workqueue::Queue {
        // SAFETY: The queue lives until `self` is dropped.
        unsafe { kernel::workqueue::Queue::from_raw(self.0) }
    }
}

impl Drop for CQueue {
    fn drop(&mut self) {
        // SAFETY: From `rwq_c_queue_new`; the in-tree items queued on it are drained by its
        // destruction, and nothing queues on it any more.
        unsafe { rwq_c_queue_free(self.0) }
    }
}

/// `system_percpu_wq` for the in-tree API (which offers only the deprecated `system_wq`).
fn tree_system_percpu() -> &'static kernel::workqueue::Queue {
    // SAFETY: `system_percpu_wq` is set at boot, before modules load, and never freed.
    unsafe { kernel::workqueue::Queue::from_raw(bindings::system_percpu_wq) }
}

/// Which queue a scenario uses: an owned per-CPU queue, or `system_percpu`.
#[derive(Clone, Copy, PartialEq)]
enum Q {
    Owned,
    System,
}

impl Q {
    fn c(self) -> c_int {
        match self {
            Q::Owned => 0,
            Q::System => 1,
        }
    }
}

/// What a burst times: the first queueing of fresh items, or (steady state) the same items
/// queued again after an untimed first pass, all of it or only the queueing.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    First,
    Steady,
    Queueing,
}

impl Mode {
    fn c(self) -> c_int {
        match self {
            Mode::First => 0,
            Mode::Steady => 1,
            Mode::Queueing => 2,
        }
    }
}

fn owned(max_active: u32) -> Result<OwnedQueue> {
    let b = OwnedQueue::percpu();
    if max_active == 0 {
        b.build(c"rwq_r")
    } else {
        b.max_active(max_active).build(c"rwq_r")
    }
}

/// One round trip: arm the context for one item, queue it with `$enqueue`, wait for it to run.
macro_rules! once {
    ($ctx:expr, $enqueue:expr) => {{
        $ctx.arm(1);
        let _ = $enqueue;
        $ctx.wait();
    }};
}

/// Ping-pong: `$n` round trips, after an untimed first one; guest nanoseconds.
macro_rules! ping {
    ($n:expr, $ctx:expr, $enqueue:expr) => {{
        once!($ctx, $enqueue);
        settle_short();
        let t0 = now();
        for _ in 0..$n {
            once!($ctx, $enqueue);
        }
        now() - t0
    }};
}

fn r_ping(q: Q, cpu: Option<u32>, n: u32) -> Result<u64> {
    let ctx = Ctx::new()?;
    let it = Ours::new(&ctx)?;
    let t = match (q, cpu) {
        (Q::Owned, None) => {
            let oq = owned(0)?;
            ping!(n, ctx, oq.enqueue(it.clone()))
        }
        (Q::Owned, Some(cpu)) => {
            let oq = owned(0)?;
            ping!(n, ctx, oq.enqueue_on(cpu, it.clone()))
        }
        (Q::System, _) => ping!(n, ctx, system_percpu().enqueue(it.clone())),
    };
    Work::of(&*it).flush()?;
    Ok(t)
}

fn it_ping(q: Q, n: u32) -> Result<u64> {
    let ctx = Ctx::new()?;
    let it = InTree::new(&ctx)?;
    Ok(match q {
        Q::Owned => {
            let cq = CQueue::new(0)?;
            let wq = cq.tree();
            ping!(n, ctx, wq.enqueue(it.clone()))
        }
        Q::System => {
            let wq = tree_system_percpu();
            ping!(n, ctx, wq.enqueue(it.clone()))
        }
    })
}

/// Ping-pong with an embedded item, queued by reference.
fn e_ping(e: &Embedded, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let (ctx, it) = (&e.ctx, e.one());
    let t = ping!(n, ctx, oq.enqueue(it));
    Work::of(it).flush()?;
    Ok(t)
}

/// A burst: queue every item of `$items` (`$i`, `$it`: its index and a reference to it) with
/// preemption off, then wait for all of them; after an untimed first pass unless `$mode` is
/// `Mode::First`.
macro_rules! burst {
    ($mode:expr, $ctx:expr, $items:expr, $i:pat, $it:ident, $enqueue:expr) => {{
        let n = $items.len() as u32;
        let first = if $mode == Mode::First { 1 } else { 0 };
        let mut t = 0;
        for _ in first..2 {
            settle_short();
            $ctx.arm(n);
            let t0 = now();
            preempt_off();
            for ($i, $it) in $items.iter().enumerate() {
                let _ = $enqueue;
            }
            let tq = now();
            preempt_on();
            $ctx.wait();
            let t1 = now();
            t = if $mode == Mode::Queueing {
                tq - t0
            } else {
                t1 - t0
            };
        }
        t
    }};
}

fn items<T>(n: u32, new: impl Fn() -> Result<Arc<T>>) -> Result<KVec<Arc<T>>> {
    let mut v = KVec::with_capacity(n as usize, GFP_KERNEL)?;
    for _ in 0..n {
        v.push(new()?, GFP_KERNEL)?;
    }
    Ok(v)
}

/// A burst on an owned queue, over CPUs 0 .. `cpus` - 1 with `enqueue_on` (0: `enqueue`).
fn r_burst(max_active: u32, cpus: u32, mode: Mode, n: u32) -> Result<u64> {
    let oq = owned(max_active)?;
    let ctx = Ctx::new()?;
    let its = items(n, || Ours::new(&ctx))?;
    Ok(match NonZeroU32::new(cpus) {
        None => burst!(mode, ctx, its, _, it, oq.enqueue(it.clone())),
        Some(cpus) => burst!(
            mode,
            ctx,
            its,
            i,
            it,
            oq.enqueue_on(i as u32 % cpus, it.clone())
        ),
    })
}

/// A steady-state burst of embedded items on an owned queue, queued by reference.
fn e_burst(e: &Embedded, max_active: u32, n: u32) -> Result<u64> {
    let oq = owned(max_active)?;
    let its = e.items.get(..n as usize).ok_or(EINVAL)?;
    Ok(burst!(Mode::Steady, e.ctx, its, _, it, oq.enqueue(*it)))
}

/// A steady-state burst of `WorkBox` fields on an owned queue (`max_active` 256), by reference.
fn b_burst(b: &Boxes, n: u32) -> Result<u64> {
    let its = b
        .items
        .get(..n.min(EMBEDDED as u32) as usize)
        .ok_or(EINVAL)?;
    Ok(burst!(
        Mode::Steady,
        b.ctx,
        its,
        _,
        it,
        it.enqueue::<0>(&b.burst)
    ))
}

fn it_burst(max_active: u32, mode: Mode, n: u32) -> Result<u64> {
    let cq = CQueue::new(max_active)?;
    let wq = cq.tree();
    let ctx = Ctx::new()?;
    let its = items(n, || InTree::new(&ctx))?;
    Ok(burst!(mode, ctx, its, _, it, wq.enqueue(it.clone())))
}

/// `$n` enqueues of an item that is pending already, after it ran once and was queued again
/// (untimed); preemption off, so that it stays pending.
macro_rules! pending {
    ($n:expr, $ctx:expr, $enqueue:expr) => {{
        once!($ctx, $enqueue);
        settle_short();
        $ctx.arm(1);
        preempt_off();
        let _ = $enqueue;
        let t0 = now();
        for _ in 0..$n {
            let _ = $enqueue;
        }
        let t = now() - t0;
        preempt_on();
        $ctx.wait();
        t
    }};
}

/// A pending item enqueued again: by reference (`enqueue_cloned`, no reference taken), or by
/// value (`enqueue(it.clone())`, the clone handed back and dropped).
fn r_pending(q: Q, by_value: bool, n: u32) -> Result<u64> {
    let ctx = Ctx::new()?;
    let it = Ours::new(&ctx)?;
    let t = match (q, by_value) {
        (Q::Owned, false) => {
            let oq = owned(0)?;
            pending!(n, ctx, oq.enqueue_cloned(&it))
        }
        (Q::Owned, true) => {
            let oq = owned(0)?;
            pending!(n, ctx, oq.enqueue(it.clone()))
        }
        (Q::System, false) => pending!(n, ctx, system_percpu().enqueue_cloned(&it)),
        (Q::System, true) => pending!(n, ctx, system_percpu().enqueue(it.clone())),
    };
    Work::of(&*it).flush()?;
    Ok(t)
}

/// A pending embedded item enqueued again by reference (`EBUSY`, the reference handed back).
fn e_pending(e: &Embedded, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let (ctx, it) = (&e.ctx, e.one());
    let t = pending!(n, ctx, oq.enqueue(it));
    Work::of(it).flush()?;
    Ok(t)
}

/// The in-tree API's only way: `enqueue(it.clone())`, the clone handed back and dropped.
fn it_pending(q: Q, n: u32) -> Result<u64> {
    let ctx = Ctx::new()?;
    let it = InTree::new(&ctx)?;
    Ok(match q {
        Q::Owned => {
            let cq = CQueue::new(0)?;
            let wq = cq.tree();
            pending!(n, ctx, wq.enqueue(it.clone()))
        }
        Q::System => {
            let wq = tree_system_percpu();
            pending!(n, ctx, wq.enqueue(it.clone()))
        }
    })
}

/// `$n` times `$a` then `$b`, after an untimed first time; guest nanoseconds.
macro_rules! pairs {
    ($n:expr, $a:expr, $b:expr) => {{
        let _ = $a;
        let _ = $b;
        let t0 = now();
        for _ in 0..$n {
            let _ = $a;
            let _ = $b;
        }
        now() - t0
    }};
}

/// Queue and cancel before it runs (preemption off), the reference given back and dropped.
fn r_queue_cancel(n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let ctx = Ctx::new()?;
    let it = Ours::new(&ctx)?;
    preempt_off();
    let t = pairs!(n, oq.enqueue(it.clone()), Work::of(&*it).cancel());
    preempt_on();
    Ok(t)
}

/// Queue and cancel an embedded item before it runs (preemption off), by reference.
fn e_queue_cancel(e: &Embedded, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let it = e.one();
    preempt_off();
    let t = pairs!(n, oq.enqueue(it), Work::of(it).cancel());
    preempt_on();
    Ok(t)
}

/// Queue and cancel a `WorkBox` field before it runs (preemption off).
fn b_queue_cancel(b: &Boxes, n: u32) -> Result<u64> {
    let it = b.one();
    preempt_off();
    let t = pairs!(n, it.enqueue::<0>(&b.single), it.cancel::<0>());
    preempt_on();
    Ok(t)
}

/// `cancel_sync` or `flush` of an idle item: one that ran on `system_percpu` before, or one
/// never queued.
fn r_idle(flush: bool, ran: bool, n: u32) -> Result<u64> {
    let ctx = Ctx::new()?;
    let it = Ours::new(&ctx)?;
    if ran {
        once!(ctx, system_percpu().enqueue(it.clone()));
        Work::of(&*it).flush()?;
        settle_short();
    }
    let t0 = now();
    if flush {
        for _ in 0..n {
            let _ = Work::of(&*it).flush();
        }
    } else {
        for _ in 0..n {
            let _ = Work::of(&*it).cancel_sync();
        }
    }
    Ok(now() - t0)
}

/// Arm a delayed item (1000 jiffies) and cancel it, `cancel` or `cancel_sync`.
fn r_delayed(q: Q, sync: bool, n: u32) -> Result<u64> {
    let ctx = Ctx::new()?;
    let it = OursD::new(&ctx)?;
    let t = match (q, sync) {
        (Q::Owned, false) => {
            let oq = owned(0)?;
            pairs!(
                n,
                oq.enqueue_delayed(it.clone(), 1000),
                DelayedWork::of(&*it).cancel()
            )
        }
        (Q::Owned, true) => {
            let oq = owned(0)?;
            pairs!(
                n,
                oq.enqueue_delayed(it.clone(), 1000),
                DelayedWork::of(&*it).cancel_sync()
            )
        }
        (Q::System, false) => pairs!(
            n,
            system_percpu().enqueue_delayed(it.clone(), 1000),
            DelayedWork::of(&*it).cancel()
        ),
        (Q::System, true) => pairs!(
            n,
            system_percpu().enqueue_delayed(it.clone(), 1000),
            DelayedWork::of(&*it).cancel_sync()
        ),
    };
    Ok(t)
}

/// Arm an embedded delayed item (1000 jiffies) on an owned queue and cancel it, by reference.
fn e_delayed(e: &Embedded, n: u32) -> Result<u64> {
    let oq = owned(0)?;
    let it = e.delayed;
    Ok(pairs!(
        n,
        oq.enqueue_delayed(it, 1000),
        DelayedWork::of(it).cancel()
    ))
}

/// Arm a `WorkBox`'s delayed field (1000 jiffies) on an owned queue and cancel it.
fn b_delayed(b: &Boxes, n: u32) -> Result<u64> {
    let it = b.one();
    Ok(pairs!(
        n,
        it.enqueue_delayed::<1>(&b.single, 1000),
        it.cancel_delayed::<1>()
    ))
}

fn r_create_destroy(unbound: bool, n: u32) -> Result<u64> {
    let t0 = now();
    if unbound {
        for _ in 0..n {
            drop(OwnedQueue::unbound().build(c"rwq_r_cd")?);
        }
    } else {
        for _ in 0..n {
            drop(OwnedQueue::percpu().build(c"rwq_r_cd")?);
        }
    }
    Ok(now() - t0)
}

/// `n` calls of `f` with preemption off, in nanoseconds (instructions).
#[inline(always)]
fn blocks(n: u32, f: impl Fn()) -> Result<u64> {
    preempt_off();
    let t0 = now();
    for _ in 0..n {
        f();
    }
    let t = now() - t0;
    preempt_on();
    Ok(t)
}

/// Prints what one building block of rust_wq's paths costs, over an empty loop.
fn block_row(name: &str, m: &[Fig]) {
    pr_info!(
        "| {:<46} | {:>4} |\n",
        name,
        m[1].per_op.saturating_sub(m[0].per_op)
    );
}

fn building_blocks() -> Result {
    const N: u32 = 1000;
    let ctx = Ctx::new()?;
    let it = Ours::new(&ctx)?;
    let word = kernel::sync::atomic::Atomic::<u64>::new(0);
    let empty = |n| blocks(n, || core::hint::black_box(()));
    pr_info!("building blocks of rust_wq's paths, over an empty loop (median of 3 rounds):\n");
    pr_info!("| {:<46} | {:>4} |\n", "", "instructions each");
    pr_info!("|---|---:|\n");
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

/// One implementation of a scenario: a run of `n` operations returning nanoseconds.
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

/// One implementation's figures in a scenario.
#[derive(Clone, Copy)]
struct Fig {
    /// The median over the rounds of its instructions per operation.
    per_op: u64,
    /// The median over the rounds of its time over the first implementation's (C's) in the same
    /// round, per mille: rounds run every implementation back to back, so that a state of the
    /// kernel that drifts across rounds (the workers', the scheduler's) weighs on all alike.
    ratio: u64,
    /// (max - min) / median of those ratios, per mille.
    spread: u64,
}

/// Sorts `s`; its median and its spread ((max - min) / median, per mille).
fn median_spread(s: &mut [u64]) -> (u64, u64) {
    sort(s);
    let med = s[s.len() / 2];
    (med, (s[s.len() - 1] - s[0]) * 1000 / med.max(1))
}

/// Measures `impls` on `n` operations, the first being C's: the figures of each.
fn measure(n: u32, rounds: usize, impls: &[Run<'_>]) -> Result<KVec<Fig>> {
    let k = impls.len();
    let mut samples: KVec<KVec<u64>> = KVec::new();
    for _ in 0..k {
        samples.push(KVec::with_capacity(rounds, GFP_KERNEL)?, GFP_KERNEL)?;
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
    let mut ratios: KVec<KVec<u64>> = KVec::new();
    for s in samples.iter() {
        let mut v = KVec::with_capacity(rounds, GFP_KERNEL)?;
        for (x, c) in s.iter().zip(samples[0].iter()) {
            v.push(x * 1000 / (*c).max(1), GFP_KERNEL)?;
        }
        ratios.push(v, GFP_KERNEL)?;
    }
    let mut out = KVec::new();
    for (s, r) in samples.iter_mut().zip(ratios.iter_mut()) {
        let (med, _) = median_spread(s);
        let (ratio, spread) = median_spread(r);
        out.push(
            Fig {
                per_op: med / u64::from(n),
                ratio,
                spread,
            },
            GFP_KERNEL,
        )?;
    }
    Ok(out)
}

/// A short text formatted in place, for padding (`Formatter::pad`) as one cell.
struct Buf {
    b: [u8; 64],
    n: usize,
}

impl Buf {
    fn new() -> Self {
        Self { b: [0; 64], n: 0 }
    }

    /// A row's name made of parts.
    fn of(args: core::fmt::Arguments<'_>) -> Self {
        let mut b = Self::new();
        let _ = core::fmt::Write::write_fmt(&mut b, args);
        b
    }

    fn as_str(&self) -> &str {
        core::str::from_utf8(&self.b[..self.n]).unwrap_or("?")
    }
}

impl core::fmt::Write for Buf {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        let end = self.n + s.len();
        if end > self.b.len() {
            return Err(core::fmt::Error);
        }
        self.b[self.n..end].copy_from_slice(s.as_bytes());
        self.n = end;
        Ok(())
    }
}

/// One cell of a table: a count, a ratio in per mille, a spread in per mille, or how a ratio
/// stands against its targets; `-` for a figure not measured.
enum Cell {
    Count(Option<u64>),
    Ratio(Option<u64>),
    Spread(Option<u64>),
    /// How far a ratio is from its target(s): met, or by how much it misses each.
    Against {
        ratio: Option<u64>,
        target: Option<u64>,
        tree: Option<u64>,
    },
}

impl kernel::fmt::Display for Cell {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        let mut b = Buf::new();
        let r = match *self {
            Cell::Count(None) | Cell::Ratio(None) => b.write_str("-"),
            Cell::Count(Some(x)) => write!(b, "{x}"),
            Cell::Ratio(Some(x)) => write!(b, "{}.{:03}", x / 1000, x % 1000),
            Cell::Spread(None) => b.write_str("-"),
            Cell::Spread(Some(x)) => write!(b, "{}.{}%", x / 10, x % 10),
            Cell::Against { ratio: None, .. } => b.write_str("-"),
            Cell::Against {
                ratio: Some(r),
                target,
                tree,
            } => against(&mut b, r, target, tree),
        };
        if r.is_err() {
            return f.pad("?");
        }
        f.pad(b.as_str())
    }
}

/// Writes how ratio `r` stands against `target` (both per mille of C) and against the in-tree
/// ratio `tree`: "met" or by how much it misses, for each that applies.
fn against(b: &mut Buf, r: u64, target: Option<u64>, tree: Option<u64>) -> core::fmt::Result {
    use core::fmt::Write;
    let mut sep = "";
    if let Some(g) = target {
        match r.checked_sub(g) {
            Some(o) if o > 0 => write!(b, "+{}.{:03}", o / 1000, o % 1000)?,
            _ => b.write_str("met")?,
        }
        sep = ", ";
    }
    if let Some(t) = tree {
        match r.checked_sub(t) {
            Some(o) if o > 0 => write!(b, "{sep}in-tree +{}.{:03}", o / 1000, o % 1000)?,
            _ => write!(b, "{sep}<= in-tree")?,
        }
        sep = ", ";
    }
    if sep.is_empty() {
        b.write_str("-")?;
    }
    Ok(())
}

/// The targets of issue #19, rust_wq / C in per mille (and, for every row the in-tree API also
/// has, rust_wq at or below it).
mod target {
    pub(super) const PING: u64 = 1010;
    pub(super) const PENDING: u64 = 1000;
    pub(super) const BURST_ARC: u64 = 1120;
    pub(super) const BURST_EMBEDDED: u64 = 1050;
    pub(super) const QUEUE_CANCEL: u64 = 1100;
    pub(super) const IDLE: u64 = 1150;
    pub(super) const DELAYED: u64 = 1250;
    pub(super) const CREATE: u64 = 1200;
}

fn table_header(what: &str) {
    pr_info!(
        "| {:<52} | {:>6} | {:>7} | {:>6} | {:>6} | {:<28} | {:>7} | {:>6} | {:>6} |\n",
        what,
        "C",
        "rust_wq",
        "rust/C",
        "target",
        "against target",
        "in-tree",
        "tree/C",
        "spread"
    );
    pr_info!("|---|---:|---:|---:|---:|---|---:|---:|---:|\n");
}

/// Prints one row from the figures of C, rust_wq (if measured) and in-tree (if measured), in
/// that order in `m` (`rust`: whether `m[1]` is rust_wq's): instructions per operation, ratios to
/// C, how rust_wq stands against `target` (per mille of C) and the in-tree ratio, and the
/// largest spread of the ratios.
fn row(name: &str, m: &[Fig], rust: bool, target: Option<u64>) {
    let c = m[0].per_op;
    let r = if rust { m.get(1) } else { None };
    let t = m.get(if rust { 2 } else { 1 });
    let spread = m.iter().skip(1).map(|x| x.spread).max();
    let rr = r.map(|x| x.ratio);
    let tr = t.map(|x| x.ratio);
    pr_info!(
        "| {:<52} | {:>6} | {:>7} | {:>6} | {:>6} | {:<28} | {:>7} | {:>6} | {:>6} |\n",
        name,
        Cell::Count(Some(c)),
        Cell::Count(r.map(|x| x.per_op)),
        Cell::Ratio(rr),
        Cell::Ratio(target),
        Cell::Against {
            ratio: rr,
            target,
            tree: tr,
        },
        Cell::Count(t.map(|x| x.per_op)),
        Cell::Ratio(tr),
        Cell::Spread(spread),
    );
}

fn sizes() {
    pr_info!("sizes in bytes:\n");
    pr_info!(
        "| {:<28} | {:<22} | {:<54} | {:<24} |\n",
        "",
        "C",
        "rust_wq",
        "in-tree"
    );
    pr_info!("|---|---|---|---|\n");
    pr_info!(
        "| {:<28} | `work_struct` {:<8} | `Work<T>` {:<44} | `Work<T>` {:<14} |\n",
        "work item",
        size_of::<bindings::work_struct>(),
        size_of::<Work<Ours>>(),
        size_of::<kernel::workqueue::Work<InTree>>(),
    );
    pr_info!(
        "| {:<28} | `delayed_work` {:<7} | `DelayedWork<T>` {:<37} | `DelayedWork<T>` {:<7} |\n",
        "delayed work item",
        size_of::<bindings::delayed_work>(),
        size_of::<DelayedWork<OursD>>(),
        size_of::<kernel::workqueue::DelayedWork<InTree>>(),
    );
    pr_info!(
        "| {:<28} | `workqueue_struct *` {:<1} | `OwnedQueue` {:<41} | `&Queue` {:<15} |\n",
        "queue handle",
        size_of::<*mut bindings::workqueue_struct>(),
        size_of::<OwnedQueue>(),
        size_of::<&kernel::workqueue::Queue>(),
    );
    let core = Buf::of(core::format_args!(
        "`Arc<QueueCore>` {}, from its first drain per-CPU counters 16 per CPU",
        rust_wq::testing::QUEUE_CORE_SIZE + 8
    ));
    pr_info!(
        "| {:<28} | {:<22} | {:<54} | {:<24} |\n",
        "a queue's memory besides C's",
        "-",
        core.as_str(),
        "- (no owned queues)",
    );
}

struct RustWqBench;

impl kernel::Module for RustWqBench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        const ROUNDS: usize = 10;
        use target::*;
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
        sizes();
        let emb = Embedded::new()?;
        let boxes = Boxes::new()?;

        sched(Sched::Fifo);
        // SAFETY (of every C twin call below): the C twin's scenarios may be called from
        // process context with any `n`.
        pr_info!(
            "one CPU (the driver's, CPU 0, SCHED_FIFO; SCHED_IDLE where the worker sleeps); \
             medians of {ROUNDS} rounds ({} where the worker sleeps):\n",
            3 * ROUNDS
        );
        table_header("instructions per operation");
        // The worker sleeping after each item, the kernel drifts between states that cost more
        // or fewer instructions per round trip (the spread shows it): more rounds, so that the
        // medians of all three implementations fall in the most frequent one.
        for (policy, how, rounds) in [
            (Sched::Idle, "worker sleeps", 3 * ROUNDS),
            (Sched::Fifo, "worker awake", ROUNDS),
        ] {
            sched(policy);
            for (q, name) in [
                (Q::Owned, "owned per-CPU queue"),
                (Q::System, "system_percpu"),
            ] {
                let m = measure(
                    200,
                    rounds,
                    &[
                        // SAFETY: See above.
                        &|n| Ok(unsafe { rwq_c_ping(q.c(), -1, n as c_int) }),
                        &|n| r_ping(q, None, n),
                        &|n| it_ping(q, n),
                    ],
                )?;
                let b = Buf::of(core::format_args!("ping-pong ({how}), {name}"));
                row(b.as_str(), &m, true, Some(PING));
                if q == Q::Owned {
                    let m = measure(
                        200,
                        rounds,
                        &[
                            // SAFETY: See above.
                            &|n| Ok(unsafe { rwq_c_ping(q.c(), -1, n as c_int) }),
                            &|n| e_ping(&emb, n),
                        ],
                    )?;
                    let b = Buf::of(core::format_args!(
                        "ping-pong ({how}), owned, embedded item"
                    ));
                    row(b.as_str(), &m, true, Some(PING));
                }
            }
            let m = measure(
                200,
                rounds,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_ping(0, 0, n as c_int) }),
                    &|n| r_ping(Q::Owned, Some(0), n),
                ],
            )?;
            let b = Buf::of(core::format_args!(
                "ping-pong ({how}), owned, enqueue_on(CPU 0)"
            ));
            row(b.as_str(), &m, true, Some(PING));
        }
        sched(Sched::Fifo);
        for (ma, name) in [
            (1u32, "burst 1000, max_active 1"),
            (8, "burst 1000, max_active 8"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_burst(ma as c_int, 0, Mode::Steady.c(), n as c_int) }),
                    &|n| r_burst(ma, 0, Mode::Steady, n),
                ],
            )?;
            row(name, &m, true, Some(BURST_ARC));
        }
        for (mode, name) in [
            (Mode::Steady, "burst 1000, max_active 256"),
            (
                Mode::Queueing,
                "burst 1000, max_active 256, queueing phase only",
            ),
            (Mode::First, "burst 1000, max_active 256, first enqueue"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_burst(256, 0, mode.c(), n as c_int) }),
                    &|n| r_burst(256, 0, mode, n),
                    &|n| it_burst(256, mode, n),
                ],
            )?;
            row(name, &m, true, Some(BURST_ARC));
            if mode == Mode::Steady {
                let m = measure(
                    1000,
                    ROUNDS,
                    &[
                        // SAFETY: See above.
                        &|n| Ok(unsafe { rwq_c_burst(256, 0, mode.c(), n as c_int) }),
                        &|n| e_burst(&emb, 256, n),
                    ],
                )?;
                row(
                    "burst 1000, max_active 256, embedded items",
                    &m,
                    true,
                    Some(BURST_EMBEDDED),
                );
                let m = measure(
                    1000,
                    ROUNDS,
                    &[
                        // SAFETY: See above.
                        &|n| Ok(unsafe { rwq_c_burst(256, 0, mode.c(), n as c_int) }),
                        &|n| b_burst(&boxes, n),
                    ],
                )?;
                row(
                    "burst 1000, max_active 256, WorkBox items",
                    &m,
                    true,
                    Some(BURST_EMBEDDED),
                );
            }
        }
        for (q, name) in [
            (Q::Owned, "pending item: enqueue_cloned, owned"),
            (Q::System, "pending item: enqueue_cloned, system_percpu"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_pending(q.c(), n as c_int) }),
                    &|n| r_pending(q, false, n),
                ],
            )?;
            row(name, &m, true, Some(PENDING));
            if q == Q::Owned {
                let m = measure(
                    1000,
                    ROUNDS,
                    &[
                        // SAFETY: See above.
                        &|n| Ok(unsafe { rwq_c_pending(q.c(), n as c_int) }),
                        &|n| e_pending(&emb, n),
                    ],
                )?;
                row(
                    "pending item: embedded, by reference, owned",
                    &m,
                    true,
                    Some(PENDING),
                );
            }
        }
        for (q, name) in [
            (Q::Owned, "pending item: enqueue(clone), owned"),
            (Q::System, "pending item: enqueue(clone), system_percpu"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_pending(q.c(), n as c_int) }),
                    &|n| r_pending(q, true, n),
                    &|n| it_pending(q, n),
                ],
            )?;
            row(name, &m, true, None);
        }
        let m = measure(
            1000,
            ROUNDS,
            &[
                // SAFETY: See above.
                &|n| Ok(unsafe { rwq_c_queue_cancel(n as c_int) }),
                &r_queue_cancel,
            ],
        )?;
        row("queue + cancel, owned", &m, true, Some(QUEUE_CANCEL));
        let m = measure(
            1000,
            ROUNDS,
            &[
                // SAFETY: See above.
                &|n| Ok(unsafe { rwq_c_queue_cancel(n as c_int) }),
                &|n| e_queue_cancel(&emb, n),
            ],
        )?;
        row(
            "queue + cancel, owned, embedded item",
            &m,
            true,
            Some(QUEUE_CANCEL),
        );
        let m = measure(
            1000,
            ROUNDS,
            &[
                // SAFETY: See above.
                &|n| Ok(unsafe { rwq_c_queue_cancel(n as c_int) }),
                &|n| b_queue_cancel(&boxes, n),
            ],
        )?;
        row(
            "queue + cancel, owned, WorkBox item",
            &m,
            true,
            Some(QUEUE_CANCEL),
        );
        for (flush, ran, name) in [
            (false, true, "cancel_sync of an idle item that ran"),
            (true, true, "flush of an idle item that ran"),
            (false, false, "cancel_sync of a never-queued item"),
            (true, false, "flush of a never-queued item"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_idle(flush.into(), ran.into(), n as c_int) }),
                    &|n| r_idle(flush, ran, n),
                ],
            )?;
            row(name, &m, true, Some(IDLE));
        }
        for (q, sync, name) in [
            (Q::Owned, false, "delayed arm + cancel, owned"),
            (Q::System, false, "delayed arm + cancel, system_percpu"),
            (Q::Owned, true, "delayed arm + cancel_sync, owned"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_delayed(q.c(), sync.into(), n as c_int) }),
                    &|n| r_delayed(q, sync, n),
                ],
            )?;
            row(name, &m, true, Some(DELAYED));
            if q == Q::Owned && !sync {
                let m = measure(
                    1000,
                    ROUNDS,
                    &[
                        // SAFETY: See above.
                        &|n| Ok(unsafe { rwq_c_delayed(q.c(), sync.into(), n as c_int) }),
                        &|n| e_delayed(&emb, n),
                    ],
                )?;
                row(
                    "delayed arm + cancel, owned, embedded item",
                    &m,
                    true,
                    Some(DELAYED),
                );
                let m = measure(
                    1000,
                    ROUNDS,
                    &[
                        // SAFETY: See above.
                        &|n| Ok(unsafe { rwq_c_delayed(q.c(), sync.into(), n as c_int) }),
                        &|n| b_delayed(&boxes, n),
                    ],
                )?;
                row(
                    "delayed arm + cancel, owned, WorkBox item",
                    &m,
                    true,
                    Some(DELAYED),
                );
            }
        }
        for (unbound, name) in [
            (false, "queue create + destroy, per-CPU"),
            (true, "queue create + destroy, unbound"),
        ] {
            let m = measure(
                20,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_create_destroy(unbound.into(), n as c_int) }),
                    &|n| r_create_destroy(unbound, n),
                ],
            )?;
            row(name, &m, true, Some(CREATE));
        }

        pr_info!(
            "across CPUs: instructions of every CPU (idle ones excluded), the driver on CPU 0; \
             medians of {ROUNDS} rounds:\n"
        );
        table_header("instructions per operation");
        let m = measure(
            200,
            ROUNDS,
            &[
                // SAFETY: See above.
                &|n| Ok(unsafe { rwq_c_ping(0, 1, n as c_int) }),
                &|n| r_ping(Q::Owned, Some(1), n),
            ],
        )?;
        row(
            "ping-pong, CPU 0 -> CPU 1 (enqueue_on), owned",
            &m,
            true,
            Some(PING),
        );
        for (mode, name) in [
            (Mode::Steady, "burst 1000 over 4 CPUs (enqueue_on), owned"),
            (Mode::First, "burst 1000 over 4 CPUs, first enqueue"),
        ] {
            let m = measure(
                1000,
                ROUNDS,
                &[
                    // SAFETY: See above.
                    &|n| Ok(unsafe { rwq_c_burst(0, 4, mode.c(), n as c_int) }),
                    &|n| r_burst(0, 4, mode, n),
                ],
            )?;
            row(name, &m, true, Some(BURST_ARC));
        }

        building_blocks()?;
        sched(Sched::Normal);
        Ok(Self)
    }
}
