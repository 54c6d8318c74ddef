// SPDX-License-Identifier: GPL-2.0
//! expect: one type is more general than the other
//!
//! Issue 19: `Work`, `DelayedWork` and `RcuWork` are invariant in their item type. Covariant, an
//! item of `Var<for<'x> fn(&'x u8)>` could be used as one of `Var<fn(&'static u8)>` (its
//! supertype), whose `HasWork` impl may name another field: the field queued would then be run
//! as a field of the wrong type, at the wrong address.

use kernel::prelude::*;
use rust_wq::prelude::*;
use rust_wq::{BoxItem, Requeue, Work, WorkBox};

type Hr = for<'x> fn(&'x u8);
#[allow(dead_code)]
type NonHr = fn(&'static u8);

#[pin_data]
struct Var<F: 'static> {
    #[pin]
    a: Work<Var<F>>,
    f: Option<F>,
}

rust_wq::impl_has_work! { impl HasWork<Self> for Var<Hr> { self.a } }

impl BoxItem for Var<Hr> {
    fn run(_this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {}
}

#[allow(dead_code, unexpected_cfgs)]
fn case(b: &WorkBox<Var<Hr>>) {
    #[cfg(compile_fail)]
    let _c: &WorkBox<Var<NonHr>> = b;
    #[cfg(not(compile_fail))]
    let _ = b.f;
}
