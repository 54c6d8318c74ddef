// SPDX-License-Identifier: GPL-2.0
//! expect: a field of type `work::Work<Job>` must be pinned: add `#[pin]` to it
//!
//! Issue 17: a `Work` field without `#[pin]` in a `#[pin_data]` struct, initialised with
//! `new_work!`. pin-init said "`impl PinInit<Work<_, _>>: Init<...>` is not satisfied"; the
//! message says what to write.

use kernel::sync::Arc;
use rust_wq::{Work, WorkItem};

#[cfg(compile_fail)]
#[pin_data]
struct Job {
    work: Work<Job>,
}

#[cfg(not(compile_fail))]
#[pin_data]
struct Job {
    #[pin]
    work: Work<Job>,
}

rust_wq::impl_has_work! { impl HasWork<Self> for Job { self.work } }

impl WorkItem for Job {
    type Pointer = Arc<Job>;
    fn run(_this: Arc<Job>) {}
}

#[allow(dead_code, unexpected_cfgs)]
fn case() -> Result<Arc<Job>> {
    let item = pin_init!(Job {
        work <- crate::new_work!("Job::work"),
    });
    Ok(Arc::pin_init(item, GFP_KERNEL)?)
}
