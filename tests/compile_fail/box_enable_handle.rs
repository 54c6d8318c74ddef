// SPDX-License-Identifier: GPL-2.0
//! expect: a cancel or disable does not hand
//!
//! Issue 19: a `WorkBox`'s drop disables its fields for good before it frees them; a run still
//! going must not undo that with the handle's `enable` (it could then queue the field again, and
//! the box would be freed with it queued). `enable` is for `GivenBack` pointers only.

use kernel::prelude::*;
use rust_wq::prelude::*;
use rust_wq::{BoxItem, Requeue, Work};

#[pin_data]
struct Dev {
    #[pin]
    work: Work<Dev>,
}

rust_wq::impl_has_work! { impl HasWork<Self> for Dev { self.work } }

impl BoxItem for Dev {
    #[allow(unused_variables)]
    fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {
        #[cfg(compile_fail)]
        let _ = Work::of(&*this).enable();
        #[cfg(not(compile_fail))]
        let _ = Work::of(&*this).is_pending();
    }
}
