// SPDX-License-Identifier: GPL-2.0

//! The threads of the torture suite: long-running closures on a queue of the case's own, and
//! the pseudo-random numbers they drive load with.

use crate::rust_wq::{
    OwnedQueue,
    Unbound, //
};
use kernel::prelude::*;

/// Starts `body` on `queue` (an unbound queue whose `max_active` leaves room for every thread
/// of the case); `queue.flush()` waits for all of them.
pub(crate) fn spawn(
    queue: &OwnedQueue<Unbound>,
    body: impl Fn() + Send + Sync + 'static,
) -> Result {
    crate::try_spawn!(queue, GFP_KERNEL, body)
}

/// The next number of an xorshift32 sequence.
pub(crate) fn next(seed: &mut u32) -> u32 {
    *seed ^= *seed << 13;
    *seed ^= *seed >> 17;
    *seed ^= *seed << 5;
    *seed
}
