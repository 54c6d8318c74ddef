// SPDX-License-Identifier: GPL-2.0

//! Misuse that safe code can write and that once reached a kernel WARN or an oops (fatal here:
//! `panic_on_warn`): items built on the stack, a flush racing the drop of a queue with one
//! active item, a queue name with a `/`.

use kernel::prelude::*;

#[kunit_tests(rust_wq_misuse)]
mod tests {
    use crate::event::Event;
    use crate::probe::{
        errno,
        in_hard_irq,
        in_softirq,
        Count,
        DelayedProbe,
        InReclaim,
        Job,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        DelayedWork,
        OwnedQueue,
        RcuWork,
        Work,
        WorkItem, //
    };
    use kernel::{
        prelude::*,
        sync::{
            atomic::{
                Acquire,
                Atomic,
                Relaxed,
                Release, //
            },
            Arc, //
        },
        time::Delta,
    };
    use pin_init::stack_pin_init;

    /// An item with one field of each kind, built on the stack and never queued.
    #[pin_data]
    struct OnStack {
        #[pin]
        work: Work<OnStack, 0>,
        #[pin]
        dwork: DelayedWork<OnStack, 1>,
        #[pin]
        rwork: RcuWork<OnStack, 2>,
    }

    crate::rust_wq::impl_has_work! { impl HasWork<Self, 0> for OnStack { self.work } }
    crate::rust_wq::impl_has_delayed_work! {
        impl HasDelayedWork<Self, 1> for OnStack { self.dwork }
    }
    crate::rust_wq::impl_has_rcu_work! { impl HasRcuWork<Self, 2> for OnStack { self.rwork } }

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

    /// Builds an [`OnStack`] in this frame, asks it what a user may ask of an item nobody
    /// queued, and drops it.
    #[inline(never)]
    fn build_on_stack() -> (bool, bool) {
        stack_pin_init!(let item = pin_init!(OnStack {
            work <- crate::rust_wq::new_work!("OnStack::work"),
            dwork <- crate::rust_wq::new_delayed_work!("OnStack::dwork"),
            rwork <- crate::rust_wq::new_rcu_work!("OnStack::rwork"),
        }));
        (
            Work::<OnStack, 0>::of(&item).is_pending(),
            DelayedWork::<OnStack, 1>::of(&item).is_pending(),
        )
    }

    /// Issue 16, item 4: the object debugger wants items on the stack initialised as such
    /// (`INIT_WORK_ONSTACK`, an on-stack timer) and destroyed with their frame; otherwise it
    /// WARNs "object is on stack, but NOT annotated" at the first initialisation, and a later
    /// one in the same frame meets a stale object.
    #[test]
    fn items_built_on_the_stack_are_known_as_such() -> Result {
        for _ in 0..3 {
            assert_eq!(build_on_stack(), (false, false));
        }
        Ok(())
    }

    /// [`build_on_stack`] for [`crate::probe::Call`]: 0 if the item said it was idle.
    fn on_stack_here() -> i32 {
        let (work, dwork) = build_on_stack();
        i32::from(work) | i32::from(dwork) << 1
    }

    /// Items built on the stack in softirq and in hard-interrupt context, whose frame may be on
    /// an interrupt stack rather than the task's: initialised as the object debugger wants
    /// them there (on the task's stack or not, whatever the CPU interrupted), no WARN.
    #[test]
    fn items_built_on_the_stack_in_interrupts_are_known_as_such() -> Result {
        for _ in 0..3 {
            assert_eq!(in_softirq(on_stack_here)?, Some(0));
            assert_eq!(in_hard_irq(on_stack_here)?, Some(0));
        }
        Ok(())
    }

