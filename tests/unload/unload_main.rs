// SPDX-License-Identifier: GPL-2.0

//! rust_wq_unload: a module that is unloaded with work pending everywhere.
//!
//! `make check` loads and unloads it many times. Each load leaves behind, on every system queue
//! and on owned queues: plain items, delayed items armed from 0 to 60 seconds (some on a chosen
//! CPU), boxed items, static items (`declare_work!`, in the module's own memory), RCU items in
//! their grace period, items that are running (sleeping) at unload, items that requeue
//! themselves forever (a static one, and one that does so through a grace period each time),
//! an owned queue kept alive by a cycle through its own armed item, an owned
//! queue that is leaked outright, and in-tree `kernel::workqueue` items queued through rust_wq
//! that requeue themselves forever through `kernel::workqueue` alone (one queued at exit), and
//! `try_spawn!` closures (module code in a box) on every system queue and on the owned, cyclic
//! and leaked queues, one sleeping at unload and one that spawns itself again from its run. A
//! kworker that ran any of them after the module's text was freed would fault (a splat, which
//! fails the run); `rmmod` that waited forever would hang it.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
    },
    time::{
        delay::fsleep,
        Delta, //
    },
    workqueue as kw,
};

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

use rust_wq::{
    DelayedWork,
    OwnedQueue,
    Queue,
    RcuWork,
    Unbound,
    Work,
    WorkItem, //
};

module! {
    type: rust_wq::Drained<RustWqUnload>,
    name: "rust_wq_unload",
    authors: ["rust_wq developers"],
    description: "Unloaded with rust_wq work pending everywhere",
    license: "GPL",
    params: {
        cycle: u32 {
            default: 0,
            description: "Which load this is (varies the delays)",
        },
    },
}

/// Runs counted; the unload must leave none running.
static RUNS: Atomic<u32> = Atomic::new(0);

/// What a [`Plain`] item does.
#[derive(Clone, Copy)]
enum What {
    Nothing,
    /// Sleeps 20 ms: running when the module is unloaded.
    Sleep,
    /// Requeues itself on `system_percpu` every run, forever (until refused).
    Chain,
}

#[pin_data]
struct Plain {
    what: What,
    #[pin]
    work: Work<Plain>,
}

impl_has_work! { impl HasWork<Self> for Plain { self.work } }

impl Plain {
    fn new(what: What) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { what, work <- new_work!("Plain::work") }),
            GFP_KERNEL,
        )
    }

    /// For BH queues: lockdep needs softirq items in a class of their own.
    fn new_bh() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { what: What::Nothing, work <- new_work!("Plain::work (BH)") }),
            GFP_KERNEL,
        )
    }
}

impl WorkItem for Plain {
    type Pointer = Arc<Plain>;

    fn run(this: Arc<Plain>) {
        RUNS.add(1, Relaxed);
        match this.what {
            What::Nothing => {}
            What::Sleep => fsleep(Delta::from_millis(20)),
            What::Chain => {
                fsleep(Delta::from_millis(1));
                // Refused (`ESHUTDOWN`) once the module is being unloaded: the chain ends.
                let _ = rust_wq::system_percpu().enqueue(this);
            }
        }
    }
}

#[pin_data]
struct Boxed {
    #[pin]
    work: Work<Boxed>,
}

impl_has_work! { impl HasWork<Self> for Boxed { self.work } }

impl WorkItem for Boxed {
    type Pointer = Pin<KBox<Boxed>>;

    fn run(_this: Pin<KBox<Boxed>>) {
        RUNS.add(1, Relaxed);
        fsleep(Delta::from_millis(5));
    }
}

/// A delayed item; it may hold the owned queue it is armed on (a reference cycle).
#[pin_data]
struct Later {
    keeps: Option<Arc<OwnedQueue<Unbound>>>,
    #[pin]
    dwork: DelayedWork<Later>,
}

impl_has_delayed_work! { impl HasDelayedWork<Self> for Later { self.dwork } }

impl Later {
    fn new(keeps: Option<Arc<OwnedQueue<Unbound>>>) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { keeps, dwork <- new_delayed_work!("Later::dwork") }),
            GFP_KERNEL,
        )
    }

    /// For BH queues, as [`Plain::new_bh`].
    fn new_bh() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { keeps: None, dwork <- new_delayed_work!("Later::dwork (BH)") }),
            GFP_KERNEL,
        )
    }
}

impl WorkItem for Later {
    type Pointer = Arc<Later>;

    fn run(_this: Arc<Later>) {
        RUNS.add(1, Relaxed);
    }
}

/// An RCU item; with `chain`, it requeues itself through a grace period on every run.
#[pin_data]
struct Deferred {
    chain: bool,
    #[pin]
    rwork: RcuWork<Deferred>,
}

