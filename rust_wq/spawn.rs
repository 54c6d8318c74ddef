// SPDX-License-Identifier: GPL-2.0

//! One-off closures as work items: [`Queue::try_spawn`] and [`OwnedQueue::try_spawn`].
//!
//! The closure is moved into a box with a work item of its own, which the queue owns until the
//! closure has run; then the box is freed. Nothing is left to cancel or flush item by item:
//! flush or drain the queue, or let the module's unload wait for it.
//!
//! # Examples
//!
//! ```ignore
//! let counter = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
//! let c = counter.clone();
//! queue.try_spawn(GFP_KERNEL, move || {
//!     c.add(1, Relaxed);
//! })?;
//! queue.drain()?;
//! assert_eq!(counter.load(Relaxed), 1);
//! ```

use crate::rust_wq::{
    builder::Kind,
    cpu,
    OwnedQueue,
    Queue,
    Work,
    WorkItem, //
};
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*, //
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
fn may_block(flags: Flags) -> bool {
    flags & (GFP_KERNEL & !GFP_NOWAIT) != (GFP_KERNEL & !GFP_KERNEL)
}

/// Boxes `f` with a work item whose lockdep class matches the kind of queue (BH or threaded:
/// see [`class`](crate::rust_wq::class)). `EAGAIN` if `flags` may sleep and the caller cannot.
fn closure<F: FnOnce() + Send + 'static>(
    f: F,
    bh: bool,
    flags: Flags,
) -> Result<Pin<KBox<Closure<F>>>> {
    if may_block(flags) {
        cpu::may_sleep()?;
    }
    if bh {
        KBox::pin_init(
            pin_init!(Closure { work <- crate::new_work!("rust_wq::spawn (BH)"), f: Some(f) }),
            flags,
        )
    } else {
        KBox::pin_init(
            pin_init!(Closure { work <- crate::new_work!("rust_wq::spawn"), f: Some(f) }),
            flags,
        )
    }
}

impl Queue {
    /// Queues the closure `f` to run once, as [`Queue::enqueue`] would queue an item.
    /// `flags` are those of its allocation: `GFP_ATOMIC` where the caller cannot sleep
    /// (`EAGAIN` for `GFP_KERNEL` there). `ENOMEM`, or an error of [`Queue::enqueue`]; `f` is
    /// dropped without running then.
    pub fn try_spawn<F: FnOnce() + Send + 'static>(&self, flags: Flags, f: F) -> Result {
        let c = closure(f, self.is_system_bh(), flags)?;
        self.enqueue(c).map_err(|e| e.error())
    }
}

impl<K: Kind> OwnedQueue<K> {
    /// Queues the closure `f` to run once, as [`OwnedQueue::enqueue`] would queue an item.
    /// Errors as [`Queue::try_spawn`].
    pub fn try_spawn<F: FnOnce() + Send + 'static>(&self, flags: Flags, f: F) -> Result {
        let c = closure(f, K::FLAGS & bindings::wq_flags_WQ_BH != 0, flags)?;
        self.enqueue(c).map_err(|e| e.error())
    }
}
