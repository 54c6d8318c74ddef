// SPDX-License-Identifier: GPL-2.0

//! The rest of the C API: `mod_delayed_work_on`, `enable_and_queue_work`,
//! `workqueue_congested`, `create_freezable_workqueue`, `schedule_on_each_cpu` (in parallel),
//! closures as work items (`try_spawn!`), and `ARef` items.

use kernel::prelude::*;

#[kunit_tests(rust_wq_more_api)]
mod tests {
    use crate::probe::{
        Action,
        Count,
        DelayedProbe,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        cpu,
        Armed,
        OwnedQueue,
        Work, //
    };
    use core::ptr::NonNull;
    use kernel::{
        prelude::*,
        sync::{
            aref::{
                ARef,
                AlwaysRefCounted, //
            },
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
        },
    };

    #[test]
    fn mod_delayed_on_moves_the_timer_and_the_cpu() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_modon")?;
        for (queue_cpu, name) in [(1u32, "owned"), (2, "system")] {
            let s = Shared::new()?;
            let d = DelayedProbe::new(&s)?;
            // Armed far away on CPU 0, then moved: soon, and onto `queue_cpu`.
            q.enqueue_delayed_on(0, d.clone(), 60_000)?;
            let r = if name == "owned" {
                q.mod_delayed_on(queue_cpu, d.clone(), 1)
            } else {
                rust_wq::system_percpu().mod_delayed_on(queue_cpu, d.clone(), 1)
            };
            assert!(matches!(r.map_err(|e| e.error())?, Armed::Modified(_)));
            assert_eq!(s.wait_runs(1), 1);
            assert_eq!(s.last_cpu.load(Relaxed), queue_cpu);
            // Idle: queued on that CPU.
            assert!(matches!(
                q.mod_delayed_on(queue_cpu, d.clone(), 0)
                    .map_err(|e| e.error())?,
                Armed::Queued
            ));
            assert_eq!(s.wait_runs(2), 2);
            assert_eq!(s.last_cpu.load(Relaxed), queue_cpu);
        }
        // Bad CPUs and BH queues are refused, the item comes back unused.
        let s = Shared::new()?;
        let d = DelayedProbe::new(&s)?;
        let e = q
            .mod_delayed_on(cpu::nr_cpu_ids(), d.clone(), 1)
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        let e = rust_wq::system_bh()
            .mod_delayed_on(0, d.clone(), 1)
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        assert_eq!(s.runs(), 0);
        Ok(())
    }

    #[test]
    fn enable_and_enqueue_queues_only_when_the_last_disable_is_undone() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_enq_en")?;
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        assert!(Work::of(&*p).disable()?.is_none());
        assert!(Work::of(&*p).disable()?.is_none());
        // Two disables: the first enable leaves it disabled, nothing is queued.
        let e = q.enable_and_enqueue(p.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(Arc::ptr_eq(&e.into_item(), &p));
        q.drain()?;
        assert_eq!(s.runs(), 0);
        // The second one enables and queues.
        q.enable_and_enqueue(p.clone()).map_err(|e| e.error())?;
        q.drain()?;
        assert_eq!(s.runs(), 1);
        Ok(())
    }

    #[test]
    fn congested_while_items_wait_behind_max_active() -> Result {
        let q = OwnedQueue::percpu().max_active(1).build(c"rwq_congest")?;
        assert!(!q.congested(Some(1))?);
        let s = Shared::new()?;
        let blocker = Probe::new(&s, 0, Action::Block)?;
        let waiter = Probe::new(&s, 1, Action::Record)?;
        q.enqueue_on(1, blocker.clone())?;
        assert_eq!(s.wait_entered(1), 1);
        q.enqueue_on(1, waiter.clone())?;
        // The second waits behind `max_active` on CPU 1, not on CPU 2.
        assert!(q.congested(Some(1))?);
        assert!(!q.congested(Some(2))?);
        assert_eq!(q.congested(Some(cpu::nr_cpu_ids())).err(), Some(EINVAL));
        s.release();
        q.drain()?;
        assert!(!q.congested(Some(1))?);
        assert_eq!(s.runs(), 2);
        Ok(())
    }

    #[test]
    fn freezable_workqueue_runs_one_item_at_a_time() -> Result {
        let q = OwnedQueue::create_freezable_workqueue(c"rwq_freezable")?;
        let s = Shared::new()?;
        for i in 0..6 {
            q.enqueue(Probe::new(&s, i, Action::Sleep(2))?)?;
        }
        q.drain()?;
        assert_eq!(s.runs(), 6);
        assert_eq!(s.max_running.load(Relaxed), 1);
        Ok(())
    }

    #[test]
    fn schedule_on_each_cpu_runs_every_cpu_at_once() -> Result {
        // Each call waits until all have started: in turn, they never would.
        let online = cpu::online_cpus().count() as u32;
        let arrived = Count::new_arc()?;
        let met = Atomic::<u32>::new(0);
        let ran = crate::schedule_on_each_cpu!(|_| {
            arrived.add();
            if arrived.wait_reach(online) == online {
                met.add(1, Relaxed);
            }
        })?;
        assert_eq!(ran, online);
        assert_eq!(met.load(Relaxed), online);
        Ok(())
    }

    /// Counts its drops: a closure that holds one was consumed when it counts.
    struct Freed(Arc<Shared>);

    impl Drop for Freed {
        fn drop(&mut self) {
            self.0.count_drop();
        }
    }

    #[test]
    fn closures_run_once_on_every_kind_of_queue() -> Result {
        // Runs and drops of the closures, announced (those on `system_dfl` cannot be flushed).
        let runs = Shared::new()?;
        let bh_runs = Arc::new(Atomic::<u32>::new(0), GFP_KERNEL)?;
        let freed = Shared::new()?;
        let pc = OwnedQueue::percpu().build(c"rwq_spawn_pc")?;
        let bh = OwnedQueue::bh().build(c"rwq_spawn_bh")?;
        for _ in 0..10 {
            let (r, f) = (runs.clone(), Freed(freed.clone()));
            crate::try_spawn!(pc, GFP_KERNEL, move || {
                let _f = f;
                r.count_run();
            })?;
            let (r, f) = (runs.clone(), Freed(freed.clone()));
            crate::try_spawn!(rust_wq::system_dfl(), GFP_KERNEL, move || {
                let _f = f;
                r.count_run();
            })?;
            // BH queues: the closures run in softirq context.
            let (b, f) = (bh_runs.clone(), Freed(freed.clone()));
            crate::try_spawn!(bh, GFP_KERNEL, move || {
                let _f = f;
                if !cpu::in_task() {
                    b.add(1, Relaxed);
                }
            })?;
            let (b, f) = (bh_runs.clone(), Freed(freed.clone()));
            crate::try_spawn!(rust_wq::system_bh(), GFP_ATOMIC, move || {
                let _f = f;
                if !cpu::in_task() {
                    b.add(1, Relaxed);
                }
            })?;
        }
        // From softirq context a sleeping allocation is `EAGAIN`, an atomic one is fine.
        let sleeping = Arc::new(Atomic::<i32>::new(1), GFP_KERNEL)?;
        let atomic = Arc::new(Atomic::<i32>::new(1), GFP_KERNEL)?;
        let (s, a, r) = (sleeping.clone(), atomic.clone(), runs.clone());
        crate::try_spawn!(bh, GFP_KERNEL, move || {
            let errno = |res: Result| res.err().map_or(0, |e| e.to_errno());
            s.store(
                errno(crate::try_spawn!(rust_wq::system_dfl(), GFP_KERNEL, || ())),
                Relaxed,
            );
            let r = r.clone();
            let res = crate::try_spawn!(rust_wq::system_dfl(), GFP_ATOMIC, move || {
                r.count_run();
            });
            a.store(errno(res), Relaxed);
        })?;
        pc.drain()?;
        // The BH closure that spawns from softirq context ran before the drain returned.
        bh.drain()?;
        assert_eq!(sleeping.load(Relaxed), EAGAIN.to_errno());
        assert_eq!(atomic.load(Relaxed), 0);
        assert_eq!(runs.wait_runs(21), 21);
        assert_eq!(freed.wait_dropped(40), 40);
        assert_eq!(bh_runs.load(Relaxed), 20);
        Ok(())
    }

    /// A work item with a reference count of its own, as C objects embed a `kref`.
    #[pin_data]
    struct Counted {
        refs: kernel::sync::Refcount,
        runs: Atomic<u32>,
        freed: Arc<Atomic<u32>>,
        #[pin]
        work: rust_wq::Work<Counted>,
    }

    crate::impl_has_work! { impl HasWork<Self> for Counted { self.work } }

    // SAFETY: `refs` counts the references; the last `dec_ref` frees the pinned box that
    // `counted` made the object in, and nothing uses the object after that.
    unsafe impl AlwaysRefCounted for Counted {
        fn inc_ref(&self) {
            self.refs.inc();
        }

        unsafe fn dec_ref(obj: NonNull<Self>) {
            // SAFETY: The caller holds a count, so the object is alive.
            if unsafe { obj.as_ref() }.refs.dec_and_test() {
                // SAFETY: The object is the leaked box of `counted`; this was its last count.
                let b = unsafe { KBox::from_raw(obj.as_ptr()) };
                b.freed.add(1, Relaxed);
                drop(b);
            }
        }
    }

    impl rust_wq::WorkItem for Counted {
        type Pointer = ARef<Counted>;

        fn run(this: ARef<Counted>) {
            this.runs.add(1, Relaxed);
        }
    }

    fn counted(freed: &Arc<Atomic<u32>>) -> Result<ARef<Counted>> {
        let b = KBox::pin_init(
            pin_init!(Counted {
                refs: kernel::sync::Refcount::new(1),
                runs: Atomic::new(0),
                freed: freed.clone(),
                work <- crate::new_work!("more_api::Counted::work"),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The object is never moved out of its box (it stays pinned until freed).
        let raw = KBox::into_raw(unsafe { Pin::into_inner_unchecked(b) });
        // SAFETY: `raw` is valid and not null; its count of 1 goes to the `ARef`.
        Ok(unsafe { ARef::from_raw(NonNull::new_unchecked(raw)) })
    }

    #[test]
    fn aref_items_run_come_back_and_go_with_their_last_count() -> Result {
        let freed = Arc::new(Atomic::<u32>::new(0), GFP_KERNEL)?;
        let q = OwnedQueue::ordered().build(c"rwq_aref")?;
        let c = counted(&freed)?;
        q.enqueue(c.clone())?;
        q.drain()?;
        assert_eq!(c.runs.load(Relaxed), 1);
        // Pending behind a blocked item: refused with the reference back, then cancelled with
        // the queue's reference back.
        let s = Shared::new()?;
        q.enqueue(Probe::new(&s, 0, Action::Block)?)?;
        q.enqueue(c.clone())?;
        let e = q.enqueue(c.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        drop(e);
        let back = Work::of(&*c).cancel().ok_or(EINVAL)?;
        s.release();
        q.drain()?;
        assert_eq!(c.runs.load(Relaxed), 1);
        drop(back);
        assert_eq!(freed.load(Relaxed), 0);
        drop(c);
        assert_eq!(freed.load(Relaxed), 1);
        Ok(())
    }

    extern "C" {
        fn rust_wq_test_worker_desc(buf: *mut u8, len: usize) -> bool;
    }

    /// The current kworker's description, read from the kernel's `struct worker`.
    fn worker_desc() -> Option<[u8; 32]> {
        let mut buf = [0u8; 32];
        // SAFETY: `buf` is valid for writes of its length; the function NUL-terminates.
        unsafe { rust_wq_test_worker_desc(buf.as_mut_ptr(), buf.len()) }.then_some(buf)
    }

    fn starts_with_cstr(buf: &[u8; 32], s: &CStr) -> bool {
        buf.starts_with(s.to_bytes_with_nul())
    }

    #[test]
    fn set_worker_desc_names_the_worker_while_its_item_runs() -> Result {
        // Bit 0: the queue's name before; bit 1: set; bit 2: the new description after.
        let seen = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let out = seen.clone();
        let q = OwnedQueue::unbound().build(c"rwq_desc_q")?;
        crate::rust_wq::try_spawn!(q, GFP_KERNEL, move || {
            let mut bits = 0;
            if worker_desc().is_some_and(|d| starts_with_cstr(&d, c"rwq_desc_q")) {
                bits |= 1;
            }
            if cpu::set_worker_desc(c"rwq: edu bottom half").is_ok() {
                bits |= 2;
            }
            if worker_desc().is_some_and(|d| starts_with_cstr(&d, c"rwq: edu bottom half")) {
                bits |= 4;
            }
            out.store(bits | 8, Relaxed);
        })?;
        q.drain()?;
        assert_eq!(seen.load(Relaxed), 15);
        // Not a kworker, or too long for C's buffer: refused.
        assert_eq!(cpu::set_worker_desc(c"rwq").err(), Some(EINVAL));
        assert_eq!(
            cpu::set_worker_desc(c"0123456789abcdef0123456789abcdef").err(),
            Some(ENAMETOOLONG)
        );
        Ok(())
    }

    #[test]
    fn enqueue_on_node_queues_on_online_nodes_and_refuses_others() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_node")?;
        let s = Shared::new()?;
        let mut online = 0;
        for node in 0..cpu::nr_node_ids() {
            let p = Probe::new(&s, 0, Action::Record)?;
            match q.enqueue_on_node(node, p.clone()) {
                Ok(()) => {
                    online += 1;
                    q.drain()?;
                    assert_eq!(s.runs(), online);
                    let ran = s.last_cpu.load(Relaxed);
                    pr_info!(
                        "    # node {node}: ran on CPU {ran} of node {}\n",
                        cpu::node_of(ran)?
                    );
                }
                Err(e) => assert_eq!(e.error(), ENODEV),
            }
        }
        // Node 0 is always online.
        assert!(online >= 1);
        // No such node: refused, the item comes back unrun.
        let p = Probe::new(&s, 0, Action::Record)?;
        let e = q
            .enqueue_on_node(cpu::nr_node_ids(), p.clone())
            .err()
            .ok_or(EINVAL)?;
        assert_eq!(e.error(), EINVAL);
        assert!(Arc::ptr_eq(&e.into_item(), &p));
        q.drain()?;
        assert_eq!(s.runs(), online);
        // Ordered queues are unbound too.
        let o = OwnedQueue::ordered().build(c"rwq_node_o")?;
        o.enqueue_on_node(0, p).map_err(|e| e.error())?;
        o.drain()?;
        assert_eq!(s.runs(), online + 1);
        Ok(())
    }

    /// An item with two work fields: the handles must act on the one they name.
    #[pin_data]
    struct Twin {
        first_runs: Atomic<u32>,
        second_runs: Atomic<u32>,
        #[pin]
        first: rust_wq::Work<Twin, 0>,
        #[pin]
        second: rust_wq::Work<Twin, 1>,
    }

    crate::impl_has_work! {
        impl HasWork<Self, 0> for Twin { self.first }
        impl HasWork<Self, 1> for Twin { self.second }
    }

    impl rust_wq::WorkItem<0> for Twin {
        type Pointer = Arc<Twin>;
        fn run(this: Arc<Twin>) {
            this.first_runs.add(1, Relaxed);
        }
    }

    impl rust_wq::WorkItem<1> for Twin {
        type Pointer = Arc<Twin>;
        fn run(this: Arc<Twin>) {
            this.second_runs.add(1, Relaxed);
        }
    }

    #[test]
    fn handles_act_on_the_work_field_they_name() -> Result {
        use rust_wq::Work;
        let q = OwnedQueue::ordered().build(c"rwq_handles")?;
        let t = Arc::pin_init(
            pin_init!(Twin {
                first_runs: Atomic::new(0),
                second_runs: Atomic::new(0),
                first <- crate::new_work!("Twin::first"),
                second <- crate::new_work!("Twin::second"),
            }),
            GFP_KERNEL,
        )?;
        // Disabling the first work field leaves the second one alone.
        assert!(Work::<_, 0>::of(&*t).disable()?.is_none());
        assert_eq!(Work::<_, 0>::of(&*t).disable_depth(), 1);
        assert_eq!(Work::<_, 1>::of(&*t).disable_depth(), 0);
        let e = q.enqueue::<_, 0>(t.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        q.enqueue::<_, 1>(t.clone()).map_err(|e| e.error())?;
        // `false` if it ran already: either way it ran once when this returns.
        Work::<_, 1>::of(&*t).flush()?;
        assert_eq!(t.first_runs.load(Relaxed), 0);
        assert_eq!(t.second_runs.load(Relaxed), 1);
        // Enabled again, the first one runs too; nothing is pending after the flushes.
        assert!(Work::<_, 0>::of(&*t).enable());
        q.enqueue::<_, 0>(t.clone()).map_err(|e| e.error())?;
        Work::<_, 0>::of(&*t).flush()?;
        assert_eq!(t.first_runs.load(Relaxed), 1);
        assert!(!Work::<_, 0>::of(&*t).is_pending() && !Work::<_, 1>::of(&*t).is_pending());
        Ok(())
    }
}
