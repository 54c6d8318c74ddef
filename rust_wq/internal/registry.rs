// SPDX-License-Identifier: GPL-2.0

//! The registry of a module: what it queued that may outlive its code, and the gate every
//! queueing passes. [`Drained`](crate::rust_wq::Drained) opens it at load and closes it at unload;
//! its documentation says why this is enough.

use crate::rust_wq::{
    internal::{
        read_once,
        reclaim::{
            self,
            Runners, //
        },
        tracker::Tracker,
    },
    item::{
        kernel_item,
        rcu_work, //
    },
    queue::{
        borrowed::WORK_CPU_UNBOUND,
        owned::QueueCore,
        system, //
    },
    EnqueueErrorKind,
    WorkPointer, //
};
use core::{
    ffi::c_void,
    ptr, //
};
use kernel::{
    bindings, new_spinlock,
    prelude::*,
    sync::{
        atomic::{
            Acquire,
            Atomic,
            Relaxed,
            Release, //
        },
        rcu,
        Arc,
        SpinLock, //
    },
};

/// What this module queued that may outlive its code: see [`Drained`](crate::rust_wq::Drained)
/// for why it is enough.
///
/// Open from [`Registry::open`] until dropped: the drop closes it and waits (see
/// [`Drained`](crate::rust_wq::Drained)).
#[pin_data(PinnedDrop)]
pub(in crate::rust_wq) struct Registry {
    /// The delayed items armed on system queues.
    #[pin]
    pub(in crate::rust_wq) system: Tracker,
    /// The owned queues alive, each with one reference of the registry.
    #[pin]
    queues: SpinLock<QueueList>,
    /// The items running that were queued on reclaim queues (see [`reclaim`]).
    #[pin]
    runners: Runners,
}

#[pinned_drop]
impl PinnedDrop for Registry {
    fn drop(self: Pin<&mut Self>) {
        self.shut_down();
        Runners::unpublish();
    }
}

/// The owned queues of a [`Registry`]: raw pointers from `Arc::into_raw`, each one reference.
struct QueueList(KVec<*const QueueCore>);

// SAFETY: The pointers are owned references to `QueueCore`, which is `Send + Sync`.
unsafe impl Send for QueueList {}

/// The registry of this module while it takes work: null before [`Registry::open`] published it
/// and after its drop closed it. Dereferenced only inside an RCU read-side critical section (a
/// [`Gate`], the interrupts-off section of an arm's
/// [`ArmLock::lock_gated`](crate::rust_wq::internal::arm_lock::ArmLock::lock_gated), or
/// `unregister`'s); the plain enqueue compares it with null (see [`gate_word`]).
static REGISTRY: Atomic<*const Registry> = Atomic::new(ptr::null());
/// Whether a registry was ever opened (to tell `EINVAL` from `ESHUTDOWN`); set once, by the one
/// [`Registry::open`] that succeeds.
static OPENED: Atomic<bool> = Atomic::new(false);
/// Whether the `EINVAL` of a module that is not wrapped in
/// [`Drained`](crate::rust_wq::Drained) was explained in the log.
static WARNED: Atomic<bool> = Atomic::new(false);
/// Hand-offs of owned queues queued and not yet finished (see [`hand_off`]).
static HANDOFFS: Atomic<u32> = Atomic::new(0);

/// Proof that this module takes work right now: see [`Drained`](crate::rust_wq::Drained).
///
/// # Invariants
///
/// `registry` is the published registry, and the RCU read lock is held for the gate's lifetime,
/// so the registry is neither closed nor freed while the gate lives.
pub(in crate::rust_wq) struct Gate<'a> {
    registry: &'a Registry,
    _rcu: rcu::Guard,
}

impl Gate<'_> {
    /// Opens a gate, or says why the module cannot take work now.
    #[inline]
    pub(in crate::rust_wq) fn enter() -> Result<Self, EnqueueErrorKind> {
        let guard = rcu::read_lock();
        let reg = REGISTRY.load(Acquire);
        if reg.is_null() {
            drop(guard);
            return Err(Self::refused());
        }
        // SAFETY: The registry is published, so it lives until after a grace period that cannot
        // end while we hold the RCU read lock.
        let registry = unsafe { &*reg };
        // INVARIANT: Published, and the RCU read lock is held by `_rcu`.
        Ok(Self {
            registry,
            _rcu: guard,
        })
    }

    /// Why a gate found the registry closed (a [`Gate`], or the gate of the plain enqueue,
    /// [`gate_word`]).
    #[cold]
    pub(in crate::rust_wq) fn refused() -> EnqueueErrorKind {
        if OPENED.load(Relaxed) {
            return EnqueueErrorKind::Unloading;
        }
        // The module is not wrapped in `Drained` (a wrapped one opens the registry before
        // its own `init` runs). `EINVAL`: the module uses rust_wq against its contract, a
        // mistake in the module's own code, which the kernel reports as an invalid argument
        // (kmod's insmod prints "Invalid parameters", and the log line below says what to
        // write). Not `EPERM`, which C developers read as a missing privilege, a lockdown
        // or a signature; nor `ENOEXEC` (insmod: "Invalid module format"), read as a
        // vermagic or signing mismatch of the file. Printed once per load.
        if !WARNED.xchg(true, Relaxed) {
            pr_err!(
                "rust_wq: work refused (EINVAL): the module is not wrapped in \
                 rust_wq::Drained; in its module! write `type: rust_wq::Drained<M>,` \
                 where it says `type: M,`\n"
            );
        }
        EnqueueErrorKind::NotDrained
    }

    /// Registers an owned queue; the registry keeps a reference until the queue is retired or
    /// the module is unloaded.
    pub(in crate::rust_wq) fn register(&self, core: &Arc<QueueCore>) -> Result {
        let raw = Arc::into_raw(core.clone());
        let res = self.registry.queues.lock().0.push(raw, GFP_ATOMIC);
        res.map_err(|_| {
            // SAFETY: The push failed, so the reference is still ours.
            drop(unsafe { Arc::from_raw(raw) });
            ENOMEM
        })
    }
}

