// SPDX-License-Identifier: GPL-2.0

//! Scoped work: closures that borrow the test's stack, and the scope waiting for them.

use kernel::prelude::*;

#[kunit_tests(rust_wq_scope)]
mod tests {
    use crate::probe::wait_for;
    use crate::rust_wq::{
        self,
        OwnedQueue, //
    };
    use kernel::{
        bindings, new_mutex, new_spinlock,
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
            Mutex,
            SpinLock, //
        },
        time::{
            delay::fsleep,
            Delta, //
        },
    };

    /// Whether lockdep is still on: its first report turns it off for the rest of the boot
    /// (always on without lockdep, which has nothing to report).
    fn lockdep_on() -> bool {
        // SAFETY: `debug_locks` is an always-valid kernel variable, written with plain stores;
        // C reads it the same way.
        unsafe { core::ptr::read_volatile(core::ptr::addr_of!(bindings::debug_locks)) != 0 }
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
        assert!(wait_for(5000, || seen.load(Relaxed) != 0));
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
}
