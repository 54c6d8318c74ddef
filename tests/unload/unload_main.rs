// SPDX-License-Identifier: GPL-2.0

//! rust_wq_unload: a module that is unloaded with work pending everywhere.
//!
//! `make check` loads and unloads it many times. Each load leaves behind, on every system queue
//! and on owned queues: plain items, delayed items armed from 0 to 60 seconds (some on a chosen
//! CPU), boxed items, static items (`declare_work!`, in the module's own memory), an item in a
//! leaked box queued, armed and queued after a grace period by `&'static` reference, RCU items in
//! their grace period, items that are running (sleeping) at unload, items that requeue
//! themselves forever (a static one, and one that does so through a grace period each time),
//! an owned queue kept alive by a cycle through its own armed item, an owned
//! queue that is leaked outright, and in-tree `kernel::workqueue` items queued through rust_wq
//! that requeue themselves forever through `kernel::workqueue` alone (one queued at exit), and
//! `try_spawn!` closures (module code in a box) on every system queue and on the owned, cyclic
//! and leaked queues, one sleeping at unload and one that spawns itself again from its run, and
//! `WorkBox`es whose plain and delayed fields queue and arm themselves again forever: one dropped
//! at the module's exit, one dropped there under an RCU read lock (handed to a kworker), one
//! forgotten. A
//! kworker that ran any of them after the module's text was freed would fault (a splat, which
//! fails the run); `rmmod` that waited forever would hang it.
//!
//! One more chain, the [`Prober`], requeues itself until it is refused: that run is one of the
//! unload's, after the module's registry closed, and it tries every gated operation there
//! (queue allocation, every form of queueing and arming, `work_on_cpu!`,
//! `schedule_on_each_cpu!`, `try_spawn!`). Each must be `ESHUTDOWN`, the item handed back or the
//! closure dropped unrun; the prober prints `after the close: N checks, M wrong`, which
//! `scripts/qemu-run.sh` requires with `M` = 0 after every unload. With `fail_init=1` the module's
//! `init` fails after it queued and armed all of the above: the registry must shut down as at
//! an unload (the same line, and nothing runs after the failed load).

use crate::rust_wq::prelude::*;
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, Completion,
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
    BoxItem,
    DelayedWork,
    OwnedQueue,
    Queue,
    RcuWork,
    Requeue,
    Unbound,
    Work,
    WorkBox,
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
        fail_init: u32 {
            default: 0,
            description: "1: init fails (ECANCELED) after queueing and arming everything",
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
    /// Dropped at the exit: cancels its fields and waits.
    _station: WorkBox<Station>,
    /// Dropped at the exit under an RCU read lock: handed to a kworker, which the unload waits for.
    handed: Option<WorkBox<Station>>,
}

impl Drop for RustWqUnload {
    /// At the module's exit (before rust_wq's unload closes the gate), one more in-tree item
    /// that requeues itself forever.
    fn drop(&mut self) {
        if let (Ok(q), Ok(item)) = (Queue::from_kernel(kw::system_highpri()), in_tree()) {
            let _ = q.enqueue_kernel_item(item);
        }
        let rcu = kernel::sync::rcu::read_lock();
        drop(self.handed.take());
        drop(rcu);
    }
}

/// Checks made after the close (by the [`Prober`] and the [`scope_thread`]), and those that
/// went wrong.
static CHECKS: Atomic<u32> = Atomic::new(0);
static WRONG: Atomic<u32> = Atomic::new(0);
/// The checkers (the [`Prober`] and the [`scope_thread`]) not finished: the last one to finish
/// prints the line that `scripts/qemu-run.sh` looks for.
static CHECKERS: Atomic<u32> = Atomic::new(2);

/// Ends one checker's part; the last one prints the verdict line.
fn checker_done() {
    if CHECKERS.fetch_sub(1, Relaxed) == 1 {
        pr_info!(
            "after the close: {} checks, {} wrong\n",
            CHECKS.load(Relaxed),
            WRONG.load(Relaxed)
        );
    }
}

/// Counts one check after the close; a wrong one is named in the log.
fn check(what: &str, ok: bool) {
    CHECKS.add(1, Relaxed);
    if !ok {
        WRONG.add(1, Relaxed);
        pr_err!("after the close: {what}: WRONG\n");
    }
}

