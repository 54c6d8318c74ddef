// SPDX-License-Identifier: GPL-2.0

//! Part 6: semantics under load. Ordered queues run strictly in order, one at a time;
//! `max_active(n)` is reached and never exceeded.

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_semantics)]
mod tests {
    use crate::rust_wq::{
        OwnedQueue,
        Work,
        WorkItem, //
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
}
