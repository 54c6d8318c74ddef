// SPDX-License-Identifier: GPL-2.0

//! CPU ids checked before they reach `queue_work_on`, and facts about the running context.

use crate::rust_wq::{
    glue::{
        rust_wq_context,
        rust_wq_cpu_to_node,
        rust_wq_in_hardirq,
        rust_wq_in_task,
        rust_wq_may_sleep,
        rust_wq_node_online,
        rust_wq_nr_node_ids,
        rust_wq_preemptible, //
    },
    internal::read_once,
};
use kernel::{
    bindings,
    cpu::CpuId,
    ffi::c_ulong,
    prelude::*,
    sync::atomic::{
        Acquire,
        Atomic,
        Full,
        Release, //
    },
};

pub use kernel::cpu::nr_cpu_ids;

/// Returns whether `cpu` is online right now (it may go offline at any time after).
///
/// C's `cpu_online()`, inline: one `READ_ONCE()` of the word of `cpu_online_mask` that holds the
/// CPU's bit, where `cpumask_test_cpu()` would be a call to a C helper.
#[inline]
pub fn cpu_online(cpu: CpuId) -> bool {
    const BITS: usize = bindings::BITS_PER_LONG as usize;
    let n = cpu.as_u32() as usize;
    // SAFETY: `__cpu_online_mask` is a valid, always-initialised cpumask of `NR_CPUS` bits, and
    // `cpu` is below `nr_cpu_ids`, at most `NR_CPUS` (an invariant of `CpuId`), so the word of
    // its bit is inside the mask; that word is aligned, and C changes it only with atomic bit
    // operations (`set_cpu_online()`), as `read_once` requires.
    let word = unsafe {
        read_once(
            core::ptr::addr_of!(bindings::__cpu_online_mask.bits)
                .cast::<c_ulong>()
                .add(n / BITS),
        )
    };
    word & (1 << (n % BITS)) != 0
}

/// Turns a CPU number into a [`CpuId`] that is possible and online.
///
/// # Errors
///
/// - `EINVAL`: `cpu` is at or above `nr_cpu_ids` (C would index a per-CPU area out of bounds).
/// - `ENODEV`: `cpu` is not online (C would warn).
#[inline]
pub fn online_cpu(cpu: u32) -> Result<CpuId> {
    if cpu >= nr_cpu_ids() {
        return Err(EINVAL);
    }
    // SAFETY: `cpu` is below `nr_cpu_ids`, checked just above.
    let id = unsafe { CpuId::from_u32_unchecked(cpu) };
    if cpu_online(id) {
        Ok(id)
    } else {
        Err(ENODEV)
    }
}

/// Checks that the caller may sleep.
///
/// # Errors
///
/// - `EAGAIN` (`EWOULDBLOCK`): in interrupt or softirq context (a BH item's `run`, an
///   interrupt's top half), with interrupts or preemption off, under a spinlock or an RCU read
///   lock. Without `CONFIG_PREEMPT_COUNT` the kernel cannot see the last three, and neither can
///   this check.
#[inline]
pub fn may_sleep() -> Result {
    // SAFETY: Only reads the preempt count, the IRQ flags and the task's RCU nesting.
    if unsafe { rust_wq_may_sleep() } {
        Ok(())
    } else {
        Err(EAGAIN)
    }
}

/// What a caller that is about to wait is: see [`context`].
#[derive(Clone, Copy)]
pub(in crate::rust_wq) struct Context(u32);

impl Context {
    /// The context as the C glue gives it (`rust_wq_context()`'s bits).
    #[inline]
    pub(in crate::rust_wq) fn from_glue(bits: u32) -> Self {
        Self(bits)
    }

    /// The caller may sleep (see [`may_sleep`]).
    pub(in crate::rust_wq) fn may_sleep(self) -> bool {
        self.0 & 1 != 0
    }

    /// The caller is in memory reclaim (`PF_MEMALLOC`).
    pub(in crate::rust_wq) fn in_memalloc(self) -> bool {
        self.0 & 2 != 0
    }

