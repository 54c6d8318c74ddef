// SPDX-License-Identifier: GPL-2.0

//! Errors of queueing: each cause gives its own [`EnqueueErrorKind`] with its errno, and the
//! item back, unrun.

use kernel::prelude::*;

#[kunit_tests(rust_wq_errors)]
mod tests {
    use crate::probe::{
        Action,
        DelayedProbe,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        cpu,
        system_bh,
        DelayedWork,
        EnqueueErrorKind as K,
        OwnedQueue,
        MAX_DELAY, //
    };
    use kernel::{
        prelude::*,
        time::Delta, //
    };

    /// The errno of every kind, as the `# Errors` sections and C name them.
    #[test]
    fn every_kind_has_its_errno() {
        let table = [
            (K::Busy, EBUSY),
            (K::NoSuchCpu, EINVAL),
            (K::CpuOffline, ENODEV),
            (K::NoSuchNode, EINVAL),
            (K::NodeOffline, ENODEV),
            (K::DelayOutOfRange, EINVAL),
            (K::CpuTimerOnBh, EINVAL),
            (K::ReclaimLatched, EINVAL),
            (K::ClassContext, EINVAL),
            (K::TooManyClasses, ENOSPC),
            (K::KernelItemQueue, EINVAL),
            (K::NotDrained, EINVAL),
            (K::Unloading, ESHUTDOWN),
            (K::DeviceUnbound, ENODEV),
        ];
        for (kind, errno) in table {
            assert_eq!(kind.errno(), errno);
            assert_eq!(Error::from(kind), errno);
        }
    }

    /// A refused delayed item: each cause is its kind, the errno is the kind's, and the item
    /// comes back unrun (its only other reference is the test's).
    #[test]
    fn each_cause_of_a_refused_delayed_item_is_its_kind() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_kinds")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        q.enqueue_delayed(d.clone(), Delta::from_secs(60))?;
        let offline = cpu::nr_cpu_ids() - 1;
        // The test kernel boots with its last possible CPU offline (possible_cpus=).
        assert!(cpu::online_cpu(offline).is_err());
        let cases = [
            (
                q.enqueue_delayed(d.clone(), Delta::from_millis(1)).err(),
                K::Busy,
            ),
            (
                q.enqueue_delayed_on(cpu::nr_cpu_ids(), d.clone(), Delta::from_millis(1))
                    .err(),
                K::NoSuchCpu,
            ),
            (
                q.enqueue_delayed_on(offline, d.clone(), Delta::from_millis(1))
                    .err(),
                K::CpuOffline,
            ),
            (
                system_bh()
                    .enqueue_delayed_on(0, d.clone(), Delta::from_millis(1))
                    .err(),
                K::CpuTimerOnBh,
            ),
        ];
        for (err, kind) in cases {
            let err = err.ok_or(EINVAL)?;
            assert_eq!(err.kind(), kind);
            assert_eq!(err.error(), kind.errno());
            let back = err.into_item();
            assert!(core::ptr::eq(&*back, &*d));
        }
        assert!(DelayedWork::of(&*d).cancel_sync()?.is_some());
        let err = q
            .enqueue_delayed(d.clone(), MAX_DELAY + 1)
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(err.kind(), K::DelayOutOfRange);
        drop(err);
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    /// A refused plain item: a CPU that does not exist, one that is offline; the item back.
    #[test]
    fn each_cause_of_a_refused_item_is_its_kind() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_kinds2")?;
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let offline = cpu::nr_cpu_ids() - 1;
        let e = q
            .enqueue_on(cpu::nr_cpu_ids(), p.clone())
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.kind(), K::NoSuchCpu);
        assert!(core::ptr::eq(&*e.into_item(), &*p));
        let e = q.enqueue_on(offline, p.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.kind(), K::CpuOffline);
        assert!(core::ptr::eq(&*e.into_item(), &*p));
        assert_eq!(s.runs(), 0);
        Ok(())
    }
}
