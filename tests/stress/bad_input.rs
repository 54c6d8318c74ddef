// SPDX-License-Identifier: GPL-2.0

//! Part 5: bad input. Each class of misuse gets its documented error; the item comes back (the
//! very `Arc` that was given), nothing runs that should not, nothing leaks (items counted), and
//! no splat follows (the harness fails the run on any).

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_bad_input)]
mod tests {
    use crate::event::Event;
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        DelayedWork,
        OwnedQueue,
        Unbound,
        Work,
        WorkItem,

        MAX_ACTIVE,
        MAX_DELAY,
        MAX_DISABLE, //
    };
    use crate::thread::PATIENCE_MS;
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
    };

    static LIVE: Atomic<i64> = Atomic::new(0);
    static RUNS: Atomic<u32> = Atomic::new(0);

    /// What an item does in `run`, recording the errno it got (0 for success).
    #[derive(Clone, Copy, PartialEq)]
    enum Act {
        Nothing,
        SelfFlush,
        SelfCancelSync,
        QueueFlush,
        QueueDrain,
        WorkOnCpu,
        TakeOffline,
        /// Holds its worker until its `release` is set (or, should the case fail first, until
        /// a patience of twice [`PATIENCE_MS`] ran out).
        Block,
    }

    #[pin_data(PinnedDrop)]
    struct Bad {
        act: Act,
        queue: Option<Arc<OwnedQueue<Unbound>>>,
        errno: Atomic<i32>,
        /// Lets an [`Act::Block`] item return.
        #[pin]
        release: Event,
        #[pin]
        work: Work<Bad>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Bad { self.work } }

    fn errno(r: Result<impl Sized>) -> i32 {
        r.err().map_or(0, |e| e.to_errno())
    }

    impl WorkItem for Bad {
        type Pointer = Arc<Bad>;

        fn run(this: Arc<Bad>) {
            RUNS.add(1, Relaxed);
            let e = match this.act {
                Act::Nothing => 0,
                Act::SelfFlush => errno(Work::of(&*this).flush()),
                Act::SelfCancelSync => errno(Work::of(&*this).cancel_sync()),
                Act::QueueFlush => this.queue.as_ref().map_or(0, |q| errno(q.flush())),
                Act::QueueDrain => this.queue.as_ref().map_or(0, |q| errno(q.drain())),
                Act::WorkOnCpu => errno(crate::work_on_cpu!(0, || ())),
                Act::TakeOffline => errno(cpu::take_offline(1)),
                Act::Block => i32::from(!this.release.wait_ms(2 * PATIENCE_MS)),
            };
            this.errno.store(e, Relaxed);
        }
    }

    #[pinned_drop]
    impl PinnedDrop for Bad {
        fn drop(self: Pin<&mut Self>) {
            LIVE.add(-1, Relaxed);
        }
    }

    fn bad(act: Act, queue: Option<&Arc<OwnedQueue<Unbound>>>) -> Result<Arc<Bad>> {
        LIVE.add(1, Relaxed);
        Arc::pin_init(
            pin_init!(Bad {
                act,
                queue: queue.cloned(),
                errno: Atomic::new(-1),
                release <- Event::new(),
                work <- crate::new_work!("stress::Bad::work"),
            }),
            GFP_KERNEL,
        )
    }

    fn bad_bh(act: Act) -> Result<Arc<Bad>> {
        LIVE.add(1, Relaxed);
        Arc::pin_init(
            pin_init!(Bad {
                act,
                queue: None,
                errno: Atomic::new(-1),
                release <- Event::new(),
                work <- crate::new_work!("stress::Bad::work (BH)"),
            }),
            GFP_KERNEL,
        )
    }

    #[pin_data(PinnedDrop)]
    struct BadD {
        #[pin]
        dwork: DelayedWork<BadD>,
    }

    crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for BadD { self.dwork } }

    impl WorkItem for BadD {
        type Pointer = Arc<BadD>;

        fn run(_this: Arc<BadD>) {
            RUNS.add(1, Relaxed);
        }
    }

    #[pinned_drop]
    impl PinnedDrop for BadD {
        fn drop(self: Pin<&mut Self>) {
            LIVE.add(-1, Relaxed);
        }
    }

    fn bad_d() -> Result<Arc<BadD>> {
        LIVE.add(1, Relaxed);
        Arc::pin_init(
            pin_init!(BadD { dwork <- crate::new_delayed_work!("stress::BadD::dwork") }),
            GFP_KERNEL,
        )
    }

    /// A delayed item of a lockdep class of its own for BH queues (see `rust_wq::class`).
    fn bad_d_bh() -> Result<Arc<BadD>> {
        LIVE.add(1, Relaxed);
        Arc::pin_init(
            pin_init!(BadD { dwork <- crate::new_delayed_work!("stress::BadD::dwork (BH)") }),
            GFP_KERNEL,
        )
    }

    /// The classes checked so far, and how many of them failed.
    struct Tally {
        classes: u32,
        failed: u32,
    }

    impl Tally {
        fn check(&mut self, name: &str, got: i32, want: i32) {
            self.classes += 1;
            let ok = got == want;
            if !ok {
                self.failed += 1;
            }
            pr_info!(
                "    # {:>2} {name}: got {got} (want {want}) {}\n",
                self.classes,
                if ok { "ok" } else { "WRONG" }
            );
        }
    }

    /// The errno of a refused enqueue, checking that the very item came back.
    fn refused<P: core::ops::Deref>(
        given: &P,
        r: core::result::Result<(), rust_wq::EnqueueError<P>>,
    ) -> i32 {
        match r {
            Ok(()) => 0,
            Err(e) => {
                let code = e.error().to_errno();
                let back = e.into_item();
                if core::ptr::eq(&*back, &**given) {
                    code
                } else {
                    -9999
                }
            }
        }
    }

    /// Runs `item` on `q` and returns the errno its `run` recorded.
    fn run_errno(q: &OwnedQueue<Unbound>, item: Arc<Bad>) -> Result<i32> {
        q.enqueue(item.clone())?;
        Work::of(&*item).flush()?;
        Ok(item.errno.load(Relaxed))
    }

    #[test]
    fn every_class_of_bad_input_gets_its_error_and_loses_nothing() -> Result {
        let mut t = Tally {
            classes: 0,
            failed: 0,
        };
        let live0 = LIVE.load(Relaxed);
        let einval = EINVAL.to_errno();
        let enodev = ENODEV.to_errno();
        let ebusy = EBUSY.to_errno();
        let edeadlk = EDEADLK.to_errno();
        let eoverflow = EOVERFLOW.to_errno();
        let eagain = EAGAIN.to_errno();
        let nr = cpu::nr_cpu_ids();
        // The last possible CPU is offline at boot (`maxcpus`).
        let offline = nr - 1;
        let pc = OwnedQueue::percpu().build(c"rwq_st_bad")?;
        let ub = Arc::new(OwnedQueue::unbound().build(c"rwq_st_badu")?, GFP_KERNEL)?;
        let runs0 = RUNS.load(Relaxed);

        // CPUs.
        let it = bad(Act::Nothing, None)?;
        t.check(
            "enqueue_on(nr_cpu_ids)",
            refused(&it, pc.enqueue_on(nr, it.clone())),
            einval,
        );
        t.check(
            "enqueue_on(offline CPU)",
            refused(&it, pc.enqueue_on(offline, it.clone())),
            enodev,
        );
        t.check(
            "enqueue_on(u32::MAX)",
            refused(&it, pc.enqueue_on(u32::MAX, it.clone())),
            einval,
        );
        t.check(
            "system enqueue_on(offline CPU)",
            refused(
                &it,
                rust_wq::system_percpu().enqueue_on(offline, it.clone()),
            ),
            enodev,
        );
        let d = bad_d()?;
        t.check(
            "enqueue_delayed_on(nr_cpu_ids)",
            refused(&d, pc.enqueue_delayed_on(nr, d.clone(), 10)),
            einval,
        );
        t.check(
            "enqueue_delayed_on(offline CPU)",
            refused(&d, pc.enqueue_delayed_on(offline, d.clone(), 10)),
            enodev,
        );
        let db = bad_d_bh()?;
        t.check(
            "system_bh enqueue_delayed_on(CPU 0)",
            refused(
                &db,
                rust_wq::system_bh().enqueue_delayed_on(0, db.clone(), 10),
            ),
            einval,
        );
        drop(db);
        t.check(
            "crate::work_on_cpu!(nr_cpu_ids)",
            errno(crate::work_on_cpu!(nr, || ())),
            einval,
        );
        t.check(
            "crate::work_on_cpu!(offline CPU)",
            errno(crate::work_on_cpu!(offline, || ())),
            enodev,
        );

        // Queue configuration, at build and at run time.
        t.check(
            "max_active(0)",
            errno(OwnedQueue::percpu().max_active(0).build(c"rwq_st_b0")),
            einval,
        );
        t.check(
            "max_active(MAX_ACTIVE + 1)",
            errno(
                OwnedQueue::percpu()
                    .max_active(MAX_ACTIVE + 1)
                    .build(c"rwq_st_b1"),
            ),
            einval,
        );
        t.check("set_max_active(0)", errno(pc.set_max_active(0)), einval);
        t.check(
            "set_max_active(MAX_ACTIVE + 1)",
            errno(pc.set_max_active(MAX_ACTIVE + 1)),
            einval,
        );
        t.check("empty name", errno(OwnedQueue::percpu().build(c"")), einval);
        t.check(
            "name of 64 bytes",
            errno(
                OwnedQueue::percpu()
                    .build(c"rwq_st_0123456789012345678901234567890123456789012345678901234567"),
            ),
            ENAMETOOLONG.to_errno(),
        );
        {
            let _a = OwnedQueue::unbound().sysfs().build(c"rwq_st_dup")?;
            t.check(
                "duplicate sysfs name",
                errno(OwnedQueue::unbound().sysfs().build(c"rwq_st_dup")),
                EEXIST.to_errno(),
            );
        }

        // Items in the wrong state.
        Work::of(&*it).disable()?;
        t.check(
            "enqueue of a disabled item",
            refused(&it, pc.enqueue(it.clone())),
            ebusy,
        );
        t.check(
            "system enqueue of a disabled item",
            refused(&it, rust_wq::system_dfl().enqueue(it.clone())),
            ebusy,
        );
        Work::of(&*it).enable();
        t.check(
            "unbalanced enable (plain)",
            i32::from(Work::of(&*it).enable()),
            0,
        );
        DelayedWork::of(&*d).disable()?;
        t.check(
            "enqueue_delayed of a disabled item",
            refused(&d, ub.enqueue_delayed(d.clone(), 1)),
            ebusy,
        );
        let md = match ub.mod_delayed(d.clone(), 1) {
            Ok(_) => 0,
            Err(e) => e.error().to_errno(),
        };
        t.check("mod_delayed of a disabled item", md, ebusy);
        DelayedWork::of(&*d).enable();
        t.check(
            "unbalanced enable (delayed)",
            i32::from(DelayedWork::of(&*d).enable()),
            0,
        );
        t.check(
            "cancel of an idle item",
            i32::from(Work::of(&*it).cancel().is_some()),
            0,
        );
        t.check(
            "cancel_sync of an idle item",
            i32::from(Work::of(&*it).cancel_sync()?.is_some()),
            0,
        );
        t.check(
            "flush of an idle item",
            i32::from(Work::of(&*it).flush()?),
            0,
        );
        t.check(
            "cancel of an idle delayed item",
            i32::from(DelayedWork::of(&*d).cancel().is_some()),
            0,
        );
        t.check(
            "flush of an idle delayed item",
            i32::from(DelayedWork::of(&*d).flush()?),
            0,
        );
        let mut n = 0;
        while Work::of(&*it).disable().is_ok() {
            n += 1;
            if n > MAX_DISABLE + 1 {
                break;
            }
        }
        t.check(
            "disable beyond MAX_DISABLE (plain)",
            errno(Work::of(&*it).disable()),
            eoverflow,
        );
        t.check(
            "...and at exactly MAX_DISABLE",
            i32::from(n == MAX_DISABLE),
            1,
        );
        for _ in 0..n {
            Work::of(&*it).enable();
        }
        let mut n = 0;
        while DelayedWork::of(&*d).disable().is_ok() {
            n += 1;
            if n > MAX_DISABLE + 1 {
                break;
            }
        }
        t.check(
            "disable beyond MAX_DISABLE (delayed)",
            errno(DelayedWork::of(&*d).disable()),
            eoverflow,
        );
        for _ in 0..n {
            DelayedWork::of(&*d).enable();
        }
        t.check(
            "delay above MAX_DELAY",
            refused(&d, ub.enqueue_delayed(d.clone(), MAX_DELAY + 1)),
            einval,
        );
        t.check(
            "negative delay",
            refused(&d, ub.enqueue_delayed(d.clone(), -1)),
            einval,
        );
        t.check(
            "negative Delta of 1 ns",
            refused(&d, ub.enqueue_delayed(d.clone(), Delta::from_nanos(-1))),
            einval,
        );
        let md = match rust_wq::system_dfl().mod_delayed(d.clone(), Delta::from_nanos(-999_999)) {
            Ok(_) => 0,
            Err(e) => e.error().to_errno(),
        };
        t.check(
            "system mod_delayed, negative Delta of 999,999 ns",
            md,
            einval,
        );
        // A pending item: queued behind a blocked item on an ordered queue, so that it stays
        // pending until released, however slow the machine.
        let ord = OwnedQueue::ordered().build(c"rwq_st_bado")?;
        let sleeper = bad(Act::Block, None)?;
        let p = bad(Act::Nothing, None)?;
        ord.enqueue(sleeper.clone())?;
        ord.enqueue(p.clone())?;
        t.check(
            "enqueue of a pending item",
            refused(&p, ord.enqueue(p.clone())),
            ebusy,
        );
        t.check(
            "enqueue_cloned of a pending item",
            errno(ord.enqueue_cloned(&p)),
            ebusy,
        );
        t.check(
            "system enqueue of a pending item",
            refused(&p, rust_wq::system_dfl().enqueue(p.clone())),
            ebusy,
        );
        sleeper.release.set();
        ord.drain()?;
        drop(ord);
        ub.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        t.check(
            "enqueue_delayed of an armed item",
            refused(&d, ub.enqueue_delayed(d.clone(), 1)),
            ebusy,
        );
        t.check(
            "cancel hands an armed item back",
            i32::from(DelayedWork::of(&*d).cancel().is_some()),
            1,
        );
        let runs_mid = RUNS.load(Relaxed);
        t.check(
            "nothing refused ran (two queued runs)",
            (runs_mid - runs0) as i32,
            2,
        );

        // Waits from the wrong place: the item's own run, a kworker, a BH item.
        t.check(
            "self flush from run",
            run_errno(&ub, bad(Act::SelfFlush, None)?)?,
            edeadlk,
        );
        t.check(
            "self cancel_sync from run",
            run_errno(&ub, bad(Act::SelfCancelSync, None)?)?,
            edeadlk,
        );
        t.check(
            "flush of its own queue from run",
            run_errno(&ub, bad(Act::QueueFlush, Some(&ub))?)?,
            edeadlk,
        );
        t.check(
            "drain of its own queue from run",
            run_errno(&ub, bad(Act::QueueDrain, Some(&ub))?)?,
            edeadlk,
        );
        let bh = OwnedQueue::bh().build(c"rwq_st_badbh")?;
        for (name, act) in [
            ("work_on_cpu from a BH item", Act::WorkOnCpu),
            ("take_offline from a BH item", Act::TakeOffline),
            ("self flush from a BH item", Act::SelfFlush),
        ] {
            let b = bad_bh(act)?;
            bh.enqueue(b.clone())?;
            bh.flush()?;
            t.check(name, b.errno.load(Relaxed), eagain);
        }
        // Items of a lockdep class that ran threaded (every `bad` item: one site) do not go on
        // a BH queue, and the other way round (see `rust_wq::class`).
        let b = bad(Act::Nothing, None)?;
        t.check(
            "item of a threaded class on a BH queue",
            refused(&b, bh.enqueue(b.clone())),
            einval,
        );
        drop(b);
        let b = bad_bh(Act::Nothing)?;
        t.check(
            "item of a BH class on a threaded queue",
            refused(&b, ub.enqueue(b.clone())),
            einval,
        );
        drop(b);
        drop(bh);

        // Nothing else ran, nothing is left.
        fsleep(Delta::from_millis(20));
        drop((it, d, p, sleeper));
        drop(pc);
        drop(ub);
        pr_info!("    # {} classes, {} wrong\n", t.classes, t.failed);
        assert!(t.classes >= 30);
        assert_eq!(t.failed, 0);
        assert_eq!(LIVE.load(Relaxed), live0);
        Ok(())
    }
}