    /// The caller is a kworker (`PF_WQ_WORKER`): only then can `current_work()` be non-NULL.
    pub(in crate::rust_wq) fn is_worker(self) -> bool {
        self.0 & 4 != 0
    }
}

/// Reads the caller's [`Context`] in one call.
#[inline]
pub(in crate::rust_wq) fn context() -> Context {
    // SAFETY: Only reads the preempt count, the IRQ flags and the current task's flags.
    Context(unsafe { rust_wq_context() })
}

/// Holds off CPU hotplug while it lives (`cpus_read_lock()`): online CPUs stay online.
///
/// Not offered to drivers: a holder that waited for a hotplug operation would hang it.
pub(in crate::rust_wq) struct CpusReadGuard(());

/// How many [`CpusReadGuard`]s of this module are held or being taken.
static HOLDERS: Atomic<u32> = Atomic::new(0);

/// How many kworkers are in (or about to start) a hotplug operation of `take_offline` or
/// `bring_online` (test support, `--cfg rust_wq_testing`; always 0 in other builds, where safe code
/// has no way to take a CPU down or up). With [`HOLDERS`] it forms a two-sided check: each side
/// counts itself (`Full`) before it reads the other's count, so of a guard and a kworker's
/// operation that start at once, at least one sees the other and is `EBUSY`. A check on one side
/// alone leaves a window: a kworker that found no holder, then a guard taken before its operation
/// became a pending writer, whose holder then flushes that kworker's item: the three would hang.
static WORKER_OPS: Atomic<u32> = Atomic::new(0);

impl CpusReadGuard {
    /// Takes the hotplug read lock. Sleeps: `EAGAIN` where the caller cannot; `EDEADLK` from the
    /// function of a `work_on_cpu`, whose caller holds it already (taking it again would hang
    /// behind a waiting hotplug operation).
    ///
    /// `EBUSY` while a hotplug operation is pending or under way and another guard of this
    /// module is held: its holder may be waiting, through a flush, for this very caller (an item
    /// that `work_on_cpu`'s function flushes, calling `work_on_cpu` itself), and a reader that
    /// blocked here would wait behind the hotplug operation, which waits for that holder: the
    /// three would hang. Refusing is the only answer that cannot hang; the caller may retry once
    /// the hotplug operation is over. Without another guard, it waits for the operation.
    ///
    /// `EBUSY` too while a kworker is in `take_offline` or `bring_online` (test builds, see
    /// [`WORKER_OPS`]): this guard's holder may flush that kworker's item.
    pub(in crate::rust_wq) fn new() -> Result<Self> {
        may_sleep()?;
        if crate::rust_wq::internal::reclaim::current_is(
            crate::rust_wq::internal::reclaim::TAG_HOTPLUG_HELD,
        ) {
            return Err(EDEADLK);
        }
        // Counted before trying: two guards taken at once each see the other (`Full` both
        // ways), so a holder that took the lock before a hotplug writer arrived is seen by any
        // guard whose try fails because that writer is now pending.
        HOLDERS.fetch_add(1, Full);
        if WORKER_OPS.load(Acquire) != 0 {
            HOLDERS.fetch_sub(1, Release);
            return Err(EBUSY);
        }
        // SAFETY: We may sleep (checked above); released by `Drop` if taken.
        if unsafe { bindings::cpus_read_trylock() } != 0 {
            return Ok(Self(()));
        }
        if HOLDERS.load(Acquire) > 1 {
            HOLDERS.fetch_sub(1, Release);
            return Err(EBUSY);
        }
        // SAFETY: We may sleep (checked above); released by `Drop`.
        unsafe { bindings::cpus_read_lock() };
        Ok(Self(()))
    }
}

impl Drop for CpusReadGuard {
    fn drop(&mut self) {
        // SAFETY: Taken in `new`, once per guard.
        unsafe { bindings::cpus_read_unlock() };
        HOLDERS.fetch_sub(1, Release);
    }
}

