// SPDX-License-Identifier: GPL-2.0

//! One-off closures as work items: [`try_spawn!`](crate::try_spawn) on an owned or a system
//! queue.
//!
//! The closure is moved into a box with a work item of its own, which the queue owns until the
//! closure has run; then the box is freed. Nothing is left to cancel or flush item by item:
//! flush or drain the queue, or let the module's unload wait for it.
//!
//! # Examples
//!
//! ```
//! use crate::rust_wq::try_spawn;
//! use kernel::sync::{atomic::{Atomic, Relaxed}, Arc};
//! # let queue = crate::rust_wq::OwnedQueue::unbound().build(c"spawned")?;
//!
//! let counter = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
//! let c = counter.clone();
//! try_spawn!(queue, GFP_KERNEL, move || {
//!     c.add(1, Relaxed);
//! })?;
//! queue.drain()?;
//! assert_eq!(counter.load(Relaxed), 1);
//! # Ok::<(), Error>(())
//! ```

use crate::rust_wq::{
    cpu,
    queue::builder::Kind,
    OwnedQueue,
    Queue,
    Work,
    WorkItem, //
};
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*,
    sync::LockClassKey, //
};

/// A closure waiting for its run.
#[pin_data]
pub struct Closure<F> {
    #[pin]
    work: Work<Closure<F>>,
    f: Option<F>,
}

crate::impl_has_work! {
    impl{F: FnOnce() + Send + 'static} HasWork<Self> for Closure<F> { self.work }
}

impl<F: FnOnce() + Send + 'static> WorkItem for Closure<F> {
    type Pointer = Pin<KBox<Self>>;

    fn run(this: Pin<KBox<Self>>) {
        // SAFETY: Nothing is moved out of the box but `f`, which is not structurally pinned;
        // the work item stays in place until the box is freed, after the closure returned.
        let mut this = unsafe { Pin::into_inner_unchecked(this) };
        if let Some(f) = this.f.take() {
            f();
        }
    }
}

/// Whether an allocation with `flags` may sleep: direct reclaim (`GFP_KERNEL` and the like; the
/// bits of `GFP_KERNEL` that `GFP_NOWAIT` lacks).
pub(in crate::rust_wq) fn may_block(flags: Flags) -> bool {
    flags & (GFP_KERNEL & !GFP_NOWAIT) != (GFP_KERNEL & !GFP_KERNEL)
}

/// The lockdep classes of the closures spawned at one call site: one for BH queues, one for the
/// others (see [Lockdep classes](crate::rust_wq::error#lockdep-classes)).
/// [`try_spawn!`](crate::try_spawn) makes them; with one class for all callers, lockdep would join
/// the locks of unrelated closures into false cycles.
pub struct SpawnClass {
    /// The class of closures on threaded queues.
    pub threaded: Pin<&'static LockClassKey>,
    /// The class of closures on BH queues.
    pub bh: Pin<&'static LockClassKey>,
}

/// Boxes `f` with a work item of the call site's class for the kind of queue.
/// `EAGAIN` if `flags` may sleep and the caller cannot.
fn closure<F: FnOnce() + Send + 'static>(
    f: F,
    class: SpawnClass,
    bh: bool,
    flags: Flags,
) -> Result<Pin<KBox<Closure<F>>>> {
    if may_block(flags) {
        cpu::may_sleep()?;
    }
    let (name, key) = if bh {
        (c"rust_wq::try_spawn (BH)", class.bh)
    } else {
        (c"rust_wq::try_spawn", class.threaded)
    };
    KBox::pin_init(
        pin_init!(Closure { work <- Work::new(name, key), f: Some(f) }),
        flags,
    )
}

impl Queue {
    /// Queues the closure `f` to run once, as [`Queue::enqueue`] would queue an item, with the
    /// lockdep classes of the call site (use [`try_spawn!`](crate::try_spawn)).
    /// `flags` are those of its allocation: `GFP_ATOMIC` where the caller cannot sleep.
    ///
    /// # Errors
    ///
    /// `f` is dropped without running:
    ///
    /// - `EAGAIN`: `flags` may sleep (`GFP_KERNEL`) and the caller cannot.
    /// - `ENOMEM`: the closure's box could not be allocated.
    /// - An error of [`Queue::enqueue`]: `EINVAL` (the module is not wrapped in
    ///   [`Drained`](crate::rust_wq::Drained)), `ESHUTDOWN` (it is being unloaded), or, with
    ///   lockdep, `ENOSPC` (the module's table of lockdep classes is full).
    pub fn try_spawn_in<F: FnOnce() + Send + 'static>(
        &self,
        class: SpawnClass,
        flags: Flags,
        f: F,
    ) -> Result {
        let c = closure(f, class, self.is_system_bh(), flags)?;
        self.enqueue(c).map_err(|e| e.error())
    }
}

impl<K: Kind> OwnedQueue<K> {
    /// Queues the closure `f` to run once, as [`OwnedQueue::enqueue`] would queue an item.
    /// As [`Queue::try_spawn_in`]: use [`try_spawn!`](crate::try_spawn).
    ///
    /// # Errors
    ///
    /// Those of [`Queue::try_spawn_in`]; `f` is dropped without running.
    pub fn try_spawn_in<F: FnOnce() + Send + 'static>(
        &self,
        class: SpawnClass,
        flags: Flags,
        f: F,
    ) -> Result {
        let c = closure(f, class, K::FLAGS & bindings::wq_flags_WQ_BH != 0, flags)?;
        self.enqueue(c).map_err(|e| e.error())
    }
}

/// Queues a closure on `queue` (an [`OwnedQueue`] or a system [`Queue`]) to run once, with
/// `flags` for its allocation and the lockdep classes of this call site: see
/// [`Queue::try_spawn_in`].
#[macro_export]
macro_rules! try_spawn {
    ($queue:expr, $flags:expr, $f:expr $(,)?) => {
        $queue.try_spawn_in(
            $crate::rust_wq::closure::spawn::SpawnClass {
                threaded: ::kernel::static_lock_class!(),
                bh: ::kernel::static_lock_class!(),
            },
            $flags,
            $f,
        )
    };
}
