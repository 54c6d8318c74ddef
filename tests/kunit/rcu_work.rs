// SPDX-License-Identifier: GPL-2.0

//! RCU work (`queue_rcu_work` / `flush_rcu_work`): items run only after a grace period, are
//! refused while pending, survive the drop of their queue in the grace period, and cannot wait
//! for themselves.

use kernel::prelude::*;

#[kunit_tests(rust_wq_rcu_work)]
mod tests {
    use crate::event::{
        Changes,
        Event, //
    };
    use crate::probe::{
        Job,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        OwnedQueue,
        RcuWork,
        WorkItem, //
    };
    use kernel::{
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            rcu,
            Arc, //
        },
        time::{
            delay::udelay,
            Delta, //
        },
    };

    /// What the RCU items of one test saw; the test thread asserts on it, and waits for the
    /// drops the items announce.
    #[pin_data]
    struct Seen {
        runs: Atomic<u32>,
        dropped: Atomic<u32>,
        /// The errno of the item's own flush, if it tried one.
        errno: Atomic<i32>,
        /// Runs that were not in task context (BH queues run items in softirq context).
        in_softirq: Atomic<u32>,
        /// Announces each drop.
        #[pin]
        changes: Changes,
    }

    impl Seen {
        fn new() -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Seen {
                    runs: Atomic::new(0),
                    dropped: Atomic::new(0),
                    errno: Atomic::new(0),
                    in_softirq: Atomic::new(0),
                    changes <- Changes::new(),
                }),
                GFP_KERNEL,
            )
        }

        fn runs(&self) -> u32 {
            self.runs.load(Relaxed)
        }

        fn dropped(&self) -> u32 {
            self.dropped.load(Relaxed)
        }

        /// Waits until `n` items were dropped; how many were then (fewer if the wait ran out:
        /// the log says too slow to finish).
        #[track_caller]
        fn wait_dropped(&self, n: u32) -> u32 {
            let _ = self.changes.wait_until(|| self.dropped() >= n);
            self.dropped()
        }
    }

    /// An RCU work item that counts its runs and drops.
    #[pin_data(PinnedDrop)]
    struct RcuProbe {
        seen: Arc<Seen>,
        /// Whether its run tries to flush itself.
        self_flush: bool,
        #[pin]
        rwork: RcuWork<RcuProbe>,
    }

    crate::impl_has_rcu_work! { impl HasRcuWork<Self> for RcuProbe { self.rwork } }

    impl RcuProbe {
        fn new(seen: &Arc<Seen>, self_flush: bool) -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Self {
                    seen: seen.clone(),
                    self_flush,
                    rwork <- crate::new_rcu_work!("RcuProbe::rwork"),
                }),
                GFP_KERNEL,
            )
        }

        /// A probe for BH queues: a lockdep class of its own (see `rust_wq::class`).
        fn new_bh(seen: &Arc<Seen>, self_flush: bool) -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Self {
                    seen: seen.clone(),
                    self_flush,
                    rwork <- crate::new_rcu_work!("RcuProbe::rwork (BH)"),
                }),
                GFP_KERNEL,
            )
        }
    }

    #[pinned_drop]
    impl PinnedDrop for RcuProbe {
        fn drop(self: Pin<&mut Self>) {
            self.seen.dropped.add(1, Relaxed);
            self.seen.changes.notify();
        }
    }

    impl WorkItem for RcuProbe {
        type Pointer = Arc<RcuProbe>;

        fn run(this: Arc<RcuProbe>) {
            let s = &this.seen;
            if !cpu::in_task() {
                s.in_softirq.add(1, Relaxed);
            }
            if this.self_flush {
                let errno = match RcuWork::of(&*this).flush() {
                    Ok(_) => 0,
                    Err(e) => e.to_errno(),
                };
                s.errno.store(errno, Relaxed);
            }
            s.runs.add(1, Relaxed);
        }
    }

    /// Busy-waits `ms` milliseconds: inside an RCU read-side critical section sleeping is not
    /// allowed.
    fn spin_ms(ms: u32) {
        for _ in 0..ms {
            udelay(Delta::from_micros(1000));
        }
    }

    /// The reader holds its RCU read lock.
    const HOLDING: u32 = 1;
    /// The test lets the reader go: it leaves its critical section 50 ms later.
    const GO: u32 = 2;
    /// The reader left on its own: the test did not let it go within [`HOLD_MS`].
    const EXPIRED: u32 = 3;
    /// The longest the reader holds its read lock if the test never lets it go: well below the
    /// RCU stall warning (21 s), and far longer than the few calls it waits for take.
    const HOLD_MS: u32 = 10_000;

    /// An RCU reader on a kworker of `system_dfl`, so that a grace period is certain to be under
    /// way while the test thread, outside any critical section, drops or drains a queue.
    struct Reader {
        state: Arc<Atomic<u32>>,
        job: Arc<Shared>,
    }

    impl Reader {
        /// Starts the reader and waits until it holds the read lock.
        fn start() -> Result<Self> {
            let state = Arc::new(Atomic::<u32>::new(0), GFP_KERNEL)?;
            let holding = Event::new_arc()?;
            let (st, hold) = (state.clone(), holding.clone());
            let job = Shared::new()?;
            rust_wq::system_dfl().enqueue(Job::new(&job, move || {
                let guard = rcu::read_lock();
                st.store(HOLDING, Relaxed);
                hold.set();
                // Until the test says so (or `HOLD_MS` pass, should it fail before), then 50 ms
                // more. No sleep inside the critical section: the reader spins, and checks for
                // the test's word each millisecond.
                for _ in 0..HOLD_MS {
                    if st.load(Relaxed) == GO {
                        break;
                    }
                    spin_ms(1);
                }
                let _ = st.cmpxchg(HOLDING, EXPIRED, Relaxed);
                spin_ms(50);
                drop(guard);
            })?)?;
            if !holding.wait() {
                return Err(ETIMEDOUT);
            }
            Ok(Self { state, job })
        }

        /// Lets the reader leave its critical section (50 ms from now). `false` if it had left
        /// already, the test being too slow to get here within [`HOLD_MS`]: what the test saw
        /// meanwhile was not inside a grace period.
        fn go(&self) -> bool {
            let held = self.state.cmpxchg(HOLDING, GO, Relaxed).is_ok();
            if !held {
                pr_info!(
                    "    # too slow to finish: the RCU reader left after {} s, before the test \
                     let it go\n",
                    HOLD_MS / 1000
                );
            }
            held
        }

        /// Waits until the reader's job has returned.
        fn finish(self) -> bool {
            let _ = self.state.cmpxchg(HOLDING, GO, Relaxed);
            self.job.wait_runs(1) == 1
        }
    }

    /// (a) The item runs only after the grace period: not while the test thread stays inside
    /// the read-side critical section it queued it in, however long; flushing from inside it
    /// is `EAGAIN` (the grace period would wait for the caller); after it, `flush` waits for
    /// the grace period and the run.
    #[test]
    fn rcu_items_wait_for_the_readers_of_their_enqueue() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_rcu_gp")?;
        let s = Seen::new()?;
        let item = RcuProbe::new(&s, false)?;
        let guard = rcu::read_lock();
        let queued = q.enqueue_rcu(item.clone()).map_err(|e| e.error());
        spin_ms(50);
        let early = s.runs();
        let pending = RcuWork::of(&*item).is_pending();
        let flush_inside = RcuWork::of(&*item).flush().err();
        drop(guard);
        queued?;
        assert_eq!(early, 0);
        assert!(pending);
        assert_eq!(flush_inside, Some(EAGAIN));
        assert_eq!(RcuWork::of(&*item).flush(), Ok(true));
        assert_eq!(s.runs(), 1);
        assert!(!RcuWork::of(&*item).is_pending());
        // Idle: nothing to wait for.
        assert_eq!(RcuWork::of(&*item).flush(), Ok(false));
        drop(item);
        assert_eq!(s.dropped(), 1);
        Ok(())
    }

    /// (b) An item is pending from its enqueue until its run starts: enqueueing it again, on
    /// any queue, is `EBUSY` with the same item handed back; after the run it can go again.
    #[test]
    fn enqueueing_a_pending_rcu_item_is_ebusy_with_the_item_back() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_rcu_busy")?;
        let s = Seen::new()?;
        let item = RcuProbe::new(&s, false)?;
        let guard = rcu::read_lock();
        let first = q.enqueue_rcu(item.clone()).map_err(|e| e.error());
        let again = q.enqueue_rcu(item.clone()).err();
        let system = rust_wq::system_dfl().enqueue_rcu(item.clone()).err();
        drop(guard);
        first?;
        let again = again.ok_or(EINVAL)?;
        assert_eq!(again.error(), EBUSY);
        assert!(Arc::ptr_eq(&again.into_item(), &item));
        let system = system.ok_or(EINVAL)?;
        assert_eq!(system.error(), EBUSY);
        assert!(Arc::ptr_eq(&system.into_item(), &item));
        assert_eq!(RcuWork::of(&*item).flush(), Ok(true));
        assert_eq!(s.runs(), 1);
        rust_wq::system_dfl()
            .enqueue_rcu(item.clone())
            .map_err(|e| e.error())?;
        assert_eq!(RcuWork::of(&*item).flush(), Ok(true));
        assert_eq!(s.runs(), 2);
        // Every reference came back: ours is the last.
        drop(item);
        assert_eq!(s.dropped(), 1);
        Ok(())
    }

    /// (c) An owned queue dropped while its RCU item waits for the grace period waits for the
    /// RCU callback (which would otherwise queue on a destroyed queue), then runs the item
    /// once, and nothing leaks: dropped directly by the test thread, and handed off to a
    /// kworker when dropped inside a read-side critical section.
    #[test]
    fn dropping_a_queue_in_the_grace_period_runs_its_rcu_item_once() -> Result {
        // Directly: a reader elsewhere keeps the grace period from ending before the drop.
        let s = Seen::new()?;
        let q = OwnedQueue::percpu().build(c"rwq_rcu_drop")?;
        let reader = Reader::start()?;
        let item = RcuProbe::new(&s, false)?;
        let queued = q.enqueue_rcu(item.clone()).map_err(|e| e.error());
        let pending = RcuWork::of(&*item).is_pending();
        // The queue holds the only reference from here on.
        drop(item);
        let held = reader.go();
        drop(q);
        let runs = s.runs();
        let dropped = s.dropped();
        let reader_done = reader.finish();
        queued?;
        assert!(held);
        assert!(pending);
        assert_eq!(runs, 1);
        assert_eq!(dropped, 1);
        assert!(reader_done);

        // Handed off: dropped where it cannot wait, inside the critical section.
        let s = Seen::new()?;
        let q = OwnedQueue::unbound().build(c"rwq_rcu_handoff")?;
        let item = RcuProbe::new(&s, false)?;
        let guard = rcu::read_lock();
        let queued = q.enqueue_rcu(item).map_err(|e| e.error());
        drop(q);
        let early = s.runs();
        drop(guard);
        queued?;
        assert_eq!(early, 0);
        assert_eq!(s.wait_dropped(1), 1);
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    /// (d) Flushing itself from its own run is `EDEADLK` (it would wait for itself); from a BH
    /// queue's run, which cannot sleep, it is `EAGAIN`. BH queues run RCU items in softirq
    /// context.
    #[test]
    fn an_rcu_item_flushing_itself_is_edeadlk_and_eagain_in_bh() -> Result {
        let s = Seen::new()?;
        let item = RcuProbe::new(&s, true)?;
        rust_wq::system_dfl()
            .enqueue_rcu(item.clone())
            .map_err(|e| e.error())?;
        assert_eq!(RcuWork::of(&*item).flush(), Ok(true));
        assert_eq!(s.runs(), 1);
        assert_eq!(s.errno.load(Relaxed), EDEADLK.to_errno());
        assert_eq!(s.in_softirq.load(Relaxed), 0);

        let bh = OwnedQueue::bh().build(c"rwq_rcu_bh")?;
        let s = Seen::new()?;
        let item = RcuProbe::new_bh(&s, true)?;
        bh.enqueue_rcu(item.clone()).map_err(|e| e.error())?;
        assert_eq!(RcuWork::of(&*item).flush(), Ok(true));
        rust_wq::system_bh()
            .enqueue_rcu(item.clone())
            .map_err(|e| e.error())?;
        assert_eq!(RcuWork::of(&*item).flush(), Ok(true));
        assert_eq!(s.runs(), 2);
        assert_eq!(s.in_softirq.load(Relaxed), 2);
        assert_eq!(s.errno.load(Relaxed), EAGAIN.to_errno());
        Ok(())
    }

    /// `drain` covers RCU items still in their grace period (`flush` of the queue, as in C,
    /// does not).
    #[test]
    fn drain_waits_for_rcu_items_in_their_grace_period() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_rcu_drain")?;
        let s = Seen::new()?;
        let reader = Reader::start()?;
        let queued = q
            .enqueue_rcu(RcuProbe::new(&s, false)?)
            .map_err(|e| e.error());
        let flushed = q.flush();
        let after_flush = s.runs();
        let held = reader.go();
        let drained = q.drain();
        let runs = s.runs();
        let reader_done = reader.finish();
        queued?;
        flushed?;
        drained?;
        assert!(held);
        assert_eq!(after_flush, 0);
        assert_eq!(runs, 1);
        assert_eq!(s.dropped(), 1);
        assert!(reader_done);
        Ok(())
    }
}