/// What [`take_offline`] and [`bring_online`] check before a hotplug operation, which waits
/// for every holder of the hotplug lock: `EAGAIN` where the caller cannot sleep, `EDEADLK` in
/// the function of a `work_on_cpu` (its caller is a holder) and in memory reclaim, a
/// `PF_MEMALLOC` task or an item of a strict `WQ_MEM_RECLAIM` queue (the operation waits for
/// every CPU's workers, whose work may need memory), `EBUSY` in a kworker
/// while a `work_on_cpu` of this module holds hotplug off (that holder may be waiting for this
/// item). A kworker stays counted in [`WORKER_OPS`] while the returned value lives.
#[cfg(rust_wq_testing)]
fn may_operate_hotplug() -> Result<Option<WorkerOp>> {
    may_sleep()?;
    let ctx = context();
    if crate::rust_wq::internal::reclaim::in_reclaim(ctx)
        || crate::rust_wq::internal::reclaim::current_is(
            crate::rust_wq::internal::reclaim::TAG_HOTPLUG_HELD,
        )
    {
        return Err(EDEADLK);
    }
    if !ctx.is_worker() {
        // No guard's holder waits for a task that is not a kworker.
        return Ok(None);
    }
    // Counted before looking (see `WORKER_OPS`): a guard taken after this sees the count.
    WORKER_OPS.fetch_add(1, Full);
    let op = WorkerOp(());
    if HOLDERS.load(Acquire) != 0 {
        return Err(EBUSY);
    }
    Ok(Some(op))
}

/// A kworker's hotplug operation, counted in [`WORKER_OPS`] while this lives.
#[cfg(rust_wq_testing)]
struct WorkerOp(());

#[cfg(rust_wq_testing)]
impl Drop for WorkerOp {
    fn drop(&mut self) {
        WORKER_OPS.fetch_sub(1, Release);
    }
}

/// Whether the caller runs in hard interrupt context (`in_hardirq()`).
#[inline]
pub fn in_hardirq() -> bool {
    // SAFETY: `in_hardirq()` only reads the preempt count; any context is fine.
    unsafe { rust_wq_in_hardirq() }
}

/// Whether the caller runs in task (process) context (`in_task()`).
#[inline]
pub fn in_task() -> bool {
    // SAFETY: `in_task()` only reads the preempt count; any context is fine.
    unsafe { rust_wq_in_task() }
}

/// Whether the caller may be preempted, and so may sleep (`preemptible()`).
#[inline]
pub fn preemptible() -> bool {
    // SAFETY: `preemptible()` only reads the preempt count and IRQ flags; any context is fine.
    unsafe { rust_wq_preemptible() }
}

/// Takes `cpu` offline (`remove_cpu()`), as writing 0 to its sysfs `online` file does. For
/// tests and tools that exercise CPU hotplug. Sleeps. Like any hotplug operation, it waits for
/// every holder of the hotplug lock: do not call it from work that such a holder waits for.
///
/// # Errors
///
/// - `EAGAIN`: the caller cannot sleep.
/// - `EDEADLK`: the caller is the function of a [`work_on_cpu`](crate::rust_wq::work_on_cpu),
///   whose caller holds off hotplug until it returns, or is in memory reclaim (`PF_MEMALLOC`, or
///   an item of a strict `WQ_MEM_RECLAIM` queue): the operation waits for every CPU's workers,
///   whose work may need memory.
/// - `EBUSY`: the caller is a kworker while a `work_on_cpu` of this module holds hotplug off or
///   is taking that hold (that holder may be waiting for this very item).
/// - `EINVAL`: `cpu` is at or above `nr_cpu_ids`.
/// - `ENODEV`: `cpu` is possible but not present (a slot for a CPU that may be plugged in
///   later, as in a virtual machine started with more possible than present CPUs): it has no
///   CPU device, which `remove_cpu()` and `add_cpu()` would dereference.
/// - The kernel's own errors of `remove_cpu()`, such as `EBUSY` for the last online CPU (a
///   lasting answer: do not retry it in a loop) or while hotplug is disabled.
///
/// `EBUSY` of rule 15 (docs/soundness.md) lasts while the hold does: an item that a
/// `work_on_cpu!` function flushes must not retry it within the same run (the hold waits for
/// that run); give up, or queue the item again.
///
/// A CPU hot-removed (ACPI eject) at the very moment of the call loses its device between the
/// check and the operation: the kernel does not export the lock (`lock_device_hotplug`) that
/// orders the two (rule 19 of docs/soundness.md).
#[cfg(rust_wq_testing)]
pub fn take_offline(cpu: u32) -> Result {
    let _op = may_operate_hotplug()?;
    let id = hotplug_target(cpu)?;
    // SAFETY: `id` is a possible CPU whose CPU device was registered just now
    // (`hotplug_target`; only a concurrent hot-removal unregisters it, rule 19); we may sleep
    // and hold no hotplug lock: this module holds one only while a `work_on_cpu` or
    // `schedule_on_each_cpu` waits for its functions, and `may_operate_hotplug` refused those
    // (`TAG_HOTPLUG_HELD`).
    kernel::error::to_result(unsafe { bindings::remove_cpu(id.as_u32()) })
}