impl_has_rcu_work! { impl HasRcuWork<Self> for Deferred { self.rwork } }

impl Deferred {
    fn new(chain: bool) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { chain, rwork <- new_rcu_work!("Deferred::rwork") }),
            GFP_KERNEL,
        )
    }

    /// For BH queues, as [`Plain::new_bh`].
    fn new_bh() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { chain: false, rwork <- new_rcu_work!("Deferred::rwork (BH)") }),
            GFP_KERNEL,
        )
    }
}

impl WorkItem for Deferred {
    type Pointer = Arc<Deferred>;

    fn run(this: Arc<Deferred>) {
        RUNS.add(1, Relaxed);
        if this.chain {
            // Refused (`ESHUTDOWN`) once the module is being unloaded: the chain ends.
            let _ = rust_wq::system_dfl().enqueue_rcu(this);
        }
    }
}

/// An item of the in-tree `kernel::workqueue`, queued through rust_wq, that requeues itself
/// forever through `kernel::workqueue` alone (a gate rust_wq does not see), after a short sleep.
#[pin_data]
struct InTree {
    #[pin]
    work: kw::Work<InTree>,
}

kernel::impl_has_work! { impl HasWork<Self> for InTree { self.work } }

impl kw::WorkItem for InTree {
    type Pointer = Arc<InTree>;

    fn run(this: Arc<InTree>) {
        RUNS.add(1, Relaxed);
        fsleep(Delta::from_millis(2));
        let _ = kw::system_highpri().enqueue(this);
    }
}

/// The same, owned by a box, requeued on `system_long`.
#[pin_data]
struct InTreeBoxed {
    #[pin]
    work: kw::Work<InTreeBoxed>,
}

kernel::impl_has_work! { impl HasWork<Self> for InTreeBoxed { self.work } }

impl kw::WorkItem for InTreeBoxed {
    type Pointer = Pin<KBox<InTreeBoxed>>;

    fn run(this: Pin<KBox<InTreeBoxed>>) {
        RUNS.add(1, Relaxed);
        fsleep(Delta::from_millis(1));
        kw::system_long().enqueue(this);
    }
}

fn in_tree() -> Result<Arc<InTree>> {
    Arc::pin_init(
        pin_init!(InTree { work <- kw::new_work!("InTree::work") }),
        GFP_KERNEL,
    )
}

struct RustWqUnload {
    _owned: OwnedQueue,
}

impl Drop for RustWqUnload {
    /// At the module's exit (before rust_wq's unload closes the gate), one more in-tree item
    /// that requeues itself forever.
    fn drop(&mut self) {
        if let (Ok(q), Ok(item)) = (Queue::from_kernel(kw::system_highpri()), in_tree()) {
            let _ = q.enqueue_kernel_item(item);
        }
    }
}

/// A static item (`declare_work!`) that requeues itself until the module stops taking work.
fn static_chain() {
    RUNS.add(1, Relaxed);
    fsleep(Delta::from_millis(1));
    let _ = rust_wq::system_percpu().enqueue(&STATIC_CHAIN);
}

/// A static item that is still sleeping when the module goes.
fn static_sleep() {
    RUNS.add(1, Relaxed);
    fsleep(Delta::from_millis(20));
}

/// A static item that counts.
fn static_count() {
    RUNS.add(1, Relaxed);
}

/// A `try_spawn!` closure that spawns itself again until the module stops taking work.
fn spawn_chain() {
    RUNS.add(1, Relaxed);
    fsleep(Delta::from_millis(1));
    let _ = rust_wq::try_spawn!(rust_wq::system_percpu(), GFP_KERNEL, spawn_chain);
}

rust_wq::declare_work!(static STATIC_CHAIN = static_chain);
rust_wq::declare_work!(static STATIC_SLEEP = static_sleep);
rust_wq::declare_work!(static STATIC_OWNED = static_count);

/// Delays in milliseconds; which ones a load uses depends on its cycle number.
const DELAYS: [u32; 8] = [0, 1, 10, 100, 1_000, 5_000, 30_000, 60_000];

fn system_queues() -> [&'static Queue; 10] {
    [
        rust_wq::system_percpu(),
        rust_wq::system_dfl(),
        rust_wq::system_dfl_long(),
        rust_wq::system_highpri(),
        rust_wq::system_long(),
        rust_wq::system_freezable(),
        rust_wq::system_power_efficient(),
        rust_wq::system_freezable_power_efficient(),
        rust_wq::system_bh(),
        rust_wq::system_bh_highpri(),
    ]
}

