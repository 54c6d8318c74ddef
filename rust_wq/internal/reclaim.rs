// SPDX-License-Identifier: GPL-2.0

//! Flush dependencies of memory reclaim, checked before C would warn.
//!
//! What is checked and why: [Memory reclaim](crate::rust_wq::error#memory-reclaim). Here: the
//! `seen` bits of items (the kinds of queue each went on, and whether reclaim waited for it), and
//! the module's list of reclaim runners.

use crate::rust_wq::{
    cpu,
    internal::read_once,
    EnqueueErrorKind, //
};
use core::{
    cell::UnsafeCell,
    ptr, //
};
use kernel::{
    bindings, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{
            ordering,
            Atomic, //
        },
        SpinLockIrq, //
    },
};

/// The item was queued on a queue with `WQ_MEM_RECLAIM` and without `__WQ_LEGACY`: its runs are
/// reclaim runners.
pub(in crate::rust_wq) const ON_STRICT_RECLAIM: u32 = 1;
/// The item was queued on a queue without `WQ_MEM_RECLAIM`: waiting for it is not reclaim-safe.
pub(in crate::rust_wq) const ON_NON_RECLAIM: u32 = 2;
/// Reclaim waited for the item, counting on it being reclaim-safe: from now on it may only be
/// queued on queues with `WQ_MEM_RECLAIM` (`EINVAL` otherwise).
pub(in crate::rust_wq) const RECLAIM_WAITED: u32 = 4;
/// The queue is a BH queue (`WQ_BH`): its items run in softirq context (see
/// [`class`](crate::rust_wq::internal::class)).
pub(in crate::rust_wq) const ON_BH: u32 = 8;
/// An item of rust_wq's own that only ever goes on threaded queues (an owned queue's
/// hand-off): no lockdep class to check, so it is never refused for want of room
/// (see [`class`](crate::rust_wq::internal::class)).
pub(in crate::rust_wq) const INTERNAL: u32 = 16;

/// The bits of [`ON_STRICT_RECLAIM`], [`ON_NON_RECLAIM`] and [`ON_BH`] that queueing on a queue
/// with these `WQ_*` flags sets.
#[inline]
pub(in crate::rust_wq) const fn bits_of(flags: u32) -> u32 {
    let reclaim = flags & bindings::wq_flags_WQ_MEM_RECLAIM != 0;
    let legacy = flags & bindings::wq_flags___WQ_LEGACY != 0;
    let bh = if flags & bindings::wq_flags_WQ_BH != 0 {
        ON_BH
    } else {
        0
    };
    bh | match (reclaim, legacy) {
        (true, false) => ON_STRICT_RECLAIM,
        (true, true) => 0,
        (false, _) => ON_NON_RECLAIM,
    }
}

/// Records, before the item is queued, what kind of queue it goes on.
/// [`EnqueueErrorKind::ReclaimLatched`] if reclaim waited for the item and the queue has no
/// `WQ_MEM_RECLAIM`.
#[inline]
pub(in crate::rust_wq) fn note(seen: &Atomic<u32>, bits: u32) -> Result<(), EnqueueErrorKind> {
    // SAFETY: An `Atomic<u32>` is valid and aligned, a word, and only changed atomically.
    // `READ_ONCE()` inline: the steady state (every bit already recorded) is this one load.
    let cur = unsafe { read_once(seen.as_ptr().cast_const()) };
    if cur & bits == bits {
        return Ok(());
    }
    note_new(seen, bits, cur)
}

/// [`note`] when `cur`, the item's bits as read, lacks some of `bits` (once per item and kind of
/// queue): out of line, so that its loop keeps no registers in the enqueue's own code.
#[inline(never)]
fn note_new(seen: &Atomic<u32>, bits: u32, mut cur: u32) -> Result<(), EnqueueErrorKind> {
    while cur & bits != bits {
        if bits & ON_NON_RECLAIM != 0 && cur & RECLAIM_WAITED != 0 {
            return Err(EnqueueErrorKind::ReclaimLatched);
        }
        match seen.cmpxchg(cur, cur | bits, ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(now) => cur = now,
        }
    }
    Ok(())
}

/// What a registered task is doing: running an item of a strict reclaim queue.
pub(in crate::rust_wq) const TAG_RECLAIM: u32 = 1;
/// What a registered task is doing: running the function of a `work_on_cpu`, whose caller holds
/// off CPU hotplug until it returns.
pub(in crate::rust_wq) const TAG_HOTPLUG_HELD: u32 = 2;

/// A registered task on its own stack, linked in [`Runners`] while it runs.
struct Node {
    task: *const c_void,
    tag: u32,
    next: UnsafeCell<*const Node>,
}

/// The reclaim runners of this module: a list of [`Node`]s on their tasks' stacks.
///
/// # Invariants
///
/// Every node in the list lives on the stack of a task that is inside [`run`], which unlinks it
/// before it returns.
#[pin_data]
pub(in crate::rust_wq) struct Runners {
    #[pin]
    head: SpinLockIrq<Head>,
    count: Atomic<u32>,
}

struct Head(*const Node);

// SAFETY: The nodes are only followed under the lock, while their tasks keep them alive.
unsafe impl Send for Head {}

/// The runners of this module, from `Drained`'s `init` until the end of its `drop` (after
/// which no item of the module runs).
static RUNNERS: Atomic<*const Runners> = Atomic::new(ptr::null());

