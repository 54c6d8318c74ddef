// SPDX-License-Identifier: GPL-2.0
//! expect: has no `Work` field with ID 0
//!
//! An item with only a `DelayedWork` field given to `enqueue`: the message says how it is queued.

use kernel::{prelude::*, sync::Arc};
use rust_wq::prelude::*;
use rust_wq::{DelayedWork, WorkItem};

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
fn case(item: Arc<Tick>) -> Result {
    #[cfg(compile_fail)]
    rust_wq::system_dfl().enqueue(item).map_err(|e| e.error())?;
    #[cfg(not(compile_fail))]
    rust_wq::system_dfl()
        .enqueue_delayed(item, 0)
        .map_err(|e| e.error())?;
    Ok(())
}