/// `cpu` as a CPU that [`take_offline`] and [`bring_online`] may operate: possible (`EINVAL`)
/// and present, with its CPU device registered (`ENODEV`).
#[cfg(rust_wq_testing)]
fn hotplug_target(cpu: u32) -> Result<CpuId> {
    let id = CpuId::from_u32(cpu).ok_or(EINVAL)?;
    // SAFETY: `id` is below `nr_cpu_ids`; `get_cpu_device` only reads a per-CPU pointer.
    if unsafe { bindings::get_cpu_device(id.as_u32()) }.is_null() {
        return Err(ENODEV);
    }
    Ok(id)
}

/// Brings `cpu` back online (`add_cpu()`).
///
/// # Errors
///
/// Those of [`take_offline`], then the kernel's own errors of `add_cpu()`.
#[cfg(rust_wq_testing)]
pub fn bring_online(cpu: u32) -> Result {
    let _op = may_operate_hotplug()?;
    let id = hotplug_target(cpu)?;
    // SAFETY: As in `take_offline`.
    kernel::error::to_result(unsafe { bindings::add_cpu(id.as_u32()) })
}

/// The CPUs online right now, in ascending order (any may go offline at any time after).
pub fn online_cpus() -> impl Iterator<Item = u32> {
    (0..nr_cpu_ids()).filter(|&n| online_cpu(n).is_ok())
}

/// The number of NUMA node ids the kernel may use (`nr_node_ids`; 1 without `CONFIG_NUMA`).
pub fn nr_node_ids() -> u32 {
    // SAFETY: Reads a variable written once at boot.
    unsafe { rust_wq_nr_node_ids() }
}

/// Returns `node` if it exists and is online. It may go offline at any time after.
///
/// # Errors
///
/// - `EINVAL`: `node` is at or above [`nr_node_ids`].
/// - `ENODEV`: `node` is offline.
pub fn online_node(node: u32) -> Result<i32> {
    if node >= nr_node_ids() {
        return Err(EINVAL);
    }
    let node = node as i32;
    // SAFETY: `node` is below `nr_node_ids`, a valid index of the node state masks.
    if unsafe { rust_wq_node_online(node) } {
        Ok(node)
    } else {
        Err(ENODEV)
    }
}

/// The NUMA node of a possible `cpu` (`cpu_to_node`).
///
/// # Errors
///
/// - `EINVAL`: `cpu` is not a possible CPU.
pub fn node_of(cpu: u32) -> Result<u32> {
    let cpu = i32::try_from(cpu).map_err(|_| EINVAL)?;
    // SAFETY: Any id is fine: the glue reads the node only of a possible CPU.
    let node = unsafe { rust_wq_cpu_to_node(cpu) };
    u32::try_from(node).map_err(|_| EINVAL)
}

