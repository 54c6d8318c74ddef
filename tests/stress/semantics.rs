// SPDX-License-Identifier: GPL-2.0

//! Part 6: semantics under load. Ordered queues run strictly in order, one at a time;
//! `max_active(n)` is reached and never exceeded, also after `set_max_active` at run time;
//! `cancel_sync`, `flush` and `disable_sync` never return while the item runs; dropping a queue
//! runs every item pending or armed on it exactly once; items run in the worker kinds their
//! queues document (per-CPU, high-priority, unbound, BH).

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_semantics)]
mod tests {
    use crate::event::{
        Changes,
        Event, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        cpu::{
            self,
            TaskName, //
        },
        DelayedWork,
        OwnedQueue,
        Work,
        WorkItem, //
    };
    use crate::thread::{
        next,
        spawn,
        too_slow,
        PATIENCE_MS, //
    };
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

    /// What the items of one case share.
    #[pin_data]
    struct Shared {
        next: Atomic<u32>,
        out_of_order: Atomic<u32>,
        active: Atomic<u32>,
        max_active: Atomic<u32>,
        done: Atomic<u32>,
        sleep_us: u64,
        /// Whether items wait at the gate until the case opens it (and announce their start).
        gated: bool,
        /// Announces each gated item that started.
        #[pin]
        started: Changes,
        #[pin]
        opened: Event,
        /// Items that gave up waiting at the gate.
        gate_timeouts: Atomic<u32>,
    }

    impl Shared {
        fn new(sleep_us: u64) -> Result<Arc<Self>> {
            Self::with(sleep_us, false)
        }

        /// Items that wait, once running, until the case opens the gate ([`open_at`]).
        fn gated(sleep_us: u64) -> Result<Arc<Self>> {
            Self::with(sleep_us, true)
        }