/// The word of the plain enqueue's gate: the module's registry pointer, null while the module
/// takes no work. The C glue's `rust_wq_queue_work_gated` reads it once (`READ_ONCE()`) with
/// interrupts off and queues only if it is not null, in the same interrupts-off section; it never
/// dereferences it. See [`Queue::enqueue_gated`](crate::rust_wq::Queue) for why that section is a
/// gate that the unload waits for. `enqueue_gated` also reads it once before, only to refuse
/// early (the glue's read is the one that decides).
#[inline(always)]
pub(in crate::rust_wq) fn gate_word() -> *const *mut c_void {
    REGISTRY.as_ptr().cast_const().cast()
}

/// Whether the gate is closed, read once and inline, only to refuse early: before an operation
/// records anything of the item, and so that its refusals keep their order. The read that decides
/// is the one inside the operation's interrupts-off section ([`gate_word`]); a close between the
/// two is for good, and that section refuses then with the same error ([`Gate::refused`]).
#[inline(always)]
pub(in crate::rust_wq) fn gate_closed_early() -> bool {
    // SAFETY: The gate word is a static of this module, valid and aligned, only written
    // atomically (`Atomic` stores).
    unsafe { read_once(gate_word()) }.is_null()
}

/// Whether the module's unload has begun: the registry was opened and is closed now.
#[inline]
pub(in crate::rust_wq) fn closing() -> bool {
    REGISTRY.load(Acquire).is_null() && OPENED.load(Relaxed)
}

/// Opens and closes the module's gate once (for the benchmark's cost breakdown); whether the
/// module takes work.
#[cfg(rust_wq_testing)]
#[inline]
pub fn gate_round_trip() -> bool {
    Gate::enter().is_ok()
}

/// How many hand-offs (`hand_off`) are queued or running: tests wait for it to reach zero to
/// know that the owned queues dropped in kworkers are gone, their armed timers fired and their
/// items run.
#[cfg(rust_wq_testing)]
pub fn handoffs_in_flight() -> u32 {
    HANDOFFS.load(Acquire)
}

/// Hands `item` to a kworker of `system_dfl_long`, where something that could not be done where
/// it was asked (destroying an owned queue in a kworker or in atomic context, say) is done; its
/// `run` must end with [`handoff_finished`]. The module's unload waits for it, so it is queued
/// even while the unload runs. `Err` gives the item back, uncounted: unreachable for an item of
/// rust_wq's own that was never queued before, on a queue that refuses nothing else.
pub(in crate::rust_wq) fn hand_off<P: WorkPointer<ID>, const ID: u64>(
    item: P,
) -> core::result::Result<(), P> {
    HANDOFFS.add(1, Relaxed);
    // Internal: no lockdep class to note (only ever queued here), so never `ENOSPC`.
    let bits = reclaim::ON_NON_RECLAIM | reclaim::INTERNAL;
    system::system_dfl_long()
        .enqueue_ungated(WORK_CPU_UNBOUND, bits, item)
        .map_err(|e| {
            handoff_finished();
            e.into_item()
        })
}

/// Ends one hand-off. The caller still returns through module text afterwards: the unload waits
/// for that by flushing the queue the hand-off ran on once more after the count reached zero.
pub(in crate::rust_wq) fn handoff_finished() {
    HANDOFFS.fetch_sub(1, Release);
}

/// Removes `core` from the registry of this module, if it is there, and returns the registry's
/// reference.
pub(in crate::rust_wq) fn unregister(core: &QueueCore) -> Option<Arc<QueueCore>> {
    let guard = rcu::read_lock();
    let reg = REGISTRY.load(Acquire);
    if reg.is_null() {
        // Closed: the unload takes the queues off itself.
        return None;
    }
    // SAFETY: Published, so alive while we hold the RCU read lock (see `Gate`).
    let reg = unsafe { &*reg };
    let mut list = reg.queues.lock();
    let pos = list.0.iter().position(|&p| ptr::eq(p, core))?;
    let raw = list.0.remove(pos).ok()?;
    drop(list);
    drop(guard);
    // SAFETY: The registry owned this reference, and we took it off the list.
    Some(unsafe { Arc::from_raw(raw) })
}

