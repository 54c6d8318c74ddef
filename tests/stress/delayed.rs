// SPDX-License-Identifier: GPL-2.0

//! Part 1, delayed items: two producers arm 256 `Arc` items (`enqueue_delayed`, `mod_delayed`,
//! delays of 0 to 3 jiffies) on owned queues that a third thread creates and drops under them all
//! the time, while they also cancel, `cancel_sync` and disable/enable them, until `ops / 4`
//! armings queued the item or the time budget (`secs`) is spent, whichever comes first (the
//! count reached is printed, not checked). A queue's drop fires what is armed on it. Then: every
//! arming that queued the item ran or was cancelled, exactly (`armed == executed + cancelled`),
//! and every item is freed.

use kernel::prelude::*;

#[kunit_tests(rust_wq_stress_delayed)]
mod tests {
    use crate::event::Event;
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        Armed,
        DelayedWork,
        OwnedQueue,
        Unbound,
        WorkItem, //
    };
    use crate::thread::{
        next,
        spawn,
        wait_until, //
    };
    use kernel::{
        new_spinlock,
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc, SpinLock,
        },
        time::{
            delay::fsleep,
            Delta,
            Instant,
            Monotonic, //
        },
    };

    static LIVE: Atomic<i64> = Atomic::new(0);

    type Q = Arc<OwnedQueue<Unbound>>;

    struct Slots([Option<Q>; 4]);

    #[pin_data]
    struct State {
        #[pin]
        slots: SpinLock<Slots>,
        items: KVec<Arc<DItem>>,
        armed: Atomic<u64>,
        refused: Atomic<u64>,
        executed: Atomic<u64>,
        cancelled: Atomic<u64>,
        queues: Atomic<u64>,
        stop: Atomic<u32>,
        target: u64,
        /// Set by a producer that found `armed` at `target`.
        #[pin]
        reached: Event,
    }

    #[pin_data(PinnedDrop)]
    struct DItem {
        executed: Atomic<usize>,
        #[pin]
        dwork: DelayedWork<DItem>,
    }

    crate::impl_has_delayed_work! { impl HasDelayedWork<Self> for DItem { self.dwork } }

    impl WorkItem for DItem {
        type Pointer = Arc<DItem>;

        fn run(this: Arc<DItem>) {
            // SAFETY: The case stores the address of its `executed` counter before any arm and
            // frees it only after every item ran or was cancelled.
            unsafe { &*(this.executed.load(Relaxed) as *const Atomic<u64>) }.add(1, Relaxed);
        }
    }

    #[pinned_drop]
    impl PinnedDrop for DItem {
        fn drop(self: Pin<&mut Self>) {
            LIVE.add(-1, Relaxed);
        }
    }

    fn new_queue() -> Result<Q> {
        Ok(Arc::new(
            OwnedQueue::unbound().build(c"rwq_st_churn")?,
            GFP_KERNEL,
        )?)
    }

    fn produce(st: &State, seed0: u32) {
        let mut seed = seed0;
        let mut n = 0u32;
        while st.stop.load(Relaxed) == 0 && st.armed.load(Relaxed) < st.target {
            let r = next(&mut seed);
            // `get`: no panic path in a kworker's loop (objtool knows none of Rust's).
            let Some(item) = st.items.get((r as usize) % st.items.len().max(1)) else {
                continue;
            };
            let Some(q) = st.slots.lock().0[(r >> 8) as usize % 4].clone() else {
                continue;
            };
            let delay = ((r >> 12) % 4) as i32;
            match (r >> 16) % 8 {
                0..=2 => match q.enqueue_delayed(item.clone(), delay) {
                    Ok(()) => st.armed.add(1, Relaxed),
                    Err(_) => st.refused.add(1, Relaxed),
                },
                3 | 4 => match q.mod_delayed(item.clone(), delay) {
                    Ok(Armed::Queued) => st.armed.add(1, Relaxed),
                    Ok(Armed::Modified(_)) => {}
                    Err(_) => st.refused.add(1, Relaxed),
                },
                5 => {
                    if DelayedWork::of(&**item).cancel().is_some() {
                        st.cancelled.add(1, Relaxed);
                    }
                }
                6 => {
                    if let Ok(taken) = DelayedWork::of(&**item).disable() {
                        if taken.is_some() {
                            st.cancelled.add(1, Relaxed);
                        }
                        DelayedWork::of(&**item).enable();
                    }
                }
                _ => {
                    if let Ok(Some(_)) = DelayedWork::of(&**item).cancel_sync() {
                        st.cancelled.add(1, Relaxed);
                    }
                }
            }
            // The last reference to a queue the churner replaced may go here: in a kworker,
            // its drop hands the destruction off.
            drop(q);
            n += 1;
            if n % 128 == 0 {
                fsleep(Delta::from_micros(300));
            }
        }
        if st.armed.load(Relaxed) >= st.target {
            st.reached.set();
        }
    }

    fn churn(st: &State) {
        let mut seed = 0x6a09_e667;
        while st.stop.load(Relaxed) == 0 && st.armed.load(Relaxed) < st.target {
            let r = next(&mut seed);
            if let Ok(q) = new_queue() {
                let old = st.slots.lock().0[r as usize % 4].replace(q);
                st.queues.add(1, Relaxed);
                drop(old);
            }
            fsleep(Delta::from_millis(3));
        }
    }

    #[test]
    fn every_arming_runs_or_is_cancelled_while_queues_come_and_go() -> Result {
        let sz = crate::sizes();
        let mut items = KVec::new();
        for _ in 0..256 {
            items.push(
                Arc::pin_init(
                    pin_init!(DItem {
                        executed: Atomic::new(0),
                        dwork <- crate::new_delayed_work!("stress::DItem::dwork"),
                    }),
                    GFP_KERNEL,
                )?,
                GFP_KERNEL,
            )?;
            LIVE.add(1, Relaxed);
        }
        let first = Slots([
            Some(new_queue()?),
            Some(new_queue()?),
            Some(new_queue()?),
            Some(new_queue()?),
        ]);
        let st = Arc::pin_init(
            pin_init!(State {
                slots <- new_spinlock!(first),
                items,
                armed: Atomic::new(0),
                refused: Atomic::new(0),
                executed: Atomic::new(0),
                cancelled: Atomic::new(0),
                queues: Atomic::new(4),
                stop: Atomic::new(0),
                target: sz.ops / 4,
                reached <- Event::new(),
            }),
            GFP_KERNEL,
        )?;
        let ex = core::ptr::from_ref(&st.executed) as usize;
        st.items
            .iter()
            .for_each(|it| it.executed.store(ex, Relaxed));
        let drivers: OwnedQueue<Unbound> =
            OwnedQueue::unbound().max_active(4).build(c"rwq_st_dldrv")?;
        let t0 = Instant::<Monotonic>::now();
        for seed in [0x510e_527f, 0x9b05_688c] {
            let st = st.clone();
            spawn(&drivers, move || produce(&st, seed))?;
        }
        let churner = st.clone();
        spawn(&drivers, move || churn(&churner))?;
        // Until the producers reached the target, or the time budget is spent.
        let limit = i64::from(sz.secs) * 1000;
        let _ = st.reached.wait_ms(limit - t0.elapsed().as_millis());
        let budget_spent = st.armed.load(Relaxed) < st.target;
        st.stop.store(1, Relaxed);
        drivers.flush()?;
        let ms = t0.elapsed().as_millis().max(1);
        // The last queues go here (their drops fire what is armed on them); those dropped in a
        // kworker were handed off and finish on their own: wait for the figures to settle.
        let last: [Option<Q>; 4] = core::mem::take(&mut st.slots.lock().0);
        drop(last);
        for it in st.items.iter() {
            DelayedWork::of(&**it).flush()?;
        }
        let armed = st.armed.load(Relaxed);
        // Queues dropped in kworkers were handed off: once every hand-off is done, they are
        // gone, their timers fired and their items run, and each arming is settled. rust_wq's
        // count of hand-offs announces nothing: polled.
        let handoffs_done = wait_until("hand-offs of queues dropped in kworkers", || {
            rust_wq::testing::handoffs_in_flight() == 0
        });
        let executed = st.executed.load(Relaxed);
        let cancelled = st.cancelled.load(Relaxed);
        pr_info!(
            "    # armed {armed} of {} (refused {}), executed {executed}, cancelled {cancelled}, \
             {} queues created and dropped, {} arms/s, {} ms{}\n",
            st.target,
            st.refused.load(Relaxed),
            st.queues.load(Relaxed),
            armed * 1000 / (ms as u64),
            ms,
            if budget_spent {
                " (time budget spent first)"
            } else {
                ""
            }
        );
        assert!(handoffs_done);
        assert_eq!(armed, executed + cancelled);
        drop(drivers);
        drop(st);
        assert_eq!(LIVE.load(Relaxed), 0);
        Ok(())
    }
}
