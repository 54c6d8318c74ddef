// SPDX-License-Identifier: GPL-2.0

//! [`Queue`]: a borrowed `workqueue_struct`, and the enqueue path every kind of queue goes
//! through ([`Enqueue`](crate::rust_wq::Enqueue) calls it).

use crate::rust_wq::{
    cpu,
    glue::{
        rust_wq_queue_work_gated,
        rust_wq_queue_work_on_gated, //
    },
    internal::class,
    internal::reclaim,
    internal::registry::{
        self,
        Gate, //
    },
    queue::{
        owned::QueueCore,
        WorkPointer, //
    },
    EnqueueError,
    EnqueueErrorKind,
    HasField,
    Work, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::atomic::Atomic,
    types::Opaque, //
};

/// `WORK_CPU_UNBOUND`: "the local CPU" for per-CPU queues, "any CPU" for unbound ones.
pub(in crate::rust_wq) const WORK_CPU_UNBOUND: i32 =
    bindings::wq_misc_consts_WORK_CPU_UNBOUND as i32;

/// The `cpu` argument of the `queue_*_on` functions: `WORK_CPU_UNBOUND` for `None`, else a CPU
/// that is possible ([`EnqueueErrorKind::NoSuchCpu`] otherwise) and online
/// ([`EnqueueErrorKind::CpuOffline`] otherwise).
#[inline]
pub(in crate::rust_wq) fn target_cpu(cpu: Option<u32>) -> Result<i32, EnqueueErrorKind> {
    match cpu {
        None => Ok(WORK_CPU_UNBOUND),
        Some(n) => match cpu::online_cpu(n) {
            Ok(id) => Ok(id.as_u32() as i32),
            Err(e) => Err(EnqueueErrorKind::of_cpu(e)),
        },
    }
}

/// A workqueue the caller can queue on but does not own, such as a system queue
/// ([`system_percpu`](crate::rust_wq::system_percpu) and friends).
///
/// Flushing and draining are not offered here: they belong to the owner of a queue (flushing a
/// system queue is deprecated in C). Queueing is [`Enqueue`](crate::rust_wq::Enqueue); delayed
/// and RCU items ([`EnqueueDelayed`](crate::rust_wq::EnqueueDelayed)) need a `&'static Queue`,
/// because a pending timer would otherwise outlive the queue it targets. An
/// [`OwnedQueue`](crate::rust_wq::OwnedQueue) tracks its own delayed work and does not hand out a
/// `&Queue`.
#[repr(transparent)]
pub struct Queue(Opaque<bindings::workqueue_struct>);

// SAFETY: The C workqueue API may be used from any thread.
unsafe impl Send for Queue {}
// SAFETY: The C workqueue API may be used from any thread, concurrently.
unsafe impl Sync for Queue {}

/// Runs `f` on the [`Work`] of the item that `item` owns, and gives `item` back.
#[inline]
pub(in crate::rust_wq) fn peek_work<P: WorkPointer<ID>, const ID: u64, R>(
    item: P,
    f: impl FnOnce(&Work<P::Target, ID>) -> R,
) -> (P, R) {
    let raw = item.into_raw();
    // SAFETY: `raw` is valid while we own it; `into_raw`/`from_raw` move no reference count.
    let r = f(unsafe { &*P::Target::raw_get_field(raw) });
    // SAFETY: `raw` came from `into_raw` just above, and nothing took it.
    (unsafe { P::from_raw(raw) }, r)
}

/// Takes `item` over as a raw pointer and records its bookkeeping for a queue with `bits`
/// ([`admit`]): the raw pointer (the reference the queue is to take) and its `work_struct`, or
/// the item back with the reason `admit` refused it.
#[inline(always)]
fn admitted<P: WorkPointer<ID>, const ID: u64>(
    item: P,
    bits: u32,
) -> Result<(*mut P::Target, *mut bindings::work_struct), EnqueueError<P>> {
    let raw = item.into_raw();
    // SAFETY: `raw` is valid while we own it (`WorkItemPointer` contract).
    let work = unsafe { &*P::Target::raw_get_field(raw) };
    // SAFETY: `work` is an initialised `Work`, alive while we own `raw`.
    if let Err(e) = unsafe { admit(work.as_raw(), &work.seen, bits) } {
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(e, unsafe { P::from_raw(raw) }));
    }
    Ok((raw, work.as_raw()))
}

