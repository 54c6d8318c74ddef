// SPDX-License-Identifier: GPL-2.0

//! Lockdep classes: the items of one `new_work!` site run on BH queues or on threaded queues,
//! never on both (lockdep would report an inconsistent lock state; see `rust_wq::class`).

use kernel::prelude::*;

#[kunit_tests(rust_wq_class)]
mod tests {
    use crate::event::Event;
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        DelayedWork,
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
    };

    /// Counts its runs; `work` and `dwork` of every `Item` come from the one site in `item`,
    /// `other` from a second one.
    #[pin_data]
    struct Item {
        runs: Atomic<u32>,
        #[pin]
        work: Work<Item>,
        #[pin]
        other: Work<Item, 1>,
        #[pin]
        dwork: DelayedWork<Item, 2>,
    }

    crate::impl_has_work! {
        impl HasWork<Self> for Item { self.work }
        impl HasWork<Self, 1> for Item { self.other }
    }
    crate::impl_has_delayed_work! { impl HasDelayedWork<Self, 2> for Item { self.dwork } }

    impl WorkItem for Item {
        type Pointer = Arc<Item>;

        fn run(this: Arc<Item>) {
            this.runs.add(1, Relaxed);
        }
    }

    impl WorkItem<1> for Item {
        type Pointer = Arc<Item>;

        fn run(this: Arc<Item>) {
            this.runs.add(1, Relaxed);
        }
    }

    impl WorkItem<2> for Item {
        type Pointer = Arc<Item>;

        fn run(this: Arc<Item>) {
            this.runs.add(1, Relaxed);
        }
    }

    /// Items of the classes of the first test: one site per field.
    fn item_one() -> Result<Arc<Item>> {
        Arc::pin_init(
            pin_init!(Item {
                runs: Atomic::new(0),
                work <- crate::new_work!("class::one::work"),
                other <- crate::new_work!("class::one::other"),
                dwork <- crate::new_delayed_work!("class::one::dwork"),
            }),
            GFP_KERNEL,
        )
    }

    /// Items of the classes of the second test.
    fn item_two() -> Result<Arc<Item>> {
        Arc::pin_init(
            pin_init!(Item {
                runs: Atomic::new(0),
                work <- crate::new_work!("class::two::work"),
                other <- crate::new_work!("class::two::other"),
                dwork <- crate::new_delayed_work!("class::two::dwork"),
            }),
            GFP_KERNEL,
        )
    }

    #[test]
    fn a_class_that_went_on_a_threaded_queue_is_refused_on_bh_queues() -> Result {
        let a = item_one()?;
        rust_wq::system_percpu().enqueue::<_, 0>(a.clone())?;
        Work::<_, 0>::of(&*a).flush()?;
        assert_eq!(a.runs.load(Relaxed), 1);
        let b = item_one()?;
        if !cfg!(CONFIG_LOCKDEP) {
            // No lockdep, no classes: nothing to report, and the mix is allowed.
            rust_wq::system_bh().enqueue::<_, 0>(b.clone())?;
            Work::<_, 0>::of(&*b).flush()?;
            assert_eq!(b.runs.load(Relaxed), 1);
            return Ok(());
        }
        // Another item of that class: both kinds of BH queue refuse it and hand it back.
        let bh = OwnedQueue::bh().build(c"rwq_class_bh")?;
        let e = rust_wq::system_bh()
            .enqueue::<_, 0>(b.clone())
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        assert!(Arc::ptr_eq(&e.into_item(), &b));
        let r = bh.enqueue_on::<_, 0>(1, b.clone());
        assert_eq!(r.err().map(|e| e.error()), Some(EINVAL));
        bh.drain()?;
        assert_eq!(b.runs.load(Relaxed), 0);
        // Its other class has not been anywhere: BH queues take it.
        rust_wq::system_bh()
            .enqueue::<_, 1>(b.clone())
            .map_err(|e| e.error())?;
        Work::<_, 1>::of(&*b).flush()?;
        assert_eq!(b.runs.load(Relaxed), 1);
        // And from now on that one is refused on threaded queues.
        let r = rust_wq::system_dfl().enqueue::<_, 1>(b.clone());
        assert_eq!(r.err().map(|e| e.error()), Some(EINVAL));
        Ok(())
    }

    #[test]
    fn a_delayed_class_that_went_on_a_bh_queue_is_refused_on_threaded_queues() -> Result {
        let a = item_two()?;
        rust_wq::system_bh().enqueue_delayed(a.clone(), 1)?;
        DelayedWork::<_, 2>::of(&*a).flush()?;
        assert_eq!(a.runs.load(Relaxed), 1);
        let b = item_two()?;
        let q = OwnedQueue::unbound().build(c"rwq_class_ub")?;
        if !cfg!(CONFIG_LOCKDEP) {
            q.enqueue_delayed(b.clone(), 0)?;
            q.drain()?;
            assert_eq!(b.runs.load(Relaxed), 1);
            return Ok(());
        }
        let e = q.enqueue_delayed(b.clone(), 0).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        assert!(Arc::ptr_eq(&e.into_item(), &b));
        let r = rust_wq::system_percpu().mod_delayed(b.clone(), 0);
        assert_eq!(r.err().map(|e| e.error()), Some(EINVAL));
        q.drain()?;
        assert_eq!(b.runs.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn a_key_that_went_on_a_bh_queue_is_refused_for_work_on_cpu() -> Result {
        let bh_key = kernel::static_lock_class!();
        let threaded_key = kernel::static_lock_class!();
        let ran = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let done = Event::new_arc()?;
        let (r, d) = (ran.clone(), done.clone());
        rust_wq::system_bh().try_spawn_in(
            rust_wq::closure::spawn::SpawnClass {
                threaded: threaded_key,
                bh: bh_key,
            },
            GFP_KERNEL,
            move || {
                r.add(1, Relaxed);
                d.set();
            },
        )?;
        assert!(done.wait());
        assert_eq!(ran.load(Relaxed), 1);
        // The same key for a threaded kworker's item: lockdep would see the class in both.
        let r = rust_wq::work_on_cpu_in(bh_key, 0, || ());
        if cfg!(CONFIG_LOCKDEP) {
            assert_eq!(r.err(), Some(EINVAL));
        } else {
            assert!(r.is_ok());
        }
        Ok(())
    }
}