impl Runners {
    pub(in crate::rust_wq) fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            head <- new_spinlock_irq!(Head(ptr::null()), "rust_wq::reclaim::Runners"),
            count: Atomic::new(0),
        })
    }

    /// Publishes `this` as the module's runners.
    ///
    /// # Safety
    ///
    /// `this` stays valid until [`Runners::unpublish`] was called and no item of the module
    /// can run any more.
    pub(in crate::rust_wq) unsafe fn publish(this: *const Self) {
        RUNNERS.store(this, ordering::Release);
    }

    /// Withdraws the module's runners.
    pub(in crate::rust_wq) fn unpublish() {
        RUNNERS.store(ptr::null(), ordering::Release);
    }
}

fn current_task() -> *const c_void {
    kernel::current!().as_ptr().cast_const().cast()
}

/// Runs `f`, the `run` of an item whose queue kinds are `seen`, as a reclaim runner if the item
/// was ever queued on a strict reclaim queue.
///
/// The registration is out of line ([`run_as`]): an item that was never on such a queue (most)
/// costs one test before `f`, with no frame kept around the call for the other case.
#[inline]
pub(in crate::rust_wq) fn run<R>(seen: u32, f: impl FnOnce() -> R) -> R {
    if seen & ON_STRICT_RECLAIM == 0 {
        return f();
    }
    run_as(TAG_RECLAIM, f)
}

/// Runs `f` with the current task registered under `tag` (see [`current_is`]).
#[inline(never)]
pub(in crate::rust_wq) fn run_as<R>(tag: u32, f: impl FnOnce() -> R) -> R {
    let runners = RUNNERS.load(ordering::Acquire);
    if runners.is_null() || !cpu::in_task() {
        return f();
    }
    // SAFETY: Published runners stay valid while items of the module can run (`publish`).
    let runners = unsafe { &*runners };
    let node = Node {
        task: current_task(),
        tag,
        next: UnsafeCell::new(ptr::null()),
    };
    {
        let mut head = runners.head.lock();
        // SAFETY: `node` is ours and not linked yet.
        unsafe { *node.next.get() = head.0 };
        // INVARIANT: `node` lives on our stack until it is unlinked below.
        head.0 = &node;
    }
    runners.count.add(1, ordering::Relaxed);
    let r = f();
    runners.count.fetch_sub(1, ordering::Relaxed);
    let mut head = runners.head.lock();
    let mut link: *mut *const Node = &mut head.0;
    // SAFETY: The list holds live nodes (type invariant) and we hold the lock; ours is in it.
    unsafe {
        while !ptr::eq(*link, &node) {
            link = (**link).next.get();
        }
        *link = *node.next.get();
    }
    r
}

/// Checks that the caller may wait for a queue that has (or has not) `WQ_MEM_RECLAIM`:
/// `EDEADLK` if the caller is a reclaim runner or in memory reclaim and the queue has not.
pub(in crate::rust_wq) fn may_flush(ctx: cpu::Context, target_is_reclaim: bool) -> Result {
    if target_is_reclaim || !in_reclaim(ctx) {
        return Ok(());
    }
    Err(EDEADLK)
}

/// Checks that the caller may wait for the item whose queue kinds are `seen`: `EDEADLK` if the
/// caller is a reclaim runner or in memory reclaim and the item was ever on a queue without
/// `WQ_MEM_RECLAIM`. Otherwise such a caller latches [`RECLAIM_WAITED`], so that the item cannot
/// go on such a queue from now on (between this check and the wait, say).
pub(in crate::rust_wq) fn may_flush_item(ctx: cpu::Context, seen: &Atomic<u32>) -> Result {
    if !in_reclaim(ctx) {
        return Ok(());
    }
    let mut cur = seen.load(ordering::Relaxed);
    loop {
        if cur & ON_NON_RECLAIM != 0 {
            return Err(EDEADLK);
        }
        if cur & RECLAIM_WAITED != 0 {
            return Ok(());
        }
        match seen.cmpxchg(cur, cur | RECLAIM_WAITED, ordering::Relaxed) {
            Ok(_) => return Ok(()),
            Err(now) => cur = now,
        }
    }
}

/// Whether the caller is in memory reclaim or runs an item of a strict reclaim queue.
/// Reclaim runners are kworkers, so only a kworker needs the list.
pub(in crate::rust_wq) fn in_reclaim(ctx: cpu::Context) -> bool {
    ctx.in_memalloc() || (ctx.is_worker() && current_is(TAG_RECLAIM))
}

/// Whether the current task runs something registered under `tag` by [`run_as`].
pub(in crate::rust_wq) fn current_is(tag: u32) -> bool {
    let runners = RUNNERS.load(ordering::Acquire);
    if runners.is_null() {
        return false;
    }
    // SAFETY: As in `run`; we are running code of the module, so its runners are published.
    let runners = unsafe { &*runners };
    if runners.count.load(ordering::Relaxed) == 0 {
        return false;
    }
    let me = current_task();
    let head = runners.head.lock();
    let mut node = head.0;
    while !node.is_null() {
        // SAFETY: Nodes in the list are alive (type invariant); we hold the lock.
        unsafe {
            if ptr::eq((*node).task, me) && (*node).tag == tag {
                return true;
            }
            node = *(*node).next.get();
        }
    }
    false
}
