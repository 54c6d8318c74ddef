// SPDX-License-Identifier: GPL-2.0

//! The KUnit suites on a kernel without KUnit (a distribution's): `ktap_suites.py` writes them
//! as plain modules, and this runs them, each case in a kthread of its own (`ktap_runtime.c`),
//! printing KTAP as KUnit would. A failed assertion fails its case and ends it, as under KUnit
//! (its thread exits, so what it holds is not dropped); assertions off the case's thread are
//! reported but do not count, as under KUnit.

use kernel::{
    ffi::{
        c_char,
        c_int,
        c_uint,
        c_void, //
    },
    prelude::*,
};

/// One suite: its name and its cases (each returns whether it passed).
pub(crate) struct Suite {
    pub(crate) name: &'static CStr,
    pub(crate) cases: &'static [(&'static CStr, fn() -> bool)],
}

/// What a case returns: `()` or a `Result`.
pub(crate) trait Outcome {
    fn passed(self) -> bool;
}

impl Outcome for () {
    fn passed(self) -> bool {
        true
    }
}

impl<T, E> Outcome for Result<T, E> {
    fn passed(self) -> bool {
        self.is_ok()
    }
}

/// Whether a case's return value means it passed.
pub(crate) fn passed(o: impl Outcome) -> bool {
    o.passed()
}

extern "C" {
    fn rust_wq_ktap_run_case(run: unsafe extern "C" fn(*mut c_void), arg: *mut c_void) -> c_int;
    fn rust_wq_ktap_fail(file: *const c_char, line: c_uint, what: *const c_char);
}

/// Reports a failed assertion (the `assert!` of the suites here).
pub(crate) fn fail(file: &CStr, line: u32, what: &CStr) {
    // SAFETY: Both strings are NUL-terminated and outlive the call.
    unsafe { rust_wq_ktap_fail(file.as_char_ptr(), line, what.as_char_ptr()) };
}

/// `assert!` for the suites here: a failure is reported, and on the case's thread it ends the
/// case as failed.
macro_rules! ktap_assert {
    ($cond:expr $(,)?) => {{
        if !$cond {
            $crate::ktap::fail(
                ::kernel::c_str!(::core::file!()),
                ::core::line!(),
                ::kernel::c_str!(::core::stringify!($cond)),
            );
        }
    }};
    ($cond:expr, $($arg:tt)+) => {{
        $crate::ktap::ktap_assert!($cond)
    }};
}

/// `assert_eq!` for the suites here.
macro_rules! ktap_assert_eq {
    ($left:expr, $right:expr $(,)?) => {{
        $crate::ktap::ktap_assert!($left == $right)
    }};
}

/// `assert_ne!` for the suites here.
#[allow(unused_macros)]
macro_rules! ktap_assert_ne {
    ($left:expr, $right:expr $(,)?) => {{
        $crate::ktap::ktap_assert!($left != $right)
    }};
}

pub(crate) use ktap_assert;
pub(crate) use ktap_assert as assert;
pub(crate) use ktap_assert_eq as assert_eq;
pub(crate) use ktap_assert_ne as assert_ne;

struct Case {
    f: fn() -> bool,
    passed: bool,
}

unsafe extern "C" fn trampoline(arg: *mut c_void) {
    // SAFETY: `arg` is the `Case` that `run` passed, alive until the case's thread is done.
    let case = unsafe { &mut *arg.cast::<Case>() };
    case.passed = (case.f)();
}

/// Runs every suite and prints one KTAP document; returns the number of failed cases.
pub(crate) fn run(suites: &[Suite]) -> usize {
    let mut failed_all = 0;
    pr_info!("KTAP version 1\n");
    pr_info!("1..{}\n", suites.len());
    for (i, s) in suites.iter().enumerate() {
        pr_info!("    KTAP version 1\n");
        pr_info!("    # Subtest: {}\n", s.name.to_str().unwrap_or("?"));
        pr_info!("    1..{}\n", s.cases.len());
        let mut failed = 0;
        for (j, (name, f)) in s.cases.iter().enumerate() {
            let mut case = Case {
                f: *f,
                passed: false,
            };
            // SAFETY: `trampoline` takes the `Case` we pass, which outlives the call (the C side
            // waits for the case's thread).
            let failures =
                unsafe { rust_wq_ktap_run_case(trampoline, (&raw mut case).cast::<c_void>()) };
            let ok = case.passed && failures == 0;
            if !ok {
                failed += 1;
            }
            let verdict = if ok { "ok" } else { "not ok" };
            let name = name.to_str().unwrap_or("?");
            pr_info!("    {verdict} {} {name}\n", j + 1);
        }
        let verdict = if failed == 0 { "ok" } else { "not ok" };
        let name = s.name.to_str().unwrap_or("?");
        pr_info!("{verdict} {} {name}\n", i + 1);
        failed_all += failed;
    }
    failed_all
}