/// The fast path of a refused enqueue: an item that is pending already is refused with `EBUSY`
/// at the cost of one load, as C's `test_and_set_bit` would refuse it.
#[inline]
pub(in crate::rust_wq) fn refuse_if_pending<P: WorkPointer<ID>, const ID: u64>(
    item: P,
) -> Result<P, EnqueueError<P>> {
    match peek_work(item, |w| w.is_pending()) {
        (item, true) => Err(EnqueueError::new(EnqueueErrorKind::Busy, item)),
        (item, false) => Ok(item),
    }
}

/// What every queueing records before C sees the item (plain, delayed or RCU): the kind of queue
/// its lockdep class goes on ([Lockdep classes](crate::rust_wq::error#lockdep-classes); not for
/// rust_wq's internal items, `INTERNAL` in `bits`), and the kinds of queue it was ever on ([Memory
/// reclaim](crate::rust_wq::error#memory-reclaim)). `bits` are the `reclaim::ON_*` bits of the
/// queue.
///
/// # Safety
///
/// `work` must be an initialised `work_struct` that stays valid during the call.
#[inline]
pub(in crate::rust_wq) unsafe fn admit(
    work: *mut bindings::work_struct,
    seen: &Atomic<u32>,
    bits: u32,
) -> Result<(), EnqueueErrorKind> {
    if bits & reclaim::INTERNAL == 0 {
        // SAFETY: `work` is initialised and valid (the caller's promise).
        unsafe { class::note(work, bits & reclaim::ON_BH != 0) }?;
    }
    reclaim::note(seen, bits)
}

impl Queue {
    /// Borrows a `workqueue_struct`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at a valid workqueue, not the queue of an
    /// [`OwnedQueue`](crate::rust_wq::OwnedQueue) (whose delayed items its own tracker follows),
    /// that is neither destroyed nor drained (`drain_workqueue`) during `'a`: C silently drops
    /// items queued on a draining queue. Unless it is one of the system queues, the caller must
    /// also flush it before the module is unloaded: [`Drained`](crate::rust_wq::Drained) flushes
    /// only the queues it knows. If the module queues RCU items on it
    /// ([`EnqueueDelayed::enqueue_rcu`](crate::rust_wq::EnqueueDelayed::enqueue_rcu)), that flush
    /// must come after an `rcu_barrier()` that follows the last such enqueue: they reach the queue
    /// only after their grace period. It must not have `WQ_MEM_RECLAIM` without `__WQ_LEGACY`
    /// (rust_wq would not know that its items run on a reclaim path, see [Memory
    /// reclaim](crate::rust_wq::error#memory-reclaim)), nor `WQ_BH` (rust_wq would not refuse a
    /// CPU's timer on it, which C strands on the CPU's pool once it goes offline).
    #[inline]
    pub unsafe fn from_raw<'a>(ptr: *const bindings::workqueue_struct) -> &'a Queue {
        // SAFETY: `Queue` is `#[repr(transparent)]`; the caller promises validity for `'a`.
        unsafe { &*ptr.cast::<Queue>() }
    }

    /// The `reclaim::ON_*` bits of queueing here. No `Queue` has `WQ_MEM_RECLAIM` without
    /// `__WQ_LEGACY` ([`Queue::from_raw`]); the only ones with `WQ_BH` are the two system BH
    /// queues, which only kernels with lockdep need to tell apart (see
    /// [Lockdep classes](crate::rust_wq::error#lockdep-classes)).
    #[inline]
    pub(in crate::rust_wq) fn bits(&self) -> u32 {
        #[cfg(CONFIG_LOCKDEP)]
        if self.is_system_bh() {
            return reclaim::ON_NON_RECLAIM | reclaim::ON_BH;
        }
        reclaim::ON_NON_RECLAIM
    }

