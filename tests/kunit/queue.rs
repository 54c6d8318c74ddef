// SPDX-License-Identifier: GPL-2.0

//! Owned queues: flags, placement, `max_active`, ordering, drain and destruction.

use kernel::prelude::*;

#[kunit_tests(rust_wq_queue)]
mod tests {
    use crate::probe::{
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        cpu,
        OwnedQueue,
        Work, //
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

    #[test]
    fn item_queued_on_cpu_n_runs_on_cpu_n_in_its_kworker() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_placement")?;
        assert!(cpu::online_cpus().count() >= 2);
        for n in cpu::online_cpus() {
            let s = Shared::new()?;
            let p = Probe::new(&s, n, Action::Record)?;
            q.enqueue_on(n, p.clone())?;
            Work::of(&*p).flush()?;
            assert_eq!(s.runs(), 1);
            assert_eq!(s.last_cpu.load(Relaxed), n);
            let name = s.name().ok_or(EINVAL)?;
            assert!(name.is_percpu_kworker_of(n));
            assert!(!name.is_highpri_kworker());
        }
        Ok(())
    }

    #[test]
    fn highpri_item_runs_in_an_h_worker() -> Result {
        let q = OwnedQueue::percpu().highpri().build(c"rwq_highpri")?;
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        q.enqueue_on(1, p.clone())?;
        Work::of(&*p).flush()?;
        let name = s.name().ok_or(EINVAL)?;
        assert!(name.is_percpu_kworker_of(1));
        assert!(name.is_highpri_kworker());
        Ok(())
    }

