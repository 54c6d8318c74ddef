// SPDX-License-Identifier: GPL-2.0

//! Part 6: semantics under load. Ordered queues run strictly in order, one at a time;
//! `max_active(n)` is reached and never exceeded, also after `set_max_active` at run time;
//! `cancel_sync`, `flush` and `disable_sync` never return while the item runs.

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_semantics)]
mod tests {
    use crate::rust_wq::{
        DelayedWork,
        DelayedWorkOps,
        OwnedQueue,
        Work,
        WorkItem, //
        WorkOps,
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
    struct Shared {
        next: Atomic<u32>,
        out_of_order: Atomic<u32>,
        active: Atomic<u32>,
        max_active: Atomic<u32>,
        done: Atomic<u32>,
        sleep_us: u64,
    }

    impl Shared {
        fn new(sleep_us: u64) -> Result<Arc<Self>> {
            Ok(Arc::new(
                Shared {
                    next: Atomic::new(0),
                    out_of_order: Atomic::new(0),
                    active: Atomic::new(0),
                    max_active: Atomic::new(0),
                    done: Atomic::new(0),
                    sleep_us,
                },
                GFP_KERNEL,
            )?)
        }
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
            let s = Shared::new(2000)?;
            for i in 0..(4 * n) {
                q.enqueue_on(1, step(&s, i)?)?;
            }
            q.drain()?;
            let seen = s.max_active.load(Relaxed);
            pr_info!("    # per-CPU max_active {n}: at most {seen} at once on CPU 1\n");
            assert_eq!(seen, n);
            // Unbound: across the machine.
            let q = OwnedQueue::unbound().max_active(n).build(c"rwq_st_maxub")?;
            let s = Shared::new(2000)?;
            for i in 0..(4 * n) {
                q.enqueue(step(&s, i)?)?;
            }
            q.drain()?;
            let seen = s.max_active.load(Relaxed);
            pr_info!("    # unbound max_active {n}: at most {seen} at once\n");
            assert_eq!(seen, n);
        }
        Ok(())
    }

    #[test]
    fn set_max_active_at_run_time_is_the_new_limit() -> Result {
        let q = OwnedQueue::unbound().max_active(2).build(c"rwq_st_setma")?;
        let s = Shared::new(3000)?;
        for i in 0..12 {
            q.enqueue(step(&s, i)?)?;
        }
        q.drain()?;
        let before = s.max_active.load(Relaxed);
        q.set_max_active(6)?;
        let s = Shared::new(3000)?;
        for i in 0..24 {
            q.enqueue(step(&s, i)?)?;
        }
        q.drain()?;
        let after = s.max_active.load(Relaxed);
        pr_info!("    # max_active 2: at most {before} at once; set to 6: at most {after}\n");
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
                    let _ = WorkOps::cancel_sync(&*b)?;
                }
                1 => {
                    q.enqueue(b.clone())?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    WorkOps::flush(&*b)?;
                }
                2 => {
                    q.enqueue(b.clone())?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = WorkOps::disable_sync(&*b)?;
                    WorkOps::enable(&*b);
                }
                3 => {
                    q.enqueue_delayed(b.clone(), 0)?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = DelayedWorkOps::cancel_sync(&*b)?;
                }
                4 => {
                    q.enqueue_delayed(b.clone(), 1)?;
                    DelayedWorkOps::flush(&*b)?;
                }
                _ => {
                    q.enqueue_delayed(b.clone(), 0)?;
                    fsleep(Delta::from_micros(i64::from(i % 5) * 300));
                    let _ = DelayedWorkOps::disable_sync(&*b)?;
                    DelayedWorkOps::enable(&*b);
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
}
