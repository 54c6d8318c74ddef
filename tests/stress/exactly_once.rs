// SPDX-License-Identifier: GPL-2.0

//! Part 1: exactly once at scale. Two producers enqueue `items` distinct `Arc` items, at random,
//! until `ops` enqueues succeeded or the time budget (`secs`) is spent, whichever comes first
//! (the count reached is printed: a slower machine does fewer, and every check below still
//! holds), while two other threads cancel and flush them at random. A
//! quarter of the items go to a per-CPU queue (on the local CPU or a chosen one), a quarter each
//! to an unbound, an ordered and a BH owned queue, each item always to its own queue: a queue
//! never runs one item twice at once (on different queues, C may). Then: every successful enqueue
//! ran or was cancelled, exactly (`enqueued == executed + cancelled`), no item ever ran twice at
//! once, nothing is pending after the drain, and every item is freed.

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_exactly_once)]
mod tests {
    use crate::event::Event;
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        cpu,
        Bh,
        Ordered,
        OwnedQueue,
        Unbound,
        Work,
        WorkItem, //
    };
    use crate::thread::{
        next,
        spawn, //
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

    /// Items alive: created minus dropped.
    static LIVE: Atomic<i64> = Atomic::new(0);

    /// What every thread of the case shares.
    struct State {
        items: KVec<Arc<Item>>,
        percpu: OwnedQueue,
        unbound: OwnedQueue<Unbound>,
        ordered: OwnedQueue<Ordered>,
        bh: OwnedQueue<Bh>,
        cpus: KVec<u32>,
        enqueued: Atomic<u64>,
        refused: Atomic<u64>,
        executed: Atomic<u64>,
        cancelled: Atomic<u64>,
        doubles: Atomic<u64>,
        stop: Atomic<u32>,
        target: u64,
        /// Set by a producer that found `enqueued` at `target`.
        reached: Arc<Event>,
    }

    #[pin_data(PinnedDrop)]
    struct Item {
        running: Atomic<u32>,
        state: Atomic<usize>,
        #[pin]
        work: Work<Item>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Item { self.work } }

    impl WorkItem for Item {
        type Pointer = Arc<Item>;

        fn run(this: Arc<Item>) {
            // SAFETY: The case stores the address of its `State` before any enqueue and frees
            // it only after every item ran or was cancelled and the queues are gone.
            let st = unsafe { &*(this.state.load(Relaxed) as *const State) };
            if this.running.xchg(1, Relaxed) != 0 {
                st.doubles.add(1, Relaxed);
            }
            st.executed.add(1, Relaxed);
            this.running.store(0, Relaxed);
        }
    }

    #[pinned_drop]
    impl PinnedDrop for Item {
        fn drop(self: Pin<&mut Self>) {
            LIVE.add(-1, Relaxed);
        }
    }

    #[derive(Clone, Copy, PartialEq)]
    enum Role {
        Producer,
        Canceller,
    }

    /// A thread of the case.
    fn drive(st: &State, role: Role, seed: u32) {
        let mut seed = seed;
        let mut n = 0u32;
        while st.stop.load(Relaxed) == 0 {
            let r = next(&mut seed);
            let i = (r as usize) % st.items.len().max(1);
            // `get`: no panic path in a kworker's loop (objtool knows none of Rust's).
            let Some(item) = st.items.get(i) else {
                continue;
            };
            match role {
                Role::Producer => {
                    if st.enqueued.load(Relaxed) >= st.target {
                        st.reached.set();
                        break;
                    }
                    let res = match (i % 4, (r >> 16) % 2) {
                        (0, 0) => st.percpu.enqueue(item.clone()).map_err(|e| e.error()),
                        (0, _) => {
                            let c = st
                                .cpus
                                .get(((r >> 20) as usize) % st.cpus.len().max(1))
                                .copied()
                                .unwrap_or(0);
                            st.percpu.enqueue_on(c, item.clone()).map_err(|e| e.error())
                        }
                        (1, _) => st.unbound.enqueue(item.clone()).map_err(|e| e.error()),
                        (2, _) => st.ordered.enqueue(item.clone()).map_err(|e| e.error()),
                        _ => st.bh.enqueue(item.clone()).map_err(|e| e.error()),
                    };
                    match res {
                        Ok(()) => st.enqueued.add(1, Relaxed),
                        Err(_) => st.refused.add(1, Relaxed),
                    }
                }
                Role::Canceller => {
                    if (r >> 16) % 8 == 0 {
                        let _ = Work::of(&**item).flush();
                    } else if Work::of(&**item).cancel().is_some() {
                        st.cancelled.add(1, Relaxed);
                    }
                }
            }
            n += 1;
            // Let the queues' workers run on this CPU too.
            if n % 256 == 0 {
                fsleep(Delta::from_micros(200));
            }
        }
    }

    #[test]
    fn every_enqueue_runs_or_is_cancelled_exactly_once() -> Result {
        let sz = crate::sizes();
        let mut items = KVec::with_capacity(sz.items as usize, GFP_KERNEL)?;
        for i in 0..sz.items {
            // BH items (every fourth) run in softirq context: a lockdep class of their own.
            let it = if i % 4 == 3 {
                Arc::pin_init(
                    pin_init!(Item {
                        running: Atomic::new(0),
                        state: Atomic::new(0),
                        work <- crate::new_work!("stress::Item::work (BH)"),
                    }),
                    GFP_KERNEL,
                )?
            } else {
                Arc::pin_init(
                    pin_init!(Item {
                        running: Atomic::new(0),
                        state: Atomic::new(0),
                        work <- crate::new_work!("stress::Item::work"),
                    }),
                    GFP_KERNEL,
                )?
            };
            LIVE.add(1, Relaxed);
            items.push(it, GFP_KERNEL)?;
        }
        let mut cpus = KVec::new();
        for c in cpu::online_cpus() {
            cpus.push(c, GFP_KERNEL)?;
        }
        let st = Arc::new(
            State {
                items,
                percpu: OwnedQueue::percpu().build(c"rwq_st_percpu")?,
                unbound: OwnedQueue::unbound().build(c"rwq_st_unbound")?,
                ordered: OwnedQueue::ordered().build(c"rwq_st_ordered")?,
                bh: OwnedQueue::bh().build(c"rwq_st_bh")?,
                cpus,
                enqueued: Atomic::new(0),
                refused: Atomic::new(0),
                executed: Atomic::new(0),
                cancelled: Atomic::new(0),
                doubles: Atomic::new(0),
                stop: Atomic::new(0),
                target: sz.ops,
                reached: Event::new_arc()?,
            },
            GFP_KERNEL,
        )?;
        let addr = Arc::as_ptr(&st) as usize;
        for it in st.items.iter() {
            it.state.store(addr, Relaxed);
        }
        let drivers = OwnedQueue::unbound()
            .max_active(4)
            .build(c"rwq_st_drivers")?;
        let t0 = Instant::<Monotonic>::now();
        for (role, seed) in [
            (Role::Producer, 0x1234_5678),
            (Role::Producer, 0x9e37_79b9),
            (Role::Canceller, 0x85eb_ca6b),
            (Role::Canceller, 0xc2b2_ae35),
        ] {
            let st = st.clone();
            spawn(&drivers, move || drive(&st, role, seed))?;
        }
        // Until the producers reached the target, or the time budget is spent.
        let limit = i64::from(sz.secs) * 1000;
        let _ = st.reached.wait_ms(limit - t0.elapsed().as_millis());
        let budget_spent = st.enqueued.load(Relaxed) < st.target;
        st.stop.store(1, Relaxed);
        drivers.flush()?;
        let ms = t0.elapsed().as_millis().max(1);
        // Everything queued runs now.
        st.percpu.drain()?;
        st.unbound.drain()?;
        st.ordered.drain()?;
        st.bh.drain()?;
        let enqueued = st.enqueued.load(Relaxed);
        let executed = st.executed.load(Relaxed);
        let cancelled = st.cancelled.load(Relaxed);
        pr_info!(
            "    # enqueued {enqueued} of {} (refused {}), executed {executed}, cancelled \
             {cancelled}, {} enqueues/s, {} items, {} ms{}\n",
            st.target,
            st.refused.load(Relaxed),
            enqueued * 1000 / (ms as u64),
            st.items.len(),
            ms,
            if budget_spent {
                " (time budget spent first)"
            } else {
                ""
            }
        );
        assert_eq!(enqueued, executed + cancelled);
        assert_eq!(st.doubles.load(Relaxed), 0);
        assert!(st.items.iter().all(|it| !Work::of(&**it).is_pending()));
        drop(drivers);
        drop(st);
        // The last references were the case's: every item is freed.
        assert_eq!(LIVE.load(Relaxed), 0);
        Ok(())
    }
}
