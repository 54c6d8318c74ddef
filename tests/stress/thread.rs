// SPDX-License-Identifier: GPL-2.0

//! The threads of the torture suite: long-running work items on a queue of the case's own, and
//! the pseudo-random numbers they drive load with.

use crate::rust_wq::{
    OwnedQueue,
    Unbound,
    Work,
    WorkItem, //
};
use kernel::{
    prelude::*,
    sync::Arc, //
};

/// A thread of a case: runs `body` once, as a work item.
#[pin_data]
pub(crate) struct Thread {
    body: KBox<dyn Fn() + Send + Sync>,
    #[pin]
    work: Work<Thread>,
}

crate::impl_has_work! { impl HasWork<Self> for Thread { self.work } }

impl WorkItem for Thread {
    type Pointer = Arc<Thread>;

    fn run(this: Arc<Thread>) {
        (this.body)();
    }
}

/// Starts `body` on `queue` (an unbound queue whose `max_active` leaves room for every thread
/// of the case); `queue.flush()` waits for all of them.
pub(crate) fn spawn(
    queue: &OwnedQueue<Unbound>,
    body: impl Fn() + Send + Sync + 'static,
) -> Result {
    let body: KBox<dyn Fn() + Send + Sync> = KBox::new(body, GFP_KERNEL)?;
    let t = Arc::pin_init(
        pin_init!(Thread {
            body,
            work <- crate::new_work!("stress::Thread::work"),
        }),
        GFP_KERNEL,
    )?;
    queue.enqueue(t).map_err(|e| e.error())
}

/// The next number of an xorshift32 sequence.
pub(crate) fn next(seed: &mut u32) -> u32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    *seed
}
