// SPDX-License-Identifier: GPL-2.0

//! Items queued by `&'static` reference: static items (`declare_work!`, C's `DECLARE_WORK`) and
//! items in leaked pinned boxes (`leak_item`), plain, delayed and RCU.

use kernel::prelude::*;

#[kunit_tests(rust_wq_static_work)]
mod tests {
    use crate::probe::{
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        leak_item,
        DelayedWork,
        OwnedQueue,
        RcuWork,
        StaticWork,
        Work,
        WorkItem, //
    };
    use core::ptr;
    use kernel::{
        bindings,
        prelude::*,
        sync::atomic::{
            Atomic,
            Relaxed, //
        },
        time::Delta,
    };

    static RUNS: Atomic<u32> = Atomic::new(0);

    fn count() {
        RUNS.add(1, Relaxed);
    }

    crate::declare_work!(static COUNT = count);

    #[test]
    fn static_items_run_and_are_refused_while_pending() -> Result {
        let before = RUNS.load(Relaxed);
        // Initialised at compile time as C's `__WORK_INITIALIZER`: idle, flagged static for the
        // object debugger (with it), its list head pointing at itself.
        assert!(!Work::of(&COUNT).is_pending());
        let raw = Work::<_, 0>::of(&COUNT).as_raw();
        // SAFETY: `raw` is the initialised `work_struct` of a static; read once, not pending.
        let (data, next) = unsafe { ((*raw).data.counter as u64, (*raw).entry.next) };
        let flag = u64::from(bindings::work_flags_WORK_STRUCT_STATIC);
        assert_eq!(data & flag, flag);
        // SAFETY: Only the address of the field is taken.
        let entry = unsafe { core::ptr::addr_of_mut!((*raw).entry) };
        assert_eq!(next, entry);
        rust_wq::system_percpu()
            .enqueue(&COUNT)
            .map_err(|e| e.error())?;
        Work::of(&COUNT).flush()?;
        assert_eq!(RUNS.load(Relaxed), before + 1);
        // Pending behind a blocked item on an ordered queue: refused, then cancelled.
        let q = OwnedQueue::ordered().build(c"rwq_static")?;
        let s = Shared::new()?;
        q.enqueue(Probe::new(&s, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        assert_eq!(s.wait_entered(1), 1);
        q.enqueue(&COUNT).map_err(|e| e.error())?;
        let e = q.enqueue(&COUNT).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(core::ptr::eq(e.into_item(), &COUNT));
        let back: Option<&'static StaticWork> = Work::of(&COUNT).cancel();
        assert!(back.is_some_and(|b| core::ptr::eq(b, &COUNT)));
        // Queued again, it runs when the queue moves on.
        q.enqueue(&COUNT).map_err(|e| e.error())?;
        s.release();
        q.drain()?;
        assert_eq!(RUNS.load(Relaxed), before + 2);
        Ok(())
    }

    /// An item in a leaked box, with a field of each kind: counts its runs per kind, and keeps
    /// the address it was given back in each (it must be its own).
    #[pin_data]
    struct Leaked {
        runs: [Atomic<u32>; 3],
        seen: Atomic<usize>,
        #[pin]
        work: Work<Leaked, 0>,
        #[pin]
        dwork: DelayedWork<Leaked, 1>,
        #[pin]
        rwork: RcuWork<Leaked, 2>,
    }

    crate::impl_has_work! { impl HasWork<Self, 0> for Leaked { self.work } }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 1> for Leaked { self.dwork } }
    crate::impl_has_rcu_work! { impl HasRcuWork<Self, 2> for Leaked { self.rwork } }

    impl Leaked {
        fn record(&'static self, kind: usize) {
            self.seen.store(ptr::from_ref(self) as usize, Relaxed);
            self.runs[kind].add(1, Relaxed);
        }

        fn runs(&self, kind: usize) -> u32 {
            self.runs[kind].load(Relaxed)
        }

        /// The item's own address was the one `run` got (`0` if it never ran).
        fn came_back_whole(&'static self) -> bool {
            self.seen.load(Relaxed) == ptr::from_ref(self) as usize
        }
    }

    impl WorkItem<0> for Leaked {
        type Pointer = &'static Leaked;

        fn run(this: &'static Leaked) {
            this.record(0);
        }
    }

    impl WorkItem<1> for Leaked {
        type Pointer = &'static Leaked;

        fn run(this: &'static Leaked) {
            this.record(1);
        }
    }

    impl WorkItem<2> for Leaked {
        type Pointer = &'static Leaked;

        fn run(this: &'static Leaked) {
            this.record(2);
        }
    }

    /// One leaked item (a few hundred bytes, once per boot and case).
    fn leaked() -> Result<&'static Leaked> {
        Ok(leak_item(KBox::pin_init(
            pin_init!(Leaked {
                runs: [Atomic::new(0), Atomic::new(0), Atomic::new(0)],
                seen: Atomic::new(0),
                work <- crate::new_work!("Leaked::work"),
                dwork <- crate::new_delayed_work!("Leaked::dwork"),
                rwork <- crate::new_rcu_work!("Leaked::rwork"),
            }),
            GFP_KERNEL,
        )?))
    }

