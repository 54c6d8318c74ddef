// SPDX-License-Identifier: GPL-2.0

//! PROTOTYPE (#19): items in a `WorkBox`, queued by reference with no count; the box's drop
//! cancels and waits, or hands off where it cannot wait.

use kernel::prelude::*;

#[kunit_tests(rust_wq_work_box)]
mod tests {
    use crate::probe::{
        wait_for,
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        BoxItem,
        OwnedQueue,
        Work,
        WorkBox, //
    };
    use kernel::{
        new_mutex, new_spinlock,
        prelude::*,
        sync::{
            atomic::Relaxed,
            Arc,
            Mutex,
            SpinLock, //
        },
    };

    /// What a boxed item does when it runs.
    #[derive(Clone, Copy, PartialEq)]
    enum Mode {
        Count,
        /// Blocks until `gate` is set.
        Block,
        /// Takes its own box out of `slot` and drops it, then touches itself.
        DropSelf,
    }

    #[pin_data(PinnedDrop)]
    struct Boxed {
        shared: Arc<Shared>,
        mode: Mode,
        gate: Arc<Shared>,
        home: Arc<Mutex<Option<WorkBox<Boxed>>>>,
        #[pin]
        work: Work<Boxed>,
    }
    crate::impl_has_work! { impl HasWork<Self> for Boxed { self.work } }

    #[pinned_drop]
    impl PinnedDrop for Boxed {
        fn drop(self: Pin<&mut Self>) {
            // Dropped while one of its runs is under way: what the box's drop must never do.
            if self.shared.running.load(Relaxed) != 0 {
                self.shared.was_current.add(1, Relaxed);
            }
            self.shared.count_drop();
        }
    }

    impl BoxItem for Boxed {
        fn run(this: Pin<&Self>) {
            this.shared.running.add(1, Relaxed);
            this.shared.entered.add(1, Relaxed);
            this.shared.changes.notify();
            match this.mode {
                Mode::Count => {}
                Mode::Block => {
                    while !this.gate.is_released() {
                        kernel::time::delay::fsleep(kernel::time::Delta::from_millis(1));
                    }
                }
                Mode::DropSelf => {
                    let b = this.home.lock().take();
                    drop(b);
                }
            }
            // The value is still there: the drop of its box waits until this run returned.
            this.shared.running.fetch_sub(1, Relaxed);
            this.shared.count_run();
        }
    }

    fn boxed(s: &Arc<Shared>, mode: Mode) -> Result<(WorkBox<Boxed>, Arc<Shared>)> {
        let gate = Shared::new()?;
        let home = Arc::pin_init(new_mutex!(None), GFP_KERNEL)?;
        let (shared, g) = (s.clone(), gate.clone());
        let b = WorkBox::new(
            pin_init!(Boxed {
                shared,
                mode,
                gate: g,
                home,
                work <- crate::new_work!(),
            }),
            GFP_KERNEL,
        )?;
        Ok((b, gate))
    }