impl kernel::Module for RustWqUnload {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let cycle = module_parameters::cycle.value() as usize;
        let delay = |i: usize| Delta::from_millis(i64::from(DELAYS[(cycle + i) % DELAYS.len()]));
        let cpus = rust_wq::cpu::online_cpus().count() as u32;
        for (i, q) in system_queues().into_iter().enumerate() {
            let bh = i >= 8;
            let (plain, later, later_on) = if bh {
                (Plain::new_bh()?, Later::new_bh()?, Later::new_bh()?)
            } else {
                (
                    Plain::new(What::Nothing)?,
                    Later::new(None)?,
                    Later::new(None)?,
                )
            };
            q.enqueue(plain)?;
            q.enqueue_delayed(later, delay(i))?;
            if bh {
                // A CPU's timer is refused on BH queues (its CPU could go offline first).
                q.enqueue_delayed(later_on, delay(i + 3))?;
            } else {
                q.enqueue_delayed_on(i as u32 % cpus, later_on, delay(i + 3))?;
            }
            q.enqueue_rcu(if bh {
                Deferred::new_bh()?
            } else {
                Deferred::new(false)?
            })?;
            // BH items must not sleep: no boxed (sleeping) item there.
            if !bh {
                q.enqueue(KBox::pin_init(
                    pin_init!(Boxed { work <- new_work!("Boxed::work") }),
                    GFP_KERNEL,
                )?)?;
            }
        }
        // Closures: on every system queue (counting), one still sleeping at unload, one that
        // spawns itself again forever (until refused).
        for q in system_queues() {
            rust_wq::try_spawn!(q, GFP_KERNEL, || {
                RUNS.add(1, Relaxed);
            })?;
        }
        rust_wq::try_spawn!(rust_wq::system_long(), GFP_KERNEL, || {
            RUNS.add(1, Relaxed);
            fsleep(Delta::from_millis(20));
        })?;
        rust_wq::try_spawn!(rust_wq::system_percpu(), GFP_KERNEL, spawn_chain)?;
        rust_wq::system_long().enqueue(Plain::new(What::Sleep)?)?;
        rust_wq::system_percpu().enqueue(Plain::new(What::Chain)?)?;
        rust_wq::system_dfl().enqueue_rcu(Deferred::new(true)?)?;
        // Static items: in the module's memory, which goes with it.
        rust_wq::system_percpu()
            .enqueue(&STATIC_CHAIN)
            .map_err(|e| e.error())?;
        rust_wq::system_long()
            .enqueue(&STATIC_SLEEP)
            .map_err(|e| e.error())?;
        // Owned by the module: dropped (drained) before the unload drains the rest.
        let owned = OwnedQueue::percpu().build(c"rwq_unload_own")?;
        owned.enqueue(Plain::new(What::Sleep)?)?;
        owned.enqueue(&STATIC_OWNED).map_err(|e| e.error())?;
        owned.enqueue_delayed(Later::new(None)?, delay(5))?;
        owned.enqueue_rcu(Deferred::new(false)?)?;
        rust_wq::try_spawn!(owned, GFP_KERNEL, || {
            RUNS.add(1, Relaxed);
            fsleep(Delta::from_millis(5));
        })?;
        // Kept alive by its own armed item: a cycle that outlives the module's drop.
        let cyclic = Arc::new(OwnedQueue::unbound().build(c"rwq_unload_cyc")?, GFP_KERNEL)?;
        cyclic.enqueue_delayed(Later::new(Some(cyclic.clone()))?, delay(6))?;
        cyclic.enqueue(Plain::new(What::Nothing)?)?;
        cyclic.enqueue_rcu(Deferred::new(false)?)?;
        rust_wq::try_spawn!(cyclic, GFP_KERNEL, || {
            RUNS.add(1, Relaxed);
        })?;
        drop(cyclic);
        // Leaked outright, with an item armed on it.
        let leaked = OwnedQueue::unbound().build(c"rwq_unload_leak")?;
        leaked.enqueue_delayed(Later::new(None)?, delay(7))?;
        leaked.enqueue_rcu(Deferred::new(false)?)?;
        rust_wq::try_spawn!(leaked, GFP_KERNEL, || {
            RUNS.add(1, Relaxed);
        })?;
        core::mem::forget(leaked);
        // In-tree items that requeue themselves forever through `kernel::workqueue` alone.
        Queue::from_kernel(kw::system_highpri())?
            .enqueue_kernel_item(in_tree()?)
            .map_err(|e| e.error())?;
        Queue::from_kernel(kw::system_long())?
            .enqueue_kernel_item(KBox::pin_init(
                pin_init!(InTreeBoxed { work <- kw::new_work!("InTreeBoxed::work") }),
                GFP_KERNEL,
            )?)
            .map_err(|e| e.error())?;
        pr_info!("cycle {cycle}: work pending on every queue\n");
        Ok(Self { _owned: owned })
    }
}
