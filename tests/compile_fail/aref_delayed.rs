// SPDX-License-Identifier: GPL-2.0
//! expect: cannot own a delayed work item
//!
//! Issue 16: an `ARef` must not own a delayed item (`AlwaysRefCounted` may free its object
//! without dropping it, and a delayed item's tracker needs the drop).

use kernel::{
    prelude::*,
    sync::aref::{ARef, AlwaysRefCounted},
};
use rust_wq::prelude::*;
use rust_wq::{DelayedWork, WorkItem};

#[pin_data]
struct Counted {
    #[pin]
    dwork: DelayedWork<Counted>,
}

rust_wq::impl_has_delayed_work! { impl HasDelayedWork<Self> for Counted { self.dwork } }

// SAFETY: A test type that is never created.
unsafe impl AlwaysRefCounted for Counted {
    fn inc_ref(&self) {}
    unsafe fn dec_ref(_obj: core::ptr::NonNull<Self>) {}
}

// SAFETY: As above.
unsafe impl Send for Counted {}
// SAFETY: As above.
unsafe impl Sync for Counted {}

impl WorkItem for Counted {
    type Pointer = ARef<Counted>;
    fn run(_this: ARef<Counted>) {}
}

#[allow(dead_code, unexpected_cfgs)]
fn case(item: ARef<Counted>) -> Result {
    #[cfg(compile_fail)]
    rust_wq::system_dfl()
        .enqueue_delayed(item, 0)
        .map_err(|e| e.error())?;
    #[cfg(not(compile_fail))]
    drop(item);
    Ok(())
}