/// Whether a refusal after the close is `ESHUTDOWN` and hands back the very item.
fn refused<P: core::ops::Deref>(
    r: Result<(), rust_wq::EnqueueError<P>>,
    item: *const P::Target,
) -> bool {
    match r {
        Ok(()) => false,
        Err(e) => e.error() == ESHUTDOWN && core::ptr::eq(&*e.into_item(), item),
    }
}

/// Counts the runs and the drops of the closures offered after the close: each must be dropped
/// unrun.
static LATE_RUNS: Atomic<u32> = Atomic::new(0);
static LATE_DROPS: Atomic<u32> = Atomic::new(0);

/// Owned by a closure offered after the close; counts its drop.
struct LateToken;

impl Drop for LateToken {
    fn drop(&mut self) {
        LATE_DROPS.add(1, Relaxed);
    }
}

/// A chain on `system_percpu` that requeues itself until it is refused, which happens in the
/// unload's flushes after the registry closed; then it tries every gated operation (see the
/// module's documentation). It holds an owned queue of its own, which the close has destroyed
/// the core of but which its handle still refuses work on.
#[pin_data]
struct Prober {
    queue: Arc<OwnedQueue<Unbound>>,
    #[pin]
    work: Work<Prober>,
}

impl_has_work! { impl HasWork<Self> for Prober { self.work } }

impl WorkItem for Prober {
    type Pointer = Arc<Prober>;

    fn run(this: Arc<Prober>) {
        RUNS.add(1, Relaxed);
        fsleep(Delta::from_millis(1));
        let me: *const Prober = &*this;
        let queue = this.queue.clone();
        let r = rust_wq::system_percpu().enqueue(this);
        if r.is_ok() {
            return;
        }
        check("enqueue (system)", refused(r, me));
        after_the_close(&queue);
        checker_done();
    }
}

/// Owned by a closure offered to a scope; sets its flag when dropped.
struct DropFlag(Arc<Atomic<u32>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.add(1, Relaxed);
    }
}

/// What the [`ScopeHost`] shares with its [`scope_thread`]: the host's queue, and the event of
/// the thread's start.
struct ScopeRun<'a> {
    queue: &'a OwnedQueue<Unbound>,
    started: &'a Completion,
}

extern "C" {
    fn rust_wq_test_sleep_until_stopped();
}

/// A `rust_wq::scope` needs a task that is no kworker, and one the unload waits for: a kernel
/// thread that this item, queued at load on `system_long`, starts and waits for. The unload's
/// flush of `system_long` waits for the item, so for the thread, which spawns scoped closures
/// until the close refuses them.
///
/// Its queue is built at load: built in `run`, it would be refused (`ESHUTDOWN`) whenever the
/// unload came before the item ran.
#[pin_data]
struct ScopeHost {
    queue: OwnedQueue<Unbound>,
    #[pin]
    work: Work<ScopeHost>,
}

impl_has_work! { impl HasWork<Self> for ScopeHost { self.work } }

impl WorkItem for ScopeHost {
    type Pointer = Arc<ScopeHost>;

    fn run(this: Arc<ScopeHost>) {
        RUNS.add(1, Relaxed);
        pin_init::stack_pin_init!(let started = Completion::new());
        let run = ScopeRun {
            queue: &this.queue,
            started: &started,
        };
        // SAFETY: `scope_thread` takes a `ScopeRun`, which `run` is; it lives on this frame until
        // `kthread_stop` below has returned, after the thread exited. The format takes one
        // string.
        let task = unsafe {
            bindings::kthread_create_on_node(
                Some(scope_thread),
                core::ptr::from_ref(&run).cast_mut().cast(),
                bindings::NUMA_NO_NODE,
                c"%s".as_char_ptr(),
                c"rwq_unload_scope".as_char_ptr(),
            )
        };
        let Ok(task) = kernel::error::from_err_ptr(task) else {
            check("the scope's thread", false);
            checker_done();
            return;
        };
        // SAFETY: `task` is the new thread, not yet woken; it cannot exit before the
        // `kthread_stop` below (its function returns only once told to stop), so it is valid.
        unsafe { bindings::wake_up_process(task) };
        // A stop before the thread started would keep it from running its function at all.
        run.started.wait_for_completion();
        // SAFETY: `task` is the thread created above, still alive (see above) and stopped once
        // here; it started its function, and `kthread_stop` returns after that function
        // returned, after its last use of `run`.
        unsafe { bindings::kthread_stop(task) };
    }
}

