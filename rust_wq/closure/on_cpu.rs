// SPDX-License-Identifier: GPL-2.0

//! Running a function synchronously on a chosen CPU, or on every online CPU.

use crate::rust_wq::cpu;
use kernel::{
    bindings,
    prelude::*,
    sync::LockClassKey,
    types::Opaque, //
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
        call.result = Some(crate::rust_wq::internal::reclaim::run_as(
            crate::rust_wq::internal::reclaim::TAG_HOTPLUG_HELD,
            f,
        ));
    }
    0
}

/// Runs `f` on `cpu` in a kworker and waits for its result (the C `work_on_cpu_safe`).
///
/// `f` may borrow from the caller: the call returns only after `f` has run. CPU hotplug is held
/// off meanwhile, so `f` runs on `cpu`, or not at all. Sleeps. Do not hold a lock that `f`
/// needs, and do not let `f` wait for CPU hotplug.
///
/// Call it through [`work_on_cpu!`](crate::work_on_cpu), which gives every call site a lockdep
/// class of its own, as C's `work_on_cpu` macro does: with one class for all callers, lockdep
/// would join the locks of unrelated callers into false cycles.
///
/// # Errors
///
/// `f` did not run:
///
/// - `EINVAL`: `cpu` is at or above `nr_cpu_ids`; `ENODEV`: `cpu` is offline.
/// - `EIO`: the kernel returned without running `f` (it does not: a guard against its change).
/// - `EAGAIN`: the caller cannot sleep.
/// - `EDEADLK`: the caller is the function of another `work_on_cpu` (or of `schedule_on_each_cpu`),
///   whose caller holds off hotplug already; or it is in memory reclaim or runs an item of a
///   `WQ_MEM_RECLAIM` queue (not a legacy one), and the function would run on `system_percpu`,
///   which has no `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
/// - `EBUSY`: a CPU hotplug operation is pending or under way while another `work_on_cpu` or
///   `schedule_on_each_cpu` of this module holds hotplug off: that holder may be waiting for this
///   caller, and waiting here behind the hotplug operation, which waits for the holder, would hang
///   all three; and while a kworker takes a CPU down or up (`take_offline` or `bring_online` of the
///   test support), which may be an item that `f` flushes. Retry once the operation is over.
/// - `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained);
///   `ESHUTDOWN`: it is being unloaded.
/// - `EINVAL`: with lockdep, this call site's class went on a BH queue; `ENOSPC`: with lockdep,
///   the module's table of [`CLASSES`](crate::rust_wq::CLASSES) is full.
pub fn work_on_cpu_in<F: FnOnce() -> R + Send, R: Send>(
    class: Pin<&'static LockClassKey>,
    cpu: u32,
    f: F,
) -> Result<R> {
    let _hotplug = hold_hotplug_for(class)?;
    let id = cpu::online_cpu(cpu)?;
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
            class.as_ptr(),
        )
    };
    // `call_trampoline` ran `f` (see above); `EIO` would mean the kernel did not run it.
    call.result.ok_or(EIO)
}

/// What [`work_on_cpu_in`] and [`schedule_on_each_cpu_in`] check before they queue items of
/// `class` that run the caller's function on `system_percpu`, and the hotplug hold they keep
/// while those run.
fn hold_hotplug_for(class: Pin<&'static LockClassKey>) -> Result<cpu::CpusReadGuard> {
    // The registry must be open: the function is module code, registered as running under
    // hotplug.
    drop(crate::rust_wq::internal::registry::Gate::enter()?);
    // The items run in threaded kworkers: a key that went on a BH queue is refused.
    crate::rust_wq::internal::class::note_key(class.as_ptr(), false)?;
    let hotplug = cpu::CpusReadGuard::new()?;
    // `system_percpu` has no `WQ_MEM_RECLAIM`.
    crate::rust_wq::internal::reclaim::may_flush(cpu::context(), false)?;
    Ok(hotplug)
}

/// One CPU's call of [`schedule_on_each_cpu_in`].
///
/// # Invariants
///
/// `work` is initialised with [`each_trampoline`] and is the first field (`repr(C)`).
#[repr(C)]
#[pin_data]
struct EachCall<'a> {
    #[pin]
    work: Opaque<bindings::work_struct>,
    f: &'a (dyn Fn(u32) + Sync),
    cpu: u32,
}

