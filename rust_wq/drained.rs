// SPDX-License-Identifier: GPL-2.0

//! [`Drained`]: the module lifetime of work. Nothing a module queued runs after its exit.
//!
//! A work item's function is code of the module that queued it. A kworker that runs the item
//! after the module's text was freed jumps into freed memory. C leaves this to every driver's
//! exit function; `kernel::workqueue` in 7.3 leaves it to nobody. rust_wq closes it for every
//! queue, the system queues included:
//!
//! - The module type is wrapped: `module! { type: rust_wq::Drained<MyModule>, ... }`. Until the
//!   wrapper's `init` runs, and from its `drop` on, every enqueue, arm and queue allocation of
//!   this module is refused (`EINVAL` before, `ESHUTDOWN` after) and the item handed back.
//! - rust_wq is compiled into each module that uses it, so its statics are per module: the registry
//!   (`internal/registry.rs`) knows the delayed items this module armed on the system queues and
//!   the owned queues it allocated.
//! - At unload, after `MyModule` was dropped (its owned queues drained and destroyed, its
//!   devices unbound and their [`DevmQueue`](crate::rust_wq::DevmQueue)s dropped with them),
//!   the wrapper closes the registry, waits for an RCU grace period, waits for the RCU callbacks
//!   of its RCU items (`rcu_barrier()`: they are then on their queues), fires every timer still
//!   armed (the items run at once, on their queue and CPU), flushes every owned queue still
//!   alive (one kept alive by an `Arc` cycle, say) and every system queue. A flush waits for the
//!   items queued before it until their function has *returned*, so no kworker is left inside
//!   the module's text.
//!
//! # Why this is enough
//!
//! Every path that puts an item of this module on a queue (`enqueue*`, `mod_delayed`, queue
//! allocation) checks the registry inside one RCU read-side critical section with the C call
//! that queues. Closing unpublishes the registry and calls `synchronize_rcu()`: after it, every
//! queueing that saw the registry open has completed (and linked its timer, if any), and every
//! later one is refused. From then on, items can only run (or fire) what was queued before, and
//! the flushes wait for all of that. An RCU item ([`RcuWork`]) whose enqueue saw the registry
//! open has its RCU callback posted by then; `rcu_barrier()` waits until every such callback
//! has put its item on its queue, which the flushes then cover. Items that run meanwhile cannot
//! queue anything new. The one path that queues without the check, the hand-off of an owned
//! queue dropped in a kworker or in atomic context, is counted and flushed until none is left.
//!
//! # Examples
//!
//! ```ignore (a driver's crate root, compiled as a crate of its own)
//! # #[path = "../rust_wq/lib.rs"]
//! # pub mod rust_wq;
//! # use kernel::prelude::*;
//! module! {
//!     type: rust_wq::Drained<MyDriver>,
//!     name: "my_driver",
//!     authors: ["..."],
//!     description: "...",
//!     license: "GPL",
//! }
//!
//! struct MyDriver;
//!
//! impl kernel::Module for MyDriver {
//!     fn init(_module: &'static ThisModule) -> Result<Self> {
//!         Ok(MyDriver)
//!     }
//! }
//! ```
//!
//! [`RcuWork`]: crate::rust_wq::RcuWork
use crate::rust_wq::internal::registry::Registry;
use core::{
    mem::ManuallyDrop,
    ptr, //
};
use kernel::{prelude::*, InPlaceModule, ThisModule};

/// A module whose work cannot outlive it: wrap the module type in it. See the
/// [module documentation](self).
///
/// On unload, the wrapped module is dropped first, then everything it left queued, armed or
/// running is run or waited for, on every queue. A module that queues work through rust_wq
/// must be wrapped; enqueueing fails with `EINVAL` otherwise, the log saying what to write.
pub struct Drained<M> {
    module: ManuallyDrop<M>,
    registry: Pin<KBox<Registry>>,
}

impl<M> Drained<M> {
    /// The wrapped module.
    pub fn get(&self) -> &M {
        &self.module
    }
}

impl<M: InPlaceModule> InPlaceModule for Drained<M> {
    fn init(module: &'static ThisModule) -> impl PinInit<Self, Error> {
        let init = M::init(module);
        let closure = move |slot: *mut Self| -> Result {
            let registry = Registry::open()?;
            // SAFETY: `slot` is valid for writes; `ManuallyDrop<M>` is `repr(transparent)` over
            // `M`, and the field is pinned like the whole `Drained`.
            let m = unsafe { ptr::addr_of_mut!((*slot).module) }.cast::<M>();
            // SAFETY: `m` is valid for writes and pinned.
            if let Err(e) = unsafe { pin_init::raw_try_init(m, init) } {
                // Work queued by the failed `init` must not outlive the module either.
                drop(registry);
                return Err(e);
            }
            // SAFETY: `slot` is valid for writes; the module field is initialised.
            unsafe { ptr::addr_of_mut!((*slot).registry).write(registry) };
            Ok(())
        };
        // SAFETY: On `Ok` both fields are initialised; on `Err` nothing is (the wrapped module
        // dropped itself on its own error), and the closure never moves the module.
        unsafe { pin_init::pin_init_from_closure(closure) }
    }
}

impl<M> Drop for Drained<M> {
    fn drop(&mut self) {
        // SAFETY: The module is dropped exactly once, here, in place (it stays pinned).
        unsafe { ManuallyDrop::drop(&mut self.module) };
        // Then `registry` is dropped, which closes it and waits for everything the module
        // queued.
    }
}
