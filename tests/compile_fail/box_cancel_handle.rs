// SPDX-License-Identifier: GPL-2.0
//! expect: a cancel or disable does not hand
//!
//! Issue 19: the pointer a queue holds for a `WorkBox` item is valid only while the box lives, so
//! the handles that give the queue's pointer back (`cancel`, `cancel_sync`, `disable`,
//! `disable_sync`) do not take a box item: its fields are cancelled through the box.

use kernel::prelude::*;
use rust_wq::prelude::*;
use rust_wq::{BoxItem, Requeue, Work, WorkBox};

#[pin_data]
struct Dev {
    #[pin]
    work: Work<Dev>,
}

rust_wq::impl_has_work! { impl HasWork<Self> for Dev { self.work } }

impl BoxItem for Dev {
    fn run(_this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {}
}

#[allow(dead_code, unexpected_cfgs)]
fn case(dev: &WorkBox<Dev>) {
    #[cfg(compile_fail)]
    drop(Work::of(&**dev).cancel());
    #[cfg(not(compile_fail))]
    let _ = dev.cancel::<0>();
}
