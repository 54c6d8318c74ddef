// SPDX-License-Identifier: GPL-2.0

//! Running a function synchronously on a chosen CPU, or on every online CPU.

use crate::rust_wq::cpu;
use kernel::{
    bindings,
    prelude::*, //
};

struct Call<'a, F, R> {
    f: Option<F>,
    result: Option<R>,
    _borrow: core::marker::PhantomData<&'a ()>,
}

/// # Safety
///
/// `arg` points at a live `Call<F, R>` that nobody else accesses during the call.
unsafe extern "C" fn call_trampoline<F: FnOnce() -> R, R>(arg: *mut c_void) -> c_long {
    // SAFETY: See above.
    let call = unsafe { &mut *arg.cast::<Call<'_, F, R>>() };
    if let Some(f) = call.f.take() {
        call.result = Some(f());
    }
    0
}

/// Runs `f` on `cpu` in a kworker and waits for its result (the C `work_on_cpu`).
///
/// `f` may borrow from the caller: the call returns only after `f` has run. Fails with `EINVAL`
/// or `ENODEV` for a CPU that does not exist or is offline. Sleeps.
pub fn work_on_cpu<F: FnOnce() -> R + Send, R: Send>(cpu: u32, f: F) -> Result<R> {
    let id = cpu::online_cpu(cpu)?;
    let mut call = Call {
        f: Some(f),
        result: None,
        _borrow: core::marker::PhantomData,
    };
    // SAFETY: `call` outlives the call: `work_on_cpu_key` queues an on-stack work item and
    // flushes it before returning. The key is static, as lockdep requires.
    unsafe {
        bindings::work_on_cpu_key(
            id.as_u32() as i32,
            Some(call_trampoline::<F, R>),
            core::ptr::from_mut(&mut call).cast(),
            kernel::static_lock_class!().as_ptr(),
        )
    };
    // A CPU that went offline meanwhile leaves `f` unrun.
    call.result.ok_or(ENODEV)
}

/// Runs `f(cpu)` on every online CPU, one after the other, each in that CPU's kworker, and
/// returns how many CPUs ran it. CPU hotplug is held off meanwhile. Sleeps.
///
/// This is what the unexported C `schedule_on_each_cpu` offers.
pub fn on_each_cpu<F: Fn(u32) + Sync>(f: F) -> Result<u32> {
    // SAFETY: `cpus_read_lock` may sleep; we are in a sleepable context (see above).
    unsafe { bindings::cpus_read_lock() };
    let mut ran = 0;
    let mut res = Ok(());
    for n in cpu::online_cpus() {
        match work_on_cpu(n, || f(n)) {
            Ok(()) => ran += 1,
            Err(e) => {
                res = Err(e);
                break;
            }
        }
    }
    // SAFETY: Paired with the `cpus_read_lock` above.
    unsafe { bindings::cpus_read_unlock() };
    res.map(|()| ran)
}
