// SPDX-License-Identifier: GPL-2.0

//! System queues, `work_on_cpu` and `schedule_on_each_cpu`, and the module-level example.

use kernel::prelude::*;

#[kunit_tests(rust_wq_system)]
mod tests {
    use crate::probe::{
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        Queue,
        Work, //
    };
    use kernel::{
        prelude::*,
        sync::atomic::{
            Atomic,
            Relaxed, //
        },
    };

    fn runs_on(q: &Queue, bh: bool) -> Result<bool> {
        let s = Shared::new()?;
        let p = if bh {
            Probe::new_bh(&s)?
        } else {
            Probe::new(&s, 0, Action::Record)?
        };
        q.enqueue(p.clone())?;
        Work::of(&*p).flush()?;
        Ok(s.runs() == 1)
    }

    #[test]
    fn every_system_queue_runs_items_without_deprecation_warnings() -> Result {
        // The run fails on any "deprecated workqueue" line in the console.
        assert!(runs_on(rust_wq::system_percpu(), false)?);
        assert!(runs_on(rust_wq::system_dfl(), false)?);
        assert!(runs_on(rust_wq::system_dfl_long(), false)?);
        assert!(runs_on(rust_wq::system_highpri(), false)?);
        assert!(runs_on(rust_wq::system_long(), false)?);
        assert!(runs_on(rust_wq::system_freezable(), false)?);
        assert!(runs_on(rust_wq::system_power_efficient(), false)?);
        assert!(runs_on(rust_wq::system_freezable_power_efficient(), false)?);
        assert!(runs_on(rust_wq::system_bh(), true)?);
        assert!(runs_on(rust_wq::system_bh_highpri(), true)?);
        Ok(())
    }

    #[test]
    fn schedule_work_runs_on_the_percpu_system_queue() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        rust_wq::schedule_work(p.clone())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 1);
        assert!(s.name().ok_or(EINVAL)?.starts_with(b"kworker/"));
        Ok(())
    }

    #[test]
    fn system_queue_enqueue_on_cpu() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        rust_wq::system_percpu().enqueue_on(1, p.clone())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.last_cpu.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn work_on_cpu_runs_there_and_returns_the_result() -> Result {
        let mut borrowed = 0u32;
        let (cpu_seen, name) = crate::work_on_cpu!(1, || {
            borrowed += 1;
            (cpu::current_cpu(), cpu::TaskName::current())
        })?;
        assert_eq!(cpu_seen, 1);
        assert!(name.is_percpu_kworker_of(1));
        assert_eq!(borrowed, 1);
        assert_eq!(
            crate::work_on_cpu!(cpu::nr_cpu_ids(), || ()).err(),
            Some(EINVAL)
        );
        assert_eq!(
            crate::work_on_cpu!(cpu::nr_cpu_ids() - 1, || ()).err(),
            Some(ENODEV)
        );
        Ok(())
    }

    #[test]
    fn schedule_on_each_cpu_runs_once_on_every_online_cpu() -> Result {
        let seen = Atomic::<u32>::new(0);
        let wrong = Atomic::<u32>::new(0);
        let ran = crate::schedule_on_each_cpu!(|n| {
            if cpu::current_cpu() != n {
                wrong.add(1, Relaxed);
            }
            seen.fetch_add(1 << n, Relaxed);
        })?;
        let mut online = 0;
        let mut mask = 0;
        for n in cpu::online_cpus() {
            online += 1;
            mask |= 1 << n;
        }
        assert_eq!(ran, online);
        assert_eq!(seen.load(Relaxed), mask);
        assert_eq!(wrong.load(Relaxed), 0);
        Ok(())
    }
}
