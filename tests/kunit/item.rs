// SPDX-License-Identifier: GPL-2.0

//! Work items: pending state, cancel, flush, disable, self-waits, `Pin<KBox>` items.

use kernel::prelude::*;

#[kunit_tests(rust_wq_item)]
mod tests {
    use crate::probe::{
        Action,
        BoxedProbe,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        OwnedQueue,
        Work, //
    };
    use kernel::{
        prelude::*,
        sync::atomic::Relaxed, //
    };

    /// A per-CPU queue with one worker slot, held by a blocking item on CPU 0.
    fn blocked_queue(s: &kernel::sync::Arc<Shared>) -> Result<OwnedQueue> {
        let q = OwnedQueue::percpu().max_active(1).build(c"rwq_blocked")?;
        q.enqueue_on(0, Probe::new(s, 99, Action::Block)?)?;
        assert_eq!(s.wait_entered(1), 1);
        Ok(q)
    }

    #[test]
    fn enqueue_of_a_pending_item_is_ebusy_and_hands_it_back() -> Result {
        let s = Shared::new()?;
        let q = blocked_queue(&s)?;
        let t = Shared::new()?;
        let p = Probe::new(&t, 0, Action::Record)?;
        q.enqueue_on(0, p.clone())?;
        assert!(Work::of(&*p).is_pending());
        let err = q.enqueue_on(0, p.clone()).err().ok_or(EINVAL)?;
        assert_eq!(err.error(), EBUSY);
        drop(err);
        s.release();
        q.flush()?;
        assert!(!Work::of(&*p).is_pending());
        assert_eq!(t.runs(), 1);
        Ok(())
    }

    #[test]
    fn cancel_of_a_pending_item_returns_the_queue_reference() -> Result {
        let s = Shared::new()?;
        let q = blocked_queue(&s)?;
        let t = Shared::new()?;
        let p = Probe::new(&t, 0, Action::Record)?;
        q.enqueue_on(0, p.clone())?;
        let back = Work::of(&*p).cancel();
        assert!(back.is_some());
        assert!(!Work::of(&*p).is_pending());
        drop(back);
        drop(p);
        // Both references are gone: the item was freed, nothing leaked.
        assert_eq!(t.dropped.load(Relaxed), 1);
        s.release();
        q.flush()?;
        assert_eq!(t.runs(), 0);
        Ok(())
    }

    #[test]
    fn cancel_of_an_idle_item_returns_none() -> Result {
        let t = Shared::new()?;
        let p = Probe::new(&t, 0, Action::Record)?;
        assert!(Work::of(&*p).cancel().is_none());
        assert!(matches!(Work::of(&*p).cancel_sync(), Ok(None)));
        Ok(())
    }

    /// Queues an item that blocks until released, waits until it runs, and has it released from
    /// a second item after `ms` milliseconds.
    fn running_until_released(
        t: &kernel::sync::Arc<Shared>,
        ms: u32,
    ) -> Result<(
        OwnedQueue<crate::rust_wq::Unbound>,
        kernel::sync::Arc<Probe>,
    )> {
        let q = OwnedQueue::unbound().build(c"rwq_running")?;
        let p = Probe::new(t, 0, Action::Block)?;
        q.enqueue(p.clone())?;
        assert_eq!(t.wait_entered(1), 1);
        let helper = Shared::new()?;
        q.enqueue(Probe::new(&helper, 1, Action::Release(t.clone(), ms))?)?;
        Ok((q, p))
    }

    /// `cancel_sync` (no reference to give back: the item is not pending) and `flush` (it had
    /// to wait) of a running item, in turn; then of the idle item, which has nothing to wait for.
    #[test]
    fn cancel_sync_and_flush_wait_for_a_running_item() -> Result {
        type Wait = fn(&Probe) -> Result<bool>;
        let waits: [(Wait, bool); 2] = [
            (
                |p| Work::of(p).cancel_sync().map(|back| back.is_some()),
                false,
            ),
            (|p| Work::of(p).flush(), true),
        ];
        for (wait, answer) in waits {
            let t = Shared::new()?;
            let (_q, p) = running_until_released(&t, 50)?;
            assert_eq!(wait(&p), Ok(answer));
            // The item cannot finish before it is released: the call waited for both.
            assert!(t.is_released());
            assert_eq!(t.runs(), 1);
            assert_eq!(wait(&p), Ok(false));
        }
        Ok(())
    }

    /// `cancel_sync` and `flush` of an item from its own run: `EDEADLK`, the run once.
    #[test]
    fn self_cancel_and_self_flush_from_run_are_edeadlk() -> Result {
        for action in [Action::SelfCancel, Action::SelfFlush] {
            let q = OwnedQueue::unbound().build(c"rwq_selfwait")?;
            let t = Shared::new()?;
            let p = Probe::new(&t, 0, action)?;
            q.enqueue(p.clone())?;
            q.flush()?;
            assert_eq!(t.runs(), 1);
            assert_eq!(t.errno.load(Relaxed), EDEADLK.to_errno());
        }
        Ok(())
    }

    #[test]
    fn current_work_identifies_the_running_item() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_current")?;
        let t = Shared::new()?;
        let p = Probe::new(&t, 0, Action::Record)?;
        assert!(!Work::of(&*p).is_current());
        q.enqueue(p.clone())?;
        q.flush()?;
        assert_eq!(t.was_current.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn disabled_item_is_refused_until_enabled() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_disable")?;
        let t = Shared::new()?;
        let p = Probe::new(&t, 0, Action::Record)?;
        assert!(Work::of(&*p).disable()?.is_none());
        let err = q.enqueue(p.clone()).err().ok_or(EINVAL)?;
        assert_eq!(err.error(), EBUSY);
        drop(err);
        assert!(Work::of(&*p).enable());
        q.enqueue(p.clone())?;
        q.flush()?;
        assert_eq!(t.runs(), 1);
        Ok(())
    }

    #[test]
    fn disable_of_a_pending_item_returns_its_reference() -> Result {
        let s = Shared::new()?;
        let q = blocked_queue(&s)?;
        let t = Shared::new()?;
        let p = Probe::new(&t, 0, Action::Record)?;
        q.enqueue_on(0, p.clone())?;
        assert!(matches!(Work::of(&*p).disable_sync(), Ok(Some(_))));
        s.release();
        q.flush()?;
        assert_eq!(t.runs(), 0);
        assert!(Work::of(&*p).enable());
        drop(p);
        assert_eq!(t.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn boxed_item_runs_and_is_freed() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_boxed")?;
        let t = Shared::new()?;
        q.enqueue(BoxedProbe::new(&t)?)?;
        q.flush()?;
        assert_eq!(t.runs(), 1);
        assert_eq!(t.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn boxed_item_refused_on_bad_cpu_comes_back() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_boxedcpu")?;
        let t = Shared::new()?;
        let err = q
            .enqueue_on(u32::MAX, BoxedProbe::new(&t)?)
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(err.error(), EINVAL);
        q.enqueue_on(0, err.into_item())?;
        q.flush()?;
        assert_eq!(t.runs(), 1);
        Ok(())
    }
}
