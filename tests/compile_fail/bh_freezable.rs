// SPDX-License-Identifier: GPL-2.0
//! expect: run in softirq context: this needs a kworker
//!
//! BH queues have no kworkers to freeze.

use kernel::prelude::*;
use rust_wq::OwnedQueue;

#[allow(dead_code, unexpected_cfgs)]
fn case() -> Result {
    #[cfg(compile_fail)]
    let _q = OwnedQueue::bh().freezable().build(c"cf")?;
    #[cfg(not(compile_fail))]
    let _q = OwnedQueue::percpu().freezable().build(c"cf")?;
    Ok(())
}