/// Returns the CPU the caller runs on (it may migrate right after unless preemption is off).
#[inline]
pub fn current_cpu() -> u32 {
    CpuId::current().as_u32()
}

/// The longest description [`set_worker_desc`] takes, in bytes (C's `WORKER_DESC_LEN` less its
/// NUL).
pub const WORKER_DESC_MAX: usize = bindings::wq_misc_consts_WORKER_DESC_LEN as usize - 1;

/// Describes what the current kworker does (C's `set_worker_desc`): `ps` shows it while the
/// item runs (`kworker/1:2+desc`), and stack dumps of the worker print it. It lasts until the
/// worker starts its next item, which starts with its queue's name.
///
/// # Errors
///
/// Nothing changes then:
///
/// - `ENAMETOOLONG`: `desc` is longer than [`WORKER_DESC_MAX`] bytes (C would cut it short).
/// - `EINVAL`: the caller is not a kworker in task context (a BH item, any other thread).
pub fn set_worker_desc(desc: &CStr) -> Result {
    if desc.to_bytes().len() > WORKER_DESC_MAX {
        return Err(ENAMETOOLONG);
    }
    if !in_task() || !context().is_worker() {
        return Err(EINVAL);
    }
    // SAFETY: `"%s"` takes one NUL-terminated string, which `desc` is; C copies it into the
    // current worker's buffer (bounded by its size) before returning.
    unsafe { bindings::set_worker_desc(c"%s".as_char_ptr(), desc.as_char_ptr()) };
    Ok(())
}

/// The name (`comm`) of the current task, e.g. `kworker/2:1` or `kworker/u9:0`.
#[derive(Clone, Copy)]
pub struct TaskName([u8; 16]);

impl TaskName {
    /// Reads the name of the current task.
    pub fn current() -> Self {
        let mut buf = [0u8; 16];
        let task = kernel::current!().as_ptr();
        for (i, b) in buf.iter_mut().enumerate().take(15) {
            // SAFETY: `task` is the current task, valid while we run. `comm` is an array of at
            // least 16 bytes; a concurrent rename only changes its bytes, which we read one by
            // one with volatile reads.
            *b = unsafe { core::ptr::read_volatile(core::ptr::addr_of!((*task).comm[i])) } as u8;
        }
        Self(buf)
    }

    /// The name as bytes, without the terminating NUL.
    pub fn as_bytes(&self) -> &[u8] {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(self.0.len());
        &self.0[..len]
    }

    /// Whether the name starts with `prefix`.
    pub fn starts_with(&self, prefix: &[u8]) -> bool {
        self.as_bytes().starts_with(prefix)
    }

    /// Whether the current task was a per-CPU kworker of `cpu` (`kworker/<cpu>:<id>[H]`).
    #[cfg(rust_wq_testing)]
    pub fn is_percpu_kworker_of(&self, cpu: u32) -> bool {
        let Some(rest) = self.as_bytes().strip_prefix(b"kworker/") else {
            return false;
        };
        let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
        if digits == 0 || rest.get(digits) != Some(&b':') {
            return false;
        }
        let n = rest[..digits]
            .iter()
            .fold(0u64, |n, &d| n * 10 + u64::from(d - b'0'));
        n == u64::from(cpu)
    }

    /// Whether the current task was an unbound kworker (`kworker/u<pool>:<id>`).
    #[cfg(rust_wq_testing)]
    pub fn is_unbound_kworker(&self) -> bool {
        self.starts_with(b"kworker/u")
    }

    /// Whether the name ends with the high-priority marker `H` of per-CPU kworkers.
    #[cfg(rust_wq_testing)]
    pub fn is_highpri_kworker(&self) -> bool {
        self.starts_with(b"kworker/") && self.as_bytes().last() == Some(&b'H')
    }
}

impl kernel::fmt::Display for TaskName {
    fn fmt(&self, f: &mut kernel::fmt::Formatter<'_>) -> kernel::fmt::Result {
        for &b in self.as_bytes() {
            core::fmt::Write::write_char(f, b as char)?;
        }
        Ok(())
    }
}
