// SPDX-License-Identifier: GPL-2.0
//! expect: borrowed data escapes outside of function
//!
//! Delayed work on a `Queue` borrowed for less than `'static`: its timer could outlive the
//! borrow, so `EnqueueDelayed` is only for `&'static Queue` (and owned and devm queues).

use kernel::{prelude::*, sync::Arc};
use rust_wq::prelude::*;
use rust_wq::{DelayedWork, Queue, WorkItem};

#[pin_data]
struct Tick {
    #[pin]
    dwork: DelayedWork<Tick>,
}

rust_wq::impl_has_delayed_work! { impl HasDelayedWork<Self> for Tick { self.dwork } }

impl WorkItem for Tick {
    type Pointer = Arc<Tick>;
    fn run(_this: Arc<Tick>) {}
}

#[allow(dead_code, unexpected_cfgs)]
fn case<'a>(queue: &'a Queue, item: Arc<Tick>) -> Result {
    #[cfg(compile_fail)]
    queue.enqueue_delayed(item, 0).map_err(|e| e.error())?;
    #[cfg(not(compile_fail))]
    {
        let _ = queue;
        rust_wq::system_dfl()
            .enqueue_delayed(item, 0)
            .map_err(|e| e.error())?;
    }
    Ok(())
}
