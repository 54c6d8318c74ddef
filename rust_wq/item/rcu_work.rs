// SPDX-License-Identifier: GPL-2.0

//! RCU work: the pinned `rcu_work` wrapper, queued only after an RCU grace period
//! (`queue_rcu_work`), and waited for with `flush_rcu_work`.
//!
//! `queue_rcu_work()` sets the item's `PENDING` bit and hands its `rcu_head` to `call_rcu()`;
//! after a grace period the RCU callback queues the `work_struct` on the queue the item was
//! given (`WORK_CPU_UNBOUND`). So the queue must outlive the grace period, and the module's code
//! must outlive the run. rust_wq keeps both:
//!
//! - An [`OwnedQueue`](crate::rust_wq::OwnedQueue) that ever took an RCU item calls `rcu_barrier()`
//!   before it is destroyed: every RCU callback that targets it has queued its item by then, and
//!   `destroy_workqueue()` runs the item (without the barrier, the callback would queue on a
//!   draining or freed queue). [`OwnedQueue::drain`] waits for the grace periods too.
//! - [`EnqueueDelayed::enqueue_rcu`](crate::rust_wq::EnqueueDelayed::enqueue_rcu) is offered by
//!   the queues that a timer cannot outlive either: owned and devm queues, and `&'static Queue`
//!   (the system queues), as delayed work is.
//! - A module that ever queued an RCU item calls `rcu_barrier()` at unload, after its registry
//!   closed and before it flushes the queues (see [`Drained`](crate::rust_wq::Drained)).
//!
//! # No cancel, no disable
//!
//! C offers neither for `rcu_work` (`queue_rcu_work()` warns if the inner work was disabled),
//! and rust_wq offers neither: during the grace period the item is pending but on no queue, and
//! C's cancel of it spins (`try_to_grab_pending()` says `-EAGAIN`) until the RCU callback has
//! queued it, a grace period later, which in atomic context or under `rcu_read_lock()` never
//! comes. What is left is the handle [`RcuWork::of`]: pending and running
//! state, and [`flush`](crate::rust_wq::RcuWorkRef::flush), which waits for the grace period
//! (`rcu_barrier()`) and the run.
//!
//! # Examples
//!
//! Freeing a table entry once no reader can see it:
//!
//! ```
//! use crate::rust_wq::{impl_has_rcu_work, new_rcu_work, RcuWork, WorkItem};
//! # use crate::rust_wq::OwnedQueue;
//! # struct Entry(u32);
//! # fn unpublish(_table: &(), key: u32) -> Result<KBox<Entry>> {
//! #     Ok(KBox::new(Entry(key), GFP_KERNEL)?)
//! # }
//! # let (table, key) = ((), 1);
//! # let queue = OwnedQueue::unbound().build(c"retire")?;
//!
//! #[pin_data]
//! struct Retired {
//!     entry: KBox<Entry>,
//!     #[pin]
//!     rwork: RcuWork<Retired>,
//! }
//!
//! impl_has_rcu_work! { impl HasRcuWork<Self> for Retired { self.rwork } }
//!
//! impl WorkItem for Retired {
//!     type Pointer = Pin<KBox<Retired>>;
//!     fn run(this: Pin<KBox<Retired>>) {
//!         // A grace period has passed since the enqueue: readers are gone; may sleep here.
//!         drop(this);
//!     }
//! }
//!
//! let old = unpublish(&table, key)?;
//! let item = KBox::pin_init(
//!     pin_init!(Retired { entry: old, rwork <- new_rcu_work!("Retired::rwork") }),
//!     GFP_KERNEL,
//! )?;
//! queue.enqueue_rcu(item)?;
//! drop(queue); // Waits for the grace period (`rcu_barrier()`), runs the item, destroys.
//! # Ok::<(), Error>(())
//! ```
//!
//! [`OwnedQueue::drain`]: crate::rust_wq::OwnedQueue::drain

