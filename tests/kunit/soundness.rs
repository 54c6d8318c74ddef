// SPDX-License-Identifier: GPL-2.0

//! Soundness: races and misuses that safe code can write. Each must come back as an error or a
//! defined outcome, never as a leak, a kernel WARN (fatal here: `panic_on_warn`) or a hang.
//! Races are driven by blocking the worker and acting from a second thread at a known point.

use kernel::prelude::*;

#[kunit_tests(rust_wq_soundness)]
mod tests {
    use crate::probe::{
        c_disabled,
        wait_for,
        Action,
        DelayedAction,
        DelayedProbe,
        Job,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        Armed,
        Delay,
        DelayedWork,
        OwnedQueue,
        Slot,
        Unbound,
        Work,
        MAX_DELAY,
        MAX_DISABLE, //
    };
    use kernel::{
        new_spinlock,
        prelude::*,
        sync::{
            atomic::Relaxed,
            Arc,
            SpinLock, //
        },
        time::{
            delay::fsleep,
            Delta,
            Jiffies,
            Jiffy, //
        },
    };

    /// Nanoseconds in a second.
    const NSEC: i64 = 1_000_000_000;

    /// Queues a delayed probe that blocks in `run` until `s.release`, and waits until it runs
    /// (`ETIMEDOUT` if it did not: the log says too slow to finish).
    fn blocked_delayed(q: &OwnedQueue<Unbound>, s: &Arc<Shared>) -> Result<Arc<DelayedProbe>> {
        let d = DelayedProbe::with(s, DelayedAction::Block)?;
        q.enqueue_delayed(d.clone(), 0)?;
        if s.wait_entered(1) != 1 {
            return Err(ETIMEDOUT);
        }
        Ok(d)
    }

    /// The same for a plain probe.
    fn blocked_probe(q: &OwnedQueue<Unbound>, s: &Arc<Shared>) -> Result<Arc<Probe>> {
        let p = Probe::new(s, 0, Action::Block)?;
        q.enqueue(p.clone())?;
        if s.wait_entered(1) != 1 {
            return Err(ETIMEDOUT);
        }
        Ok(p)
    }

    /// Runs `f` on a kworker of `system_dfl`; returns the job's `Shared`, which its run and its
    /// drop announce themselves to.
    fn on_other_thread(f: impl Fn() + Send + Sync + 'static) -> Result<Arc<Shared>> {
        let h = Shared::new()?;
        rust_wq::system_dfl().enqueue(Job::new(&h, f)?)?;
        Ok(h)
    }