/// The thread of a [`ScopeHost`]: spawns closures on a scope (`spawn!`, and `spawn_on!` the
/// host's queue) until they are refused, which the close does: `ESHUTDOWN`, the closure dropped
/// unrun. Returns once told to stop.
///
/// # Safety
///
/// `data` is a `ScopeRun` that lives until the thread exits.
unsafe extern "C" fn scope_thread(data: *mut core::ffi::c_void) -> core::ffi::c_int {
    // SAFETY: The caller's promise.
    let run = unsafe { &*data.cast::<ScopeRun<'_>>() };
    run.started.complete_all();
    let queue = run.queue;
    let r = rust_wq::scope(|s| -> bool {
        // Each closure offered owns a flag of its own, set when the closure is dropped.
        let offer = |on_queue: bool| -> Option<(Result, Arc<Atomic<u32>>)> {
            let dropped = Arc::new(Atomic::new(0u32), GFP_KERNEL).ok()?;
            let token = DropFlag(dropped.clone());
            let f = move || {
                let _token = token;
                RUNS.add(1, Relaxed);
            };
            let r = if on_queue {
                rust_wq::spawn_on!(s, queue, GFP_KERNEL, f)
            } else {
                rust_wq::spawn!(s, GFP_KERNEL, f)
            };
            Some((r, dropped))
        };
        let name = |on_queue: bool| {
            if on_queue {
                "spawn_on! (scope)"
            } else {
                "spawn! (scope)"
            }
        };
        let mut on_queue = false;
        loop {
            let Some((r, dropped)) = offer(on_queue) else {
                check("a closure to offer", false);
                return false;
            };
            match r {
                Ok(()) => fsleep(Delta::from_millis(1)),
                Err(e) => {
                    check(name(on_queue), e == ESHUTDOWN && dropped.load(Relaxed) == 1);
                    break;
                }
            }
            on_queue = !on_queue;
        }
        // The other form, refused too.
        on_queue = !on_queue;
        match offer(on_queue) {
            Some((r, dropped)) => check(
                name(on_queue),
                matches!(r, Err(e) if e == ESHUTDOWN) && dropped.load(Relaxed) == 1,
            ),
            None => check("a closure to offer", false),
        }
        true
    });
    check("scope returns", matches!(r, Ok(true)));
    checker_done();
    // SAFETY: Called by a kernel thread, as required; it sleeps until `kthread_stop`.
    unsafe { rust_wq_test_sleep_until_stopped() };
    0
}

/// Every gated operation once the registry closed: `ESHUTDOWN`, the item back, the closure
/// dropped unrun, nothing run.
fn after_the_close(owned: &OwnedQueue<Unbound>) {
    let sys = rust_wq::system_dfl();
    // Queue allocation (the fresh queue is destroyed at once).
    check(
        "OwnedQueue::build (unbound)",
        matches!(OwnedQueue::unbound().build(c"rwq_unload_late"), Err(e) if e == ESHUTDOWN),
    );
    check(
        "OwnedQueue::build (ordered)",
        matches!(OwnedQueue::ordered().build(c"rwq_unload_late_o"), Err(e) if e == ESHUTDOWN),
    );
    // Plain queueing in every form.
    let items = || -> Result<Arc<Plain>> { Plain::new(What::Nothing) };
    if let Ok(p) = items() {
        let me: *const Plain = &*p;
        check("enqueue (owned)", refused(owned.enqueue(p.clone()), me));
        check(
            "enqueue_on (system)",
            refused(sys.enqueue_on(0, p.clone()), me),
        );
        check(
            "enqueue_on (owned)",
            refused(owned.enqueue_on(0, p.clone()), me),
        );
        check(
            "enqueue_cloned (system)",
            matches!(sys.enqueue_cloned(&p), Err(e) if e == ESHUTDOWN),
        );
        check(
            "enqueue_cloned (owned)",
            matches!(owned.enqueue_cloned(&p), Err(e) if e == ESHUTDOWN),
        );
        check(
            "enqueue_on_node",
            refused(owned.enqueue_on_node(0, p.clone()), me),
        );
        let disabled = matches!(Work::of(&*p).disable(), Ok(None));
        check(
            "enable_and_enqueue",
            disabled && refused(owned.enable_and_enqueue(p.clone()), me),
        );
        check("nothing ran or stayed pending", !Work::of(&*p).is_pending());
    } else {
        check("an item to offer", false);
    }
    // Arming in every form, on a system queue and on the owned one.
    if let Ok(l) = Later::new(None) {
        let me: *const Later = &*l;
        let d = Delta::from_millis(1);
        check(
            "enqueue_delayed (system)",
            refused(sys.enqueue_delayed(l.clone(), d), me),
        );
        check(
            "enqueue_delayed (owned)",
            refused(owned.enqueue_delayed(l.clone(), d), me),
        );
        check(
            "enqueue_delayed_on (system)",
            refused(sys.enqueue_delayed_on(0, l.clone(), d), me),
        );
        check(
            "enqueue_delayed_on (owned)",
            refused(owned.enqueue_delayed_on(0, l.clone(), d), me),
        );
        check(
            "mod_delayed (system)",
            refused(sys.mod_delayed(l.clone(), d).map(|_| ()), me),
        );
        check(
            "mod_delayed (owned)",
            refused(owned.mod_delayed(l.clone(), d).map(|_| ()), me),
        );
        check(
            "mod_delayed_on (system)",
            refused(sys.mod_delayed_on(0, l.clone(), d).map(|_| ()), me),
        );
        check(
            "mod_delayed_on (owned)",
            refused(owned.mod_delayed_on(0, l.clone(), d).map(|_| ()), me),
        );
        check("nothing armed", !DelayedWork::of(&*l).is_pending());
    } else {
        check("an item to arm", false);
    }
    if let Ok(r) = Deferred::new(false) {
        let me: *const Deferred = &*r;
        check(
            "enqueue_rcu (system)",
            refused(sys.enqueue_rcu(r.clone()), me),
        );
        check(
            "enqueue_rcu (owned)",
            refused(owned.enqueue_rcu(r.clone()), me),
        );
    }
    if let (Ok(q), Ok(item)) = (Queue::from_kernel(kw::system_highpri()), in_tree()) {
        let me: *const InTree = &*item;
        check(
            "enqueue_kernel_item",
            refused(q.enqueue_kernel_item(item), me),
        );
    }
    // Closures: dropped unrun.
    let drops = LATE_DROPS.load(Relaxed);
    let token = LateToken;
    let r = rust_wq::try_spawn!(sys, GFP_KERNEL, move || {
        let _token = token;
        LATE_RUNS.add(1, Relaxed);
    });
    check(
        "try_spawn! (system)",
        matches!(r, Err(e) if e == ESHUTDOWN) && LATE_DROPS.load(Relaxed) == drops + 1,
    );
    let token = LateToken;
    let r = rust_wq::try_spawn!(owned, GFP_KERNEL, move || {
        let _token = token;
        LATE_RUNS.add(1, Relaxed);
    });
    check(
        "try_spawn! (owned)",
        matches!(r, Err(e) if e == ESHUTDOWN) && LATE_DROPS.load(Relaxed) == drops + 2,
    );
    // Synchronous work on CPUs: refused before anything is queued.
    let r = rust_wq::work_on_cpu!(0, || LATE_RUNS.add(1, Relaxed));
    check("work_on_cpu!", matches!(r, Err(e) if e == ESHUTDOWN));
    let r = rust_wq::schedule_on_each_cpu!(|_| LATE_RUNS.add(1, Relaxed));
    check(
        "schedule_on_each_cpu!",
        matches!(r, Err(e) if e == ESHUTDOWN),
    );
    check("no closure or function ran", LATE_RUNS.load(Relaxed) == 0);
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

/// An item in a box leaked at load (`leak_item`), queued, armed and queued after a grace period
/// by `&'static` reference: pending, armed or in its grace period when the module goes.
#[pin_data]
struct Leaked {
    #[pin]
    work: Work<Leaked, 0>,
    #[pin]
    dwork: DelayedWork<Leaked, 1>,
    #[pin]
    rwork: RcuWork<Leaked, 2>,
}

impl_has_work! { impl HasWork<Self, 0> for Leaked { self.work } }
impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Leaked { self.dwork } }
impl_has_rcu_work! { impl HasRcuWork<Self, 2> for Leaked { self.rwork } }

impl WorkItem<0> for Leaked {
    type Pointer = &'static Leaked;

    fn run(_this: &'static Leaked) {
        RUNS.add(1, Relaxed);
        fsleep(Delta::from_millis(5));
    }
}

impl WorkItem<1> for Leaked {
    type Pointer = &'static Leaked;

    fn run(_this: &'static Leaked) {
        RUNS.add(1, Relaxed);
    }
}

impl WorkItem<2> for Leaked {
    type Pointer = &'static Leaked;

    fn run(_this: &'static Leaked) {
        RUNS.add(1, Relaxed);
    }
}

/// A driver's state in a [`WorkBox`]: its plain field queues itself again on `system_long`, its
/// delayed field arms itself again on `system_dfl`, forever (until refused).
#[pin_data]
struct Station {
    #[pin]
    work: Work<Station, 0>,
    #[pin]
    dwork: DelayedWork<Station, 1>,
}

impl_has_work! { impl HasWork<Self, 0> for Station { self.work } }
impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Station { self.dwork } }

