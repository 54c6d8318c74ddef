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
        prelude::*,
        sync::{
            atomic::{
                Atomic,
                Relaxed, //
            },
            Arc,
        },
        time::{
            delay::fsleep,
            Delta, //
        },
    };

    #[test]
    fn scoped_items_mutate_the_callers_stack() -> Result {
        let mut slots = [0u32; 16];
        let q = OwnedQueue::unbound().build(c"rwq_scope")?;
        let base = 7u32;
        rust_wq::scope(|s| -> Result {
            for (i, slot) in slots.iter_mut().enumerate() {
                let i = i as u32;
                if i % 2 == 0 {
                    s.spawn(GFP_KERNEL, move || *slot = base + i)?;
                } else {
                    s.spawn_on(&q, GFP_KERNEL, move || *slot = base + i)?;
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
                s.spawn(GFP_KERNEL, move || {
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
        assert!(wait_for(|| seen.load(Relaxed) != 0));
        assert_eq!(seen.load(Relaxed), EDEADLK.to_errno());
        Ok(())
    }
}