    /// Issue 16, item 1: C's `start_flush_work` touches the queue's lockdep map after the pool
    /// lock is dropped, while the drop of a queue with `max_active` 1 may release the queue and
    /// unregister its dynamic lockdep key: lockdep met a zapped class (a WARN, then an oops in
    /// `__lock_acquire`). Owned queues now have a map that outlives them by a grace period.
    /// Kworkers flush armed items while the test thread drops their queue, 300 times (without
    /// the map of its own, this loop oopsed the debug kernel under QEMU: see the closing note).
    #[test]
    fn flush_racing_the_drop_of_a_queue_with_one_active_item() -> Result {
        const ROUNDS: u32 = 300;
        const ITEMS: usize = 6;
        let s = Shared::new()?;
        let mut flushes = 0;
        for _ in 0..ROUNDS {
            let q = OwnedQueue::unbound()
                .max_active(1)
                .build(c"rwq_m_flushdrop")?;
            let mut hs = KVec::new();
            for _ in 0..ITEMS {
                let d = DelayedProbe::new(&s)?;
                q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
                let h = Shared::new()?;
                let target = d.clone();
                rust_wq::system_dfl().enqueue(Job::new(&h, move || {
                    let _ = DelayedWork::of(&*target).flush();
                })?)?;
                hs.push(h, GFP_KERNEL)?;
            }
            drop(q);
            for h in &hs {
                assert_eq!(h.wait_runs(1), 1);
                flushes += 1;
            }
        }
        // The last jobs may still hold their item: each item's drop announces itself.
        let all = ROUNDS * ITEMS as u32;
        assert_eq!(s.wait_dropped(all), all);
        // Each item ran once: fired by its flush or by the queue's drop, never twice.
        assert_eq!(s.runs() as usize, ROUNDS as usize * ITEMS);
        assert_eq!(flushes, ROUNDS as usize * ITEMS);
        Ok(())
    }

    /// The inner item of the nested `work_on_cpu` case: a lockdep class of its own (a class
    /// shared with the items of other cases would join their locks into false cycles).
    #[pin_data]
    struct Nested {
        writer_started: Arc<Event>,
        result: Arc<kernel::sync::atomic::Atomic<i32>>,
        #[pin]
        work: Work<Nested>,
    }

    crate::rust_wq::impl_has_work! { impl HasWork<Self> for Nested { self.work } }

    impl WorkItem for Nested {
        type Pointer = Arc<Nested>;

        /// Waits until the hotplug writer started, gives it time to become pending, then
        /// calls `work_on_cpu` itself.
        fn run(this: Arc<Nested>) {
            let _ = this.writer_started.wait();
            kernel::time::delay::fsleep(Delta::from_millis(300));
            this.result.store(
                match crate::work_on_cpu!(2, || ()) {
                    Ok(()) => 1,
                    Err(e) => e.to_errno(),
                },
                Relaxed,
            );
        }
    }

    /// Issue 16, item 3: `work_on_cpu`'s function flushes an item that calls `work_on_cpu`
    /// itself, while a hotplug operation (the test thread's `take_offline`) waits for the first
    /// holder. The inner reader would wait behind the hotplug writer, which waits for the
    /// holder, which waits for the inner reader: `EBUSY` instead, and everything finishes.
    /// The inner call gives the writer 300 ms to become pending (if it is not yet, the inner
    /// call simply succeeds: both outcomes are accepted, and neither may hang).
    #[test]
    fn nested_work_on_cpu_through_a_flush_during_hotplug_does_not_hang() -> Result {
        use kernel::sync::atomic::Atomic;
        const CPU: u32 = 3;
        let inner_result = Arc::new(Atomic::new(0i32), GFP_KERNEL)?;
        let writer_started = Event::new_arc()?;
        let in_f = Event::new_arc()?;
        let outer_result = Arc::new(Atomic::new(0i32), GFP_KERNEL)?;
        let outer_done = Event::new_arc()?;
        let (ws, r) = (writer_started.clone(), inner_result.clone());
        let x = Arc::pin_init(
            pin_init!(Nested {
                writer_started: ws,
                result: r,
                work <- crate::rust_wq::new_work!("Nested::work"),
            }),
            GFP_KERNEL,
        )?;
        // The outer `work_on_cpu` runs on a kworker (a closure: a lockdep class of its own); the
        // test thread is the hotplug writer.
        let (f_seen, out, out_done) = (in_f.clone(), outer_result.clone(), outer_done.clone());
        crate::rust_wq::try_spawn!(rust_wq::system_long(), GFP_KERNEL, move || {
            let target = x.clone();
            let f_seen = f_seen.clone();
            let res = crate::work_on_cpu!(1, move || {
                let ok = rust_wq::system_dfl().enqueue(target.clone()).is_ok();
                f_seen.set();
                ok && Work::of(&*target).flush().is_ok()
            });
            out.store(
                match res {
                    Ok(true) => 1,
                    Ok(false) => 0,
                    Err(e) => e.to_errno(),
                },
                Relaxed,
            );
            out_done.set();
        })?;
        assert!(in_f.wait());
        writer_started.set();
        let offline = crate::rust_wq::testing::take_offline(CPU);
        if offline.is_ok() {
            crate::rust_wq::testing::bring_online(CPU)?;
        }
        assert!(outer_done.wait());
        let inner = inner_result.load(Relaxed);
        pr_info!(
            "nested work_on_cpu during hotplug: inner {}, outer {}, take_offline {:?}\n",
            inner,
            outer_result.load(Relaxed),
            offline
        );
        assert!(offline.is_ok());
        assert_eq!(outer_result.load(Relaxed), 1);
        assert!(inner == 1 || inner == EBUSY.to_errno());
        Ok(())
    }

