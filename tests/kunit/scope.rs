// SPDX-License-Identifier: GPL-2.0

//! Scoped work: closures that borrow the test's stack, and the scope waiting for them.

use kernel::prelude::*;

#[kunit_tests(rust_wq_scope)]
mod tests {
    use crate::event::Event;
    use crate::rust_wq::{
        self,
        OwnedQueue, //
    };
    use kernel::{
        bindings, new_mutex, new_spinlock,
        prelude::*,
        sync::{
            atomic::{
                Acquire,
                Atomic,
                Relaxed,
                Release, //
            },
            lock::Guard,
            Arc,
            Mutex,
            SpinLock, //
        },
        time::{
            delay::fsleep,
            Delta,
            Instant,
            Monotonic, //
        },
    };

    /// Whether lockdep is still on: its first report turns it off for the rest of the boot
    /// (always on without lockdep, which has nothing to report).
    fn lockdep_on() -> bool {
        // SAFETY: `debug_locks` is an always-valid kernel variable, written with plain stores;
        // C reads it the same way.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::debug_locks)) != 0 }
    }

    /// Unlocks `lock`, whose guard was leaked (`mem::forget`) on this thread.
    fn unlock_leaked(lock: &SpinLock<()>) {
        // SAFETY: This thread holds the lock: it leaked the guard that locked it, and nothing
        // else unlocked it. The guard made here unlocks it once, when dropped.
        drop(unsafe { Guard::new(lock, ()) });
    }

    /// A scoped closure that beats on another CPU ([`Beat::beat`]) while the scope's own closure
    /// leaks a guard of `lock` ([`Beat::leak`]): the scope is then left unable to sleep.
    #[pin_data]
    struct Beat {
        #[pin]
        lock: SpinLock<()>,
        /// Set once the scoped closure runs.
        #[pin]
        started: Event,
        beats: Atomic<u32>,
        /// 0 while the scope's closure tries; then 1 if it leaked its guard, 2 if it gave up.
        leaked: Atomic<u32>,
    }

    impl Beat {
        fn new() -> Result<Pin<KBox<Self>>> {
            KBox::pin_init(
                pin_init!(Self {
                    lock <- new_spinlock!(()),
                    started <- Event::new(),
                    beats: Atomic::new(0),
                    leaked: Atomic::new(0),
                }),
                GFP_KERNEL,
            )
        }

        /// The scoped closure's part: says it runs, and beats until the scope's closure is done
        /// trying.
        fn beat(&self) {
            self.started.set();
            while self.leaked.load(Acquire) == 0 {
                self.beats.add(1, Relaxed);
                core::hint::spin_loop();
            }
        }

        /// Whether the scope's closure leaked its guard.
        fn is_leaked(&self) -> bool {
            self.leaked.load(Acquire) == 1
        }

        /// The scope's closure's part: leaks a guard of `lock` (`mem::forget`) while the scoped
        /// closure beats on another CPU, trying again (unlocked) while it was preempted on this
        /// one. Returns whether it did, and says so to the scoped closure.
        fn leak(&self) -> bool {
            let leaked = self.try_leak();
            self.leaked.store(if leaked { 1 } else { 2 }, Release);
            leaked
        }

        fn try_leak(&self) -> bool {
            for _ in 0..100 {
                if !self.started.wait() {
                    return false;
                }
                core::mem::forget(self.lock.lock());
                // The closure beats on while this CPU cannot schedule: it runs on another one.
                let b0 = self.beats.load(Relaxed);
                let t0 = Instant::<Monotonic>::now();
                while self.beats.load(Relaxed) == b0 && t0.elapsed() < Delta::from_millis(100) {
                    core::hint::spin_loop();
                }
                if self.beats.load(Relaxed) != b0 {
                    return true;
                }
                // It was preempted on this CPU: let it run, and try again.
                unlock_leaked(&self.lock);
                fsleep(Delta::from_millis(1));
            }
            false
        }

        /// Once the scope returned: unlocks the guard that was leaked, if one was.
        fn unlock(&self) {
            if self.is_leaked() {
                unlock_leaked(&self.lock);
            }
        }
    }

