// SPDX-License-Identifier: GPL-2.0

//! rust_wq_unwrapped: a module that uses rust_wq without wrapping its type in
//! `rust_wq::Drained`, against rust_wq's contract.
//!
//! Nothing such a module queues would be waited for at its unload, so rust_wq refuses all of it:
//! its `init` tries every gated operation (queue allocation of every kind, every form of
//! queueing and arming on the system queues, RCU and static items, in-tree items, `try_spawn!`,
//! `spawn!` in a scope, `work_on_cpu!`, `schedule_on_each_cpu!`). Each must be `EINVAL`, the item
//! handed back or the closure dropped unrun, and nothing may run. It prints one line per check
//! (`check <what>: ok`, or `WRONG` and what it got) and then `not wrapped: N checks, M wrong`;
//! `scripts/guest/unwrapped` turns them into the KTAP document `rust_wq_unwrapped`.

use crate::rust_wq::prelude::*;
use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
    time::Delta,
    workqueue as kw,
};

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

use rust_wq::{
    DelayedWork,
    EnqueueError,
    OwnedQueue,
    Queue,
    RcuWork,
    Work,
    WorkItem, //
};

module! {
    type: RustWqUnwrapped,
    name: "rust_wq_unwrapped",
    authors: ["rust_wq developers"],
    description: "Uses rust_wq without rust_wq::Drained: every gated operation is EINVAL",
    license: "GPL",
}

/// Runs of anything offered: each must stay at zero.
static RUNS: Atomic<u32> = Atomic::new(0);
/// Closures offered and dropped.
static DROPS: Atomic<u32> = Atomic::new(0);
static CHECKS: Atomic<u32> = Atomic::new(0);
static WRONG: Atomic<u32> = Atomic::new(0);

/// Counts one check and prints its line.
fn check(what: &str, ok: bool) {
    CHECKS.add(1, Relaxed);
    if ok {
        pr_info!("check {what}: ok\n");
    } else {
        WRONG.add(1, Relaxed);
        pr_err!("check {what}: WRONG\n");
    }
}

/// Whether a refusal is `EINVAL` and hands back the very item.
fn refused<P: core::ops::Deref>(r: Result<(), EnqueueError<P>>, item: *const P::Target) -> bool {
    match r {
        Ok(()) => false,
        Err(e) => e.error() == EINVAL && core::ptr::eq(&*e.into_item(), item),
    }
}

/// Whether a queue allocation is `EINVAL`.
fn refused_build<T>(r: Result<T>) -> bool {
    matches!(r, Err(e) if e == EINVAL)
}

#[pin_data]
struct Plain {
    #[pin]
    work: Work<Plain>,
}

impl_has_work! { impl HasWork<Self> for Plain { self.work } }

impl WorkItem for Plain {
    type Pointer = Arc<Plain>;

    fn run(_this: Arc<Plain>) {
        RUNS.add(1, Relaxed);
    }
}

#[pin_data]
struct Later {
    #[pin]
    dwork: DelayedWork<Later>,
}

impl_has_delayed_work! { impl HasDelayedWork<Self> for Later { self.dwork } }

impl WorkItem for Later {
    type Pointer = Arc<Later>;

    fn run(_this: Arc<Later>) {
        RUNS.add(1, Relaxed);
    }
}

#[pin_data]
struct Deferred {
    #[pin]
    rwork: RcuWork<Deferred>,
}

impl_has_rcu_work! { impl HasRcuWork<Self> for Deferred { self.rwork } }

impl WorkItem for Deferred {
    type Pointer = Arc<Deferred>;

    fn run(_this: Arc<Deferred>) {
        RUNS.add(1, Relaxed);
    }
}

/// An item of the in-tree `kernel::workqueue`, offered through rust_wq.
#[pin_data]
struct InTree {
    #[pin]
    work: kw::Work<InTree>,
}

kernel::impl_has_work! { impl HasWork<Self> for InTree { self.work } }

impl kw::WorkItem for InTree {
    type Pointer = Arc<InTree>;

    fn run(_this: Arc<InTree>) {
        RUNS.add(1, Relaxed);
    }
}

fn count_run() {
    RUNS.add(1, Relaxed);
}

rust_wq::declare_work!(static STATIC = count_run);

/// Owned by a closure offered; counts its drop.
struct Token;

impl Drop for Token {
    fn drop(&mut self) {
        DROPS.add(1, Relaxed);
    }
}

/// Whether a refused closure was dropped (once more than `before`) and the error is `EINVAL`.
fn closure_refused(r: Result, before: u32) -> bool {
    matches!(r, Err(e) if e == EINVAL) && DROPS.load(Relaxed) == before + 1
}