    /// The CPU that [`Flipper`] takes down and brings up.
    const FLIP_CPU: u32 = 3;

    /// The kworker of the hotplug race below: each run makes one attempt to take
    /// [`FLIP_CPU`] down or to bring it up, and queues itself again until it made
    /// [`Flipper::FLIPS`] changes (or [`Flipper::ATTEMPTS`] attempts) and the CPU is up.
    #[pin_data]
    struct Flipper {
        flips: Atomic<u32>,
        busy: Atomic<u32>,
        /// The first error other than `EBUSY`, as an errno.
        other: Atomic<i32>,
        done: Atomic<u32>,
        #[pin]
        work: Work<Flipper>,
    }

    crate::rust_wq::impl_has_work! { impl HasWork<Self> for Flipper { self.work } }

    impl Flipper {
        const FLIPS: u32 = 40;
        const ATTEMPTS: u32 = 20_000;
    }

    impl WorkItem for Flipper {
        type Pointer = Arc<Flipper>;

        fn run(this: Arc<Flipper>) {
            let online = rust_wq::cpu::online_cpu(FLIP_CPU).is_ok();
            let r = if online {
                rust_wq::testing::take_offline(FLIP_CPU)
            } else {
                rust_wq::testing::bring_online(FLIP_CPU)
            };
            match r {
                Ok(()) => this.flips.add(1, Relaxed),
                Err(e) if e == EBUSY => this.busy.add(1, Relaxed),
                Err(e) => this.other.store(e.to_errno(), Relaxed),
            }
            let attempts = this.flips.load(Relaxed) + this.busy.load(Relaxed);
            let up = rust_wq::cpu::online_cpu(FLIP_CPU).is_ok();
            let enough = this.flips.load(Relaxed) >= Self::FLIPS || attempts >= Self::ATTEMPTS;
            if (enough && up) || this.other.load(Relaxed) != 0 {
                this.done.store(1, Release);
                return;
            }
            let me = this.clone();
            if rust_wq::system_dfl().enqueue(this).is_err() {
                me.other.store(EINVAL.to_errno(), Relaxed);
                me.done.store(1, Release);
            }
        }
    }

    /// Rule 15 from both sides at once: a kworker's hotplug operations race `work_on_cpu!`
    /// calls whose function flushes that very kworker's item. Had the kworker only checked for
    /// holders before its operation, a hold taken after that check (before the operation made
    /// itself a pending writer) would flush the item, the item's operation would wait for the
    /// hold, and the two would hang (lockdep: `cpu_hotplug_lock --> (work_completion)`). Each
    /// side counts itself before it looks at the other, so one of the two is `EBUSY`. Without
    /// that, this loop hung (the hung-task watchdog fires and the run fails).
    ///
    /// Lockdep names the pattern as a possible circular dependency (`device_hotplug_lock -->
    /// cpu_hotplug_lock --> (work_completion)(&wfc.work) --> Flipper::work`), rightly: a hold
    /// that rust_wq does not see (a C caller's) would hang it. So the case runs where lockdep
    /// is off (Debian's stock kernel: `make distro-check`) and is skipped where it is on.
    #[test]
    fn kworker_hotplug_racing_a_work_on_cpu_that_flushes_it_does_not_hang() -> Result {
        if cfg!(CONFIG_LOCKDEP) {
            crate::probe::skip(c"lockdep reports this pattern by design (rule 15)");
            return Ok(());
        }
        let f = Arc::pin_init(
            pin_init!(Flipper {
                flips: Atomic::new(0),
                busy: Atomic::new(0),
                other: Atomic::new(0),
                done: Atomic::new(0),
                work <- crate::rust_wq::new_work!("Flipper::work"),
            }),
            GFP_KERNEL,
        )?;
        rust_wq::system_dfl().enqueue(f.clone())?;
        let (mut flushed, mut busy, mut wrong) = (0u32, 0u32, 0u32);
        while f.done.load(Acquire) == 0 {
            let target = f.clone();
            match crate::work_on_cpu!(1, move || Work::of(&*target).flush()) {
                Ok(Ok(_)) => flushed += 1,
                Err(e) if e == EBUSY => busy += 1,
                _ => wrong += 1,
            }
            // Room for the flipper to find no hold (else it would only ever see `EBUSY`).
            kernel::time::delay::fsleep(Delta::from_millis(1));
        }
        Work::of(&*f).flush()?;
        if rust_wq::cpu::online_cpu(FLIP_CPU).is_err() {
            rust_wq::testing::bring_online(FLIP_CPU)?;
        }
        pr_info!(
            "hotplug from a kworker against work_on_cpu! flushing it: {} changes, {} EBUSY; \
             {} flushes, {} EBUSY\n",
            f.flips.load(Relaxed),
            f.busy.load(Relaxed),
            flushed,
            busy
        );
        assert_eq!(f.other.load(Relaxed), 0);
        assert_eq!(wrong, 0);
        Ok(())
    }

