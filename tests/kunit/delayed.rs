// SPDX-License-Identifier: GPL-2.0

//! Delayed work on owned and system queues.

use kernel::prelude::*;

#[kunit_tests(rust_wq_delayed)]
mod tests {
    use crate::probe::{
        DelayedProbe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        Armed,
        DelayedWork,
        OwnedQueue, //
    };
    use kernel::time::Delta;
    use kernel::{
        prelude::*,
        sync::atomic::Relaxed, //
    };

    #[test]
    fn delayed_item_does_not_run_before_its_delay() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_delay")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        let delay = Delta::from_millis(100);
        // Delays count in jiffies, from the value read when the timer is armed: measuring in
        // jiffies makes the bound exact (wall time may lag or lead a jiffy).
        let j0 = rust_wq::jiffies();
        q.enqueue_delayed(d.clone(), delay)?;
        assert!(DelayedWork::of(&*d).is_pending());
        assert_eq!(s.wait_runs(1), 1);
        assert!(
            s.ran_jiffies.load(Relaxed).wrapping_sub(j0) >= kernel::time::msecs_to_jiffies(100)
        );
        Ok(())
    }

    #[test]
    fn delayed_item_on_cpu_runs_there() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_delaycpu")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed_on(1, d.clone(), Delta::from_millis(20))?;
        assert_eq!(s.wait_runs(1), 1);
        assert_eq!(s.last_cpu.load(Relaxed), 1);
        let err = q
            .enqueue_delayed_on(cpu::nr_cpu_ids(), d.clone(), 1)
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(err.error(), EINVAL);
        Ok(())
    }

    #[test]
    fn enqueue_delayed_of_an_armed_item_is_ebusy() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_delaybusy")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed(d.clone(), Delta::from_millis(10_000))?;
        let err = q
            .enqueue_delayed(d.clone(), Delta::from_millis(1))
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(err.error(), EBUSY);
        assert!(DelayedWork::of(&*d).cancel().is_some());
        Ok(())
    }

    #[test]
    fn mod_delayed_moves_an_armed_timer() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_mod")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        // Ten minutes: if it runs within the wait below, it ran long before this timer.
        q.enqueue_delayed(d.clone(), Delta::from_millis(600_000))?;
        // Pending: the timer moves, the given reference comes back unused.
        assert!(matches!(
            q.mod_delayed(d.clone(), Delta::from_millis(30))?,
            Armed::Modified(_)
        ));
        assert_eq!(s.wait_runs(1), 1);
        // Idle: the item is queued.
        assert!(matches!(
            q.mod_delayed(d.clone(), Delta::from_millis(1))?,
            Armed::Queued
        ));
        assert_eq!(s.wait_runs(2), 2);
        Ok(())
    }

    #[test]
    fn cancel_of_an_armed_item_returns_the_reference() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_dcancel")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed(d.clone(), Delta::from_millis(10_000))?;
        assert!(DelayedWork::of(&*d).cancel().is_some());
        assert!(DelayedWork::of(&*d).cancel().is_none());
        assert!(matches!(DelayedWork::of(&*d).cancel_sync(), Ok(None)));
        drop(d);
        assert_eq!(s.dropped.load(Relaxed), 1);
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    #[test]
    fn disabled_delayed_item_is_refused_by_queue_and_mod() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_ddisable")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        // Disabling cancels the armed timer and gives its reference back.
        assert!(DelayedWork::of(&*d).disable()?.is_some());
        assert!(!DelayedWork::of(&*d).is_pending());
        let err = q.enqueue_delayed(d.clone(), 1).err().ok_or(EINVAL)?;
        assert_eq!(err.error(), EBUSY);
        // `mod_delayed_work_on` would return false and not queue: refused, item handed back.
        let err = q.mod_delayed(d.clone(), 1).err().ok_or(EINVAL)?;
        assert_eq!(err.error(), EBUSY);
        drop(err);
        // Nested: two disables need two enables.
        assert!(matches!(DelayedWork::of(&*d).disable_sync(), Ok(None)));
        assert!(!DelayedWork::of(&*d).enable());
        assert!(DelayedWork::of(&*d).enable());
        // Unbalanced: nothing happens.
        assert!(!DelayedWork::of(&*d).enable());
        q.enqueue_delayed(d.clone(), 0)?;
        assert_eq!(s.wait_runs(1), 1);
        Ok(())
    }

    #[test]
    fn flush_fires_an_armed_timer_now() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_dflush")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        // Whether flush had to wait depends on how fast the worker picks the item up; that it
        // ran a minute early does not.
        DelayedWork::of(&*d).flush()?;
        assert_eq!(s.runs(), 1);
        assert!(!DelayedWork::of(&*d).is_pending());
        Ok(())
    }

    #[test]
    fn self_cancel_of_a_delayed_item_is_edeadlk() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_dself")?;
        let s = Shared::new()?;
        let d = DelayedProbe::with(&s, crate::probe::DelayedAction::SelfCancel)?;
        q.enqueue_delayed(d.clone(), 0)?;
        assert_eq!(s.wait_runs(1), 1);
        assert_eq!(s.errno.load(Relaxed), EDEADLK.to_errno());
        Ok(())
    }

    #[test]
    fn dropping_a_queue_with_armed_timers_runs_them_first() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_droparmed")?;
        let s = Shared::new()?;
        let j0 = rust_wq::jiffies();
        for _ in 0..4 {
            q.enqueue_delayed(DelayedProbe::new(&s)?, Delta::from_millis(600_000))?;
        }
        drop(q);
        // All four ran at drop time, before their timers (counted in jiffies from before the
        // arming), instead of ten minutes later into a freed queue.
        assert_eq!(s.runs(), 4);
        assert_eq!(s.dropped.load(Relaxed), 4);
        let ran_after = s.ran_jiffies.load(Relaxed).wrapping_sub(j0);
        assert!(ran_after < kernel::time::msecs_to_jiffies(600_000));
        Ok(())
    }

    #[test]
    fn item_moved_between_queues_is_tracked_by_the_new_one() -> Result {
        let a = OwnedQueue::unbound().build(c"rwq_movea")?;
        let b = OwnedQueue::unbound().build(c"rwq_moveb")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        a.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        // Steal it onto `b`, then drop `a`: nothing may still target `a`.
        assert!(matches!(
            b.mod_delayed(d.clone(), Delta::from_millis(60_000))?,
            Armed::Modified(_)
        ));
        drop(a);
        assert_eq!(s.runs(), 0);
        assert!(DelayedWork::of(&*d).is_pending());
        drop(b);
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    #[test]
    fn items_dropped_from_the_middle_of_a_tracker_leave_it_whole() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_trackmid")?;
        let s = Shared::new()?;
        let mut items = KVec::new();
        for _ in 0..8 {
            let d = DelayedProbe::new(&s)?;
            q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
            items.push(d, GFP_KERNEL)?;
        }
        // Cancel and free every other item: each unlinks itself from between two others.
        let mut kept = KVec::new();
        for (i, d) in items.into_iter().enumerate() {
            if i % 2 == 0 {
                assert!(DelayedWork::of(&*d).cancel().is_some());
            } else {
                kept.push(d, GFP_KERNEL)?;
            }
        }
        assert_eq!(s.dropped.load(Relaxed), 4);
        drop(kept);
        // The queue's drop walks what is left: the four armed items run, now.
        drop(q);
        assert_eq!(s.runs(), 4);
        assert_eq!(s.dropped.load(Relaxed), 8);
        Ok(())
    }

    #[test]
    fn zero_delay_arm_elsewhere_keeps_the_item_tracked_by_its_timers_queue() -> Result {
        let q1 = OwnedQueue::unbound().build(c"rwq_zero1")?;
        let q2 = OwnedQueue::unbound().build(c"rwq_zero2")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q1.enqueue_delayed(d.clone(), 1)?;
        DelayedWork::of(&*d).flush()?;
        // A delay of 0 queues at once: no timer, so C keeps the item's record of `q1`.
        q2.enqueue_delayed(d.clone(), 0)?;
        DelayedWork::of(&*d).flush()?;
        assert_eq!(s.runs(), 2);
        // Armed on `q1` again: `q1`'s drop must find it and fire it, not leave a timer that
        // would queue onto the destroyed queue in a minute.
        q1.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        drop(q1);
        assert_eq!(s.runs(), 3);
        assert!(!DelayedWork::of(&*d).is_pending());
        drop(q2);
        Ok(())
    }

    #[test]
    fn item_moved_to_a_system_queue_leaves_the_owned_tracker() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_tosys")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        assert!(matches!(
            rust_wq::system_dfl().mod_delayed(d.clone(), Delta::from_millis(60_000))?,
            Armed::Modified(_)
        ));
        // The owned queue's drop no longer fires it: it is the module's to fire now.
        drop(q);
        assert_eq!(s.runs(), 0);
        assert!(DelayedWork::of(&*d).is_pending());
        // And back onto an owned queue, whose drop fires it.
        let r = OwnedQueue::unbound().build(c"rwq_fromsys")?;
        assert!(matches!(
            r.mod_delayed(d.clone(), Delta::from_millis(60_000))?,
            Armed::Modified(_)
        ));
        drop(r);
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    #[test]
    fn delayed_work_on_a_system_queue() -> Result {
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        rust_wq::system_dfl().enqueue_delayed(d.clone(), Delta::from_millis(10))?;
        assert_eq!(s.wait_runs(1), 1);
        rust_wq::schedule_delayed_work(d.clone(), Delta::from_millis(60_000))?;
        assert!(DelayedWork::of(&*d).cancel_sync()?.is_some());
        assert_eq!(s.runs(), 1);
        Ok(())
    }
}
