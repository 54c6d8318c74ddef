// SPDX-License-Identifier: GPL-2.0

//! Part 2: CPU hotplug under load. Every CPU but CPU 0 (the last one is possible and offline at
//! boot) goes down and up again and again for `hotplug_secs` while two producers queue on every CPU with
//! `enqueue_on`, `enqueue_delayed_on`, `work_on_cpu` and `schedule_on_each_cpu`. Then: every queued item
//! ran, exactly once (refusals are `ENODEV` for a CPU that was offline, or `EBUSY` for an item
//! still pending); `work_on_cpu` and `schedule_on_each_cpu` never ran anything on another CPU than the one
//! they reported. Items that ran on another CPU (theirs went down after the queueing) are
//! counted.

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_hotplug)]
mod tests {
    use crate::event::Event;
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        cpu,
        Bh,
        DelayedWork,
        OwnedQueue,
        Unbound,
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
            Delta,
            Instant,
            Monotonic, //
        },
    };

    /// The CPUs that go down and up: every possible one but CPU 0.
    fn toggled() -> core::ops::Range<u32> {
        1..cpu::nr_cpu_ids()
    }

    /// Brings `c` online, again while another module's hotplug hold makes it `EBUSY` (rule 15 of
    /// docs/soundness.md); other errors (e.g. online already) end it. The release of that hold
    /// announces nothing: polled.
    fn bring_online(c: u32) {
        while cpu::bring_online(c) == Err(EBUSY) {
            fsleep(Delta::from_millis(1));
        }
    }

    struct Counts {
        queued: Atomic<u64>,
        ran: Atomic<u64>,
        elsewhere: Atomic<u64>,
        refused: Atomic<u64>,
        busy: Atomic<u64>,
        other_errors: Atomic<u64>,
    }

    impl Counts {
        const fn new() -> Self {
            Self {
                queued: Atomic::new(0),
                ran: Atomic::new(0),
                elsewhere: Atomic::new(0),
                refused: Atomic::new(0),
                busy: Atomic::new(0),
                other_errors: Atomic::new(0),
            }
        }
    }

    struct State {
        percpu: OwnedQueue,
        bh: OwnedQueue<Bh>,
        plain: KVec<Arc<Plain>>,
        bh_items: KVec<Arc<Plain>>,
        delayed: KVec<Arc<Later>>,
        plain_counts: Counts,
        bh_counts: Counts,
        delayed_counts: Counts,
        on_cpu_ok: Atomic<u64>,
        on_cpu_refused: Atomic<u64>,
        each_runs: Atomic<u64>,
        wrong_cpu: Atomic<u64>,
        toggles: Atomic<u64>,
        stop: Atomic<u32>,
        /// Set once a CPU went down, an `enqueue_on` was refused as offline and a
        /// `work_on_cpu!` ran ([`State::note_coverage`]).
        covered: Arc<Event>,
    }

    impl State {
        /// Sets `covered` once each of its three has happened; called after each of them.
        fn note_coverage(&self) {
            if self.toggles.load(Relaxed) > 0
                && self.plain_counts.refused.load(Relaxed) > 0
                && self.on_cpu_ok.load(Relaxed) > 0
                && !self.covered.is_set()
            {
                self.covered.set();
            }
        }
    }

    #[pin_data]
    struct Plain {
        intended: Atomic<u32>,
        counts: Atomic<usize>,
        #[pin]
        work: Work<Plain>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Plain { self.work } }

    fn note_run(counts: usize, intended: u32) {
        // SAFETY: The case stores the address of the `Counts` (inside its `State`) before any
        // enqueue and frees the state only after every item ran and the queues are gone.
        let c = unsafe { &*(counts as *const Counts) };
        if cpu::current_cpu() != intended {
            c.elsewhere.add(1, Relaxed);
        }
        c.ran.add(1, Relaxed);
    }

    impl WorkItem for Plain {
        type Pointer = Arc<Plain>;

        fn run(this: Arc<Plain>) {
            note_run(this.counts.load(Relaxed), this.intended.load(Relaxed));
        }
    }

    #[pin_data]
    struct Later {
        intended: Atomic<u32>,
        counts: Atomic<usize>,
        #[pin]
        dwork: DelayedWork<Later>,
    }

    crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for Later { self.dwork } }

    impl WorkItem for Later {
        type Pointer = Arc<Later>;

        fn run(this: Arc<Later>) {
            note_run(this.counts.load(Relaxed), this.intended.load(Relaxed));
        }
    }

    fn count(c: &Counts, r: Result) {
        match r {
            Ok(()) => c.queued.add(1, Relaxed),
            Err(e) if e == ENODEV => c.refused.add(1, Relaxed),
            Err(e) if e == EBUSY => c.busy.add(1, Relaxed),
            Err(_) => c.other_errors.add(1, Relaxed),
        }
    }

    fn produce(st: &State, p: usize) {
        let mut seed = 0x2545_f491 ^ (p as u32 + 1).wrapping_mul(0x9e37_79b9);
        let mut n = 0u32;
        while st.stop.load(Relaxed) == 0 {
            let r = next(&mut seed);
            let c = r % cpu::nr_cpu_ids();
            // Each producer has its own items: nobody else changes `intended` meanwhile.
            let k = 2 * ((r as usize >> 8) % (st.plain.len() / 2).max(1)) + p;
            match (r >> 4) % 8 {
                0..=2 => {
                    let Some(it) = st.plain.get(k) else {
                        continue;
                    };
                    if !it.is_pending_now() {
                        it.intended.store(c, Relaxed);
                    }
                    let r = st.percpu.enqueue_on(c, it.clone()).map_err(|e| e.error());
                    let refused = r == Err(ENODEV);
                    count(&st.plain_counts, r);
                    if refused {
                        st.note_coverage();
                    }
                }
                3 => {
                    // A BH item queued on a CPU going down would be stranded on its pool.
                    let Some(it) = st.bh_items.get(k) else {
                        continue;
                    };
                    if !it.is_pending_now() {
                        it.intended.store(c, Relaxed);
                    }
                    let r = st.bh.enqueue_on(c, it.clone()).map_err(|e| e.error());
                    count(&st.bh_counts, r);
                }
                4..=5 => {
                    let Some(it) = st.delayed.get(k) else {
                        continue;
                    };
                    if !it.dwork_pending() {
                        it.intended.store(c, Relaxed);
                    }
                    let delay = (r >> 12) % 3;
                    let r = st
                        .percpu
                        .enqueue_delayed_on(c, it.clone(), delay as i32)
                        .map_err(|e| e.error());
                    count(&st.delayed_counts, r);
                }
                6 => match crate::work_on_cpu!(c, cpu::current_cpu) {
                    Ok(ran_on) => {
                        st.on_cpu_ok.add(1, Relaxed);
                        if ran_on != c {
                            st.wrong_cpu.add(1, Relaxed);
                        }
                        st.note_coverage();
                    }
                    Err(_) => st.on_cpu_refused.add(1, Relaxed),
                },
                _ => {
                    let wrong = &st.wrong_cpu;
                    let runs = crate::schedule_on_each_cpu!(|n| {
                        if cpu::current_cpu() != n {
                            wrong.add(1, Relaxed);
                        }
                    });
                    if let Ok(k) = runs {
                        st.each_runs.add(u64::from(k), Relaxed);
                    }
                }
            }
            n += 1;
            if n % 64 == 0 {
                fsleep(Delta::from_micros(500));
            }
        }
    }

    impl Plain {
        fn is_pending_now(&self) -> bool {
            crate::rust_wq::Work::of(self).is_pending()
        }
    }

    impl Later {
        fn dwork_pending(&self) -> bool {
            DelayedWork::of(self).is_pending()
        }
    }

    /// Takes CPUs down and up until the case stops.
    fn toggle(st: &State) {
        while st.stop.load(Relaxed) == 0 {
            for c in toggled() {
                // Errors (e.g. `EBUSY` while another operation runs) just skip.
                if cpu::take_offline(c).is_ok() {
                    st.toggles.add(1, Relaxed);
                    st.note_coverage();
                }
                fsleep(Delta::from_millis(20));
                bring_online(c);
                fsleep(Delta::from_millis(20));
            }
        }
    }

    #[test]
    fn queued_items_run_exactly_once_while_cpus_come_and_go() -> Result {
        let secs = crate::hotplug_secs();
        let mut plain = KVec::new();
        let mut bh_items = KVec::new();
        let mut delayed = KVec::new();
        for _ in 0..64 {
            bh_items.push(
                Arc::pin_init(
                    pin_init!(Plain {
                        intended: Atomic::new(0),
                        counts: Atomic::new(0),
                        work <- crate::new_work!("stress::hotplug::Plain::work (BH)"),
                    }),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
            plain.push(
                Arc::pin_init(
                    pin_init!(Plain {
                        intended: Atomic::new(0),
                        counts: Atomic::new(0),
                        work <- crate::new_work!("stress::hotplug::Plain::work"),
                    }),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
            delayed.push(
                Arc::pin_init(
                    pin_init!(Later {
                        intended: Atomic::new(0),
                        counts: Atomic::new(0),
                        dwork <- crate::new_delayed_work!("stress::hotplug::Later::dwork"),
                    }),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
        }
        let st = Arc::new(
            State {
                percpu: OwnedQueue::percpu().build(c"rwq_st_hotplug")?,
                bh: OwnedQueue::bh().build(c"rwq_st_hpbh")?,
                plain,
                bh_items,
                delayed,
                plain_counts: Counts::new(),
                bh_counts: Counts::new(),
                delayed_counts: Counts::new(),
                on_cpu_ok: Atomic::new(0),
                on_cpu_refused: Atomic::new(0),
                each_runs: Atomic::new(0),
                wrong_cpu: Atomic::new(0),
                toggles: Atomic::new(0),
                stop: Atomic::new(0),
                covered: Event::new_arc()?,
            },
            GFP_KERNEL,
        )?;
        let pc = core::ptr::from_ref(&st.plain_counts) as usize;
        let dc = core::ptr::from_ref(&st.delayed_counts) as usize;
        st.plain.iter().for_each(|it| it.counts.store(pc, Relaxed));
        let bc = core::ptr::from_ref(&st.bh_counts) as usize;
        st.bh_items
            .iter()
            .for_each(|it| it.counts.store(bc, Relaxed));
        st.delayed
            .iter()
            .for_each(|it| it.counts.store(dc, Relaxed));
        let drivers: OwnedQueue<Unbound> =
            OwnedQueue::unbound().max_active(4).build(c"rwq_st_hpdrv")?;
        let toggler = st.clone();
        spawn(&drivers, move || toggle(&toggler))?;
        for p in 0..2 {
            let st = st.clone();
            spawn(&drivers, move || produce(&st, p))?;
        }
        let t0 = Instant::<Monotonic>::now();
        while t0.elapsed().as_millis() < i64::from(secs) * 1000 {
            fsleep(Delta::from_millis(200));
        }
        // Then on until a CPU went down, a CPU was refused as offline and a `work_on_cpu!`
        // ran, each at least once (CPUs are picked at random): a machine too slow for that in
        // the time given fails as such, not as a wrong count.
        let covered = st.covered.wait_ms(PATIENCE_MS);
        if !covered {
            too_slow("a CPU down, an enqueue_on refused ENODEV and a work_on_cpu! run");
        }
        st.stop.store(1, Relaxed);
        drivers.flush()?;
        let ran_s = t0.elapsed().as_millis() / 1000;
        // Back to the boot state: every CPU but the last online, the last offline.
        let last = cpu::nr_cpu_ids() - 1;
        for c in 1..last {
            bring_online(c);
        }
        let _ = cpu::take_offline(last);
        for it in st.delayed.iter() {
            DelayedWork::of(&**it).flush()?;
        }
        st.percpu.drain()?;
        st.bh.drain()?;
        let p = &st.plain_counts;
        let b = &st.bh_counts;
        let d = &st.delayed_counts;
        pr_info!(
            "    # {} s, {} CPU downs; enqueue_on: {} queued, {} ran ({} elsewhere), {} ENODEV, \
             {} EBUSY\n",
            ran_s,
            st.toggles.load(Relaxed),
            p.queued.load(Relaxed),
            p.ran.load(Relaxed),
            p.elsewhere.load(Relaxed),
            p.refused.load(Relaxed),
            p.busy.load(Relaxed)
        );
        pr_info!(
            "    # BH enqueue_on: {} queued, {} ran ({} elsewhere), {} ENODEV, {} EBUSY\n",
            b.queued.load(Relaxed),
            b.ran.load(Relaxed),
            b.elsewhere.load(Relaxed),
            b.refused.load(Relaxed),
            b.busy.load(Relaxed)
        );
        pr_info!(
            "    # enqueue_delayed_on: {} queued, {} ran ({} elsewhere), {} ENODEV, {} EBUSY\n",
            d.queued.load(Relaxed),
            d.ran.load(Relaxed),
            d.elsewhere.load(Relaxed),
            d.refused.load(Relaxed),
            d.busy.load(Relaxed)
        );
        pr_info!(
            "    # work_on_cpu: {} ran, {} refused; schedule_on_each_cpu: {} runs; {} on a wrong CPU\n",
            st.on_cpu_ok.load(Relaxed),
            st.on_cpu_refused.load(Relaxed),
            st.each_runs.load(Relaxed),
            st.wrong_cpu.load(Relaxed)
        );
        assert!(covered);
        assert_eq!(p.queued.load(Relaxed), p.ran.load(Relaxed));
        assert_eq!(d.queued.load(Relaxed), d.ran.load(Relaxed));
        assert_eq!(b.queued.load(Relaxed), b.ran.load(Relaxed));
        assert_eq!(b.other_errors.load(Relaxed), 0);
        assert_eq!(p.other_errors.load(Relaxed), 0);
        assert_eq!(d.other_errors.load(Relaxed), 0);
        assert_eq!(st.wrong_cpu.load(Relaxed), 0);
        Ok(())
    }
}
