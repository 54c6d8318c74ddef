// SPDX-License-Identifier: GPL-2.0

//! Items queued by `&'static` reference: no reference count, as C drivers queue the items they
//! embed in storage that outlives their use.
//!
//! Any item `T: Sync` whose [`WorkItem::Pointer`] is `&'static T` is queued, armed or queued after
//! a grace period by reference: queueing it copies a pointer, its `run` gets the same reference
//! back, and nothing is counted. Its storage is either
//!
//! - a `static` of the module: [`StaticWork`], declared with [`declare_work!`](crate::declare_work)
//!   (C's `DECLARE_WORK`), initialised at compile time as C's `__WORK_INITIALIZER` does, so it
//!   needs no `init` and can be queued from anywhere, interrupt handlers included; or
//! - a pinned box that is never freed, from [`leak_item`]: any item, delayed and RCU items included
//!   (what C's `DECLARE_DELAYED_WORK` is for: a static delayed item needs pinned run-time
//!   initialisation, as its timer is linked into the list of armed timers of a queue).
//!
//! Such an item can never run after its module's exit: like every item of the module, it goes on
//! a queue only while the module takes work, and the unload of
//! [`Drained`](crate::rust_wq::Drained) waits until it ran (the owned queues are drained, the
//! system queues flushed, armed timers fired). That is also what keeps it safe that a `static`'s
//! memory, the module's own, goes with the module. A leaked box is what it says: its memory is
//! never given back, so leak a fixed number of them (one per module, or per CPU), not one per
//! request or per device.
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
//!
//! A delayed item in a leaked box, armed by reference:
//!
//! ```
//! use crate::rust_wq::{
//!     impl_has_delayed_work, leak_item, new_delayed_work, prelude::*, system_dfl, DelayedWork,
//!     WorkItem,
//! };
//! use kernel::{sync::atomic::{Atomic, Relaxed}, time::Delta};
//!
//! #[pin_data]
//! struct Poll {
//!     polls: Atomic<u32>,
//!     #[pin]
//!     dwork: DelayedWork<Poll>,
//! }
//! impl_has_delayed_work! { impl HasDelayedWork<Self> for Poll { self.dwork } }
//!
//! impl WorkItem for Poll {
//!     type Pointer = &'static Poll;
//!
//!     fn run(this: &'static Poll) {
//!         this.polls.add(1, Relaxed);
//!     }
//! }
//!
//! let poll: &'static Poll = leak_item(KBox::pin_init(
//!     pin_init!(Poll { polls: Atomic::new(0), dwork <- new_delayed_work!() }),
//!     GFP_KERNEL,
//! )?);
//! system_dfl().enqueue_delayed(poll, Delta::from_millis(1)).map_err(|e| e.error())?;
//! DelayedWork::of(poll).flush()?;
//! assert_eq!(poll.polls.load(Relaxed), 1);
//! # Ok::<(), Error>(())
//! ```

use crate::rust_wq::{
    Work,
    WorkItem, //
};
use kernel::prelude::*;

/// Leaks a pinned box and returns a reference to its value that lives as long as the module: a
/// pointer kind that queues the item without a reference count (see the
/// [module documentation](self)).
///
/// The memory is never freed, and the value never dropped; the pin stays true, as a shared
/// reference that lives forever forbids moving the value.
#[inline]
pub fn leak_item<T: 'static>(item: Pin<KBox<T>>) -> &'static T {
    // SAFETY: The value is not moved out of the box: the box is leaked, and only a shared
    // reference to the value is given out, for ever.
    KBox::leak(unsafe { Pin::into_inner_unchecked(item) })
}

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