    /// Builders of one sysfs name racing in one module: the name check and the registration
    /// are one step under the module's lock, so each round has one queue and `EEXIST`s, never
    /// the kernel's duplicate-file stack dump and `ENOMEM`. Four kworkers, 30 rounds.
    #[test]
    fn racing_builders_of_one_sysfs_name_get_one_queue_and_eexist() -> Result {
        use kernel::sync::atomic::Atomic;
        const THREADS: u32 = 4;
        for _ in 0..30 {
            let ok = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
            let eexist = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
            let other = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
            let arrived = Count::new_arc()?;
            let release = Event::new_arc()?;
            let done = Count::new_arc()?;
            let built = Arc::pin_init(kernel::new_spinlock!(None), GFP_KERNEL)?;
            for _ in 0..THREADS {
                let (ok, eexist, other) = (ok.clone(), eexist.clone(), other.clone());
                let built = built.clone();
                let (arrived, release, done) = (arrived.clone(), release.clone(), done.clone());
                crate::rust_wq::try_spawn!(rust_wq::system_dfl(), GFP_KERNEL, move || {
                    arrived.add();
                    let _ = release.wait();
                    match OwnedQueue::unbound().sysfs().build(c"rwq_m_race") {
                        Ok(q) => {
                            ok.add(1, Relaxed);
                            // Kept until every builder of the round has tried, then dropped by
                            // the test thread (a drop here would hand the destruction off, and
                            // the next round could still meet the name).
                            *built.lock() = Some(q);
                        }
                        Err(e) if e == EEXIST => eexist.add(1, Relaxed),
                        Err(_) => other.add(1, Relaxed),
                    }
                    done.add();
                })?;
            }
            // A barrier: all four start building at once.
            assert_eq!(arrived.wait_reach(THREADS), THREADS);
            release.set();
            assert_eq!(done.wait_reach(THREADS), THREADS);
            let q = built.lock().take();
            drop(q);
            assert_eq!(other.load(Relaxed), 0);
            assert_eq!(ok.load(Relaxed), 1);
            assert_eq!(eexist.load(Relaxed), THREADS - 1);
        }
        Ok(())
    }

    /// A task in memory reclaim must not wait for work that may need memory to make progress:
    /// waits on queues without `WQ_MEM_RECLAIM` (`flush`, `drain`, `work_on_cpu!` on
    /// `system_percpu`, `scope`) are `EDEADLK`; the same waits on a reclaim queue are allowed;
    /// dropping a queue without it hands its destruction off (the items still run, after).
    #[test]
    fn waits_from_memory_reclaim_are_edeadlk_or_handed_off() -> Result {
        let plain = OwnedQueue::unbound().build(c"rwq_m_noreclaim")?;
        let reclaim = OwnedQueue::unbound()
            .mem_reclaim()
            .build(c"rwq_m_reclaim")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        plain.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        let (flush, drain, on_cpu, scoped, reclaim_flush) = {
            let _r = InReclaim::enter();
            let out = (
                plain.flush().err(),
                plain.drain().err(),
                crate::work_on_cpu!(0, || ()).err(),
                rust_wq::scope(|_| ()).err(),
                reclaim.flush().err(),
            );
            // Handed off: the armed item still runs once, after this drop returned.
            drop(plain);
            out
        };
        assert!(flush == Some(EDEADLK));
        assert!(drain == Some(EDEADLK));
        assert!(on_cpu == Some(EDEADLK));
        assert!(scoped == Some(EDEADLK));
        assert!(reclaim_flush.is_none());
        assert_eq!(s.wait_runs(1), 1);
        Ok(())
    }

