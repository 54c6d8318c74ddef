// SPDX-License-Identifier: GPL-2.0
//! expect: a field of type `RcuWork<Tick>` must be pinned: add `#[pin]` to it
//!
//! Issue 17: an `RcuWork` field without `#[pin]`, initialised with `new_rcu_work!`.

use kernel::sync::Arc;
use rust_wq::{RcuWork, WorkItem};

#[cfg(compile_fail)]
#[pin_data]
struct Tick {
    rwork: RcuWork<Tick>,
}

#[cfg(not(compile_fail))]
#[pin_data]
struct Tick {
    #[pin]
    rwork: RcuWork<Tick>,
}

rust_wq::impl_has_rcu_work! { impl HasRcuWork<Self> for Tick { self.rwork } }

impl WorkItem for Tick {
    type Pointer = Arc<Tick>;
    fn run(_this: Arc<Tick>) {}
}

#[allow(dead_code, unexpected_cfgs)]
fn case() -> Result<Arc<Tick>> {
    let item = pin_init!(Tick {
        rwork <- crate::new_rcu_work!("Tick::rwork"),
    });
    Ok(Arc::pin_init(item, GFP_KERNEL)?)
}