    /// Returns the raw `workqueue_struct`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::workqueue_struct {
        self.0.get()
    }

    /// Queues `item` on `cpu` if it is online, as [`Queue::enqueue_gated`] queues it: one call
    /// into the C glue (`rust_wq_queue_work_on_gated`) checks that the CPU is online, takes the
    /// gate, counts and queues, in one interrupts-off section. Interrupts are off from the check
    /// to the queueing, so the CPU cannot go offline in between (taking a CPU down needs every CPU
    /// to run its stopper thread): on a BH queue, C would warn and strand the item on a dead CPU's
    /// pool. `bits` and `core` as in [`Queue::enqueue_gated`].
    ///
    /// The refusals keep their order: a pending item (`Busy`), then a CPU that does not exist
    /// (`NoSuchCpu`) or is offline (`CpuOffline`), then a closed gate, then the item's bookkeeping
    /// ([`admit`]). So the CPU is checked early too, inline, before the gate and the bookkeeping;
    /// the glue's check is the one that decides: a CPU that went offline since is refused there
    /// with the same `CpuOffline`, before the gate, with the item back (what its bookkeeping
    /// recorded then stays recorded, as for an item that C refuses, see [`Queue::enqueue_gated`]).
    #[inline]
    pub(in crate::rust_wq) fn enqueue_on_cpu<P: WorkPointer<ID>, const ID: u64>(
        &self,
        cpu: u32,
        bits: u32,
        core: Option<&QueueCore>,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let item = refuse_if_pending(item)?;
        let cpu = match target_cpu(Some(cpu)) {
            Ok(cpu) => cpu,
            Err(e) => return Err(EnqueueError::new(e, item)),
        };
        self.gated::<P, ID, true>(cpu, bits, core, item)
    }

    /// Whether this is one of the system BH queues.
    pub(in crate::rust_wq) fn is_system_bh(&self) -> bool {
        let me = self.as_raw();
        // SAFETY: The system queue pointers are written once at boot, before any module loads.
        unsafe { me == bindings::system_bh_wq || me == bindings::system_bh_highpri_wq }
    }

    /// Queues `item` on `cpu` if the module takes work (see [`Drained`](crate::rust_wq::Drained)),
    /// counting the enqueue in `core`'s per-CPU counts for
    /// [`OwnedQueue::drain`](crate::rust_wq::OwnedQueue::drain) if it is an owned queue's and
    /// its first drain made them. `cpu` is
    /// `WORK_CPU_UNBOUND` or a possible CPU; `bits` are the `reclaim::ON_*` bits of the queue's
    /// flags.
    ///
    /// # The gate
    ///
    /// One call into the C glue (`rust_wq_queue_work_gated`) takes the gate, counts and queues,
    /// with interrupts off from the gate's check to the end of `queue_work_on()`: the module's
    /// registry pointer ([`registry::gate_word`]) is read once in that section and the item is
    /// queued only if it was not null. That section is the gate, as an RCU read-side critical
    /// section would be: `synchronize_rcu()` waits for "regions of code across which interrupts,
    /// preemption, or softirqs have been disabled" too (its comment in `kernel/rcu/tree.c`, since
    /// v5.0, when the RCU flavours were consolidated), and it orders them as it orders
    /// `rcu_read_lock()` sections. The unload (`Registry::shut_down`) stores null, then calls
    /// `synchronize_rcu()`, which returns only after every such section that began before the
    /// call has ended (its item queued by then); a section that extends beyond its return began
    /// after the call and reads null (the grace period's memory barriers order the store before
    /// it), so it queues nothing. So once the grace period ends, everything this module queued
    /// through the gate is on its queue, and the unload's flushes wait for it to run. The word is
    /// only compared with null, never dereferenced: no registry is borrowed.
    ///
    /// The item's bookkeeping ([`admit`]: its lockdep class and the kinds of queue it was on) is
    /// recorded before the gate, as before C sees the item; it touches only the item and this
    /// module's statics, which need no gate. So that an item the gate refuses records nothing,
    /// the gate word is read once before too: a closed gate (a registry not opened yet, or an
    /// unload begun) refuses there, as [`Gate::enter`] would, with the same error; a close
    /// between that read and the glue's is for good, so what that item recorded can refuse no
    /// later queueing of the module. What the bookkeeping records for an item that C then
    /// refuses (a disabled item: `queue_work_on` returns false) or that `admit` itself refuses
    /// half-way stays recorded, as on every other enqueue path: it only makes later checks
    /// stricter (a refusal, never a lockdep report or a missed flush dependency).
    #[inline]
    pub(in crate::rust_wq) fn enqueue_gated<P: WorkPointer<ID>, const ID: u64>(
        &self,
        cpu: i32,
        bits: u32,
        core: Option<&QueueCore>,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        self.gated::<P, ID, false>(cpu, bits, core, item)
    }

    /// [`Queue::enqueue_gated`], and with `ON_CPU` [`Queue::enqueue_on_cpu`] after its early
    /// checks: `cpu` is then a possible CPU, which the glue checks to be online in its section.
    #[inline(always)]
    fn gated<P: WorkPointer<ID>, const ID: u64, const ON_CPU: bool>(
        &self,
        cpu: i32,
        bits: u32,
        core: Option<&QueueCore>,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        if registry::gate_closed_early() {
            return Err(EnqueueError::new(Gate::refused(), item));
        }
        let counts = core.map_or(core::ptr::null(), QueueCore::counts);
        let (raw, work) = admitted(item, bits)?;
        // SAFETY: The gate word is a static of this module, valid and aligned, only written
        // atomically (`Atomic` stores). `counts` is null or the counts word of `core`, an owned
        // queue's shared part, which we borrow: an `Atomic` pointer, null or the live per-CPU
        // allocation of the glue that the core frees.
        // `work` is an initialised `work_struct` whose function turns it back into a `P`
        // (`Work::new`); `self` is a valid queue; the CPU is valid (see above; with `ON_CPU` a
        // possible one, whose bit of the online mask the glue reads). On 1 the queue owns the
        // reference until `run`; 1 always means queued: the queue is not being destroyed while
        // borrowed, and rust_wq never calls `drain_workqueue` (whose draining state would make C
        // drop the item).
        let r = unsafe {
            if ON_CPU {
                rust_wq_queue_work_on_gated(registry::gate_word(), counts, cpu, self.as_raw(), work)
            } else {
                rust_wq_queue_work_gated(registry::gate_word(), counts, cpu, self.as_raw(), work)
            }
        };
        if r > 0 {
            return Ok(());
        }
        let kind = if r == 0 {
            EnqueueErrorKind::Busy
        } else if ON_CPU && r == -(bindings::ENODEV as i32) {
            EnqueueErrorKind::CpuOffline
        } else {
            Gate::refused()
        };
        // SAFETY: The queue did not take the reference: give it back.
        Err(EnqueueError::new(kind, unsafe { P::from_raw(raw) }))
    }

    /// Queues `item` to a CPU or a NUMA node if the module takes work, inside the module's
    /// [`Gate`] (an RCU read-side critical section). The caller counts the enqueue on an owned
    /// queue. `bits` as in [`Queue::enqueue_gated`].
    #[inline]
    pub(in crate::rust_wq) fn enqueue_gated_to<P: WorkPointer<ID>, const ID: u64>(
        &self,
        target: Target,
        bits: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let gate = match Gate::enter() {
            Ok(gate) => gate,
            Err(e) => return Err(EnqueueError::new(e, item)),
        };
        let res = self.enqueue_ungated_to(target, bits, item);
        drop(gate);
        res
    }

    /// Queues `item` without asking the module's registry: only for the hand-off of owned
    /// queues, which the module's unload waits for by other means. `bits` as in
    /// [`Queue::enqueue_gated`].
    pub(in crate::rust_wq) fn enqueue_ungated<P: WorkPointer<ID>, const ID: u64>(
        &self,
        cpu: i32,
        bits: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        self.enqueue_ungated_to(Target::Cpu(cpu), bits, item)
    }

    fn enqueue_ungated_to<P: WorkPointer<ID>, const ID: u64>(
        &self,
        target: Target,
        bits: u32,
        item: P,
    ) -> Result<(), EnqueueError<P>> {
        let (raw, work) = admitted(item, bits)?;
        // SAFETY: `work` is an initialised `work_struct` whose function turns it back into a `P`
        // (`Work::new`); `self` is a valid queue; the CPU is valid (see above), a node is any
        // (C falls back to any CPU for one that is not online), and only unbound queues are
        // given one (`OwnedQueue::enqueue_on_node`). On `true` the queue owns the reference
        // until `run`. `true` always means queued: the queue is not being destroyed while
        // borrowed, and rust_wq never calls `drain_workqueue` (whose draining state would make
        // C drop the item).
        let queued = unsafe {
            match target {
                Target::Cpu(cpu) => bindings::queue_work_on(cpu, self.as_raw(), work),
                Target::Node(node) => bindings::queue_work_node(node, self.as_raw(), work),
            }
        };
        if queued {
            Ok(())
        } else {
            // SAFETY: The queue did not take the reference: give it back.
            Err(EnqueueError::new(EnqueueErrorKind::Busy, unsafe {
                P::from_raw(raw)
            }))
        }
    }
}

/// Where [`Queue::enqueue_gated_to`] queues: `queue_work_on` a CPU (or `WORK_CPU_UNBOUND`), or
/// `queue_work_node` a NUMA node (unbound queues only).
#[derive(Clone, Copy)]
pub(in crate::rust_wq) enum Target {
    Cpu(i32),
    Node(i32),
}
