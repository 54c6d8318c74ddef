// SPDX-License-Identifier: GPL-2.0

//! Execution context helpers and [`Slot`](crate::rust_wq::Slot).

use kernel::prelude::*;

#[kunit_tests(rust_wq_context)]
mod tests {
    use crate::probe::{
        wait_for,
        Shared, //
    };
    use crate::rust_wq::{
        self,
        cpu,
        new_work,
        OwnedQueue,
        Slot,
        Work,
        WorkItem,
        WorkOps, //
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

    /// Records the context it ran in: bit 0 in_task, bit 1 preemptible, bit 2 in_hardirq.
    #[pin_data]
    struct Where {
        seen: Atomic<u32>,
        #[pin]
        work: Work<Where>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Where { self.work } }

    impl WorkItem for Where {
        type Pointer = Arc<Where>;

        fn run(this: Arc<Where>) {
            let bits = u32::from(cpu::in_task())
                | u32::from(cpu::preemptible()) << 1
                | u32::from(cpu::in_hardirq()) << 2
                | 1 << 3;
            this.seen.store(bits, Relaxed);
        }
    }

    fn new_where() -> Result<Arc<Where>> {
        Arc::pin_init(
            pin_init!(Where { seen: Atomic::new(0), work <- new_work!("Where::work") }),
            GFP_KERNEL,
        )
    }

    #[test]
    fn test_thread_is_a_preemptible_task() {
        assert!(cpu::in_task());
        assert!(cpu::preemptible());
        assert!(!cpu::in_hardirq());
    }

    #[test]
    fn kworker_items_run_in_preemptible_task_context() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_ctx")?;
        let w = new_where()?;
        q.enqueue(w.clone())?;
        w.flush()?;
        assert_eq!(w.seen.load(Relaxed), 0b1011);
        Ok(())
    }

    #[test]
    fn bh_items_run_outside_task_context() -> Result {
        let w = Arc::pin_init(
            pin_init!(Where { seen: Atomic::new(0), work <- new_work!("Where::work (BH)") }),
            GFP_KERNEL,
        )?;
        rust_wq::system_bh().enqueue(w.clone())?;
        assert!(wait_for(|| w.seen.load(Relaxed) != 0));
        // Softirq: neither a task nor preemptible, and not hard IRQ.
        assert_eq!(w.seen.load(Relaxed), 0b1000);
        Ok(())
    }

    #[test]
    fn slot_publishes_one_value_and_gives_it_back() -> Result {
        static SLOT: Slot<Shared> = Slot::new();
        let s = Shared::new()?;
        assert!(SLOT.get().is_none());
        assert!(SLOT.publish(s.clone()).is_ok());
        // Occupied: the second value comes back.
        let other = Shared::new()?;
        assert!(SLOT.publish(other).is_err());
        let got = SLOT.get().ok_or(EINVAL)?;
        assert!(Arc::ptr_eq(&got, &s));
        let taken = SLOT.take()?.ok_or(EINVAL)?;
        assert!(Arc::ptr_eq(&taken, &s));
        assert!(SLOT.get().is_none());
        assert!(SLOT.take()?.is_none());
        Ok(())
    }
}