    /// Issue 16, item 8: the kernel names a queue's sysfs directory with each `/` of its name
    /// turned into `!`; the check for a taken name must look for that, or the second queue of a
    /// name with a `/` gets the kernel's duplicate-file stack dump and `ENOMEM`.
    #[test]
    fn sysfs_queue_names_with_a_slash_are_eexist_twice() -> Result {
        let _a = OwnedQueue::unbound().sysfs().build(c"rwq_m/slash")?;
        let b = OwnedQueue::unbound().sysfs().build(c"rwq_m/slash");
        assert!(matches!(b, Err(e) if e == EEXIST));
        // The same directory, named with the `!` already.
        let c = OwnedQueue::unbound().sysfs().build(c"rwq_m!slash");
        assert!(matches!(c, Err(e) if e == EEXIST));
        Ok(())
    }

    /// A CPU hotplug operation waits for every CPU's workers, whose work may need memory: a task
    /// in memory reclaim gets `EDEADLK`, and the CPU stays as it was.
    #[test]
    fn hotplug_from_memory_reclaim_is_edeadlk() -> Result {
        let r = {
            let _r = InReclaim::enter();
            (
                rust_wq::testing::take_offline(1).err(),
                rust_wq::testing::bring_online(1).err(),
            )
        };
        // Back, had the check let the operation through.
        if rust_wq::cpu::online_cpu(1).is_err() {
            let _ = rust_wq::testing::bring_online(1);
        }
        assert!(r == (Some(EDEADLK), Some(EDEADLK)));
        Ok(())
    }

    /// An item of a `WQ_MEM_RECLAIM` queue (a reclaim runner: reclaim may wait for it) is in
    /// memory reclaim for a CPU hotplug operation too, as for `work_on_cpu!`: `EDEADLK`, and the
    /// CPU stays as it was.
    #[test]
    fn hotplug_from_a_reclaim_runner_is_edeadlk() -> Result {
        let reclaim = OwnedQueue::unbound().mem_reclaim().build(c"rwq_m_hpr")?;
        let got = Arc::new(Atomic::<i32>::new(1), GFP_KERNEL)?;
        let g = got.clone();
        crate::rust_wq::try_spawn!(&reclaim, GFP_KERNEL, move || {
            let r = match rust_wq::testing::take_offline(1) {
                Ok(()) => 0,
                Err(e) => e.to_errno(),
            };
            g.store(r, Relaxed);
        })?;
        reclaim.flush()?;
        // Back, had the check let the operation through.
        if rust_wq::cpu::online_cpu(1).is_err() {
            let _ = rust_wq::testing::bring_online(1);
        }
        assert_eq!(got.load(Relaxed), EDEADLK.to_errno());
        Ok(())
    }