/// The work function of an [`EachCall`].
///
/// # Safety
///
/// `work` is the `work` of a live `EachCall` (which outlives the call).
unsafe extern "C" fn each_trampoline(work: *mut bindings::work_struct) {
    // SAFETY: `work` is the first field of a live `EachCall` (caller, type invariant).
    let call = unsafe { &*work.cast::<EachCall<'_>>() };
    // Registered: `f` runs while the caller holds off hotplug.
    crate::rust_wq::internal::reclaim::run_as(
        crate::rust_wq::internal::reclaim::TAG_HOTPLUG_HELD,
        || (call.f)(call.cpu),
    );
}

/// Runs `f(cpu)` on every online CPU at once, each in that CPU's kworker, waits for all of them
/// and returns how many CPUs ran it (the C `schedule_on_each_cpu`, which modules cannot call).
///
/// `f` may borrow from the caller and runs concurrently on several CPUs. CPU hotplug is held
/// off meanwhile, so each online CPU runs it exactly once. Sleeps; allocates one item per CPU
/// before queueing any.
///
/// Call it through [`schedule_on_each_cpu!`](crate::schedule_on_each_cpu): a lockdep class per
/// call site, as for [`work_on_cpu!`](crate::work_on_cpu).
///
/// # Errors
///
/// `f` ran on no CPU:
///
/// - `ENOMEM`: an item could not be allocated.
/// - `EAGAIN`: the caller cannot sleep.
/// - `EDEADLK`: the caller is the function of another `work_on_cpu` (or of `schedule_on_each_cpu`),
///   whose caller holds off hotplug already; or it is in memory reclaim or runs an item of a
///   `WQ_MEM_RECLAIM` queue (not a legacy one), and the function would run on `system_percpu`,
///   which has no `WQ_MEM_RECLAIM` (see [Memory reclaim](crate::rust_wq::error#memory-reclaim)).
/// - `EBUSY`: a CPU hotplug operation is pending or under way while another `work_on_cpu` or
///   `schedule_on_each_cpu` of this module holds hotplug off: that holder may be waiting for this
///   caller, and waiting here behind the hotplug operation, which waits for the holder, would hang
///   all three; and while a kworker takes a CPU down or up (`take_offline` or `bring_online` of the
///   test support), which may be an item that `f` flushes. Retry once the operation is over.
/// - `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained);
///   `ESHUTDOWN`: it is being unloaded.
/// - `EINVAL`: with lockdep, this call site's class went on a BH queue; `ENOSPC`: with lockdep,
///   the module's table of [`CLASSES`](crate::rust_wq::CLASSES) is full.
pub fn schedule_on_each_cpu_in<F: Fn(u32) + Sync>(
    class: Pin<&'static LockClassKey>,
    f: F,
) -> Result<u32> {
    let hotplug = hold_hotplug_for(class)?;
    let f: &(dyn Fn(u32) + Sync) = &f;
    let mut calls = KVec::new();
    for n in cpu::online_cpus() {
        let call = KBox::pin_init(
            pin_init!(EachCall {
                work <- Opaque::ffi_init(|slot| {
                    // SAFETY: `slot` is valid for writes; `each_trampoline` is a `work_func_t`
                    // for this `work_struct`, the first field of an `EachCall`. The key is
                    // static (the caller's site), and these items only go on `system_percpu`.
                    unsafe {
                        bindings::init_work_with_key(
                            slot,
                            Some(each_trampoline),
                            false,
                            c"rust_wq::schedule_on_each_cpu".as_char_ptr(),
                            class.as_ptr(),
                        )
                    }
                }),
                f,
                cpu: n,
            }),
            GFP_KERNEL,
        )?;
        calls.push(call, GFP_KERNEL)?;
    }
    for call in &calls {
        // SAFETY: `system_percpu_wq` is valid forever; `call.cpu` is online and stays so
        // (hotplug is held off); the item is idle (new) and stays alive until flushed below.
        unsafe {
            bindings::queue_work_on(call.cpu as i32, bindings::system_percpu_wq, call.work.get())
        };
    }
    for call in &calls {
        // SAFETY: The item was queued above and is alive; we may sleep (the guard checked) and
        // are none of these items.
        unsafe { bindings::flush_work(call.work.get()) };
    }
    drop(hotplug);
    // Every item has run and returned: the boxes can go.
    Ok(calls.len() as u32)
}

/// Runs `f` on `cpu` and returns its result: [`work_on_cpu_in`] with a lockdep class of this
/// call site.
///
/// ```
/// # use crate::rust_wq::{cpu, work_on_cpu};
/// let cpu_seen = work_on_cpu!(1, cpu::current_cpu)?;
/// # assert_eq!(cpu_seen, 1);
/// # Ok::<(), Error>(())
/// ```
#[macro_export]
macro_rules! work_on_cpu {
    ($cpu:expr, $f:expr $(,)?) => {
        $crate::rust_wq::closure::on_cpu::work_on_cpu_in(::kernel::static_lock_class!(), $cpu, $f)
    };
}

/// Runs `f(cpu)` on every online CPU at once: [`schedule_on_each_cpu_in`] with a lockdep class
/// of this call site.
#[macro_export]
macro_rules! schedule_on_each_cpu {
    ($f:expr $(,)?) => {
        $crate::rust_wq::closure::on_cpu::schedule_on_each_cpu_in(
            ::kernel::static_lock_class!(),
            $f,
        )
    };
}
