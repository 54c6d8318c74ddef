// SPDX-License-Identifier: GPL-2.0

//! Static work items (C's `DECLARE_WORK`): a `static` that runs a function, declared with
//! [`declare_work!`](crate::declare_work).
//!
//! The item is initialised at compile time, as C's `__WORK_INITIALIZER` does, so it needs no
//! `init` and can be queued from anywhere, interrupt handlers included; its pointer kind is
//! `&'static StaticWork`, which any code of the module can hand to a queue. It can never run
//! after its module's exit: like every item of the module, it goes on a queue only while the
//! module takes work, and the unload of [`Drained`](crate::rust_wq::Drained) waits until it
//! ran (the owned queues are drained, the system queues flushed). That is also what keeps it
//! safe that its memory, the module's own, goes with the module.
//!
//! `DECLARE_DELAYED_WORK` has no counterpart: a static delayed item would link itself into the
//! list of armed timers of a queue (see [`DelayedWork`](crate::rust_wq::DelayedWork)), which
//! needs pinned run-time initialisation; arm a [`DelayedWork`](crate::rust_wq::DelayedWork)
//! behind an `Arc` made in `init`, or queue a static item from a timer of the driver's own.
//!
//! # Examples
//!
//! ```
//! use crate::rust_wq::{declare_work, system_percpu};
//! use kernel::sync::atomic::{Atomic, Relaxed};
//!
//! static TICKS: Atomic<u64> = Atomic::new(0);
//!
//! fn tick() {
//!     TICKS.add(1, Relaxed);
//! }
//!
//! declare_work!(static TICK = tick);
//!
//! // Anywhere in the module, in any context:
//! let _ = system_percpu().enqueue(&TICK); // EBUSY while pending: nothing is lost
//! ```

use crate::rust_wq::{
    Work,
    WorkItem,
    WorkItemPointer, //
};
use core::ptr;
use kernel::prelude::*;

/// A work item in a `static` that runs a plain function (C's `DECLARE_WORK`). Declare it with
/// [`declare_work!`](crate::declare_work); see the [module documentation](self).
#[repr(C)]
pub struct StaticWork {
    work: Work<StaticWork>,
    func: fn(),
}

crate::impl_has_work! { impl HasWork<Self> for StaticWork { self.work } }

impl StaticWork {
    /// A static item that runs `func`, named `name` for lockdep.
    ///
    /// # Safety
    ///
    /// `this` must be the address of the `static` initialised with the returned value: use
    /// [`declare_work!`](crate::declare_work).
    pub const unsafe fn new(this: *const StaticWork, name: &'static CStr, func: fn()) -> Self {
        let work = this
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(StaticWork, work))
            .cast::<Work<StaticWork>>();
        Self {
            // SAFETY: `work` is the address of the `work` field of the static that this value
            // initialises (the caller's promise), which is never moved or dropped.
            work: unsafe { Work::new_static(work, name) },
            func,
        }
    }
}

impl WorkItem for StaticWork {
    type Pointer = &'static StaticWork;

    fn run(this: &'static StaticWork) {
        (this.func)();
    }
}

// SAFETY: A static is neither moved nor freed while the module runs, and no item of the module is
// pending or running once its memory goes (the module's unload waits for them all); references
// carry no count, so `from_raw` gives back what `into_raw` took. `StaticWork` holds no
// `DelayedWork`, so it has no tracker link that a drop would have to undo.
unsafe impl WorkItemPointer for &'static StaticWork {
    type Target = StaticWork;

    #[inline]
    fn into_raw(self) -> *mut StaticWork {
        ptr::from_ref(self).cast_mut()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut StaticWork) -> Self {
        // SAFETY: The caller promises that `ptr` comes from `into_raw`, so from a `&'static`.
        unsafe { &*ptr }
    }
}

/// Declares a static work item that runs `func` (C's `DECLARE_WORK(name, func)`), with a
/// lockdep class of its own: `declare_work!(static NAME = func);` (`pub` as for any `static`).
#[macro_export]
macro_rules! declare_work {
    ($vis:vis static $name:ident = $func:expr $(;)?) => {
        $vis static $name: $crate::rust_wq::StaticWork = {
            let this: *const $crate::rust_wq::StaticWork = ::core::ptr::addr_of!($name);
            let name: &'static ::kernel::str::CStr = ::kernel::c_str!(::core::stringify!($name));
            let func: fn() = $func;
            // SAFETY: `this` is the address of the static being initialised with the value.
            unsafe { $crate::rust_wq::StaticWork::new(this, name, func) }
        };
    };
}