use crate::rust_wq::{
    internal::registry::Gate,
    item::field::{
        self,
        HasField,
        WorkField, //
    },
    item::work::{
        self,
        PinnedFieldInit, //
    },
    queue::borrowed,
    EnqueueError,
    EnqueueErrorKind,
    RcuPointer,
    WorkItem, //
};
use core::{
    marker::PhantomData,
    ptr, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed,
            Release, //
        },
        LockClassKey, //
    },
    types::Opaque,
};

/// A kernel `struct rcu_work`, embedded in a work item of type `T`.
///
/// `ID` tells several `RcuWork` fields of one struct apart. Create it with [`new_rcu_work!`], which
/// gives every call site its own lockdep class. Queue it with
/// [`EnqueueDelayed::enqueue_rcu`](crate::rust_wq::EnqueueDelayed::enqueue_rcu).
///
/// Its function is [`WorkItem::run`] of `T`, as for [`Work`](crate::rust_wq::Work) and
/// [`DelayedWork`](crate::rust_wq::DelayedWork): the run is the same (the pointer handed over
/// at enqueue time comes back, on a kworker or in softirq context), only the way to the queue
/// differs. A type with a `Work` and an `RcuWork` of the same `ID` runs the same `run` for
/// both; give them different `ID`s to tell them apart.
///
/// # Invariants
///
/// - While the item is pending (from a successful `queue_rcu_work()`, through the grace period,
///   until its run starts), the queue owns exactly one pointer to the containing `T`, from
///   [`WorkItemPointer::into_raw`]; its `run` takes it back. Only rust_wq queues the
///   `rcu_work`, and only with such a pointer.
/// - `rcu_work.wq` is set by `queue_rcu_work()` to a queue that stays valid until the RCU
///   callback has queued the item and the item has run (see `queue` below).
/// - The item is never cancelled or disabled: nothing in rust_wq offers it.
///
/// [`new_rcu_work!`]: crate::new_rcu_work
/// [`WorkItemPointer::into_raw`]: crate::rust_wq::WorkItemPointer::into_raw
#[pin_data(PinnedDrop)]
#[repr(C)]
pub struct RcuWork<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    rwork: Opaque<bindings::rcu_work>,
    /// The kinds of queue the item was ever queued on (`reclaim::ON_*`).
    pub(in crate::rust_wq) seen: Atomic<u32>,
    /// Invariant in `T`: a field of `Item<A>` must not be taken for one of `Item<B>`, a subtype
    /// or supertype (higher-ranked function pointers make such pairs, with `HasWork` impls of
    /// their own that may locate different fields).
    _item: PhantomData<fn(*const T) -> *const T>,
}

#[pinned_drop]
impl<T: ?Sized, const ID: u64> PinnedDrop for RcuWork<T, ID> {
    #[inline]
    fn drop(self: Pin<&mut Self>) {
        // SAFETY: The `rcu_work`'s `work_struct` is initialised. The item being dropped, it is
        // neither waiting for its grace period nor pending (the queue would own a pointer that
        // keeps it alive); it may be running only if it is not on the stack (it is dropped at
        // the end of its own run), and then nothing is done.
        unsafe {
            crate::rust_wq::item::work::forget_if_on_stack(ptr::addr_of_mut!(
                (*self.rwork.get()).work
            ))
        };
    }
}

// SAFETY: Kernel work items may be queued and run from any thread. `T` needs no bound because an
// `RcuWork` does not contain a `T`.
unsafe impl<T: ?Sized, const ID: u64> Send for RcuWork<T, ID> {}
// SAFETY: All methods of `RcuWork` go through the C API, which synchronises internally, or
// atomics.
unsafe impl<T: ?Sized, const ID: u64> Sync for RcuWork<T, ID> {}

// SAFETY: `RcuWork` is `#[repr(C)]` and starts with its `rcu_work` (`Opaque` is transparent),
// which starts with its `work_struct`.
unsafe impl<T: ?Sized, const ID: u64> WorkField for RcuWork<T, ID> {
    #[inline]
    fn seen(&self) -> &Atomic<u32> {
        &self.seen
    }
}