    #[test]
    fn drop_while_pending_cancels() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_box_pend")?;
        let blk = Shared::new()?;
        q.enqueue(Probe::new(&blk, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        assert_eq!(blk.wait_entered(1), 1);
        let s = Shared::new()?;
        let (b, _) = boxed(&s, Mode::Count)?;
        b.enqueue::<0, _>(&q)?;
        assert_eq!(b.enqueue::<0, _>(&q), Err(EBUSY));
        assert!(Work::of(&*b).is_pending());
        // The handle never gives the box's pointer back.
        assert!(Work::of(&*b).cancel().is_none());
        assert!(!Work::of(&*b).is_pending());
        b.enqueue::<0, _>(&q)?;
        drop(b);
        assert_eq!(s.dropped.load(Relaxed), 1);
        blk.release();
        q.drain()?;
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    #[test]
    fn drop_while_running_waits() -> Result {
        let s = Shared::new()?;
        let (b, gate) = boxed(&s, Mode::Block)?;
        b.enqueue::<0, _>(rust_wq::system_dfl())?;
        assert_eq!(s.wait_entered(1), 1);
        // Another kworker opens the gate a while later; the drop waits for it.
        let other = Shared::new()?;
        rust_wq::system_dfl()
            .enqueue(Probe::new(&other, 0, Action::Release(gate.clone(), 50))?)
            .map_err(|e| e.error())?;
        drop(b);
        assert!(gate.is_released());
        assert_eq!(s.runs(), 1);
        assert_eq!(s.dropped.load(Relaxed), 1);
        assert_eq!(s.was_current.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn drop_from_own_run_hands_off() -> Result {
        let s = Shared::new()?;
        let (b, _) = boxed(&s, Mode::DropSelf)?;
        b.enqueue::<0, _>(rust_wq::system_dfl())?;
        let home = b.home.clone();
        *home.lock() = Some(b);
        assert_eq!(s.wait_runs(1), 1);
        assert_eq!(s.wait_dropped(1), 1);
        assert_eq!(s.was_current.load(Relaxed), 0);
        assert!(wait_for(|| rust_wq::testing::handoffs_in_flight() == 0));
        Ok(())
    }

    #[test]
    fn drop_in_atomic_context_hands_off() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_box_atomic")?;
        let blk = Shared::new()?;
        q.enqueue(Probe::new(&blk, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        assert_eq!(blk.wait_entered(1), 1);
        let s = Shared::new()?;
        let (b, _) = boxed(&s, Mode::Count)?;
        b.enqueue::<0, _>(&q)?;
        let lock = Arc::pin_init(new_spinlock!(Some(b)), GFP_KERNEL)?;
        {
            let mut g = lock.lock();
            // Under a spinlock: cannot wait, so the drop is handed to a kworker.
            drop(g.take());
        }
        // The blocker goes first, so that a failure leaves no item blocked at the unload.
        let dropped = s.wait_dropped(1);
        blk.release();
        q.drain()?;
        assert_eq!(dropped, 1);
        assert_eq!(s.runs(), 0);
        assert!(wait_for(|| rust_wq::testing::handoffs_in_flight() == 0));
        let _: &SpinLock<Option<WorkBox<Boxed>>> = &lock;
        Ok(())
    }

    #[test]
    fn forgotten_box_items_run() -> Result {
        let s = Shared::new()?;
        let (b, _) = boxed(&s, Mode::Count)?;
        b.enqueue::<0, _>(rust_wq::system_dfl())?;
        core::mem::forget(b);
        assert_eq!(s.wait_runs(1), 1);
        assert_eq!(s.dropped.load(Relaxed), 0);
        Ok(())
    }

    #[pin_data]
    struct Many {
        shared: Arc<Shared>,
        #[pin]
        w0: Work<Many, 0>,
        #[pin]
        w1: Work<Many, 1>,
        #[pin]
        w2: Work<Many, 2>,
        #[pin]
        w3: Work<Many, 3>,
        #[pin]
        w4: Work<Many, 4>,
    }
    crate::impl_has_work! {
        impl HasWork<Self, 0> for Many { self.w0 }
        impl HasWork<Self, 1> for Many { self.w1 }
        impl HasWork<Self, 2> for Many { self.w2 }
        impl HasWork<Self, 3> for Many { self.w3 }
        impl HasWork<Self, 4> for Many { self.w4 }
    }
    macro_rules! many_items {
        ($($id:literal)*) => {$(
            impl BoxItem<$id> for Many {
                fn run(this: Pin<&Self>) {
                    this.shared.count_run();
                }
            }
        )*};
    }
    many_items!(0 1 2 3 4);

    #[test]
    fn fields_beyond_the_limit_are_refused() -> Result {
        assert_eq!(WorkBox::<Many>::FIELDS, 4);
        let s = Shared::new()?;
        let shared = s.clone();
        let b = WorkBox::new(
            pin_init!(Many {
                shared,
                w0 <- crate::new_work!(),
                w1 <- crate::new_work!(),
                w2 <- crate::new_work!(),
                w3 <- crate::new_work!(),
                w4 <- crate::new_work!(),
            }),
            GFP_KERNEL,
        )?;
        let q = rust_wq::system_dfl();
        b.enqueue::<0, _>(q)?;
        b.enqueue::<1, _>(q)?;
        b.enqueue::<2, _>(q)?;
        b.enqueue::<3, _>(q)?;
        assert_eq!(b.enqueue::<4, _>(q), Err(ENOSPC));
        assert_eq!(s.wait_runs(4), 4);
        // A recorded field is queued again.
        b.enqueue::<2, _>(q)?;
        assert_eq!(s.wait_runs(5), 5);
        drop(b);
        Ok(())
    }
}