    /// While `item` is blocked in its run (until `s.release`), has another thread `wait` for it
    /// (`cancel_sync` or `disable_sync`); once `inside` shows that thread inside its wait, calls
    /// `act` and lets the item go. Returns what `act` returned, once the other thread's wait
    /// has returned too; `ETIMEDOUT` if a wait ran out (the log says too slow to finish).
    fn while_another_thread_waits<T: Send + Sync + 'static, R>(
        s: &Shared,
        item: &Arc<T>,
        wait: fn(&T),
        inside: impl Fn() -> bool,
        act: impl FnOnce() -> R,
    ) -> Result<R> {
        let target = item.clone();
        let h = on_other_thread(move || wait(&target))?;
        // Being inside the wait shows in C's state or in a count of rust_wq's, neither of which
        // announces anything: polled.
        if !wait_for(inside) {
            s.release();
            return Err(ETIMEDOUT);
        }
        let r = act();
        s.release();
        if h.wait_runs(1) != 1 {
            return Err(ETIMEDOUT);
        }
        Ok(r)
    }

    /// Item 2: while `cancel_sync` waits (and C keeps the item disabled), `mod_delayed` must not
    /// claim to have queued the item it could not queue, and must hand the reference back.
    #[test]
    fn mod_delayed_during_cancel_sync_is_ebusy_and_hands_the_item_back() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_s_modcancel")?;
        let s = Shared::new()?;
        let d = blocked_delayed(&q, &s)?;
        let refused = while_another_thread_waits(
            &s,
            &d,
            |t| {
                let _ = DelayedWork::of(t).cancel_sync();
            },
            || DelayedWork::of(&*d).delayed_work().cancels_in_progress() == 1,
            || {
                let r = q.mod_delayed(d.clone(), Delta::from_millis(10));
                matches!(r, Err(e) if e.error() == EBUSY)
            },
        )?;
        assert!(refused);
        assert_eq!(s.runs(), 1);
        assert!(!DelayedWork::of(&*d).is_pending());
        // Every reference is accounted for: dropping ours frees the item (once the job, which
        // holds one, is gone).
        drop(d);
        assert_eq!(s.wait_dropped(1), 1);
        Ok(())
    }

    /// Item 3, delayed items: an `enable` while `disable_sync` waits undoes that disable; the
    /// item stays consistent (no C count to desynchronise) and can be armed again.
    #[test]
    fn enable_during_disable_sync_of_a_delayed_item_is_consistent() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_s_ddisen")?;
        let s = Shared::new()?;
        let d = blocked_delayed(&q, &s)?;
        let (enabled, refused) = while_another_thread_waits(
            &s,
            &d,
            |t| {
                let _ = DelayedWork::of(t).disable_sync();
            },
            || DelayedWork::of(&*d).delayed_work().disabled() == 1,
            || {
                let enabled = DelayedWork::of(&*d).enable();
                // C still keeps the item disabled inside `disable_sync`: arming is refused, not
                // lost.
                let r = q.mod_delayed(d.clone(), Delta::from_millis(10));
                (enabled, matches!(r, Err(e) if e.error() == EBUSY))
            },
        )?;
        assert!(enabled);
        assert!(refused);
        q.enqueue_delayed(d.clone(), 0)?;
        DelayedWork::of(&*d).flush()?;
        assert_eq!(s.runs(), 2);
        Ok(())
    }

    /// Item 3, plain items: an `enable` while `disable_sync` waits has no finished disable to
    /// undo, so it does nothing (C's count would underflow, or go out of step, otherwise).
    #[test]
    fn enable_during_disable_sync_of_a_plain_item_waits_for_the_disable() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_s_pdisen")?;
        let s = Shared::new()?;
        let p = blocked_probe(&q, &s)?;
        let early = while_another_thread_waits(
            &s,
            &p,
            |t| {
                let _ = Work::of(t).disable_sync();
            },
            || Work::of(&*p).work().disable_depth() == 1,
            || Work::of(&*p).enable(),
        )?;
        assert!(!early);
        let refused = q.enqueue(p.clone()).err().map(|e| e.error());
        assert!(refused == Some(EBUSY));
        assert!(Work::of(&*p).enable());
        q.enqueue(p.clone())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 2);
        Ok(())
    }

    /// Item 4: a full `Slot` that is dropped drops its value.
    #[test]
    fn dropping_a_full_slot_drops_its_value() -> Result {
        let s = Shared::new()?;
        let slot = Slot::new();
        assert!(slot.publish(Probe::new(&s, 0, Action::Record)?).is_ok());
        assert_eq!(s.dropped.load(Relaxed), 0);
        drop(slot);
        assert_eq!(s.dropped.load(Relaxed), 1);
        Ok(())
    }

    /// Item 5: unbalanced enables do nothing, and disables stop at `MAX_DISABLE` with
    /// `EOVERFLOW`, for both kinds (C warns on underflow and beyond 65535).
    #[test]
    fn enable_and_disable_counts_never_reach_c_warnings() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let d = DelayedProbe::new(&s)?;
        assert!(!Work::of(&*p).enable());
        assert!(!DelayedWork::of(&*d).enable());
        for _ in 0..MAX_DISABLE {
            assert!(Work::of(&*p).disable()?.is_none());
            assert!(DelayedWork::of(&*d).disable()?.is_none());
        }
        assert!(matches!(Work::of(&*p).disable(), Err(e) if e == EOVERFLOW));
        assert!(matches!(DelayedWork::of(&*d).disable(), Err(e) if e == EOVERFLOW));
        for _ in 1..MAX_DISABLE {
            assert!(!Work::of(&*p).enable());
            assert!(!DelayedWork::of(&*d).enable());
        }
        assert!(Work::of(&*p).enable());
        assert!(DelayedWork::of(&*d).enable());
        assert!(!Work::of(&*p).enable());
        assert!(!DelayedWork::of(&*d).enable());
        rust_wq::system_dfl().enqueue(p.clone())?;
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    /// Item 5: the legacy constructors carry C's `__WQ_LEGACY`, so an item of a
    /// `create_workqueue` queue may flush an item of a queue without `WQ_MEM_RECLAIM` (C
    /// warns otherwise, and code ported from C does this).
    #[test]
    fn legacy_queue_items_may_flush_other_queues() -> Result {
        let legacy = OwnedQueue::create_workqueue(c"rwq_s_legacy")?;
        let other_q = OwnedQueue::unbound().build(c"rwq_s_legacy_o")?;
        let s = Shared::new()?;
        let other = blocked_probe(&other_q, &s)?;
        let h = Shared::new()?;
        let target = other.clone();
        let hh = h.clone();
        legacy.enqueue(Job::new(&h, move || {
            if Work::of(&*target).flush().is_err() {
                hh.errno.store(1, Relaxed);
            }
        })?)?;
        assert_eq!(h.wait_entered(1), 1);
        // Time for the job to be inside its flush (if it is not yet, the flush has less to wait
        // for; either way it must not fail).
        fsleep(Delta::from_millis(20));
        s.release();
        assert_eq!(h.wait_runs(1), 1);
        assert_eq!(h.errno.load(Relaxed), 0);
        Ok(())
    }

    /// Item 5: an item of a `mem_reclaim()` queue that waits for an item of a queue without
    /// `WQ_MEM_RECLAIM` gets `EDEADLK` (C warns: the wait can deadlock under memory pressure);
    /// waiting for an item only ever queued on reclaim queues is allowed.
    #[test]
    fn reclaim_items_may_only_flush_reclaim_safe_targets() -> Result {
        let rq = OwnedQueue::unbound()
            .mem_reclaim()
            .build(c"rwq_s_reclaim")?;
        let rq2 = OwnedQueue::unbound()
            .mem_reclaim()
            .build(c"rwq_s_reclaim2")?;
        let other_q = OwnedQueue::unbound().build(c"rwq_s_reclaim_o")?;
        let s = Shared::new()?;
        let other = blocked_probe(&other_q, &s)?;
        let s2 = Shared::new()?;
        let safe = blocked_probe(&rq2, &s2)?;
        let h = Shared::new()?;
        let (unsafe_target, safe_target, hh) = (other.clone(), safe.clone(), h.clone());
        let s2r = s2.clone();
        rq.enqueue(Job::new(&h, move || {
            let code = |r: Result<bool>| r.err().map_or(0, |e| e.to_errno());
            hh.errno
                .store(code(Work::of(&*unsafe_target).flush()), Relaxed);
            // Released only now, so that this flush really waits.
            s2r.release();
            hh.back
                .store(code(Work::of(&*safe_target).flush()) as u32, Relaxed);
        })?)?;
        assert_eq!(h.wait_runs(1), 1);
        s.release();
        assert_eq!(h.errno.load(Relaxed), EDEADLK.to_errno());
        assert_eq!(h.back.load(Relaxed), 0);
        assert_eq!(s2.runs(), 1);
        Ok(())
    }

    /// Item 6: an item that drops the last handle of its own queue does not deadlock in
    /// `destroy_workqueue`; the queue is retired by a hand-off, which fires its armed timers.
    #[test]
    fn dropping_a_queue_from_its_own_item_hands_the_destruction_off() -> Result {
        let s = Shared::new()?;
        let h = Shared::new()?;
        let slot: Arc<SpinLock<Option<OwnedQueue<Unbound>>>> =
            Arc::pin_init(new_spinlock!(None), GFP_KERNEL)?;
        let q = OwnedQueue::unbound().build(c"rwq_s_selfdrop")?;
        q.enqueue_delayed(DelayedProbe::new(&s)?, Delta::from_millis(60_000))?;
        let job = {
            let slot = slot.clone();
            Job::new(&h, move || {
                let q = slot.lock().take();
                drop(q);
            })?
        };
        {
            let mut guard = slot.lock();
            let q = guard.insert(q);
            q.enqueue(job)?;
        }
        assert_eq!(h.wait_runs(1), 1);
        // The hand-off retired the queue: the timer armed for a minute fired now.
        assert_eq!(s.wait_runs(1), 1);
        assert!(slot.lock().is_none());
        Ok(())
    }

    /// Item 6: dropping a queue in atomic context (under a spinlock) is handed off too.
    #[test]
    fn dropping_a_queue_under_a_spinlock_hands_the_destruction_off() -> Result {
        let s = Shared::new()?;
        let lock: Arc<SpinLock<()>> = Arc::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let q = OwnedQueue::unbound().build(c"rwq_s_atomicdrop")?;
        q.enqueue_delayed(DelayedProbe::new(&s)?, Delta::from_millis(60_000))?;
        {
            let _guard = lock.lock();
            drop(q);
        }
        assert_eq!(s.wait_runs(1), 1);
        Ok(())
    }

    /// Item 7: while another thread is inside `cancel_sync`, enqueueing the idle item is
    /// refused with `EBUSY` (as documented) and the item comes back.
    #[test]
    fn enqueue_during_cancel_sync_is_ebusy() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_s_qcancel")?;
        let s = Shared::new()?;
        let p = blocked_probe(&q, &s)?;
        let r = while_another_thread_waits(
            &s,
            &p,
            |t| {
                let _ = Work::of(t).cancel_sync();
            },
            // The job is inside `cancel_sync` once C holds the item disabled.
            || c_disabled(&p),
            || q.enqueue(p.clone()).err().map(|e| e.error()),
        )?;
        assert!(r == Some(EBUSY));
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    /// Item 9: waiting for itself from a BH item is `EAGAIN`, not a sleep in softirq context
    /// (`current_work()` is NULL there, so the `EDEADLK` guard alone cannot see it).
    #[test]
    fn waiting_from_a_bh_item_is_eagain() -> Result {
        let q = OwnedQueue::bh().build(c"rwq_s_bh")?;
        for action in [Action::SelfCancel, Action::SelfFlush] {
            let s = Shared::new()?;
            q.enqueue(Probe::new_bh_with(&s, action)?)?;
            q.flush()?;
            assert_eq!(s.runs(), 1);
            assert_eq!(s.errno.load(Relaxed), EAGAIN.to_errno());
        }
        Ok(())
    }

    /// Item 9: every call that sleeps is `EAGAIN` under a spinlock.
    #[test]
    fn sleeping_calls_under_a_spinlock_are_eagain() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let d = DelayedProbe::new(&s)?;
        let q = OwnedQueue::unbound().build(c"rwq_s_atomic")?;
        let lock: Arc<SpinLock<()>> = Arc::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let guard = lock.lock();
        let results = [
            Work::of(&*p).flush().err(),
            Work::of(&*p).cancel_sync().err(),
            Work::of(&*p).disable_sync().err(),
            DelayedWork::of(&*d).flush().err(),
            DelayedWork::of(&*d).cancel_sync().err(),
            DelayedWork::of(&*d).disable_sync().err(),
            q.flush().err(),
            q.drain().err(),
            q.set_max_active(2).err(),
            OwnedQueue::unbound().build(c"rwq_s_atomic2").err(),
            crate::work_on_cpu!(0, || ()).err(),
        ];
        drop(guard);
        for r in results {
            assert!(r == Some(EAGAIN));
        }
        Ok(())
    }

    /// Item 10: a queue dropped while other threads cancel its items, or re-arm them on a system
    /// queue, loses no run: every reference handed over runs or comes back.
    #[test]
    fn dropping_a_queue_during_cancel_or_rearm_loses_nothing() -> Result {
        let s = Shared::new()?;
        let mut handed = 0;
        for i in 0..100u32 {
            let q = OwnedQueue::unbound().build(c"rwq_s_churn")?;
            let d = DelayedProbe::new(&s)?;
            q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
            handed += 1;
            let target = d.clone();
            let ss = s.clone();
            let h = on_other_thread(move || {
                if i % 2 == 0 {
                    if let Ok(Some(r)) = DelayedWork::of(&*target).cancel_sync() {
                        ss.back.add(1, Relaxed);
                        drop(r);
                    }
                } else {
                    match rust_wq::system_dfl()
                        .mod_delayed(target.clone(), Delta::from_millis(60_000))
                    {
                        // Counted as handed below, by the test thread.
                        Ok(Armed::Queued) => ss.errno.fetch_add(1, Relaxed),
                        Ok(Armed::Modified(_)) | Err(_) => 0,
                    };
                }
            })?;
            drop(q);
            assert_eq!(h.wait_runs(1), 1);
            // Take back whatever is still armed on the system queue.
            if let Some(r) = DelayedWork::of(&*d).cancel_sync()? {
                s.back.add(1, Relaxed);
                drop(r);
            }
            assert!(DelayedWork::of(&*d).flush().is_ok());
        }
        handed += s.errno.load(Relaxed) as u32;
        assert_eq!(s.wait_dropped(100), 100);
        assert_eq!(handed, s.runs() + s.back.load(Relaxed));
        Ok(())
    }

    /// Item 10: a timer that a queue's drop fires early runs on the CPU it was armed for.
    #[test]
    fn dropping_a_queue_fires_a_timer_on_its_cpu() -> Result {
        let s = Shared::new()?;
        let q = OwnedQueue::percpu().build(c"rwq_s_dropcpu")?;
        let d = DelayedProbe::new(&s)?;
        let target = if cpu::current_cpu() == 2 { 3 } else { 2 };
        q.enqueue_delayed_on(target, d.clone(), Delta::from_millis(60_000))?;
        drop(q);
        assert_eq!(s.runs(), 1);
        assert_eq!(s.last_cpu.load(Relaxed), target);
        Ok(())
    }

    /// Items 7 and 11: against CPU hotplug, arming on a CPU and `work_on_cpu` either act on that
    /// very CPU or fail with `ENODEV` (`work_on_cpu` also `EBUSY`, rule 15): never a WARN, never
    /// another CPU.
    #[test]
    fn cpu_targets_racing_hotplug_are_exact_or_enodev() -> Result {
        const CPU: u32 = 3;
        let flipper = on_other_thread(|| {
            for _ in 0..8 {
                // `EBUSY` from this kworker while the test thread's `work_on_cpu!` holds hotplug
                // off (rule 15 of docs/soundness.md): the CPU simply stays as it is, or is brought
                // back on a retry.
                let _ = cpu::take_offline(CPU);
                fsleep(Delta::from_millis(3));
                // Retried while another thread's hold of hotplug makes it `EBUSY`: the release
                // of that hold announces nothing.
                let _ = crate::probe::poll(|| cpu::bring_online(CPU) != Err(EBUSY));
                fsleep(Delta::from_millis(3));
            }
        })?;
        let q = OwnedQueue::percpu().build(c"rwq_s_hotplug")?;
        let s = Shared::new()?;
        let (mut ok, mut offline, mut wrong) = (0, 0, 0);
        // Until the flipper is done, then once more with the CPU online: at least one of each
        // call acts on the CPU, however the two threads interleave.
        let mut last = false;
        while !last {
            last = flipper.runs() != 0;
            let d = DelayedProbe::new(&s)?;
            match q.enqueue_delayed_on(CPU, d.clone(), 1) {
                Ok(()) => ok += 1,
                Err(e) if e.error() == ENODEV => offline += 1,
                Err(_) => wrong += 1,
            }
            // `EBUSY` while the flipper, a kworker, is in a hotplug operation (rule 15).
            match crate::work_on_cpu!(CPU, cpu::current_cpu) {
                Ok(c) if c == CPU => ok += 1,
                Err(e) if e == ENODEV || e == EBUSY => offline += 1,
                _ => wrong += 1,
            }
            DelayedWork::of(&*d).flush()?;
        }
        assert!(cpu::online_cpu(CPU).is_ok());
        // The last possible CPU is offline at boot (`maxcpus`).
        assert!(crate::work_on_cpu!(cpu::nr_cpu_ids() - 1, || ()) == Err(ENODEV));
        assert_eq!(wrong, 0);
        assert!(ok > 0);
        pr_info!("hotplug race: {ok} on CPU {CPU}, {offline} ENODEV or EBUSY\n");
        Ok(())
    }

    /// A reclaim runner that waited for an item latches it reclaim-only: queueing it on a queue
    /// without `WQ_MEM_RECLAIM` afterwards is `EINVAL` (else a flush racing that enqueue would
    /// meet C's warning after the check).
    #[test]
    fn an_item_reclaim_waited_for_stays_on_reclaim_queues() -> Result {
        let rq = OwnedQueue::unbound().mem_reclaim().build(c"rwq_s_latch")?;
        let s = Shared::new()?;
        let target = Probe::new(&s, 0, Action::Record)?;
        let h = Shared::new()?;
        let (t, hh) = (target.clone(), h.clone());
        rq.enqueue(Job::new(&h, move || {
            let r = Work::of(&*t).flush().err().map_or(0, |e| e.to_errno());
            hh.errno.store(r, Relaxed);
        })?)?;
        assert_eq!(h.wait_runs(1), 1);
        assert_eq!(h.errno.load(Relaxed), 0);
        let r = rust_wq::system_dfl().enqueue(target.clone());
        assert!(matches!(&r, Err(e) if e.error() == EINVAL));
        drop(r);
        rq.enqueue(target.clone())?;
        Work::of(&*target).flush()?;
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    /// A CPU's timer on a BH queue could fire after the CPU went offline, onto its dead pool:
    /// `EINVAL` (owned BH queues do not offer it at all).
    #[test]
    fn cpu_timers_on_bh_queues_are_einval() -> Result {
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        for q in [rust_wq::system_bh(), rust_wq::system_bh_highpri()] {
            let r = q.enqueue_delayed_on(1, d.clone(), Delta::from_millis(1000));
            assert!(matches!(&r, Err(e) if e.error() == EINVAL));
        }
        assert!(!DelayedWork::of(&*d).is_pending());
        Ok(())
    }

    /// The function of a `work_on_cpu` runs while its caller holds off CPU hotplug: a nested
    /// `work_on_cpu` or a hotplug operation from there is `EDEADLK`, not a hang.
    #[test]
    fn hotplug_from_inside_work_on_cpu_is_edeadlk() -> Result {
        let (nested, offline) = crate::work_on_cpu!(1, || {
            (
                crate::work_on_cpu!(2, || ()).err(),
                cpu::take_offline(2).err(),
            )
        })?;
        assert!(nested == Some(EDEADLK));
        assert!(offline == Some(EDEADLK));
        assert!(cpu::online_cpu(2).is_ok());
        Ok(())
    }

    /// `flush` of a delayed item racing the drop of its queue: the timer is fired under the
    /// tracker's lock, so the drop cannot destroy the queue between the timer's stop and the
    /// queueing. Every armed item runs once, nothing warns.
    #[test]
    fn flush_racing_a_queue_drop_runs_each_item_once() -> Result {
        let s = Shared::new()?;
        for _ in 0..100 {
            let q = OwnedQueue::unbound().build(c"rwq_s_flushdrop")?;
            let d = DelayedProbe::new(&s)?;
            q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
            let target = d.clone();
            let h = on_other_thread(move || {
                let _ = DelayedWork::of(&*target).flush();
            })?;
            drop(q);
            assert_eq!(h.wait_runs(1), 1);
        }
        // The last jobs may still hold their item: each item's drop announces itself.
        assert_eq!(s.wait_dropped(100), 100);
        assert_eq!(s.runs(), 100);
        Ok(())
    }

    /// Item 12: delays past `MAX_DELAY` would wrap the expiry and fire at once: `EINVAL`, item
    /// back. `MAX_DELAY` itself stays armed.
    #[test]
    fn huge_delays_are_einval_and_max_delay_stays_armed() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_s_huge")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        let wrap = Jiffies::MAX - rust_wq::jiffies() + 5;
        for delay in [Jiffies::MAX, 1 << 63, wrap, MAX_DELAY + 1] {
            let e = q.enqueue_delayed(d.clone(), delay).err().map(|e| e.error());
            assert!(e == Some(EINVAL));
            let e = rust_wq::system_dfl()
                .enqueue_delayed(d.clone(), delay)
                .err()
                .map(|e| e.error());
            assert!(e == Some(EINVAL));
        }
        q.enqueue_delayed(d.clone(), MAX_DELAY)?;
        fsleep(Delta::from_millis(200));
        assert_eq!(s.runs(), 0);
        assert!(DelayedWork::of(&*d).cancel_sync()?.is_some());
        Ok(())
    }

    /// Item 12: delays may be the kernel's `Delta` (nanoseconds, or `Delta<Jiffy>`); negative
    /// ones are `EINVAL` with the item back, not a wrapped expiry.
    #[test]
    fn delta_delays_are_converted_and_negative_ones_refused() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_s_delta")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        let e = q.enqueue_delayed(d.clone(), Delta::from_millis(-1)).err();
        assert!(e.map(|e| e.error()) == Some(EINVAL));
        let e = q
            .enqueue_delayed(d.clone(), Delta::<Jiffy>::from_jiffies(-5))
            .err();
        assert!(e.map(|e| e.error()) == Some(EINVAL));
        let j0 = rust_wq::jiffies();
        q.enqueue_delayed(d.clone(), Delta::from_millis(30))?;
        assert_eq!(s.wait_runs(1), 1);
        assert!(s.ran_jiffies.load(Relaxed).wrapping_sub(j0) >= kernel::time::msecs_to_jiffies(30));
        q.enqueue_delayed(d.clone(), Delta::<Jiffy>::from_jiffies(2))?;
        assert_eq!(s.wait_runs(2), 2);
        Ok(())
    }

    /// Every call that arms a delayed item with a delay.
    #[derive(Clone, Copy)]
    enum ArmPath {
        Enqueue,
        EnqueueOn,
        Mod,
        ModOn,
        SystemEnqueue,
        SystemEnqueueOn,
        SystemMod,
        SystemModOn,
        Schedule,
    }

    const ARM_PATHS: [(&str, ArmPath); 9] = [
        ("enqueue_delayed", ArmPath::Enqueue),
        ("enqueue_delayed_on", ArmPath::EnqueueOn),
        ("mod_delayed", ArmPath::Mod),
        ("mod_delayed_on", ArmPath::ModOn),
        ("system enqueue_delayed", ArmPath::SystemEnqueue),
        ("system enqueue_delayed_on", ArmPath::SystemEnqueueOn),
        ("system mod_delayed", ArmPath::SystemMod),
        ("system mod_delayed_on", ArmPath::SystemModOn),
        ("schedule_delayed_work", ArmPath::Schedule),
    ];

    /// Arms `d` through `path` (on CPU 1 for the `_on` calls): `Ok` if it is armed, else the
    /// error and whether the very item came back.
    fn arm_by(
        path: ArmPath,
        q: &OwnedQueue,
        d: &Arc<DelayedProbe>,
        delay: impl Delay,
    ) -> core::result::Result<(), (Error, bool)> {
        let back = |e: rust_wq::EnqueueError<Arc<DelayedProbe>>| {
            let code = e.error();
            (code, Arc::ptr_eq(&e.into_item(), d))
        };
        let sys = rust_wq::system_percpu();
        match path {
            ArmPath::Enqueue => q.enqueue_delayed(d.clone(), delay).map_err(back),
            ArmPath::EnqueueOn => q.enqueue_delayed_on(1, d.clone(), delay).map_err(back),
            ArmPath::Mod => q.mod_delayed(d.clone(), delay).map(drop).map_err(back),
            ArmPath::ModOn => q
                .mod_delayed_on(1, d.clone(), delay)
                .map(drop)
                .map_err(back),
            ArmPath::SystemEnqueue => sys.enqueue_delayed(d.clone(), delay).map_err(back),
            ArmPath::SystemEnqueueOn => sys.enqueue_delayed_on(1, d.clone(), delay).map_err(back),
            ArmPath::SystemMod => sys.mod_delayed(d.clone(), delay).map(drop).map_err(back),
            ArmPath::SystemModOn => sys
                .mod_delayed_on(1, d.clone(), delay)
                .map(drop)
                .map_err(back),
            ArmPath::Schedule => rust_wq::schedule_delayed_work(d.clone(), delay).map_err(back),
        }
    }

    /// Item 12, every arming call: a negative `Delta` is `EINVAL` with the item back, down to
    /// one nanosecond (rounded up to whole milliseconds, -1 ns to -999,999 ns would be 0 and run
    /// at once); a `Delta` of any length that is not negative is armed, past the 2^31 ms (24.9
    /// days) that C's `msecs_to_jiffies` reads as "infinite" and the 2^32 ms (49.7 days) of its
    /// argument, up to the longest a `Delta` holds (292 years, far below `MAX_DELAY`).
    #[test]
    fn negative_deltas_are_einval_and_long_ones_armed_on_every_path() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_s_deltas")?;
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        let negative = [
            Delta::from_nanos(-1),
            Delta::from_micros(-1),
            Delta::from_nanos(-999_999),
            Delta::from_millis(-1),
            Delta::from_nanos(i64::MIN),
        ];
        let long = [
            Delta::from_secs(30 * 86_400),
            Delta::from_secs(60 * 86_400),
            Delta::from_nanos(i64::MAX),
        ];
        let mut wrong = 0u32;
        for (name, path) in ARM_PATHS {
            for delay in negative {
                let r = arm_by(path, &q, &d, delay);
                let ok = matches!(r, Err((e, true)) if e == EINVAL)
                    && !DelayedWork::of(&*d).is_pending();
                if !ok {
                    wrong += 1;
                    pr_info!("    # {name}, {} ns: not EINVAL\n", delay.as_nanos());
                }
                // Whatever a wrong acceptance armed goes before the next case.
                let _ = DelayedWork::of(&*d).cancel_sync()?;
            }
            for delay in long {
                let armed =
                    arm_by(path, &q, &d, delay).is_ok() && DelayedWork::of(&*d).is_pending();
                let back = DelayedWork::of(&*d).cancel_sync()?.is_some();
                if !(armed && back) {
                    wrong += 1;
                    pr_info!("    # {name}, {} ns: not armed\n", delay.as_nanos());
                }
            }
        }
        // The refused and the cancelled never ran; every reference came back.
        assert_eq!(wrong, 0);
        assert_eq!(s.runs(), 0);
        assert!(!DelayedWork::of(&*d).is_pending());
        // The jiffies: at least the time asked, rounded up by at most a millisecond and a
        // jiffy, computed here by whole seconds (no 128-bit division in the kernel).
        let hz = kernel::time::msecs_to_jiffies(1000);
        for ns in [
            0i64,
            1,
            999_999,
            1_000_001,
            30 * 86_400 * NSEC,
            60 * 86_400 * NSEC,
            i64::MAX,
        ] {
            let ns = ns as Jiffies;
            let nsec = NSEC as Jiffies;
            let exact = ns / nsec * hz + (ns % nsec * hz).div_ceil(nsec);
            let slack = (1_000_000 * hz).div_ceil(nsec) + 1;
            let j = Delta::from_nanos(ns as i64).jiffies().unwrap_or(0);
            if j < exact || j > exact + slack {
                pr_info!(
                    "    # {ns} ns: {j} jiffies, want {exact} to {}\n",
                    exact + slack
                );
            }
            assert!(j >= exact && j <= exact + slack);
        }
        assert!(Delta::from_nanos(-1).jiffies() == Err(EINVAL));
        Ok(())
    }

    /// The checks and counts of the waits made in the C glue (`rust_wq/glue/wait.c`: a plain
    /// item's `cancel_sync` and `flush`, a delayed item's `cancel_sync`) refuse as documented and
    /// leave the counts as they were.
    #[test]
    fn glue_waits_refuse_as_documented_and_leave_the_counts() -> Result {
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        let d = DelayedProbe::new(&s)?;
        // A plain item's cancel_sync at the limit of disables: `EOVERFLOW`, nothing counted.
        for _ in 0..MAX_DISABLE {
            assert!(Work::of(&*p).disable()?.is_none());
        }
        assert!(matches!(Work::of(&*p).cancel_sync(), Err(e) if e == EOVERFLOW));
        assert_eq!(Work::of(&*p).work().disable_depth(), MAX_DISABLE);
        for _ in 0..MAX_DISABLE {
            let _ = Work::of(&*p).enable();
        }
        assert_eq!(Work::of(&*p).work().disable_depth(), 0);
        assert!(matches!(Work::of(&*p).cancel_sync(), Ok(None)));
        assert_eq!(Work::of(&*p).work().disable_depth(), 0);
        // Interrupts off without a lock, and an RCU read lock: `EAGAIN` from each glue call.
        let irqs_off = kernel::interrupt::local_interrupt_disable();
        let off = [
            Work::of(&*p).cancel_sync().err(),
            Work::of(&*p).flush().err(),
            DelayedWork::of(&*d).cancel_sync().err(),
        ];
        drop(irqs_off);
        let rcu = kernel::sync::rcu::read_lock();
        let in_rcu = [
            Work::of(&*p).cancel_sync().err(),
            Work::of(&*p).flush().err(),
            DelayedWork::of(&*d).cancel_sync().err(),
        ];
        drop(rcu);
        for e in core::iter::Iterator::chain(off.into_iter(), in_rcu) {
            assert!(matches!(e, Some(e) if e == EAGAIN));
        }
        assert_eq!(Work::of(&*p).work().disable_depth(), 0);
        assert_eq!(DelayedWork::of(&*d).delayed_work().cancels_in_progress(), 0);
        // A delayed item armed, cancelled (its reference back), counted down, and armed again.
        let q = OwnedQueue::unbound().build(c"rwq_s_probe19")?;
        q.enqueue_delayed(d.clone(), Delta::from_millis(60_000))?;
        assert!(DelayedWork::of(&*d).cancel_sync()?.is_some());
        assert_eq!(DelayedWork::of(&*d).delayed_work().cancels_in_progress(), 0);
        q.enqueue_delayed(d.clone(), 0)?;
        assert_eq!(s.wait_runs(1), 1);
        q.drain()?;
        // A kworker that is no reclaim runner flushes through the glue's answer for kworkers.
        let h = Shared::new()?;
        let target = p.clone();
        let hh = h.clone();
        rust_wq::system_dfl().enqueue(p.clone())?;
        rust_wq::system_dfl().enqueue(Job::new(&h, move || {
            if Work::of(&*target).flush().is_err() {
                hh.errno.store(1, Relaxed);
            }
        })?)?;
        assert_eq!(h.wait_runs(1), 1);
        assert_eq!(h.errno.load(Relaxed), 0);
        Work::of(&*p).flush()?;
        assert_eq!(s.runs(), 2);
        Ok(())
    }
}