impl<T, const ID: u64> RcuWork<T, ID>
where
    T: WorkItem<ID> + HasRcuWork<T, ID>,
{
    /// Creates a new RCU work item whose function is [`WorkItem::run`] of `T`.
    ///
    /// Prefer [`new_rcu_work!`](crate::new_rcu_work), which supplies the name and a lockdep
    /// class.
    #[inline]
    pub fn new(
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> PinnedFieldInit<Self, impl PinInit<Self>> {
        PinnedFieldInit::new(pin_init!(Self {
            rwork <- Opaque::ffi_init(|slot: *mut bindings::rcu_work| {
                // No queue and no RCU callback yet (C's `INIT_RCU_WORK` leaves them unset).
                // SAFETY: `slot` is valid for writes; all-zero is a valid `rcu_work` to start
                // from, and `init_work` below initialises its `work_struct`.
                unsafe { ptr::write_bytes(slot, 0, 1) };
                // SAFETY: `slot` is valid for writes, and its `work_struct` starts the `RcuWork`
                // (`WorkField`).
                unsafe {
                    field::init_work::<Self, T, ID>(ptr::addr_of_mut!((*slot).work), name, key)
                }
            }),
            seen: Atomic::new(0),
            _item: PhantomData,
        }))
    }
}

impl<T: ?Sized, const ID: u64> RcuWork<T, ID> {
    /// Returns the raw `rcu_work`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::rcu_work {
        self.rwork.get()
    }

    /// Returns the `work_struct` inside the `rcu_work`.
    #[inline]
    pub fn raw_work(&self) -> *mut bindings::work_struct {
        // SAFETY: The `rcu_work` is valid while `self` is; only the address is taken.
        unsafe { ptr::addr_of_mut!((*self.as_raw()).work) }
    }

    /// Whether the item is pending: waiting for its grace period, or queued and not yet running
    /// (its `PENDING` bit, read once: C's `work_pending()`).
    #[inline]
    pub fn is_pending(&self) -> bool {
        // SAFETY: `raw_work` is the initialised `work_struct` of this item.
        unsafe { work::raw_is_pending(self.raw_work()) }
    }
}

/// Declares that a type contains an [`RcuWork<T, ID>`] field, which [`HasField`] locates.
/// Implement both with [`impl_has_rcu_work!`].
///
/// [`impl_has_rcu_work!`]: crate::impl_has_rcu_work
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `RcuWork` field with ID {ID}: it cannot be queued after a grace period",
    label = "this item has no `rust_wq::RcuWork<{T}, {ID}>` field",
    note = "give it a `#[pin] rwork: RcuWork<Self>` field, initialised with \
            `rwork <- new_rcu_work!()`, and declare it with \
            `impl_has_rcu_work! {{ impl HasRcuWork<Self> for {Self} {{ self.rwork }} }}`"
)]
pub trait HasRcuWork<T, const ID: u64 = 0>: HasField<RcuWork<T, ID>> {}

/// Whether this module ever queued an RCU item: its unload then waits for the RCU callbacks
/// (`rcu_barrier()`) before it flushes the queues. Set inside the module's gate, so the unload
/// reads it after the grace period that follows the close.
static QUEUED: Atomic<bool> = Atomic::new(false);

/// Whether this module ever queued an RCU item (read by the unload, after its grace period).
pub(in crate::rust_wq) fn ever_queued() -> bool {
    QUEUED.load(Relaxed)
}