    /// The reclaim check of `flush` for a task in memory reclaim, on every kind of item: one
    /// ever queued on a queue without `WQ_MEM_RECLAIM` (plain, armed, through a grace period)
    /// is `EDEADLK`; one only ever on reclaim queues is waited for, and from then on refused
    /// on other queues (`EINVAL`, the item back).
    #[test]
    fn flushes_from_memory_reclaim_check_every_kind_of_item() -> Result {
        let plain = OwnedQueue::unbound().build(c"rwq_m_i4")?;
        let reclaim = OwnedQueue::unbound().mem_reclaim().build(c"rwq_m_i4r")?;
        let new_item = || {
            Arc::pin_init(
                pin_init!(OnStack {
                    work <- crate::rust_wq::new_work!("OnStack::work"),
                    dwork <- crate::rust_wq::new_delayed_work!("OnStack::dwork"),
                    rwork <- crate::rust_wq::new_rcu_work!("OnStack::rwork"),
                }),
                GFP_KERNEL,
            )
        };
        let a = new_item()?;
        let b = new_item()?;
        plain.enqueue(a.clone())?;
        plain.enqueue_delayed(a.clone(), Delta::from_millis(1))?;
        plain.enqueue_rcu(a.clone())?;
        reclaim.enqueue(b.clone())?;
        reclaim.enqueue_delayed(b.clone(), Delta::from_millis(1))?;
        reclaim.enqueue_rcu(b.clone())?;
        for it in [&a, &b] {
            Work::<OnStack, 0>::of(it).flush()?;
            DelayedWork::<OnStack, 1>::of(it).flush()?;
            RcuWork::<OnStack, 2>::of(it).flush()?;
        }
        let (on_plain, on_reclaim) = {
            let _r = InReclaim::enter();
            (
                [
                    Work::<OnStack, 0>::of(&a).flush().err(),
                    DelayedWork::<OnStack, 1>::of(&a).flush().err(),
                    RcuWork::<OnStack, 2>::of(&a).flush().err(),
                ],
                [
                    Work::<OnStack, 0>::of(&b).flush().err(),
                    DelayedWork::<OnStack, 1>::of(&b).flush().err(),
                    RcuWork::<OnStack, 2>::of(&b).flush().err(),
                ],
            )
        };
        assert!(on_plain == [Some(EDEADLK); 3]);
        assert!(on_reclaim == [None; 3]);
        // Waited for by reclaim: it stays on reclaim queues.
        let r = plain.enqueue_delayed(b.clone(), Delta::from_millis(1));
        let back = match r {
            Err(e) => e.error() == EINVAL && Arc::ptr_eq(&e.into_item(), &b),
            Ok(()) => false,
        };
        assert!(back);
        Ok(())
    }

    /// An item that waits for itself from its own run: `op` 0 `disable_sync` of its plain
    /// work, 1 `flush` and 2 `disable_sync` of its delayed work.
    #[pin_data]
    struct SelfWait {
        op: u32,
        out: Atomic<i32>,
        /// Set once `out` holds the answer.
        #[pin]
        done: Event,
        #[pin]
        work: Work<SelfWait, 0>,
        #[pin]
        dwork: DelayedWork<SelfWait, 1>,
    }

    crate::rust_wq::impl_has_work! { impl HasWork<Self, 0> for SelfWait { self.work } }
    crate::rust_wq::impl_has_delayed_work! {
        impl HasDelayedWork<Self, 1> for SelfWait { self.dwork }
    }

    impl SelfWait {
        fn new(op: u32) -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Self {
                    op,
                    out: Atomic::new(1),
                    done <- Event::new(),
                    work <- crate::rust_wq::new_work!("SelfWait::work"),
                    dwork <- crate::rust_wq::new_delayed_work!("SelfWait::dwork"),
                }),
                GFP_KERNEL,
            )
        }

        fn record(&self, r: i32) {
            self.out.store(r, Relaxed);
            self.done.set();
        }
    }

    impl WorkItem<0> for SelfWait {
        type Pointer = Arc<SelfWait>;
        fn run(this: Arc<SelfWait>) {
            this.record(errno(Work::<SelfWait, 0>::of(&this).disable_sync()));
        }
    }

    impl WorkItem<1> for SelfWait {
        type Pointer = Arc<SelfWait>;
        fn run(this: Arc<SelfWait>) {
            let d = DelayedWork::<SelfWait, 1>::of(&this);
            this.record(if this.op == 1 {
                errno(d.flush())
            } else {
                errno(d.disable_sync())
            });
        }
    }

    /// Waits of an item for itself from its own run, which would never end: `disable_sync` of
    /// a plain item, `flush` and `disable_sync` of a delayed one are `EDEADLK`, as
    /// `cancel_sync` and `flush` of plain items are.
    #[test]
    fn an_item_waiting_for_itself_from_its_run_is_edeadlk() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_m_i3")?;
        let plain = SelfWait::new(0)?;
        q.enqueue(plain.clone())?;
        let flush = SelfWait::new(1)?;
        q.enqueue_delayed(flush.clone(), Delta::from_millis(1))?;
        let disable = SelfWait::new(2)?;
        q.enqueue_delayed(disable.clone(), Delta::from_millis(1))?;
        for it in [&plain, &flush, &disable] {
            assert!(it.done.wait());
            assert_eq!(it.out.load(Relaxed), EDEADLK.to_errno());
        }
        Ok(())
    }
}