fn checks() -> Result {
    // Queue allocation, every kind.
    check(
        "OwnedQueue::build (percpu)",
        refused_build(OwnedQueue::percpu().build(c"rwq_unwr_p")),
    );
    check(
        "OwnedQueue::build (unbound)",
        refused_build(OwnedQueue::unbound().build(c"rwq_unwr_u")),
    );
    check(
        "OwnedQueue::build (ordered)",
        refused_build(OwnedQueue::ordered().build(c"rwq_unwr_o")),
    );
    check(
        "OwnedQueue::build (bh)",
        refused_build(OwnedQueue::bh().build(c"rwq_unwr_b")),
    );
    let sys = rust_wq::system_dfl();
    let percpu = rust_wq::system_percpu();
    // Plain queueing, every form the system queues have.
    let p = Arc::pin_init(
        pin_init!(Plain { work <- new_work!("Plain::work") }),
        GFP_KERNEL,
    )?;
    let me: *const Plain = &*p;
    check("enqueue", refused(sys.enqueue(p.clone()), me));
    check("enqueue (percpu)", refused(percpu.enqueue(p.clone()), me));
    check(
        "schedule_work",
        refused(rust_wq::schedule_work(p.clone()), me),
    );
    check("enqueue_on", refused(percpu.enqueue_on(0, p.clone()), me));
    check(
        "enqueue_cloned",
        matches!(sys.enqueue_cloned(&p), Err(e) if e == EINVAL),
    );
    check("nothing pending", !Work::of(&*p).is_pending());
    check(
        "static item",
        matches!(percpu.enqueue(&STATIC), Err(e) if e.error() == EINVAL),
    );
    // Arming, every form.
    let l = Arc::pin_init(
        pin_init!(Later { dwork <- new_delayed_work!("Later::dwork") }),
        GFP_KERNEL,
    )?;
    let me: *const Later = &*l;
    let d = Delta::from_millis(1);
    check(
        "enqueue_delayed",
        refused(sys.enqueue_delayed(l.clone(), d), me),
    );
    check(
        "enqueue_delayed_on",
        refused(percpu.enqueue_delayed_on(0, l.clone(), d), me),
    );
    check(
        "mod_delayed",
        refused(sys.mod_delayed(l.clone(), d).map(|_| ()), me),
    );
    check(
        "mod_delayed_on",
        refused(percpu.mod_delayed_on(0, l.clone(), d).map(|_| ()), me),
    );
    check("nothing armed", !DelayedWork::of(&*l).is_pending());
    // RCU and in-tree items.
    let r = Arc::pin_init(
        pin_init!(Deferred { rwork <- new_rcu_work!("Deferred::rwork") }),
        GFP_KERNEL,
    )?;
    let me: *const Deferred = &*r;
    check("enqueue_rcu", refused(sys.enqueue_rcu(r.clone()), me));
    let k = Arc::pin_init(
        pin_init!(InTree { work <- kw::new_work!("InTree::work") }),
        GFP_KERNEL,
    )?;
    let me: *const InTree = &*k;
    check(
        "enqueue_kernel_item",
        refused(
            Queue::from_kernel(kw::system_highpri())?.enqueue_kernel_item(k),
            me,
        ),
    );
    // Closures: dropped unrun.
    let before = DROPS.load(Relaxed);
    let token = Token;
    let r = rust_wq::try_spawn!(sys, GFP_KERNEL, move || {
        let _token = token;
        RUNS.add(1, Relaxed);
    });
    check("try_spawn!", closure_refused(r, before));
    let before = DROPS.load(Relaxed);
    let token = Token;
    let r = rust_wq::try_spawn!(rust_wq::system_bh(), GFP_KERNEL, move || {
        let _token = token;
        RUNS.add(1, Relaxed);
    });
    check("try_spawn! (bh)", closure_refused(r, before));
    let scoped = rust_wq::scope(|s| {
        let before = DROPS.load(Relaxed);
        let token = Token;
        let r = rust_wq::spawn!(s, GFP_KERNEL, move || {
            let _token = token;
            RUNS.add(1, Relaxed);
        });
        closure_refused(r, before)
    });
    check("spawn! (scope)", matches!(scoped, Ok(true)));
    // Synchronous work on CPUs: refused before anything is queued.
    let r = rust_wq::work_on_cpu!(0, || RUNS.add(1, Relaxed));
    check("work_on_cpu!", matches!(r, Err(e) if e == EINVAL));
    let r = rust_wq::schedule_on_each_cpu!(|_| RUNS.add(1, Relaxed));
    check("schedule_on_each_cpu!", matches!(r, Err(e) if e == EINVAL));
    check("nothing ran", RUNS.load(Relaxed) == 0);
    Ok(())
}

struct RustWqUnwrapped;

impl kernel::Module for RustWqUnwrapped {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        if let Err(e) = checks() {
            check("the items to offer", false);
            pr_err!("errno {}\n", e.to_errno());
        }
        pr_info!(
            "not wrapped: {} checks, {} wrong\n",
            CHECKS.load(Relaxed),
            WRONG.load(Relaxed)
        );
        Ok(Self)
    }
}
