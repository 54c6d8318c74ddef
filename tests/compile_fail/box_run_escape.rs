// SPDX-License-Identifier: GPL-2.0
//! expect: borrowed data escapes
//!
//! Issue 19: a `WorkBox` item's `run` gets a reference that lives only for the call: it cannot
//! keep it, so nothing of the run outlives the box's drop, which waits for the run.

use kernel::prelude::*;
use rust_wq::prelude::*;
use rust_wq::{BoxItem, Requeue, Work};

#[pin_data]
struct Dev {
    #[pin]
    work: Work<Dev>,
}

rust_wq::impl_has_work! { impl HasWork<Self> for Dev { self.work } }

#[allow(dead_code)]
fn keep(_this: Pin<&'static Dev>) {}

impl BoxItem for Dev {
    #[allow(unused_variables)]
    fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {
        #[cfg(compile_fail)]
        keep(this);
    }
}