    #[test]
    fn leaked_items_are_queued_by_reference_and_come_back_whole() -> Result {
        let it = leaked()?;
        let q = OwnedQueue::ordered().build(c"rwq_leaked")?;
        q.enqueue::<_, 0>(it).map_err(|e| e.error())?;
        q.flush()?;
        assert_eq!(it.runs(0), 1);
        assert!(it.came_back_whole());
        // Pending behind a blocked item: refused with the same reference, cancelled with it,
        // `enqueue_cloned` refuses it too; queued again, it runs once more.
        let s = Shared::new()?;
        q.enqueue(Probe::new(&s, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        assert_eq!(s.wait_entered(1), 1);
        q.enqueue_on::<_, 0>(0, it).map_err(|e| e.error())?;
        let e = q.enqueue::<_, 0>(it).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(ptr::eq(e.into_item(), it));
        assert_eq!(q.enqueue_cloned::<_, 0>(&it), Err(EBUSY));
        let back: Option<&'static Leaked> = Work::<_, 0>::of(it).cancel();
        assert!(back.is_some_and(|b| ptr::eq(b, it)));
        q.enqueue::<_, 0>(it).map_err(|e| e.error())?;
        s.release();
        q.drain()?;
        assert_eq!(it.runs(0), 2);
        // Through a grace period.
        q.enqueue_rcu::<_, 2>(it).map_err(|e| e.error())?;
        // Whether the flush waited depends on the run's timing: the run count is the verdict.
        RcuWork::<_, 2>::of(it).flush()?;
        assert_eq!(it.runs(2), 1);
        assert!(it.came_back_whole());
        Ok(())
    }

    #[test]
    fn leaked_delayed_items_are_armed_cancelled_and_fired_by_reference() -> Result {
        let it = leaked()?;
        let long = Delta::from_secs(60);
        // Armed and cancelled: the reference comes back, nothing ran.
        let q = OwnedQueue::percpu().build(c"rwq_leaked_d1")?;
        q.enqueue_delayed::<_, 1>(it, long).map_err(|e| e.error())?;
        let back: Option<&'static Leaked> = DelayedWork::<_, 1>::of(it).cancel_sync()?;
        assert!(back.is_some_and(|b| ptr::eq(b, it)));
        assert_eq!(it.runs(1), 0);
        // Armed when its queue goes: the queue's drop fires the timer and waits for the run.
        q.enqueue_delayed::<_, 1>(it, long).map_err(|e| e.error())?;
        drop(q);
        assert_eq!(it.runs(1), 1);
        assert!(it.came_back_whole());
        // On a second queue after the first one went (its tracker let go of the item), then
        // re-armed there and fired by a flush; then on a system queue.
        let q2 = OwnedQueue::unbound().build(c"rwq_leaked_d2")?;
        q2.enqueue_delayed::<_, 1>(it, long)
            .map_err(|e| e.error())?;
        let e = q2.enqueue_delayed::<_, 1>(it, long).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(ptr::eq(e.into_item(), it));
        // The flush fires the timer and waits for the run (whether it had to wait depends on
        // the run's timing, as in C: the run count is the verdict).
        DelayedWork::<_, 1>::of(it).flush()?;
        assert_eq!(it.runs(1), 2);
        rust_wq::system_dfl()
            .enqueue_delayed::<_, 1>(it, Delta::from_millis(1))
            .map_err(|e| e.error())?;
        DelayedWork::<_, 1>::of(it).flush()?;
        assert_eq!(it.runs(1), 3);
        Ok(())
    }
}