/// The system queues that items of this module may be on.
pub(in crate::rust_wq) fn system_queues() -> [*mut bindings::workqueue_struct; 10] {
    // SAFETY: The system queue pointers are written once at boot, before any module loads.
    unsafe {
        [
            bindings::system_percpu_wq,
            bindings::system_dfl_wq,
            bindings::system_dfl_long_wq,
            bindings::system_highpri_wq,
            bindings::system_long_wq,
            bindings::system_freezable_wq,
            bindings::system_power_efficient_wq,
            bindings::system_freezable_power_efficient_wq,
            bindings::system_bh_wq,
            bindings::system_bh_highpri_wq,
        ]
    }
}

impl Registry {
    /// Makes a registry and opens it: the module takes work from now on. `EBUSY` if a registry
    /// was opened before (a module wraps one type in [`Drained`](crate::rust_wq::Drained)).
    ///
    /// The module's code must not go before the registry is dropped (its drop waits for what
    /// the module queued): [`Drained`](crate::rust_wq::Drained) holds it for the module's life.
    pub(in crate::rust_wq) fn open() -> Result<Pin<KBox<Self>>> {
        // Taken once: of two opens at once, one is `EBUSY` (each would publish its own runners
        // list and registry, and the first drop would free what the other still names).
        if OPENED.cmpxchg(false, true, Relaxed).is_err() {
            return Err(EBUSY);
        }
        let registry = KBox::pin_init(
            pin_init!(Self {
                system <- Tracker::new(),
                queues <- new_spinlock!(QueueList(KVec::new()), "rust_wq::Registry::queues"),
                runners <- Runners::new(),
            }),
            GFP_KERNEL,
        )?;
        // SAFETY: The registry is pinned and lives until its drop, which calls
        // `Runners::unpublish` after the last flush of the module's queues.
        unsafe { Runners::publish(&registry.runners) };
        REGISTRY.store(&*registry, Release);
        Ok(registry)
    }

    /// Closes the registry and waits until nothing this module queued can run any more.
    fn shut_down(&self) {
        REGISTRY.store(ptr::null(), Release);
        // Every queueing that saw the registry open has finished, with its timer linked.
        rcu::synchronize_rcu();
        // Every RCU item queued by then has its RCU callback posted: once they all ran, the
        // items are on their queues, which are flushed below (owned queues are destroyed only
        // after their own barrier). Read after the grace period, which the enqueue that set it
        // (inside a gate) came before.
        if rcu_work::ever_queued() {
            rcu::rcu_barrier();
        }
        // SAFETY: The system tracker's items are armed on system queues, which are never
        // destroyed.
        unsafe { self.system.expedite_all() };
        loop {
            let Some(raw) = self.queues.lock().0.pop() else {
                break;
            };
            // SAFETY: The registry owned this reference; we took it off the list.
            let core = unsafe { Arc::from_raw(raw) };
            core.quiesce();
            // Dropping the last reference destroys the queue.
            drop(core);
        }
        loop {
            let kernel_runs = kernel_item::runs();
            // The deprecated `system_wq` and `system_unbound_wq` too: rust_wq queues nothing
            // there, but in-tree items that the module queued on rust_wq's queues may requeue
            // themselves there through `kernel::workqueue` (see `kernel_item`).
            // SAFETY: The system queue pointers are written once at boot.
            let deprecated = unsafe { [bindings::system_wq, bindings::system_unbound_wq] };
            for wq in Iterator::chain(system_queues().into_iter(), deprecated) {
                // SAFETY: System queues are valid forever; we are in process context (module
                // exit) and hold no lock an item could need.
                unsafe { bindings::__flush_workqueue(wq) };
            }
            // Everything queued before the close has run; only a hand-off can still be queued
            // (by an item that dropped an owned queue, or by another hand-off's drain), or an
            // in-tree item that a run of this round requeued through `kernel::workqueue` onto a
            // queue flushed before (each such item runs its own code at most once after the
            // close: see `kernel_item::run_kernel`). A round in which no in-tree item ran at all
            // (none under way at its start, none started since) leaves none queued by the
            // module's code, but for in-tree items armed with a timer by `kernel::workqueue`,
            // which nothing of rust_wq sees (rule 16 of docs/soundness.md).
            if HANDOFFS.load(Acquire) == 0 && kernel_item::quiet_since(kernel_runs) {
                break;
            }
        }
        // The last hand-off may still be returning from its function: wait for that too.
        // SAFETY: As above.
        unsafe { bindings::__flush_workqueue(bindings::system_dfl_long_wq) };
    }
}
