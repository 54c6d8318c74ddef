// SPDX-License-Identifier: GPL-2.0
//! expect: a field of type `delayed::DelayedWork<Tick>` must be pinned: add `#[pin]` to it
//!
//! Issue 17: a `DelayedWork` field without `#[pin]`, initialised with `new_delayed_work!`.

use kernel::sync::Arc;
use rust_wq::{DelayedWork, WorkItem};

#[cfg(compile_fail)]
#[pin_data]
struct Tick {
    dwork: DelayedWork<Tick>,
}

#[cfg(not(compile_fail))]
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
fn case() -> Result<Arc<Tick>> {
    let item = pin_init!(Tick {
        dwork <- crate::new_delayed_work!("Tick::dwork"),
    });
    Ok(Arc::pin_init(item, GFP_KERNEL)?)
}
