// SPDX-License-Identifier: GPL-2.0

//! rust_wq_selftest: a KUnit suite that fails on purpose, for the harness's own test
//! (`scripts/selftest.sh`). The module parameter `mode` (set on the kernel command line as
//! `rust_wq_selftest.mode=N`) chooses how: 0 passes, 1 a flipped assertion, 2 a WARN (fatal with
//! `panic_on_warn`), 3 a splat that does not panic (a stack dump), 4 a hang, 5 a crash (a NULL
//! dereference: an Oops). `make check` never loads it.

use kernel::prelude::*;

#[path = "../../rust_wq/lib.rs"]
pub mod rust_wq;

module! {
    type: rust_wq::Drained<RustWqSelftest>,
    name: "rust_wq_selftest",
    authors: ["rust_wq developers"],
    description: "Fails on purpose, to test the test harness",
    license: "GPL",
    params: {
        mode: u32 {
            default: 0,
            description: "0 pass, 1 assertion, 2 WARN, 3 splat, 4 hang, 5 crash",
        },
    },
}

struct RustWqSelftest;

impl kernel::Module for RustWqSelftest {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        Ok(Self)
    }
}

#[kunit_tests(rust_wq_selftest)]
mod tests {
    use kernel::time::{
        delay::fsleep,
        Delta, //
    };

    // Inside the suite: a kernel without KUnit builds no suite, and nothing would call it.
    extern "C" {
        fn rust_wq_selftest_dump_stack();
    }

    fn mode() -> u32 {
        crate::module_parameters::mode.value()
    }

    #[test]
    fn passes() {
        assert_eq!(1 + 1, 2);
    }

    #[test]
    fn fails_as_asked() {
        match mode() {
            1 => assert_eq!(1 + 1, 3),
            2 => {
                kernel::warn_on!(true);
            }
            // SAFETY: Only prints the stack.
            3 => unsafe { rust_wq_selftest_dump_stack() },
            4 => loop {
                fsleep(Delta::from_millis(100));
            },
            5 => {
                let p = core::ptr::null_mut::<u32>();
                // SAFETY: Not safe at all: this mode crashes the kernel on purpose.
                unsafe { core::ptr::write_volatile(p, 1) };
            }
            _ => {}
        }
    }

    #[test]
    fn runs_after() {
        assert!(mode() < 100);
    }
}
