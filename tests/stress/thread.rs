// SPDX-License-Identifier: GPL-2.0

//! The threads of the torture suite: long-running closures on a queue of the case's own, the
//! pseudo-random numbers they drive load with, and the patient wait for what must happen (on
//! the events of [`crate::event`] wherever one announces it).

use crate::rust_wq::{
    OwnedQueue,
    Unbound, //
};
use kernel::{
    prelude::*,
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    },
};

/// The longest a case waits for what must happen once its load stopped (hand-offs to finish,
/// a barrier to fill): far longer than that takes on any machine, so no verdict depends on its
/// speed.
pub(crate) use crate::event::PATIENCE_MS;

/// Says "too slow to finish: `what`" in the log: a wait for what must happen ran out, and the
/// caller fails on that, apart from any wrong result.
pub(crate) fn too_slow(what: &str) {
    pr_info!(
        "    # too slow to finish: {what} in {} s\n",
        PATIENCE_MS / 1000
    );
}

/// Polls `cond` every millisecond until it holds, for up to `ms` milliseconds; quietly `false`
/// if it never did. Only for a state that nothing announces (a count of rust_wq's).
fn poll(ms: i64, cond: impl Fn() -> bool) -> bool {
    let t0 = Instant::<Monotonic>::now();
    while !cond() {
        if t0.elapsed().as_millis() >= ms {
            return cond();
        }
        fsleep(Delta::from_millis(1));
    }
    true
}

/// Waits until `cond` holds, for up to [`PATIENCE_MS`]. If it never did, says "too slow to
/// finish: `what`" in the log and returns `false`: the caller fails on that, apart from any
/// wrong result.
pub(crate) fn wait_until(what: &str, cond: impl Fn() -> bool) -> bool {
    if poll(PATIENCE_MS, cond) {
        return true;
    }
    too_slow(what);
    false
}

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
