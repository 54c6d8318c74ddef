// SPDX-License-Identifier: GPL-2.0

//! Execution context helpers and [`Slot`](crate::rust_wq::Slot).

use kernel::prelude::*;

#[kunit_tests(rust_wq_context)]
mod tests {
    use crate::probe::{
        errno,
        in_hard_irq,
        in_kworker,
        in_softirq,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        new_work,
        OwnedQueue,
        Slot,
        Work,
        WorkItem, //
    };
    use kernel::{
        new_spinlock,
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
            SpinLock, //
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
        Work::of(&*w).flush()?;
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
        Work::of(&*w).flush()?;
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

    fn describe() -> i32 {
        errno(cpu::set_worker_desc(c"rwq_ctx_desc"))
    }

    /// In a kworker, with a spinlock held and with interrupts off too.
    fn describe_atomic() -> i32 {
        let Ok(lock) = KBox::pin_init(new_spinlock!(()), GFP_KERNEL) else {
            return ENOMEM.to_errno();
        };
        let lock: &SpinLock<()> = &lock;
        let guard = lock.lock();
        let under_lock = errno(cpu::set_worker_desc(c"rwq_ctx_locked"));
        drop(guard);
        let irqs_off = kernel::interrupt::local_interrupt_disable();
        let irqs = errno(cpu::set_worker_desc(c"rwq_ctx_irqs_off"));
        drop(irqs_off);
        if under_lock != 0 {
            under_lock
        } else {
            irqs
        }
    }

    /// `set_worker_desc` names a kworker: `EINVAL` in softirq and hard-interrupt context (no
    /// kworker's task there, even when one was interrupted), and allowed in a kworker that holds
    /// a spinlock or has interrupts off (C only writes the worker's buffer).
    #[test]
    fn set_worker_desc_is_einval_in_interrupts_and_allowed_in_an_atomic_kworker() -> Result {
        assert_eq!(in_softirq(describe)?, Some(EINVAL.to_errno()));
        assert_eq!(in_hard_irq(describe)?, Some(EINVAL.to_errno()));
        assert_eq!(in_kworker(describe_atomic)?, Some(0));
        Ok(())
    }

    /// The slot of [`slot_take_where_the_caller_cannot_sleep_is_eagain_and_the_value_stays`].
    static TAKE_SLOT: Slot<Shared> = Slot::new();

    fn take() -> i32 {
        match TAKE_SLOT.take() {
            Err(e) => e.to_errno(),
            Ok(Some(_)) => 1,
            Ok(None) => 2,
        }
    }

    /// `Slot::take` waits for a grace period: `EAGAIN` where the caller cannot sleep (a spinlock,
    /// interrupts off, softirq, hard interrupt), and the value stays in the slot.
    #[test]
    fn slot_take_where_the_caller_cannot_sleep_is_eagain_and_the_value_stays() -> Result {
        let s = Shared::new()?;
        assert!(TAKE_SLOT.publish(s.clone()).is_ok());
        let lock: Pin<KBox<SpinLock<()>>> = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let guard = lock.lock();
        let under_lock = take();
        drop(guard);
        let irqs_off = kernel::interrupt::local_interrupt_disable();
        let irqs = take();
        drop(irqs_off);
        assert_eq!(under_lock, EAGAIN.to_errno());
        assert_eq!(irqs, EAGAIN.to_errno());
        assert_eq!(in_softirq(take)?, Some(EAGAIN.to_errno()));
        assert_eq!(in_hard_irq(take)?, Some(EAGAIN.to_errno()));
        let still = TAKE_SLOT.get().ok_or(EINVAL)?;
        assert!(Arc::ptr_eq(&still, &s));
        let taken = TAKE_SLOT.take()?.ok_or(EINVAL)?;
        assert!(Arc::ptr_eq(&taken, &s));
        Ok(())
    }

    fn offline_1() -> i32 {
        errno(cpu::take_offline(1))
    }

    fn online_1() -> i32 {
        errno(cpu::bring_online(1))
    }

    /// A CPU hotplug operation sleeps: `EAGAIN` under a spinlock, with interrupts off and in
    /// hard-interrupt context, and the CPU stays as it was.
    #[test]
    fn hotplug_where_the_caller_cannot_sleep_is_eagain() -> Result {
        if cpu::online_cpu(1).is_err() {
            // A machine of one CPU: nothing to take offline.
            return Ok(());
        }
        let lock: Pin<KBox<SpinLock<()>>> = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let guard = lock.lock();
        let under_lock = (offline_1(), online_1());
        drop(guard);
        let irqs_off = kernel::interrupt::local_interrupt_disable();
        let irqs = (offline_1(), online_1());
        drop(irqs_off);
        let eagain = EAGAIN.to_errno();
        assert_eq!(under_lock, (eagain, eagain));
        assert_eq!(irqs, (eagain, eagain));
        assert_eq!(in_hard_irq(offline_1)?, Some(eagain));
        assert_eq!(in_hard_irq(online_1)?, Some(eagain));
        assert!(cpu::online_cpu(1).is_ok());
        Ok(())
    }
}