        fn with(sleep_us: u64, gated: bool) -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Shared {
                    next: Atomic::new(0),
                    out_of_order: Atomic::new(0),
                    active: Atomic::new(0),
                    max_active: Atomic::new(0),
                    done: Atomic::new(0),
                    sleep_us,
                    gated,
                    started <- Changes::new(),
                    opened <- Event::new(),
                    gate_timeouts: Atomic::new(0),
                }),
                GFP_KERNEL,
            )
        }
    }

    /// Waits (patiently) until `n` items of `s` run at once, leaves 20 ms in which an item
    /// more would start if the limit let it, and opens the gate. Returns whether `n` ran at
    /// once: the items hold at the gate, so they overlap however fast or slow the machine is.
    fn open_at(s: &Shared, n: u32) -> bool {
        let reached = s
            .started
            .wait_ms(PATIENCE_MS, || s.active.load(Relaxed) >= n);
        if !reached {
            too_slow("max_active items running at once");
            pr_info!(
                "    # {} of {n} items at once when the wait ran out\n",
                s.active.load(Relaxed)
            );
        }
        fsleep(Delta::from_millis(20));
        s.opened.set();
        reached
    }

    #[pin_data]
    struct Step {
        shared: Arc<Shared>,
        seq: u32,
        #[pin]
        work: Work<Step>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Step { self.work } }

    impl WorkItem for Step {
        type Pointer = Arc<Step>;

        fn run(this: Arc<Step>) {
            let s = &this.shared;
            let now = s.active.fetch_add(1, Relaxed) + 1;
            let mut max = s.max_active.load(Relaxed);
            while now > max {
                match s.max_active.cmpxchg(max, now, Relaxed) {
                    Ok(_) => break,
                    Err(m) => max = m,
                }
            }
            if s.next.fetch_add(1, Relaxed) != this.seq {
                s.out_of_order.add(1, Relaxed);
            }
            // The case opens the gate within its patience; twice that is only for a case that
            // failed before opening it.
            if s.gated {
                s.started.notify();
                if !s.opened.wait_ms(2 * PATIENCE_MS) {
                    s.gate_timeouts.add(1, Relaxed);
                }
            }
            if s.sleep_us > 0 {
                fsleep(Delta::from_micros(s.sleep_us as i64));
            }
            s.active.fetch_sub(1, Relaxed);
            s.done.add(1, Relaxed);
        }
    }

    fn step(shared: &Arc<Shared>, seq: u32) -> Result<Arc<Step>> {
        Arc::pin_init(
            pin_init!(Step { shared: shared.clone(), seq, work <- crate::new_work!("stress::Step::work") }),
            GFP_KERNEL,
        )
    }

    #[test]
    fn ordered_queue_runs_2000_items_in_order_one_at_a_time() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_st_fifo")?;
        let s = Shared::new(0)?;
        for i in 0..2000 {
            q.enqueue(step(&s, i)?)?;
        }
        q.drain()?;
        pr_info!(
            "    # 2000 items: {} out of order, at most {} at once\n",
            s.out_of_order.load(Relaxed),
            s.max_active.load(Relaxed)
        );
        assert_eq!(s.done.load(Relaxed), 2000);
        assert_eq!(s.out_of_order.load(Relaxed), 0);
        assert_eq!(s.max_active.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn max_active_is_reached_and_never_exceeded() -> Result {
        for n in [1u32, 3, 8] {
            // Per CPU: all items on CPU 1's pool.
            let q = OwnedQueue::percpu().max_active(n).build(c"rwq_st_maxpc")?;
            let s = Shared::gated(2000)?;
            for i in 0..(4 * n) {
                q.enqueue_on(1, step(&s, i)?)?;
            }
            let reached = open_at(&s, n);
            q.drain()?;
            let seen = s.max_active.load(Relaxed);
            pr_info!("    # per-CPU max_active {n}: at most {seen} at once on CPU 1\n");
            assert!(reached);
            assert_eq!(s.gate_timeouts.load(Relaxed), 0);
            assert_eq!(seen, n);
            // Unbound: across the machine.
            let q = OwnedQueue::unbound().max_active(n).build(c"rwq_st_maxub")?;
            let s = Shared::gated(2000)?;
            for i in 0..(4 * n) {
                q.enqueue(step(&s, i)?)?;
            }
            let reached = open_at(&s, n);
            q.drain()?;
            let seen = s.max_active.load(Relaxed);
            pr_info!("    # unbound max_active {n}: at most {seen} at once\n");
            assert!(reached);
            assert_eq!(s.gate_timeouts.load(Relaxed), 0);
            assert_eq!(seen, n);
        }
        Ok(())
    }

    #[test]
    fn set_max_active_at_run_time_is_the_new_limit() -> Result {
        let q = OwnedQueue::unbound().max_active(2).build(c"rwq_st_setma")?;
        let s = Shared::gated(3000)?;
        for i in 0..12 {
            q.enqueue(step(&s, i)?)?;
        }
        let reached_before = open_at(&s, 2);
        q.drain()?;
        let before = s.max_active.load(Relaxed);
        let timeouts_before = s.gate_timeouts.load(Relaxed);
        q.set_max_active(6)?;
        let s = Shared::gated(3000)?;
        for i in 0..24 {
            q.enqueue(step(&s, i)?)?;
        }
        let reached_after = open_at(&s, 6);
        q.drain()?;
        let after = s.max_active.load(Relaxed);
        pr_info!("    # max_active 2: at most {before} at once; set to 6: at most {after}\n");
        assert!(reached_before && reached_after);
        assert_eq!(timeouts_before + s.gate_timeouts.load(Relaxed), 0);
        assert_eq!(before, 2);
        assert_eq!(after, 6);
        Ok(())
    }

    /// Runs for 2 ms with `running` set.
    #[pin_data]
    struct Busy {
        running: Atomic<u32>,
        runs: Atomic<u32>,
        #[pin]
        work: Work<Busy>,
        #[pin]
        dwork: DelayedWork<Busy, 1>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Busy { self.work } }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Busy { self.dwork } }

    fn busy_run(this: &Busy) {
        this.running.store(1, Relaxed);
        fsleep(Delta::from_micros(2000));
        this.runs.add(1, Relaxed);
        this.running.store(0, Relaxed);
    }

    impl WorkItem for Busy {
        type Pointer = Arc<Busy>;

        fn run(this: Arc<Busy>) {
            busy_run(&this);
        }
    }

    impl WorkItem<1> for Busy {
        type Pointer = Arc<Busy>;

        fn run(this: Arc<Busy>) {
            busy_run(&this);
        }
    }

    #[test]
    fn waits_never_return_while_the_item_runs() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_st_waits")?;
        let b = Arc::pin_init(
            pin_init!(Busy {
                running: Atomic::new(0),
                runs: Atomic::new(0),
                work <- crate::new_work!("stress::Busy::work"),
                dwork <- crate::new_delayed_work!("stress::Busy::dwork"),
            }),
            GFP_KERNEL,
        )?;
        let mut early = 0u32;
        for i in 0..300u32 {
            // Let the item start (or not) before the wait: both orders happen.
            match i % 6 {
                0 => {
                    q.enqueue(b.clone())?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = Work::of(&*b).cancel_sync()?;
                }
                1 => {
                    q.enqueue(b.clone())?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    Work::of(&*b).flush()?;
                }
                2 => {
                    q.enqueue(b.clone())?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = Work::of(&*b).disable_sync()?;
                    Work::of(&*b).enable();
                }
                3 => {
                    q.enqueue_delayed(b.clone(), 0)?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = DelayedWork::of(&*b).cancel_sync()?;
                }
                4 => {
                    q.enqueue_delayed(b.clone(), 1)?;
                    DelayedWork::of(&*b).flush()?;
                }
                _ => {
                    q.enqueue_delayed(b.clone(), 0)?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = DelayedWork::of(&*b).disable_sync()?;
                    DelayedWork::of(&*b).enable();
                }
            }
            if b.running.load(Relaxed) != 0 {
                early += 1;
            }
        }
        q.drain()?;
        pr_info!(
            "    # 300 waits (cancel_sync, flush, disable_sync; plain and delayed): {early} \
             returned while the item ran; {} runs\n",
            b.runs.load(Relaxed)
        );
        assert_eq!(early, 0);
        assert!(b.runs.load(Relaxed) > 0);
        Ok(())
    }

    /// Counts of the drop and worker-kind cases.
    struct Tally {
        runs: Atomic<u32>,
        wrong: Atomic<u32>,
        live: Atomic<u32>,
    }

    fn tally() -> Result<Arc<Tally>> {
        Ok(Arc::new(
            Tally {
                runs: Atomic::new(0),
                wrong: Atomic::new(0),
                live: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    /// An item that counts its own runs (plain `Work` or delayed, ID 1).
    #[pin_data(PinnedDrop)]
    struct Once {
        tally: Arc<Tally>,
        runs: Atomic<u32>,
        #[pin]
        work: Work<Once>,
        #[pin]
        dwork: DelayedWork<Once, 1>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Once { self.work } }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Once { self.dwork } }

    #[pinned_drop]
    impl PinnedDrop for Once {
        fn drop(self: Pin<&mut Self>) {
            self.tally.live.fetch_sub(1, Relaxed);
        }
    }

    fn once_run(this: &Once) {
        this.runs.add(1, Relaxed);
        this.tally.runs.add(1, Relaxed);
    }

    impl WorkItem for Once {
        type Pointer = Arc<Once>;

        fn run(this: Arc<Once>) {
            once_run(&this);
        }
    }

    impl WorkItem<1> for Once {
        type Pointer = Arc<Once>;

        fn run(this: Arc<Once>) {
            once_run(&this);
        }
    }

    fn once(t: &Arc<Tally>) -> Result<Arc<Once>> {
        t.live.add(1, Relaxed);
        Arc::pin_init(
            pin_init!(Once {
                tally: t.clone(),
                runs: Atomic::new(0),
                work <- crate::new_work!("stress::Once::work"),
                dwork <- crate::new_delayed_work!("stress::Once::dwork"),
            }),
            GFP_KERNEL,
        )
        .inspect_err(|_| {
            t.live.fetch_sub(1, Relaxed);
        })
    }

    /// Arms 256 items on `q` (half plain on CPUs in turn, half delayed by 0 to 24 jiffies),
    /// drops it, and returns how many items did not run exactly once.
    fn drop_with_items<K: crate::rust_wq::Kind>(q: OwnedQueue<K>, t: &Arc<Tally>) -> Result<u32>
    where
        OwnedQueue<K>: Arming,
    {
        let cpus: KVec<u32> = {
            let mut v = KVec::new();
            for c in cpu::online_cpus() {
                v.push(c, GFP_KERNEL)?;
            }
            v
        };
        let mut items = KVec::with_capacity(256, GFP_KERNEL)?;
        for i in 0..256u32 {
            let it = once(t)?;
            items.push(it.clone(), GFP_KERNEL)?;
            if i % 2 == 0 {
                let cpu = *cpus
                    .get((i as usize / 2) % cpus.len().max(1))
                    .ok_or(EINVAL)?;
                q.plain(cpu, it)?;
            } else {
                q.delayed(it, (i % 25) as usize)?;
            }
        }
        drop(q);
        Ok(items.iter().filter(|it| it.runs.load(Relaxed) != 1).count() as u32)
    }

    /// How [`drop_with_items`] queues on each kind of owned queue.
    trait Arming {
        fn plain(&self, cpu: u32, it: Arc<Once>) -> Result;
        fn delayed(&self, it: Arc<Once>, delay: usize) -> Result;
    }

    impl Arming for OwnedQueue<crate::rust_wq::PerCpu> {
        fn plain(&self, cpu: u32, it: Arc<Once>) -> Result {
            self.enqueue_on(cpu, it).map_err(|e| e.error())
        }
        fn delayed(&self, it: Arc<Once>, delay: usize) -> Result {
            self.enqueue_delayed(it, delay).map_err(|e| e.error())
        }
    }

    impl Arming for OwnedQueue<crate::rust_wq::Unbound> {
        fn plain(&self, _cpu: u32, it: Arc<Once>) -> Result {
            self.enqueue(it).map_err(|e| e.error())
        }
        fn delayed(&self, it: Arc<Once>, delay: usize) -> Result {
            self.enqueue_delayed(it, delay).map_err(|e| e.error())
        }
    }

    #[test]
    fn queue_drop_runs_every_pending_and_armed_item_exactly_once() -> Result {
        let t = tally()?;
        let mut not_once = 0;
        for round in 0..20 {
            not_once += if round % 2 == 0 {
                drop_with_items(OwnedQueue::percpu().build(c"rwq_st_drop")?, &t)?
            } else {
                drop_with_items(
                    OwnedQueue::unbound().max_active(4).build(c"rwq_st_drop")?,
                    &t,
                )?
            };
        }
        pr_info!(
            "    # 20 queues dropped with 256 items each pending or armed: {} runs, {not_once} \
             items not run exactly once, {} alive\n",
            t.runs.load(Relaxed),
            t.live.load(Relaxed)
        );
        assert_eq!(not_once, 0);
        assert_eq!(t.runs.load(Relaxed), 20 * 256);
        assert_eq!(t.live.load(Relaxed), 0);
        Ok(())
    }

    /// Which worker an item must run in.
    #[derive(Clone, Copy)]
    enum Kind {
        /// A normal kworker of `cpu`.
        PerCpu,
        /// A high-priority kworker of `cpu`.
        HighPri,
        /// An unbound kworker.
        Unbound,
        /// Softirq context on `cpu`.
        Bh,
    }

    #[pin_data]
    struct Probe {
        tally: Arc<Tally>,
        kind: Kind,
        cpu: u32,
        #[pin]
        work: Work<Probe>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Probe { self.work } }

    impl WorkItem for Probe {
        type Pointer = Arc<Probe>;

        fn run(this: Arc<Probe>) {
            let name = TaskName::current();
            let ok = match this.kind {
                Kind::PerCpu => {
                    cpu::in_task()
                        && name.is_percpu_kworker_of(this.cpu)
                        && !name.is_highpri_kworker()
                }
                Kind::HighPri => {
                    cpu::in_task()
                        && name.is_percpu_kworker_of(this.cpu)
                        && name.is_highpri_kworker()
                }
                Kind::Unbound => cpu::in_task() && name.is_unbound_kworker(),
                Kind::Bh => !cpu::in_task() && cpu::current_cpu() == this.cpu,
            };
            if !ok {
                this.tally.wrong.add(1, Relaxed);
            }
            this.tally.runs.add(1, Relaxed);
        }
    }

    /// The queues of the worker-kind case.
    struct Kinds {
        percpu: OwnedQueue<crate::rust_wq::PerCpu>,
        highpri: OwnedQueue<crate::rust_wq::PerCpu>,
        unbound: OwnedQueue<crate::rust_wq::Unbound>,
        bh: OwnedQueue<crate::rust_wq::Bh>,
        bh_highpri: OwnedQueue<crate::rust_wq::Bh>,
        cpus: KVec<u32>,
        tally: Arc<Tally>,
    }

    /// Queues 4000 probes of every kind in turn on CPUs picked at random.
    fn probe_all(k: &Kinds, mut seed: u32) -> Result {
        for i in 0..4000u32 {
            let r = next(&mut seed);
            // No panic path (objtool): `max(1)` and `get`.
            let cpu = *k.cpus.get(r as usize % k.cpus.len().max(1)).ok_or(EINVAL)?;
            let kind = match i % 5 {
                0 => Kind::PerCpu,
                1 => Kind::HighPri,
                2 => Kind::Unbound,
                _ => Kind::Bh,
            };
            let tally = k.tally.clone();
            // A lockdep class for BH items and one for the others (see `rust_wq::class`).
            let p = if matches!(kind, Kind::Bh) {
                Arc::pin_init(
                    pin_init!(Probe { tally, kind, cpu, work <- crate::new_work!("stress::Probe::work (BH)") }),
                    GFP_KERNEL,
                )?
            } else {
                Arc::pin_init(
                    pin_init!(Probe { tally, kind, cpu, work <- crate::new_work!("stress::Probe::work") }),
                    GFP_KERNEL,
                )?
            };
            let res = match i % 5 {
                0 => k.percpu.enqueue_on(cpu, p),
                1 => k.highpri.enqueue_on(cpu, p),
                2 => k.unbound.enqueue(p),
                3 => k.bh.enqueue_on(cpu, p),
                _ => k.bh_highpri.enqueue_on(cpu, p),
            };
            res.map_err(|e| e.error())?;
        }
        Ok(())
    }

    #[test]
    fn items_run_in_the_worker_kinds_their_queues_document() -> Result {
        let mut cpus = KVec::new();
        for c in cpu::online_cpus() {
            cpus.push(c, GFP_KERNEL)?;
        }
        let k = Arc::new(
            Kinds {
                percpu: OwnedQueue::percpu().build(c"rwq_st_kpc")?,
                highpri: OwnedQueue::percpu().highpri().build(c"rwq_st_khi")?,
                unbound: OwnedQueue::unbound().build(c"rwq_st_kub")?,
                bh: OwnedQueue::bh().build(c"rwq_st_kbh")?,
                bh_highpri: OwnedQueue::bh().highpri().build(c"rwq_st_kbhh")?,
                cpus,
                tally: tally()?,
            },
            GFP_KERNEL,
        )?;
        let threads = OwnedQueue::unbound().max_active(4).build(c"rwq_st_kthr")?;
        let failed = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        for seed in [0x1234_5678u32, 0x9abc_def1] {
            let (k, failed) = (k.clone(), failed.clone());
            spawn(&threads, move || {
                if probe_all(&k, seed).is_err() {
                    failed.add(1, Relaxed);
                }
            })?;
        }
        threads.flush()?;
        k.percpu.drain()?;
        k.highpri.drain()?;
        k.unbound.drain()?;
        k.bh.drain()?;
        k.bh_highpri.drain()?;
        let t = &k.tally;
        pr_info!(
            "    # 8000 items from 2 threads on per-CPU, highpri, unbound and BH queues: {} ran, \
             {} in the wrong kind of worker\n",
            t.runs.load(Relaxed),
            t.wrong.load(Relaxed)
        );
        assert_eq!(failed.load(Relaxed), 0);
        assert_eq!(t.runs.load(Relaxed), 8000);
        assert_eq!(t.wrong.load(Relaxed), 0);
        Ok(())
    }
}
