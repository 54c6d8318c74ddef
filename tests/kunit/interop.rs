// SPDX-License-Identifier: GPL-2.0

//! Interoperability with the in-tree `kernel::workqueue`: its items on rust_wq's queues, and
//! rust_wq's items on the queues it names.

use kernel::prelude::*;

#[kunit_tests(rust_wq_interop)]
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
        OwnedQueue,
        Queue, //
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
        workqueue as kw,
    };

    /// An item written for `kernel::workqueue`: counts its runs in `runs`.
    #[pin_data]
    struct Legacy {
        runs: Arc<Atomic<u32>>,
        #[pin]
        work: kw::Work<Legacy>,
    }

    kernel::impl_has_work! { impl HasWork<Self> for Legacy { self.work } }

    impl kw::WorkItem for Legacy {
        type Pointer = Arc<Legacy>;

        fn run(this: Arc<Legacy>) {
            this.runs.add(1, Relaxed);
        }
    }

    fn legacy(runs: &Arc<Atomic<u32>>) -> Result<Arc<Legacy>> {
        Arc::pin_init(
            pin_init!(Legacy { runs: runs.clone(), work <- kw::new_work!("Legacy::work") }),
            GFP_KERNEL,
        )
    }

    /// The same, owned by a box.
    #[pin_data]
    struct BoxedLegacy {
        runs: Arc<Atomic<u32>>,
        #[pin]
        work: kw::Work<BoxedLegacy>,
    }

    kernel::impl_has_work! { impl HasWork<Self> for BoxedLegacy { self.work } }

    impl kw::WorkItem for BoxedLegacy {
        type Pointer = Pin<KBox<BoxedLegacy>>;

        fn run(this: Pin<KBox<BoxedLegacy>>) {
            this.runs.add(1, Relaxed);
        }
    }

    #[test]
    fn kernel_items_run_on_owned_queues_and_are_refused_while_pending() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_interop")?;
        let s = Shared::new()?;
        // A rust_wq item holds the ordered queue, so the in-tree item stays pending behind it.
        let blocker = Probe::new(&s, 0, Action::Block)?;
        q.enqueue(blocker.clone()).map_err(|e| e.error())?;
        assert!(wait_for(|| s.running.load(Relaxed) == 1));
        let runs = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let item = legacy(&runs)?;
        q.enqueue_kernel_item(item.clone()).map_err(|e| e.error())?;
        let e = q.enqueue_kernel_item(item.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(Arc::ptr_eq(&e.into_item(), &item));
        assert_eq!(runs.load(Relaxed), 0);
        s.release.store(1, Relaxed);
        q.drain()?;
        assert_eq!(runs.load(Relaxed), 1);
        // A boxed one, on the same queue and on a system queue of rust_wq.
        let counter = runs.clone();
        let boxed = KBox::pin_init(
            pin_init!(BoxedLegacy { runs: counter, work <- kw::new_work!("BoxedLegacy") }),
            GFP_KERNEL,
        )?;
        q.enqueue_kernel_item(boxed).map_err(|e| e.error())?;
        q.drain()?;
        assert_eq!(runs.load(Relaxed), 2);
        rust_wq::system_dfl()
            .enqueue_kernel_item(item.clone())
            .map_err(|e| e.error())?;
        assert!(wait_for(|| runs.load(Relaxed) == 3));
        drop(q);
        assert_eq!(runs.load(Relaxed), 3);
        Ok(())
    }

    #[test]
    fn kernel_items_are_refused_on_bh_and_reclaim_queues() -> Result {
        let runs = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
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
        assert_eq!(runs.load(Relaxed), 0);
        Ok(())
    }

    #[test]
    fn rust_wq_items_run_on_the_queues_kernel_workqueue_names() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let q = Queue::from_kernel(kw::system_highpri())?;
        q.enqueue(p.clone()).map_err(|e| e.error())?;
        assert!(wait_for(|| s.runs() == 1));
        assert_eq!(q.as_raw(), rust_wq::system_highpri().as_raw());
        // The deprecated ones are not rust_wq's to queue on.
        assert_eq!(Queue::from_kernel(kw::system()).err(), Some(EINVAL));
        assert_eq!(Queue::from_kernel(kw::system_unbound()).err(), Some(EINVAL));
        assert!(Queue::from_kernel(kw::system_bh()).is_ok());
        Ok(())
    }
}
