// SPDX-License-Identifier: GPL-2.0

//! Interoperability with the in-tree `kernel::workqueue`: its items on rust_wq's queues, and
//! rust_wq's items on the queues it names.

use kernel::prelude::*;

#[kunit_tests(rust_wq_interop)]
mod tests {
    use crate::probe::{
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        OwnedQueue,
        Queue,
        Work, //
    };
    use kernel::{prelude::*, sync::Arc, workqueue as kw};

    /// An item written for `kernel::workqueue`: counts its runs in `runs`.
    #[pin_data]
    struct Legacy {
        runs: Arc<Shared>,
        #[pin]
        work: kw::Work<Legacy>,
    }

    kernel::impl_has_work! { impl HasWork<Self> for Legacy { self.work } }

    impl kw::WorkItem for Legacy {
        type Pointer = Arc<Legacy>;

        fn run(this: Arc<Legacy>) {
            this.runs.count_run();
        }
    }

    fn legacy(runs: &Arc<Shared>) -> Result<Arc<Legacy>> {
        Arc::pin_init(
            pin_init!(Legacy { runs: runs.clone(), work <- kw::new_work!("Legacy::work") }),
            GFP_KERNEL,
        )
    }

    /// The same, owned by a box.
    #[pin_data]
    struct BoxedLegacy {
        runs: Arc<Shared>,
        #[pin]
        work: kw::Work<BoxedLegacy>,
    }

    kernel::impl_has_work! { impl HasWork<Self> for BoxedLegacy { self.work } }

    impl kw::WorkItem for BoxedLegacy {
        type Pointer = Pin<KBox<BoxedLegacy>>;

        fn run(this: Pin<KBox<BoxedLegacy>>) {
            this.runs.count_run();
        }
    }

    #[test]
    fn kernel_items_run_on_owned_queues_and_are_refused_while_pending() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_interop")?;
        let s = Shared::new()?;
        // A rust_wq item holds the ordered queue, so the in-tree item stays pending behind it.
        let blocker = Probe::new(&s, 0, Action::Block)?;
        q.enqueue(blocker.clone()).map_err(|e| e.error())?;
        assert_eq!(s.wait_entered(1), 1);
        let runs = Shared::new()?;
        let item = legacy(&runs)?;
        q.enqueue_kernel_item(item.clone()).map_err(|e| e.error())?;
        let e = q.enqueue_kernel_item(item.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(Arc::ptr_eq(&e.into_item(), &item));
        assert_eq!(runs.runs(), 0);
        s.release();
        q.drain()?;
        assert_eq!(runs.runs(), 1);
        // A boxed one, on the same queue and on a system queue of rust_wq.
        let counter = runs.clone();
        let boxed = KBox::pin_init(
            pin_init!(BoxedLegacy { runs: counter, work <- kw::new_work!("BoxedLegacy") }),
            GFP_KERNEL,
        )?;
        q.enqueue_kernel_item(boxed).map_err(|e| e.error())?;
        q.drain()?;
        assert_eq!(runs.runs(), 2);
        rust_wq::system_dfl()
            .enqueue_kernel_item(item.clone())
            .map_err(|e| e.error())?;
        // `kernel::workqueue` has no flush of an item: its run announces itself.
        assert_eq!(runs.wait_runs(3), 3);
        drop(q);
        assert_eq!(runs.runs(), 3);
        Ok(())
    }

    #[test]
    fn kernel_items_are_refused_on_bh_and_reclaim_queues() -> Result {
        let runs = Shared::new()?;
        let item = legacy(&runs)?;
        let bh = OwnedQueue::bh().build(c"rwq_interop_bh")?;
        let e = bh.enqueue_kernel_item(item.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        let e = rust_wq::system_bh()
            .enqueue_kernel_item(e.into_item())
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        let reclaim = OwnedQueue::unbound()
            .mem_reclaim()
            .build(c"rwq_interop_rc")?;
        let e = reclaim
            .enqueue_kernel_item(e.into_item())
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        assert!(Arc::ptr_eq(&e.into_item(), &item));
        drop((bh, reclaim));
        assert_eq!(runs.runs(), 0);
        Ok(())
    }

    #[test]
    fn rust_wq_items_run_on_the_queues_kernel_workqueue_names() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let q = Queue::from_kernel(kw::system_highpri())?;
        q.enqueue(p.clone()).map_err(|e| e.error())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 1);
        assert_eq!(q.as_raw(), rust_wq::system_highpri().as_raw());
        // The deprecated ones are not rust_wq's to queue on.
        assert_eq!(Queue::from_kernel(kw::system()).err(), Some(EINVAL));
        assert_eq!(Queue::from_kernel(kw::system_unbound()).err(), Some(EINVAL));
        assert!(Queue::from_kernel(kw::system_bh()).is_ok());
        Ok(())
    }
}
