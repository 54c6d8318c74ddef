// SPDX-License-Identifier: GPL-2.0

//! Static work items (`declare_work!`, C's `DECLARE_WORK`).

use kernel::prelude::*;

#[kunit_tests(rust_wq_static_work)]
mod tests {
    use crate::probe::{
        Action,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        OwnedQueue,
        StaticWork,
        Work, //
    };
    use kernel::{
        bindings,
        prelude::*,
        sync::atomic::{
            Atomic,
            Relaxed, //
        },
    };

    static RUNS: Atomic<u32> = Atomic::new(0);

    fn count() {
        RUNS.add(1, Relaxed);
    }

    crate::declare_work!(static COUNT = count);

    #[test]
    fn static_items_run_and_are_refused_while_pending() -> Result {
        let before = RUNS.load(Relaxed);
        // Initialised at compile time as C's `__WORK_INITIALIZER`: idle, flagged static for the
        // object debugger (with it), its list head pointing at itself.
        assert!(!Work::of(&COUNT).is_pending());
        let raw = Work::<_, 0>::of(&COUNT).as_raw();
        // SAFETY: `raw` is the initialised `work_struct` of a static; read once, not pending.
        let (data, next) = unsafe { ((*raw).data.counter as u64, (*raw).entry.next) };
        let flag = u64::from(bindings::work_flags_WORK_STRUCT_STATIC);
        assert_eq!(data & flag, flag);
        // SAFETY: Only the address of the field is taken.
        let entry = unsafe { core::ptr::addr_of_mut!((*raw).entry) };
        assert_eq!(next, entry);
        rust_wq::system_percpu()
            .enqueue(&COUNT)
            .map_err(|e| e.error())?;
        Work::of(&COUNT).flush()?;
        assert_eq!(RUNS.load(Relaxed), before + 1);
        // Pending behind a blocked item on an ordered queue: refused, then cancelled.
        let q = OwnedQueue::ordered().build(c"rwq_static")?;
        let s = Shared::new()?;
        q.enqueue(Probe::new(&s, 0, Action::Block)?)
            .map_err(|e| e.error())?;
        assert_eq!(s.wait_entered(1), 1);
        q.enqueue(&COUNT).map_err(|e| e.error())?;
        let e = q.enqueue(&COUNT).err().ok_or(EINVAL)?;
        assert_eq!(e.error(), EBUSY);
        assert!(core::ptr::eq(e.into_item(), &COUNT));
        let back: Option<&'static StaticWork> = Work::of(&COUNT).cancel();
        assert!(back.is_some_and(|b| core::ptr::eq(b, &COUNT)));
        // Queued again, it runs when the queue moves on.
        q.enqueue(&COUNT).map_err(|e| e.error())?;
        s.release();
        q.drain()?;
        assert_eq!(RUNS.load(Relaxed), before + 2);
        Ok(())
    }
}
