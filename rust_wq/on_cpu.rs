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
        // Registered: `f` must not take the hotplug lock again, nor wait for hotplug.
        call.result = Some(crate::rust_wq::reclaim::run_as(
            crate::rust_wq::reclaim::TAG_HOTPLUG_HELD,
            f,
        ));
    }
    0
}

/// Runs `f` on `cpu` in a kworker and waits for its result (the C `work_on_cpu_safe`).
///
/// `f` may borrow from the caller: the call returns only after `f` has run. CPU hotplug is held
/// off meanwhile, so `f` runs on `cpu`, or not at all: `EINVAL` for a CPU that does not exist,
/// `ENODEV` for one that is offline. Sleeps (`EAGAIN` where the caller cannot). `EDEADLK` from
/// inside another `work_on_cpu`'s `f`. Do not hold a lock that `f` needs, and do not let `f`
/// wait for CPU hotplug.
///
/// Like queueing, it needs the module to take work ([`Drained`](crate::rust_wq::Drained)):
/// `EPERM` / `ESHUTDOWN` otherwise.
pub fn work_on_cpu<F: FnOnce() -> R + Send, R: Send>(cpu: u32, f: F) -> Result<R> {
    // The registry must be open so that `f` is registered as running under the hotplug lock.
    drop(crate::rust_wq::drained::Gate::enter()?);
    let hotplug = cpu::CpusReadGuard::new()?;
    let r = work_on_cpu_locked(&hotplug, cpu, f);
    drop(hotplug);
    r
}

/// [`work_on_cpu`] with hotplug already held off by the caller.
fn work_on_cpu_locked<F: FnOnce() -> R + Send, R: Send>(
    _hotplug: &cpu::CpusReadGuard,
    cpu: u32,
    f: F,
) -> Result<R> {
    let id = cpu::online_cpu(cpu)?;
    // The item runs on `system_percpu`, which has no `WQ_MEM_RECLAIM`.
    crate::rust_wq::reclaim::may_flush(cpu::context(), false)?;
    let mut call = Call {
        f: Some(f),
        result: None,
        _borrow: core::marker::PhantomData,
    };
    // SAFETY: `call` outlives the call: `work_on_cpu_key` queues an on-stack work item and
    // flushes it before returning. The key is static, as lockdep requires. `id` is online and
    // stays so (hotplug is held off), so the item runs on it and `f` runs exactly once.
    unsafe {
        bindings::work_on_cpu_key(
            id.as_u32() as i32,
            Some(call_trampoline::<F, R>),
            core::ptr::from_mut(&mut call).cast(),
            kernel::static_lock_class!().as_ptr(),
        )
    };
    // `call_trampoline` ran `f` (see above); `EIO` would mean the kernel did not run it.
    call.result.ok_or(EIO)
}

/// Runs `f(cpu)` on every online CPU, one after the other, each in that CPU's kworker, and
/// returns how many CPUs ran it. CPU hotplug is held off meanwhile. Sleeps (`EAGAIN` where the
/// caller cannot).
///
/// This is what the unexported C `schedule_on_each_cpu` offers.
pub fn on_each_cpu<F: Fn(u32) + Sync>(f: F) -> Result<u32> {
    drop(crate::rust_wq::drained::Gate::enter()?);
    let hotplug = cpu::CpusReadGuard::new()?;
    let mut ran = 0;
    for n in cpu::online_cpus() {
        work_on_cpu_locked(&hotplug, n, || f(n))?;
        ran += 1;
    }
    Ok(ran)
}
