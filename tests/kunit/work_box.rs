// SPDX-License-Identifier: GPL-2.0

//! Items in a `WorkBox`, queued by reference with no count: the box's drop cancels and waits
//! (plain and delayed fields, a field that queues itself again), or hands off where it cannot
//! wait (its own run, atomic context); a forgotten box; the field limit; the box's cancels.

use kernel::prelude::*;

#[kunit_tests(rust_wq_work_box)]
mod tests {
    use crate::probe::{
        errno,
        poll,
        wait_for,
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        BoxItem,
        DelayedWork,
        OwnedQueue,
        Requeue,
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
        time::{
            delay::fsleep,
            Delta, //
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
        /// Has another item take its box out of `slot` and drop it, and waits for that item.
        FlushDropper,
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
        fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {
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
                Mode::FlushDropper => {
                    let r = Arc::pin_init(
                        pin_init!(Dropper {
                            home: this.home.clone(),
                            work <- crate::new_work!(),
                        }),
                        GFP_KERNEL,
                    )
                    .and_then(|d| {
                        rust_wq::system_dfl()
                            .enqueue(d.clone())
                            .map_err(|e| e.error())?;
                        Work::of(&*d).flush()
                    });
                    this.shared.errno.store(errno(r), Relaxed);
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

    /// Puts `b` in its home, then queues it on `system_dfl`: in its home before it is queued, so
    /// that its run finds it there.
    fn house_and_queue(b: WorkBox<Boxed>) -> Result {
        let home = b.home.clone();
        let mut slot = home.lock();
        let b = slot.insert(b);
        b.enqueue(rust_wq::system_dfl())
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
        b.enqueue::<0>(&q)?;
        assert_eq!(b.enqueue::<0>(&q), Err(EBUSY));
        assert!(Work::of(&*b).is_pending());
        assert!(b.cancel::<0>());
        assert!(!Work::of(&*b).is_pending());
        b.enqueue::<0>(&q)?;
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
        b.enqueue::<0>(rust_wq::system_dfl())?;
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
        house_and_queue(b)?;
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
        b.enqueue::<0>(&q)?;
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
        b.enqueue::<0>(rust_wq::system_dfl())?;
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
                fn run(this: Pin<&Self>, _again: Requeue<'_, Self, $id>) {
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
        b.enqueue::<0>(q)?;
        b.enqueue::<1>(q)?;
        b.enqueue::<2>(q)?;
        b.enqueue::<3>(q)?;
        assert_eq!(b.enqueue::<4>(q), Err(ENOSPC));
        assert_eq!(s.wait_runs(4), 4);
        // A recorded field is queued again.
        b.enqueue::<2>(q)?;
        assert_eq!(s.wait_runs(5), 5);
        drop(b);
        Ok(())
    }

    /// What the fields of a [`Dev`] do when they run, besides counting.
    #[derive(Clone, Copy, PartialEq)]
    enum Chain {
        No,
        /// The field queues (arms) itself again at once, until refused.
        Again,
        /// The field waits until the box's drop is cancelling it, then queues itself again.
        AtCancel,
    }

    /// A driver's state: a plain field (0) and a delayed one (1).
    #[pin_data(PinnedDrop)]
    struct Dev {
        shared: Arc<Shared>,
        chain: Chain,
        #[pin]
        work: Work<Dev, 0>,
        #[pin]
        dwork: DelayedWork<Dev, 1>,
    }
    crate::impl_has_work! { impl HasWork<Self, 0> for Dev { self.work } }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Dev { self.dwork } }

    #[pinned_drop]
    impl PinnedDrop for Dev {
        fn drop(self: Pin<&mut Self>) {
            if self.shared.running.load(Relaxed) != 0 {
                self.shared.was_current.add(1, Relaxed);
            }
            self.shared.count_drop();
        }
    }

    impl Dev {
        fn boxed(s: &Arc<Shared>, chain: Chain) -> Result<WorkBox<Dev>> {
            let shared = s.clone();
            WorkBox::new(
                pin_init!(Dev {
                    shared,
                    chain,
                    work <- crate::new_work!(),
                    dwork <- crate::new_delayed_work!(),
                }),
                GFP_KERNEL,
            )
        }

        /// One run of either field: `cancelling` says whether the box's drop is cancelling the
        /// field now, `again` queues it again.
        fn ran(&self, cancelling: impl Fn() -> bool, again: impl Fn() -> Result) {
            let s = &self.shared;
            s.running.add(1, Relaxed);
            s.entered.add(1, Relaxed);
            s.changes.notify();
            let requeue = match self.chain {
                Chain::No => false,
                Chain::Again => true,
                Chain::AtCancel => {
                    if !poll(&cancelling) {
                        s.gate_timeouts.add(1, Relaxed);
                    }
                    true
                }
            };
            if requeue {
                // The last refusal is kept: `EBUSY` once the drop cancels the field.
                let e = errno(again());
                if e != 0 {
                    s.errno.store(e, Relaxed);
                }
            }
            s.running.fetch_sub(1, Relaxed);
            s.count_run();
        }
    }

    impl BoxItem<0> for Dev {
        fn run(this: Pin<&Self>, again: Requeue<'_, Self, 0>) {
            this.ran(
                || Work::<Dev, 0>::of(&this).disable_depth() > 0,
                || again.enqueue(rust_wq::system_dfl()),
            );
        }
    }

    impl BoxItem<1> for Dev {
        fn run(this: Pin<&Self>, again: Requeue<'_, Self, 1>) {
            let dwork = DelayedWork::<Dev, 1>::of(&this).delayed_work();
            this.ran(
                || dwork.cancels_in_progress() > 0,
                || again.enqueue_delayed(&rust_wq::system_dfl(), Delta::from_millis(1)),
            );
        }
    }

    const LONG: Delta = Delta::from_millis(60_000);

    #[test]
    fn delayed_fields_armed_at_the_drop_are_disarmed() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_box_dly")?;
        let s = Shared::new()?;
        let b = Dev::boxed(&s, Chain::No)?;
        b.enqueue_delayed::<1>(&q, LONG)?;
        assert_eq!(b.enqueue_delayed::<1>(&q, LONG), Err(EBUSY));
        assert!(DelayedWork::<Dev, 1>::of(&b).is_pending());
        // A timer left armed in the freed memory would be the object debugger's "free active
        // object" (a panic here), a link left in the queue's tracker a use after free when the
        // queue's drop fires what it holds.
        drop(b);
        assert_eq!(s.dropped.load(Relaxed), 1);
        drop(q);
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    #[test]
    fn delayed_fields_fired_by_their_queues_drop_run_before_the_box_goes() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_box_fire")?;
        let s = Shared::new()?;
        let b = Dev::boxed(&s, Chain::No)?;
        b.enqueue_delayed::<1>(&q, LONG)?;
        drop(q);
        assert_eq!(s.runs(), 1);
        assert!(!DelayedWork::<Dev, 1>::of(&b).is_pending());
        // Its queue is gone, and the field goes to that one queue only.
        assert_eq!(
            b.enqueue_delayed::<1>(&rust_wq::system_dfl(), LONG),
            Err(EXDEV)
        );
        drop(b);
        assert_eq!(s.dropped.load(Relaxed), 1);
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    #[test]
    fn the_box_cancels_its_fields_and_moves_its_timers() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_box_cancel")?;
        let blk = Shared::new()?;
        q.enqueue(Probe::new(&blk, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        assert_eq!(blk.wait_entered(1), 1);
        let s = Shared::new()?;
        let b = Dev::boxed(&s, Chain::No)?;
        // Plain: pending behind the blocker.
        b.enqueue::<0>(&q)?;
        assert!(b.cancel::<0>());
        assert!(!b.cancel::<0>());
        b.enqueue_on::<0>(&q, rust_wq::cpu::current_cpu())?;
        assert_eq!(b.cancel_sync::<0>(), Ok(true));
        assert_eq!(b.cancel_sync::<0>(), Ok(false));
        assert!(b.enqueue_on::<0>(&q, u32::MAX).is_err());
        assert!(!Work::<Dev, 0>::of(&b).is_pending());
        // Delayed: armed, moved, disarmed.
        assert_eq!(b.mod_delayed::<1>(&q, LONG), Ok(true));
        assert_eq!(b.mod_delayed::<1>(&q, LONG), Ok(false));
        assert!(b.cancel_delayed::<1>());
        assert!(!b.cancel_delayed::<1>());
        b.enqueue_delayed::<1>(&q, LONG)?;
        assert_eq!(b.cancel_delayed_sync::<1>(), Ok(true));
        assert_eq!(b.cancel_delayed_sync::<1>(), Ok(false));
        // Moved to now: queued behind the blocker, run once it goes.
        b.enqueue_delayed::<1>(&q, LONG)?;
        assert_eq!(b.mod_delayed::<1>(&q, Delta::from_millis(0)), Ok(false));
        blk.release();
        assert_eq!(s.wait_runs(1), 1);
        drop(b);
        q.drain()?;
        assert_eq!(s.runs(), 1);
        assert_eq!(s.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn a_field_that_queues_itself_again_stops_at_the_drop() -> Result {
        for delayed in [false, true] {
            let s = Shared::new()?;
            let b = Dev::boxed(&s, Chain::Again)?;
            if delayed {
                b.enqueue_delayed::<1>(&rust_wq::system_dfl(), Delta::from_millis(1))?;
            } else {
                b.enqueue::<0>(rust_wq::system_dfl())?;
            }
            // The chain goes on by itself.
            assert!(s.wait_runs(3) >= 3);
            drop(b);
            let n = s.runs();
            assert_eq!(s.dropped.load(Relaxed), 1);
            assert_eq!(s.was_current.load(Relaxed), 0);
            // Nothing runs after the drop (the counts outlive the box).
            fsleep(Delta::from_millis(20));
            assert_eq!(s.runs(), n);
            pr_info!(
                "    # chain ({}): {n} runs, last refusal errno {}\n",
                if delayed { "delayed" } else { "plain" },
                s.errno.load(Relaxed)
            );
        }
        Ok(())
    }

    #[test]
    fn a_requeue_while_the_drop_cancels_the_field_never_runs() -> Result {
        for delayed in [false, true] {
            let s = Shared::new()?;
            let b = Dev::boxed(&s, Chain::AtCancel)?;
            if delayed {
                b.enqueue_delayed::<1>(&rust_wq::system_dfl(), Delta::from_millis(0))?;
            } else {
                b.enqueue::<0>(rust_wq::system_dfl())?;
            }
            assert_eq!(s.wait_entered(1), 1);
            // The run waits until this drop cancels its field, then queues it again.
            drop(b);
            assert_eq!(s.gate_timeouts.load(Relaxed), 0);
            assert_eq!(s.dropped.load(Relaxed), 1);
            assert_eq!(s.was_current.load(Relaxed), 0);
            // The queueing came while C kept the field disabled for the cancel: refused, or (a
            // plain field, in the moment between rust_wq's count and C's disable) taken and then
            // cancelled by the same call. Either way it never ran.
            assert_eq!(s.runs(), 1);
            let e = s.errno.load(Relaxed);
            if delayed {
                assert_eq!(e, EBUSY.to_errno());
            } else {
                assert!(e == 0 || e == EBUSY.to_errno());
            }
        }
        Ok(())
    }

    /// A box item whose first run blocks until `gate` opens, after trying its field on another
    /// queue (`Requeue`).
    #[pin_data(PinnedDrop)]
    struct Xq {
        shared: Arc<Shared>,
        gate: Arc<Shared>,
        #[pin]
        work: Work<Xq, 0>,
    }
    crate::impl_has_work! { impl HasWork<Self, 0> for Xq { self.work } }

    #[pinned_drop]
    impl PinnedDrop for Xq {
        fn drop(self: Pin<&mut Self>) {
            if self.shared.running.load(Relaxed) != 0 {
                self.shared.was_current.add(1, Relaxed);
            }
            self.shared.count_drop();
        }
    }

    impl BoxItem<0> for Xq {
        fn run(this: Pin<&Self>, again: Requeue<'_, Self, 0>) {
            let s = &this.shared;
            s.running.add(1, Relaxed);
            s.errno
                .store(errno(again.enqueue(rust_wq::system_percpu())), Relaxed);
            let first = s.entered.fetch_add(1, Relaxed) == 0;
            s.changes.notify();
            if first {
                while !this.gate.is_released() {
                    fsleep(Delta::from_millis(1));
                }
            }
            s.running.fetch_sub(1, Relaxed);
            s.count_run();
        }
    }

    #[test]
    fn a_field_goes_to_one_queue_so_the_drop_waits_for_its_every_run() -> Result {
        let s = Shared::new()?;
        let gate = Shared::new()?;
        let (shared, g) = (s.clone(), gate.clone());
        let b = WorkBox::new(
            pin_init!(Xq { shared, gate: g, work <- crate::new_work!() }),
            GFP_KERNEL,
        )?;
        b.enqueue(rust_wq::system_dfl())?;
        let entered = s.wait_entered(1);
        // Another kworker opens the gate a while later, whatever happens here: nothing below may
        // end the case with the run blocked. The drop waits for it.
        let other = Shared::new()?;
        rust_wq::system_dfl()
            .enqueue(Probe::new(&other, 0, Action::Release(gate.clone(), 50))?)
            .map_err(|e| e.error())?;
        // Running (not pending) on `system_dfl`: C would run it on `system_percpu` at the same
        // time, where no cancel of the other queue's run waits for it.
        let elsewhere = b.enqueue(rust_wq::system_percpu());
        let requeued_elsewhere = s.errno.load(Relaxed);
        // On its own queue it waits behind the run.
        let again = b.enqueue(rust_wq::system_dfl());
        drop(b);
        let gate_open = gate.is_released();
        assert_eq!(entered, 1);
        assert_eq!(elsewhere, Err(EXDEV));
        assert_eq!(requeued_elsewhere, EXDEV.to_errno());
        assert_eq!(again, Ok(()));
        assert!(gate_open);
        assert_eq!(s.was_current.load(Relaxed), 0);
        assert_eq!(s.dropped.load(Relaxed), 1);
        // The instance queued behind the run ran or was retired; nothing runs after the drop.
        let n = s.runs();
        assert!(n == 1 || n == 2);
        // A delayed field too: armed on one queue, moved to another is refused.
        let q = OwnedQueue::ordered().build(c"rwq_box_xdev")?;
        let s = Shared::new()?;
        let d = Dev::boxed(&s, Chain::No)?;
        d.enqueue_delayed::<1>(&q, LONG)?;
        assert_eq!(d.mod_delayed::<1>(&rust_wq::system_dfl(), LONG), Err(EXDEV));
        assert_eq!(d.mod_delayed::<1>(&q, LONG), Ok(false));
        drop(d);
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    /// A `Work` and a `DelayedWork` field under one ID: a run of either may queue both.
    #[pin_data(PinnedDrop)]
    struct Both {
        shared: Arc<Shared>,
        #[pin]
        w: Work<Both, 0>,
        #[pin]
        d: DelayedWork<Both, 0>,
    }
    crate::impl_has_work! { impl HasWork<Self, 0> for Both { self.w } }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 0> for Both { self.d } }

    #[pinned_drop]
    impl PinnedDrop for Both {
        fn drop(self: Pin<&mut Self>) {
            self.shared.count_drop();
        }
    }

    impl BoxItem<0> for Both {
        fn run(this: Pin<&Self>, again: Requeue<'_, Self, 0>) {
            if this.shared.entered.fetch_add(1, Relaxed) == 0 {
                // The delayed field, which nothing but this run queued.
                let e = errno(again.enqueue_delayed(&rust_wq::system_dfl(), LONG));
                this.shared.errno.store(e, Relaxed);
            }
            this.shared.count_run();
        }
    }

    #[test]
    fn a_field_first_queued_by_a_run_is_retired_by_the_drop() -> Result {
        let s = Shared::new()?;
        let shared = s.clone();
        let b = WorkBox::new(
            pin_init!(Both {
                shared,
                w <- crate::new_work!(),
                d <- crate::new_delayed_work!(),
            }),
            GFP_KERNEL,
        )?;
        b.enqueue(rust_wq::system_dfl())?;
        assert_eq!(s.wait_runs(1), 1);
        assert_eq!(s.errno.load(Relaxed), 0);
        assert!(DelayedWork::<Both, 0>::of(&b).is_pending());
        // A timer left armed in the freed memory would be "ODEBUG: free active" (a panic here).
        drop(b);
        assert_eq!(s.dropped.load(Relaxed), 1);
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    /// Takes a box out of `home` and drops it, in a kworker.
    #[pin_data]
    struct Dropper {
        home: Arc<Mutex<Option<WorkBox<Boxed>>>>,
        #[pin]
        work: Work<Dropper>,
    }
    crate::impl_has_work! { impl HasWork<Self> for Dropper { self.work } }

    impl crate::rust_wq::WorkItem for Dropper {
        type Pointer = Arc<Dropper>;

        fn run(this: Arc<Dropper>) {
            let b = this.home.lock().take();
            drop(b);
        }
    }

    #[test]
    fn a_box_dropped_by_an_item_its_run_waits_for_is_handed_off() -> Result {
        let s = Shared::new()?;
        let (b, _) = boxed(&s, Mode::FlushDropper)?;
        house_and_queue(b)?;
        // The run flushes an item that drops the box: a drop that waited for the run there would
        // wait forever (the run waits for it).
        assert_eq!(s.wait_runs(1), 1);
        assert_eq!(s.wait_dropped(1), 1);
        assert_eq!(s.errno.load(Relaxed), 0);
        assert_eq!(s.was_current.load(Relaxed), 0);
        assert!(wait_for(|| rust_wq::testing::handoffs_in_flight() == 0));
        Ok(())
    }

    #[test]
    fn cancel_all_lets_the_fields_go_to_a_queue_made_anew() -> Result {
        let s = Shared::new()?;
        let mut b = Dev::boxed(&s, Chain::No)?;
        let old = OwnedQueue::ordered().build(c"rwq_box_old")?;
        b.enqueue::<0>(&old)?;
        b.enqueue_delayed::<1>(&old, LONG)?;
        // The fields go to another queue (made while the first one lives, so that it cannot be
        // at the same address: a queue at the address of one dropped is the same to the box).
        // The new queue is ordered and held by a blocker, so that what is queued there stays
        // pending until the blocker goes (and nothing below ends the case before it goes).
        let q = OwnedQueue::ordered().build(c"rwq_box_new")?;
        let blk = Shared::new()?;
        q.enqueue(Probe::new(&blk, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        let entered = blk.wait_entered(1);
        let drained = old.drain();
        let ran_before = s.runs();
        let before = (b.enqueue::<0>(&q), b.enqueue_delayed::<1>(&q, LONG));
        let first = b.cancel_all();
        let after = (b.enqueue::<0>(&q), b.enqueue_delayed::<1>(&q, LONG));
        // Cancelled with its fields pending and armed: they go, and the box still works.
        let second = b.cancel_all();
        let pending = (
            Work::<Dev, 0>::of(&b).is_pending(),
            DelayedWork::<Dev, 1>::of(&b).is_pending(),
        );
        let last = b.enqueue::<0>(&q);
        blk.release();
        assert_eq!(entered, 1);
        assert_eq!(drained, Ok(()));
        assert_eq!(ran_before, 1);
        assert_eq!((first, after, second), (Ok(()), (Ok(()), Ok(())), Ok(())));
        assert_eq!(pending, (false, false));
        assert_eq!(last, Ok(()));
        q.drain()?;
        assert_eq!(s.runs(), 2);
        drop(b);
        drop(old);
        assert_eq!(before, (Err(EXDEV), Err(EXDEV)));
        assert_eq!(s.dropped.load(Relaxed), 1);
        Ok(())
    }
}