    #[test]
    fn unbound_item_runs_in_an_unbound_kworker() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_unbound")?;
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        q.enqueue(p.clone())?;
        Work::of(&*p).flush()?;
        assert!(s.name().ok_or(EINVAL)?.is_unbound_kworker());
        Ok(())
    }

    #[test]
    fn cpu_at_or_above_nr_cpu_ids_is_einval_and_item_comes_back() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_badcpu")?;
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let err = q.enqueue_on(cpu::nr_cpu_ids(), p).err().ok_or(EINVAL)?;
        assert_eq!(err.error(), EINVAL);
        let p = err.into_item();
        let err = q.enqueue_on(u32::MAX, p).err().ok_or(EINVAL)?;
        assert_eq!(err.error(), EINVAL);
        drop(err);
        // The item was never queued and is freed with its last reference.
        assert_eq!(s.dropped.load(Relaxed), 1);
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    #[test]
    fn offline_cpu_is_enodev() -> Result {
        // The test kernel boots with more possible than online CPUs (possible_cpus=).
        let n = cpu::nr_cpu_ids() - 1;
        assert!(cpu::online_cpu(n).is_err());
        let q = OwnedQueue::percpu().build(c"rwq_offline")?;
        let s = Shared::new()?;
        let err = q
            .enqueue_on(n, Probe::new(&s, 0, Action::Record)?)
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(err.error(), ENODEV);
        Ok(())
    }

    #[test]
    fn max_active_out_of_range_is_einval() {
        assert_eq!(
            OwnedQueue::percpu().max_active(0).build(c"rwq_ma0").err(),
            Some(EINVAL)
        );
        assert_eq!(
            OwnedQueue::unbound()
                .max_active(4096)
                .build(c"rwq_ma4096")
                .err(),
            Some(EINVAL)
        );
        assert!(OwnedQueue::unbound()
            .max_active(2048)
            .build(c"rwq_ma2048")
            .is_ok());
        assert!(OwnedQueue::percpu().max_active(1).build(c"rwq_ma1").is_ok());
    }

    #[test]
    fn name_longer_than_the_kernel_keeps_is_an_error() {
        assert_eq!(
            OwnedQueue::percpu()
                .build(c"rwq_0123456789_0123456789_abcdef")
                .err(),
            Some(ENAMETOOLONG)
        );
        assert!(OwnedQueue::percpu()
            .build(c"rwq_0123456789_0123456789_abcde")
            .is_ok());
        assert_eq!(OwnedQueue::percpu().build(c"").err(), Some(EINVAL));
    }

    /// Queues `n` items on CPU 0 that wait for each other in groups of `k` (a barrier), and
    /// returns the highest concurrency seen. `n` is a multiple of `k`. Items that waited in vain
    /// (the limit never let `k` run at once) fail here, as too slow to finish, not as a wrong
    /// count.
    fn concurrency(q: &OwnedQueue, n: u32, k: u32) -> Result<u32> {
        let s = Shared::new()?;
        let mut items = KVec::new();
        for i in 0..n {
            let p = Probe::new(&s, i, Action::Gate(k))?;
            q.enqueue_on(0, p.clone())?;
            items.push(p, GFP_KERNEL)?;
        }
        q.flush()?;
        assert_eq!(s.runs(), n);
        let gates_in_time = s.gate_timeouts.load(Relaxed) == 0;
        assert!(gates_in_time);
        Ok(s.max_running.load(Relaxed))
    }

    #[test]
    fn max_active_is_never_exceeded_and_is_reached() -> Result {
        let q = OwnedQueue::percpu().max_active(2).build(c"rwq_max2")?;
        assert_eq!(concurrency(&q, 8, 2)?, 2);
        let q = OwnedQueue::percpu().max_active(3).build(c"rwq_max3")?;
        assert_eq!(concurrency(&q, 9, 3)?, 3);
        Ok(())
    }

    #[test]
    fn set_max_active_changes_the_limit_at_run_time() -> Result {
        let q = OwnedQueue::percpu().max_active(4).build(c"rwq_setmax")?;
        q.set_max_active(1)?;
        assert_eq!(concurrency(&q, 4, 1)?, 1);
        q.set_max_active(3)?;
        assert_eq!(concurrency(&q, 6, 3)?, 3);
        assert_eq!(q.set_max_active(0), Err(EINVAL));
        assert_eq!(q.set_max_active(4096), Err(EINVAL));
        Ok(())
    }

    #[test]
    fn ordered_queue_runs_fifo_one_at_a_time() -> Result {
        let q = OwnedQueue::ordered().build(c"rwq_ordered")?;
        let s = Shared::new()?;
        let mut items = KVec::new();
        for i in 0..12 {
            let p = Probe::new(&s, i, Action::Sleep(2))?;
            q.enqueue(p.clone())?;
            items.push(p, GFP_KERNEL)?;
        }
        q.flush()?;
        assert_eq!(s.max_running.load(Relaxed), 1);
        let order = s.order.lock();
        assert_eq!(order.len(), 12);
        for (i, &tag) in order.iter().enumerate() {
            assert_eq!(tag as usize, i);
        }
        Ok(())
    }

    #[test]
    fn an_item_never_runs_concurrently_with_itself() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_selfconc")?;
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Sleep(5))?;
        for i in 0..30u32 {
            // Queued on the other CPU as soon as the last queueing has started to run (it is
            // no longer pending), while that run may still go on: every queueing is taken.
            assert_eq!(s.wait_entered(i), i);
            q.enqueue_on(i % 2, p.clone())?;
        }
        q.flush()?;
        assert_eq!(s.runs(), 30);
        assert_eq!(s.max_running.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn drain_empties_a_self_requeueing_chain_that_stops() -> Result {
        let q = Arc::new(OwnedQueue::unbound().build(c"rwq_drain")?, GFP_KERNEL)?;
        let s = Shared::new()?;
        let action = Action::Chain {
            queue: q.clone(),
            left: Atomic::new(25),
        };
        let p = Probe::new(&s, 0, action)?;
        q.enqueue(p.clone())?;
        q.drain()?;
        // Every link of the chain ran before drain returned, and the chain is over.
        assert_eq!(s.runs(), 25);
        assert!(!Work::of(&*p).is_pending());
        assert_eq!(s.errno.load(Relaxed), 0);
        drop(p);
        assert_eq!(s.dropped.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn dropping_a_queue_with_pending_work_runs_all_of_it() -> Result {
        let q = OwnedQueue::percpu().max_active(1).build(c"rwq_droppend")?;
        let s = Shared::new()?;
        q.enqueue_on(0, Probe::new(&s, 0, Action::Block)?)?;
        for i in 1..=5 {
            q.enqueue_on(0, Probe::new(&s, i, Action::Record)?)?;
        }
        // The blocker holds the queue's only slot until released: nothing has finished.
        assert_eq!(s.runs(), 0);
        s.release();
        drop(q);
        assert_eq!(s.runs(), 6);
        assert_eq!(s.dropped.load(Relaxed), 6);
        Ok(())
    }

    #[test]
    fn enqueue_cloned_refuses_a_pending_item_and_keeps_the_callers_reference() -> Result {
        let q = OwnedQueue::ordered().stats().build(c"rwq_cloned")?;
        let s = Shared::new()?;
        q.enqueue(Probe::new(&s, 0, Action::Block)?)?;
        let p = Probe::new(&s, 1, Action::Record)?;
        // Queued behind the blocker: a clone went to the queue, `p` is still ours.
        q.enqueue_cloned(&p)?;
        assert!(Work::of(&*p).is_pending());
        assert_eq!(q.enqueue_cloned(&p).err(), Some(EBUSY));
        assert_eq!(
            crate::rust_wq::system_percpu().enqueue_cloned(&p).err(),
            Some(EBUSY)
        );
        s.release();
        Work::of(&*p).flush()?;
        // It ran once; the refusals took no reference (none was dropped but the queue's).
        assert_eq!(s.runs(), 2);
        assert_eq!(s.dropped.load(Relaxed), 1);
        let st = q.stats().ok_or(EINVAL)?;
        assert_eq!(st.rejected(), 1);
        // Idle again: queued on a system queue too.
        crate::rust_wq::system_percpu().enqueue_cloned(&p)?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 3);
        drop(p);
        assert_eq!(s.dropped.load(Relaxed), 2);
        Ok(())
    }

    #[test]
    fn every_flag_builds_a_working_queue() -> Result {
        let s = Shared::new()?;
        let run_on = |q: &OwnedQueue| -> Result {
            let p = Probe::new(&s, 0, Action::Record)?;
            q.enqueue(p.clone())?;
            Work::of(&*p).flush()?;
            Ok(())
        };
        run_on(&OwnedQueue::percpu().cpu_intensive().build(c"rwq_cpuint")?)?;
        run_on(&OwnedQueue::percpu().freezable().build(c"rwq_freeze")?)?;
        run_on(&OwnedQueue::percpu().mem_reclaim().build(c"rwq_reclaim")?)?;
        run_on(&OwnedQueue::percpu().sysfs().build(c"rwq_sysfs")?)?;
        run_on(&OwnedQueue::power_efficient().build(c"rwq_powereff")?)?;
        run_on(&OwnedQueue::create_workqueue(c"rwq_legacy")?)?;
        let o = OwnedQueue::create_singlethread_workqueue(c"rwq_single")?;
        let p = Probe::new(&s, 0, Action::Record)?;
        o.enqueue(p.clone())?;
        Work::of(&*p).flush()?;
        let u = OwnedQueue::unbound()
            .highpri()
            .freezable()
            .mem_reclaim()
            .build(c"rwq_ubflags")?;
        let p = Probe::new(&s, 0, Action::Record)?;
        u.enqueue(p.clone())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 8);
        Ok(())
    }

    #[test]
    fn sysfs_queue_with_a_duplicate_name_fails_cleanly() -> Result {
        // `EEXIST`, not `ENOMEM` after a sysfs stack dump (which fails the run on its own).
        let _a = OwnedQueue::unbound().sysfs().build(c"rwq_dupname")?;
        let b = OwnedQueue::unbound().sysfs().build(c"rwq_dupname");
        assert!(matches!(b, Err(e) if e == EEXIST));
        Ok(())
    }

    #[test]
    fn bh_queue_runs_items_on_the_queueing_cpu() -> Result {
        let q = OwnedQueue::bh().build(c"rwq_bh")?;
        let s = Shared::new()?;
        let p = Probe::new_bh(&s)?;
        q.enqueue_on(1, p.clone())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 1);
        assert_eq!(s.last_cpu.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn stats_count_per_cpu_and_sum_up() -> Result {
        let q = OwnedQueue::percpu().stats().build(c"rwq_stats")?;
        let s = Shared::new()?;
        for n in cpu::online_cpus() {
            for _ in 0..=n {
                let p = Probe::new(&s, 0, Action::Record)?;
                q.enqueue_on(n, p.clone())?;
                Work::of(&*p).flush()?;
            }
        }
        let _ = q.enqueue_on(cpu::nr_cpu_ids(), Probe::new(&s, 0, Action::Record)?);
        let st = q.stats().ok_or(EINVAL)?;
        let mut sum = 0;
        for n in cpu::online_cpus() {
            assert_eq!(st.enqueued_on(n), u64::from(n) + 1);
            sum += st.enqueued_on(n);
        }
        assert_eq!(st.enqueued(), sum);
        assert_eq!(u64::from(s.runs()), sum);
        assert_eq!(st.rejected(), 1);
        assert!(OwnedQueue::percpu()
            .build(c"rwq_nostats")?
            .stats()
            .is_none());
        Ok(())
    }
}