impl BoxItem<0> for Station {
    fn run(_this: Pin<&Self>, again: Requeue<'_, Self, 0>) {
        RUNS.add(1, Relaxed);
        fsleep(Delta::from_millis(1));
        let _ = again.enqueue(rust_wq::system_long());
    }
}

impl BoxItem<1> for Station {
    fn run(_this: Pin<&Self>, again: Requeue<'_, Self, 1>) {
        RUNS.add(1, Relaxed);
        let _ = again.enqueue_delayed(&rust_wq::system_dfl(), Delta::from_millis(2));
    }
}

impl Station {
    /// A box whose fields are queued and armed (after `delay`).
    fn start(delay: Delta) -> Result<WorkBox<Station>> {
        let b = WorkBox::new(
            pin_init!(Station {
                work <- new_work!("Station::work"),
                dwork <- new_delayed_work!("Station::dwork"),
            }),
            GFP_KERNEL,
        )?;
        b.enqueue::<0>(rust_wq::system_long())?;
        b.enqueue_delayed::<1>(&rust_wq::system_dfl(), delay)?;
        Ok(b)
    }
}

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
                match q.enqueue_delayed_on(i as u32 % cpus, later_on, delay(i + 3)) {
                    // The CPU went offline under the harness's hotplug: the item comes back.
                    Err(e) if e.error() == ENODEV => drop(e.into_item()),
                    r => r?,
                }
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
        // In a leaked box (a few hundred bytes a load), by reference: on a system queue and on
        // the module's owned queue below.
        let leaked: &'static Leaked = rust_wq::leak_item(KBox::pin_init(
            pin_init!(Leaked {
                work <- new_work!("Leaked::work"),
                dwork <- new_delayed_work!("Leaked::dwork"),
                rwork <- new_rcu_work!("Leaked::rwork"),
            }),
            GFP_KERNEL,
        )?);
        rust_wq::system_long()
            .enqueue::<_, 0>(leaked)
            .map_err(|e| e.error())?;
        rust_wq::system_dfl()
            .enqueue_delayed::<_, 1>(leaked, delay(4))
            .map_err(|e| e.error())?;
        // Owned by the module: dropped (drained) before the unload drains the rest.
        let owned = OwnedQueue::percpu().build(c"rwq_unload_own")?;
        owned.enqueue(Plain::new(What::Sleep)?)?;
        owned.enqueue(&STATIC_OWNED).map_err(|e| e.error())?;
        owned.enqueue_delayed(Later::new(None)?, delay(5))?;
        owned.enqueue_rcu(Deferred::new(false)?)?;
        owned.enqueue_rcu::<_, 2>(leaked).map_err(|e| e.error())?;
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
        // Driver state in boxes: kept to the exit, dropped there in atomic context, forgotten.
        let station = Station::start(delay(1))?;
        let handed = Some(Station::start(delay(2))?);
        core::mem::forget(Station::start(delay(3))?);
        // Last: the chain that checks every gated operation after the close.
        let queue = Arc::new(OwnedQueue::unbound().build(c"rwq_unload_prb")?, GFP_KERNEL)?;
        let prober = Arc::pin_init(
            pin_init!(Prober { queue, work <- new_work!("Prober::work") }),
            GFP_KERNEL,
        )?;
        rust_wq::system_percpu().enqueue(prober)?;
        let scope_queue = OwnedQueue::unbound().build(c"rwq_unload_scq")?;
        rust_wq::system_long().enqueue(Arc::pin_init(
            pin_init!(ScopeHost {
                queue: scope_queue,
                work <- new_work!("ScopeHost::work"),
            }),
            GFP_KERNEL,
        )?)?;
        if module_parameters::fail_init.value() != 0 {
            pr_info!("cycle {cycle}: init fails on purpose (ECANCELED), work pending everywhere\n");
            return Err(ECANCELED);
        }
        pr_info!("cycle {cycle}: work pending on every queue\n");
        Ok(Self {
            _owned: owned,
            _station: station,
            handed,
        })
    }
}
