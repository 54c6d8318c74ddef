// SPDX-License-Identifier: GPL-2.0
//! expect: `max_active` is not adjustable on a queue of kind `Ordered`
//!
//! An ordered queue runs one item at a time: no `max_active` to set.

use kernel::prelude::*;
use rust_wq::OwnedQueue;

#[allow(dead_code, unexpected_cfgs)]
fn case() -> Result {
    #[cfg(compile_fail)]
    let _q = OwnedQueue::ordered().max_active(2).build(c"cf")?;
    #[cfg(not(compile_fail))]
    let _q = OwnedQueue::unbound().max_active(2).build(c"cf")?;
    Ok(())
}