/// Queues `item` on `wq` after an RCU grace period, if the module takes work (see
/// [`Drained`](crate::rust_wq::Drained)): `EBUSY` with the item back if it is pending, the
/// errors of the gate and of [`borrowed::admit`] otherwise. `bits` are the `reclaim::ON_*`
/// bits of the queue's flags. `used`, the flag of an owned queue that makes its destruction
/// wait for the RCU callbacks, is set before the item is handed to RCU.
///
/// # Safety
///
/// `wq` is valid until every RCU callback that may queue an item on it has run and the items
/// have run: it is a queue that lives forever (a system queue), or an owned queue whose `used`
/// flag this is, and whose destruction calls `rcu_barrier()` first when the flag is set, with
/// the caller borrowing its handle during the call.
pub(in crate::rust_wq) unsafe fn queue<P: RcuPointer<ID>, const ID: u64>(
    wq: *mut bindings::workqueue_struct,
    bits: u32,
    used: Option<&Atomic<bool>>,
    item: P,
) -> Result<(), EnqueueError<P>> {
    let raw = item.into_raw();
    // SAFETY: `raw` is valid while we own it (`WorkItemPointer` contract).
    let rw = unsafe { &*P::Target::raw_get_field(raw) };
    // The fast path of a refusal: one load, as in `refuse_if_pending`.
    if rw.is_pending() {
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(EnqueueErrorKind::Busy, unsafe {
            P::from_raw(raw)
        }));
    }
    let gate = match Gate::enter() {
        Ok(gate) => gate,
        // SAFETY: Nothing took the reference.
        Err(e) => return Err(EnqueueError::new(e, unsafe { P::from_raw(raw) })),
    };
    // SAFETY: `rw.raw_work()` is the initialised `work_struct` of an `RcuWork`.
    if let Err(e) = unsafe { borrowed::admit(rw.raw_work(), &rw.seen, bits) } {
        drop(gate);
        // SAFETY: Nothing took the reference.
        return Err(EnqueueError::new(e, unsafe { P::from_raw(raw) }));
    }
    // Set before the RCU callback can exist: the queue's destruction (which happens after this
    // call, as the caller borrows its handle) and the module's unload (after the grace period
    // that follows its close, which waits for this gate) see them.
    if let Some(used) = used {
        used.store(true, Release);
    }
    QUEUED.store(true, Relaxed);
    // SAFETY: The `rcu_work` is initialised, its function turns its `work_struct` back into a
    // `P` (`RcuWork::new`), and it is never disabled (type invariant), so C does not warn. `wq`
    // stays valid until the RCU callback has queued the item on it and the item ran (caller).
    // Any context: it only sets a bit and calls `call_rcu_hurry()`. On `true` the queue owns
    // the reference until `run`: the callback's `__queue_work()` always queues, as the queue is
    // not draining (rust_wq never calls `drain_workqueue`, and `destroy_workqueue` comes after
    // the barrier) and the item is not disabled.
    let queued = unsafe { bindings::queue_rcu_work(wq, rw.as_raw()) };
    drop(gate);
    if queued {
        Ok(())
    } else {
        // SAFETY: The queue did not take the reference: give it back.
        Err(EnqueueError::new(EnqueueErrorKind::Busy, unsafe {
            P::from_raw(raw)
        }))
    }
}

/// Implements [`HasRcuWork`] and [`HasField`] for a struct with an [`RcuWork`] field.
///
/// # Examples
///
/// ```
/// use crate::rust_wq::{impl_has_rcu_work, RcuWork};
///
/// #[pin_data]
/// struct Job {
///     #[pin]
///     rwork: RcuWork<Job>,
/// }
/// impl_has_rcu_work! { impl HasRcuWork<Self> for Job { self.rwork } }
/// ```
#[macro_export]
macro_rules! impl_has_rcu_work {
    ($(impl$({$($generics:tt)*})?
       HasRcuWork<$work_type:ty $(, $id:tt)?>
       for $self:ty
       { self.$field:ident }
    )*) => {$(
        $crate::__rust_wq_impl_has_field!(
            HasRcuWork, RcuWork,
            [$({$($generics)*})?], $work_type, [$($id)?], $self, $field
        );
    )*};
}

/// Creates an [`RcuWork`] initialiser with a lockdep class of its own for this call site (see
/// [Lockdep classes](crate::rust_wq::error#lockdep-classes) for what that means for BH queues).
#[macro_export]
macro_rules! new_rcu_work {
    ($($name:literal)?) => {
        $crate::rust_wq::RcuWork::new(
            ::kernel::optional_name!($($name)?),
            ::kernel::static_lock_class!(),
        )
    };
}