    /// Counts its drops, wherever it goes.
    struct CountDrop<'a>(&'a Atomic<u32>);

    impl Drop for CountDrop<'_> {
        fn drop(&mut self) {
            self.0.add(1, Relaxed);
        }
    }

    #[test]
    fn scoped_items_mutate_the_callers_stack() -> Result {
        let mut slots = [0u32; 16];
        let q = OwnedQueue::unbound().build(c"rwq_scope")?;
        let base = 7u32;
        rust_wq::scope(|s| -> Result {
            for (i, slot) in slots.iter_mut().enumerate() {
                let i = i as u32;
                if i % 2 == 0 {
                    rust_wq::spawn!(s, GFP_KERNEL, move || *slot = base + i)?;
                } else {
                    rust_wq::spawn_on!(s, &q, GFP_KERNEL, move || *slot = base + i)?;
                }
            }
            Ok(())
        })??;
        for (i, slot) in slots.iter().enumerate() {
            assert_eq!(*slot, base + i as u32);
        }
        Ok(())
    }

    #[test]
    fn scope_returns_only_after_its_items_ran() -> Result {
        let mut finished = [false; 4];
        rust_wq::scope(|s| -> Result {
            for (i, f) in finished.iter_mut().enumerate() {
                rust_wq::spawn!(s, GFP_KERNEL, move || {
                    // Slow items: a scope that did not wait would see them unfinished.
                    fsleep(Delta::from_millis(20 + 20 * i as i64));
                    *f = true;
                })?;
            }
            Ok(())
        })??;
        assert_eq!(finished, [true; 4]);
        Ok(())
    }

    #[test]
    fn scope_is_refused_where_it_could_not_wait() -> Result {
        // With interrupts off: EAGAIN, the closure is not called.
        let mut called = false;
        let irqs_off = kernel::interrupt::local_interrupt_disable();
        let r = rust_wq::scope(|_| called = true);
        drop(irqs_off);
        assert_eq!(r.err(), Some(EAGAIN));
        assert!(!called);
        // From a kworker: EDEADLK (its closures could wait behind the caller's own item).
        let seen = Arc::new(Atomic::new(0i32), GFP_KERNEL)?;
        let out = seen.clone();
        let q = OwnedQueue::ordered().build(c"rwq_scope_kw")?;
        crate::rust_wq::try_spawn!(q, GFP_KERNEL, move || {
            let r = rust_wq::scope(|_| ());
            out.store(r.err().map_or(1, |e| e.to_errno()), Relaxed);
        })?;
        q.flush()?;
        assert_eq!(seen.load(Relaxed), EDEADLK.to_errno());
        Ok(())
    }

    /// Scope closures of different sites have lockdep classes of their own: a closure on
    /// `system_dfl` that takes a mutex M, an unrelated one that ran on an ordered queue QB, and a
    /// thread that flushes QB holding M make no cycle (with one class for all, lockdep saw
    /// M -> QB -> class -> M and turned itself off).
    #[test]
    fn unrelated_scope_closures_make_no_lockdep_cycle() -> Result {
        let was_on = lockdep_on();
        let m: Pin<KBox<Mutex<u32>>> = KBox::pin_init(new_mutex!(0u32), GFP_KERNEL)?;
        let qb = OwnedQueue::ordered().build(c"rwq_scope_qb")?;
        let mut ran = 0u32;
        rust_wq::scope(|s| rust_wq::spawn_on!(s, &qb, GFP_KERNEL, || ran += 1))??;
        let m_ref: &Mutex<u32> = &m;
        rust_wq::scope(|s| rust_wq::spawn!(s, GFP_KERNEL, move || *m_ref.lock() += 1))??;
        {
            let _held = m.lock();
            qb.flush()?;
        }
        assert_eq!(ran, 1);
        assert_eq!(*m.lock(), 1);
        assert_eq!(lockdep_on(), was_on);
        Ok(())
    }

    /// Spawning with flags that may sleep where the caller cannot is `EAGAIN`, nothing
    /// allocated or queued (no "sleeping function called from invalid context"); `GFP_ATOMIC`
    /// there queues, and the closure runs once the lock is gone.
    #[test]
    fn spawning_with_sleeping_flags_where_it_cannot_sleep_is_eagain() -> Result {
        let lock: Pin<KBox<SpinLock<()>>> = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let q = OwnedQueue::unbound().build(c"rwq_scope_atomic")?;
        let mut ran = [false; 4];
        let [a, b, c, d] = &mut ran;
        let r = rust_wq::scope(|s| {
            let guard = lock.lock();
            let under_lock = [
                rust_wq::spawn!(s, GFP_KERNEL, || *a = true).err(),
                rust_wq::spawn_on!(s, &q, GFP_KERNEL, || *b = true).err(),
                rust_wq::spawn!(s, GFP_ATOMIC, || *c = true).err(),
            ];
            drop(guard);
            let irqs_off = kernel::interrupt::local_interrupt_disable();
            let r = rust_wq::spawn_on!(s, &q, GFP_KERNEL, || *d = true).err();
            drop(irqs_off);
            (under_lock, r)
        })?;
        assert_eq!(r.0, [Some(EAGAIN), Some(EAGAIN), None]);
        assert_eq!(r.1, Some(EAGAIN));
        assert_eq!(ran, [false, false, true, false]);
        Ok(())
    }

    /// A scope whose closure leaked a guard (it returns unable to sleep) still waits for the
    /// closures already running, without sleeping: here one on another CPU, which finishes.
    #[test]
    fn a_scope_left_unable_to_sleep_waits_for_running_closures() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_scope_spin")?;
        let b = Beat::new()?;
        let b_ref: &Beat = &b;
        let mut done = false;
        let done_ref = &mut done;
        let r = rust_wq::scope(|s| -> Result<bool> {
            rust_wq::spawn_on!(s, &q, GFP_KERNEL, move || {
                // Runs until the caller has leaked its guard, then finishes.
                b_ref.beat();
                *done_ref = true;
            })?;
            Ok(b_ref.leak())
        });
        b.unlock();
        assert!(matches!(r, Ok(Ok(true))));
        assert!(done);
        Ok(())
    }

    /// A scope whose closure leaked a guard before spawning on a per-CPU queue: the closure is
    /// queued on this CPU, which cannot run it while the scope waits. The scope drops it unrun and
    /// returns `EAGAIN`, instead of spinning with the CPU's pool stuck (a workqueue lockup).
    #[test]
    fn a_scope_left_unable_to_sleep_drops_closures_not_started() -> Result {
        let q = OwnedQueue::percpu().build(c"rwq_scope_pcpu")?;
        let lock: Pin<KBox<SpinLock<()>>> = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
        let lock_ref: &SpinLock<()> = &lock;
        let drops = Atomic::new(0u32);
        let token = CountDrop(&drops);
        let mut ran = false;
        let ran_ref = &mut ran;
        let r = rust_wq::scope(|s| {
            core::mem::forget(lock_ref.lock());
            rust_wq::spawn_on!(s, &q, GFP_ATOMIC, move || {
                let _token = token;
                *ran_ref = true;
            })
        });
        unlock_leaked(&lock);
        assert_eq!(r.err(), Some(EAGAIN));
        assert!(!ran);
        assert_eq!(drops.load(Relaxed), 1);
        Ok(())
    }

    /// A scoped closure may spawn more closures on its own scope from its kworker (the `Scope`
    /// is `Sync`), on `system_dfl` and on an owned queue: the scope waits for them too.
    #[test]
    fn a_scoped_closure_spawns_on_its_own_scope() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_scope_own")?;
        let mut outer = false;
        let mut inner = [false; 2];
        let refused = Atomic::new(0u32);
        let (outer_ref, refused_ref, q_ref) = (&mut outer, &refused, &q);
        let [x, y] = &mut inner;
        rust_wq::scope(|s| {
            rust_wq::spawn!(s, GFP_KERNEL, move || {
                *outer_ref = true;
                // After `scope`'s closure returned, maybe: the scope is waiting for this one.
                fsleep(Delta::from_millis(5));
                if rust_wq::spawn!(s, GFP_KERNEL, move || *x = true).is_err() {
                    refused_ref.add(1, Relaxed);
                }
                if rust_wq::spawn_on!(s, q_ref, GFP_KERNEL, move || *y = true).is_err() {
                    refused_ref.add(1, Relaxed);
                }
            })
        })??;
        assert!(outer);
        assert_eq!(inner, [true, true]);
        assert_eq!(refused.load(Relaxed), 0);
        Ok(())
    }

    /// A scope whose closure leaked a guard closes its list when it drops the closures not
    /// started: a closure already running that spawns on the scope from then on gets
    /// `ECANCELED`, its new closure dropped unrun. Every closure spawned is dropped once, and
    /// none runs after the scope returned.
    #[test]
    fn spawns_after_a_scope_dropped_its_closures_are_ecanceled() -> Result {
        let q = OwnedQueue::unbound().build(c"rwq_scope_cancel")?;
        let b = Beat::new()?;
        let b_ref: &Beat = &b;
        let spawned = Atomic::new(0u32);
        let drops = Atomic::new(0u32);
        let runs = Atomic::new(0u32);
        let last = Atomic::new(0i32);
        let (spawned_ref, drops_ref, runs_ref, last_ref) = (&spawned, &drops, &runs, &last);
        let r = rust_wq::scope(|s| -> Result<bool> {
            rust_wq::spawn_on!(s, &q, GFP_KERNEL, move || {
                b_ref.beat();
                // Spawns until refused: the scope closes its list once it saw the leak (none
                // came about: the scope waits as usual).
                while b_ref.is_leaked() {
                    let token = CountDrop(drops_ref);
                    let r = rust_wq::spawn!(s, GFP_KERNEL, move || {
                        let _token = token;
                        runs_ref.add(1, Relaxed);
                    });
                    match r {
                        Ok(()) => {
                            spawned_ref.add(1, Relaxed);
                        }
                        Err(e) => {
                            last_ref.store(e.to_errno(), Relaxed);
                            break;
                        }
                    }
                }
            })?;
            Ok(b_ref.leak())
        });
        b.unlock();
        // `EAGAIN` if some of the closures it spawned had not started when the list closed;
        // either way the guard stayed leaked.
        let leaked_here = match r {
            Ok(Ok(leaked)) => leaked,
            Err(e) => e == EAGAIN,
            Ok(Err(_)) => false,
        };
        assert!(leaked_here);
        assert_eq!(last.load(Relaxed), ECANCELED.to_errno());
        // Each closure spawned, and the one refused, dropped once; no more ran than spawned.
        assert_eq!(drops.load(Relaxed), spawned.load(Relaxed) + 1);
        assert!(runs.load(Relaxed) <= spawned.load(Relaxed));
        Ok(())
    }

    /// `spawn_on!` borrows the queue only for the call: an owned queue dropped inside the scope
    /// with closures pending on it runs them before its drop returns, and one dropped by a
    /// scoped closure (in a kworker, so handed off) runs them before the scope returns.
    #[test]
    fn an_owned_queue_dropped_inside_a_scope_runs_its_closures_first() -> Result {
        let ran = [const { Atomic::new(0u32) }; 4];
        let handed = OwnedQueue::unbound()
            .max_active(1)
            .build(c"rwq_scope_hand")?;
        let ran_ref = &ran;
        let after_drop = rust_wq::scope(move |s| -> Result<u32> {
            let q = OwnedQueue::unbound()
                .max_active(1)
                .build(c"rwq_scope_drop")?;
            rust_wq::spawn_on!(s, &q, GFP_KERNEL, move || {
                fsleep(Delta::from_millis(5));
                ran_ref[0].add(1, Relaxed);
            })?;
            rust_wq::spawn_on!(s, &q, GFP_KERNEL, move || ran_ref[1].add(1, Relaxed))?;
            drop(q);
            let after_drop = ran_ref[0].load(Relaxed) + ran_ref[1].load(Relaxed);
            rust_wq::spawn_on!(s, &handed, GFP_KERNEL, move || {
                fsleep(Delta::from_millis(5));
                ran_ref[2].add(1, Relaxed);
            })?;
            rust_wq::spawn_on!(s, &handed, GFP_KERNEL, move || ran_ref[3].add(1, Relaxed))?;
            rust_wq::spawn!(s, GFP_KERNEL, move || drop(handed))?;
            Ok(after_drop)
        })??;
        assert_eq!(after_drop, 2);
        for r in &ran {
            assert_eq!(r.load(Relaxed), 1);
        }
        Ok(())
    }
}
