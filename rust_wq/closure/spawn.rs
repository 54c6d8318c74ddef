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
    Work,
    WorkItem, //
};
use kernel::{
    alloc::Flags,
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
pub(in crate::rust_wq) fn closure<F: FnOnce() + Send + 'static>(
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

/// Queues a closure on `queue` (any queue: see [`Enqueue`](crate::rust_wq::Enqueue)) to run once,
/// with `flags` for its allocation and the lockdep classes of this call site: see
/// [`Enqueue::try_spawn_in`](crate::rust_wq::Enqueue::try_spawn_in).
#[macro_export]
macro_rules! try_spawn {
    ($queue:expr, $flags:expr, $f:expr $(,)?) => {{
        use $crate::rust_wq::Enqueue as _;
        $queue.try_spawn_in(
            $crate::rust_wq::closure::spawn::SpawnClass {
                threaded: ::kernel::static_lock_class!(),
                bh: ::kernel::static_lock_class!(),
            },
            $flags,
            $f,
        )
    }};
}
