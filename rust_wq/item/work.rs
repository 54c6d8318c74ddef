// SPDX-License-Identifier: GPL-2.0

//! Work items: the pinned `work_struct` wrapper and the traits that tie it to its container.

use crate::rust_wq::{
    glue::rust_wq_cancel_work_sync_counted,
    internal::{
        arm_lock::MAX_DISABLE,
        bool_or_errno,
        read_once, //
    },
    item::field::{
        self,
        HasField,
        WorkField, //
    },
};
use core::marker::PhantomData;
use kernel::{
    bindings,
    prelude::*,
    sync::{
        aref::{
            ARef,
            AlwaysRefCounted, //
        },
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        LockClassKey, //
    },
    types::Opaque,
};

/// A kernel `struct work_struct`, embedded in a work item of type `T`.
///
/// `ID` tells several `Work` fields of one struct apart. Create it with [`new_work!`], which
/// gives every call site its own lockdep class.
///
/// # Invariants
///
/// - While the item is pending, the queue owns exactly one pointer to the containing `T`, from
///   [`WorkItemPointer::into_raw`]; its `run` (or a cancel that reports the item pending) takes
///   it back. Only rust_wq queues the `work_struct`, and only with such a pointer.
/// - `disables` packs two counts of disables: the high half those started, the low half those
///   finished in C. C's disable count is at least the low half and at most the high half, and the
///   high half is at most [`MAX_DISABLE`](crate::rust_wq::MAX_DISABLE), so C's count never
///   underflows or overflows.
///
/// [`new_work!`]: crate::new_work
#[pin_data(PinnedDrop)]
#[repr(C)]
pub struct Work<T: ?Sized, const ID: u64 = 0> {
    #[pin]
    work: Opaque<bindings::work_struct>,
    disables: Atomic<u32>,
    /// The kinds of queue the item was ever queued on (`reclaim::ON_*`).
    pub(in crate::rust_wq) seen: Atomic<u32>,
    /// Invariant in `T`: a field of `Item<A>` must not be taken for one of `Item<B>`, a subtype
    /// or supertype (higher-ranked function pointers make such pairs, with `HasWork` impls of
    /// their own that may locate different fields).
    _item: PhantomData<fn(*const T) -> *const T>,
}

#[pinned_drop]
impl<T: ?Sized, const ID: u64> PinnedDrop for Work<T, ID> {
    #[inline]
    fn drop(self: Pin<&mut Self>) {
        // An item built on the stack leaves the object debugger's books with its frame.
        // SAFETY: The `work_struct` is initialised. Being dropped, it is not pending (a queue
        // would own a pointer that keeps the item alive); it may be running only if it is not on
        // the stack (it is dropped at the end of its own run), and then nothing is done.
        unsafe { forget_if_on_stack(self.work.get()) };
    }
}

/// The initialiser of a [`Work`], [`DelayedWork`](crate::rust_wq::DelayedWork) or
/// [`RcuWork`](crate::rust_wq::RcuWork) field, from [`new_work!`](crate::new_work),
/// [`new_delayed_work!`](crate::new_delayed_work) or [`new_rcu_work!`](crate::new_rcu_work): the
/// initialiser `I` of a `T`, usable only for a field marked `#[pin]`.
///
/// It is a [`PinInit`], never an [`Init`]: the C side keeps the field's address, so the field
/// must never move. For a field without `#[pin]`, `pin_init!` asks for an `Init`, and the
/// compiler's error says to add the `#[pin]`. It costs nothing: `__init` is that of `I`.
#[must_use = "an initialiser does nothing unless it initialises a field"]
pub struct PinnedFieldInit<T: ?Sized, I> {
    init: I,
    _field: PhantomData<fn(*mut T)>,
}

impl<T: ?Sized, I> PinnedFieldInit<T, I> {
    /// Wraps `init`.
    #[inline(always)]
    pub(in crate::rust_wq) fn new(init: I) -> Self {
        Self {
            init,
            _field: PhantomData,
        }
    }
}

// SAFETY: `__init` is that of `I`, a `PinInit<T, E>`, whose contract is the same.
unsafe impl<T: ?Sized, E, I: PinInit<T, E>> PinInit<T, E> for PinnedFieldInit<T, I> {
    #[inline(always)]
    unsafe fn __init(self, slot: *mut T) -> Result<(), E> {
        // SAFETY: The caller's promise, which is the contract of `I::__init`.
        unsafe { self.init.__init(slot) }
    }
}

// SAFETY: This impl never applies: nothing implements `FieldNeedsPin`, and it cannot be named
// outside this file. It is here for the error message only. The compiler reports a failed bound
// of an impl instead of the trait asked for (here `Init`) when the two have different self types,
// so a field without `#[pin]` gets `FieldNeedsPin`'s message instead of "`Init` is not
// implemented".
unsafe impl<T: ?Sized, E, I: PinInit<T, E>> Init<T, E> for PinnedFieldInit<T, I> where
    T: pin_marker::FieldNeedsPin
{
}

mod pin_marker {
    /// Never implemented: the bound that refuses a [`PinnedFieldInit`](super::PinnedFieldInit)
    /// for a field without `#[pin]`, with a message that says what to write.
    #[diagnostic::on_unimplemented(
        message = "a field of type `{Self}` must be pinned: add `#[pin]` to it",
        label = "this initialises a `{Self}` field that has no `#[pin]`",
        note = "in the `#[pin_data]` struct: `#[pin] work: Work<Self>,` (`DelayedWork<Self>`, \
                `RcuWork<Self>`); the C side keeps the field's address, so it must never move",
        note = "`FieldNeedsPin` is never implemented: the fix is the `#[pin]`"
    )]
    pub trait FieldNeedsPin {}
}

/// Takes a `work_struct` that is going away off the object debugger's books if it is on the
/// stack (C's `destroy_work_on_stack`); nothing on kernels without the object debugger.
///
/// # Safety
///
/// `work` is an initialised `work_struct` that is not pending, nor running if it is on the
/// stack, and is not used again before it is initialised anew.
#[inline]
pub(in crate::rust_wq) unsafe fn forget_if_on_stack(work: *mut bindings::work_struct) {
    #[cfg(CONFIG_DEBUG_OBJECTS_WORK)]
    // SAFETY: The caller's promise.
    unsafe {
        crate::rust_wq::glue::rust_wq_work_destroy(work)
    };
    #[cfg(not(CONFIG_DEBUG_OBJECTS_WORK))]
    let _ = work;
}

/// Whether `p` is on the current task's stack, where the object debugger wants its work (and
/// timers) initialised as on-stack objects; `false` on kernels without it, which do not ask.
#[inline]
pub(in crate::rust_wq) fn on_stack(p: *const c_void) -> bool {
    #[cfg(CONFIG_DEBUG_OBJECTS_WORK)]
    // SAFETY: Only compares `p` with the bounds of the current task's stack.
    return unsafe { crate::rust_wq::glue::rust_wq_on_stack(p) };
    #[cfg(not(CONFIG_DEBUG_OBJECTS_WORK))]
    {
        let _ = p;
        false
    }
}

const STARTED: u32 = 1 << 16;
const FINISHED: u32 = 1;

// SAFETY: Kernel work items may be queued, cancelled and run from any thread. `T` needs no bound
// because a `Work` does not contain a `T`.
unsafe impl<T: ?Sized, const ID: u64> Send for Work<T, ID> {}
// SAFETY: All methods of `Work` go through the C API, which synchronises internally.
unsafe impl<T: ?Sized, const ID: u64> Sync for Work<T, ID> {}

// SAFETY: `Work` is `#[repr(C)]` and starts with its `work_struct` (`Opaque` is transparent).
unsafe impl<T: ?Sized, const ID: u64> WorkField for Work<T, ID> {
    #[inline]
    fn seen(&self) -> &Atomic<u32> {
        &self.seen
    }
}

impl<T, const ID: u64> Work<T, ID>
where
    T: WorkItem<ID> + HasWork<T, ID>,
{
    /// Creates a new work item whose function is [`WorkItem::run`] of `T`.
    ///
    /// Prefer [`new_work!`](crate::new_work), which supplies the name and a lockdep class.
    #[inline]
    pub fn new(
        name: &'static CStr,
        key: Pin<&'static LockClassKey>,
    ) -> PinnedFieldInit<Self, impl PinInit<Self>> {
        PinnedFieldInit::new(pin_init!(Self {
            work <- Opaque::ffi_init(|slot| {
                // SAFETY: `slot` is valid for writes, and is the `work_struct` that starts the
                // `Work`.
                unsafe { field::init_work::<Self, T, ID>(slot, name, key) }
            }),
            disables: Atomic::new(0),
            seen: Atomic::new(0),
            _item: PhantomData,
        }))
    }
}

impl<T, const ID: u64> Work<T, ID>
where
    T: WorkItem<ID> + HasWork<T, ID>,
{
    /// The `Work` of an item in a `static`, initialised at compile time as C's
    /// `__WORK_INITIALIZER` does (`DECLARE_WORK`): flagged static for the object debugger, its
    /// list head pointing at itself, and its lockdep class keyed by its own address.
    ///
    /// # Safety
    ///
    /// `this` must be the address that the returned value gets: a field of a `static` that is
    /// initialised with it, and so never moved or dropped.
    pub(in crate::rust_wq) const unsafe fn new_static(
        this: *const Self,
        name: &'static CStr,
    ) -> Self {
        // `Work` is `#[repr(C)]` with the `work_struct` first (`Opaque` is transparent).
        let ws = this.cast::<bindings::work_struct>().cast_mut();
        let entry = ws
            .cast::<u8>()
            .wrapping_add(core::mem::offset_of!(bindings::work_struct, entry))
            .cast::<bindings::list_head>();
        // C's `WORK_DATA_STATIC_INIT()`: `WORK_STRUCT_NO_POOL | WORK_STRUCT_STATIC`.
        let no_pool = ((1u64 << bindings::work_bits_WORK_OFFQ_POOL_BITS) - 1)
            << bindings::work_bits_WORK_OFFQ_POOL_SHIFT;
        let data = no_pool | bindings::work_flags_WORK_STRUCT_STATIC as u64;
        // Without lockdep, the name has nowhere to go.
        #[cfg(not(CONFIG_LOCKDEP))]
        let _ = name;
        Self {
            work: Opaque::new(bindings::work_struct {
                data: bindings::atomic_long_t {
                    counter: data as i64,
                },
                entry: bindings::list_head {
                    next: entry,
                    prev: entry,
                },
                func: Some(field::run::<Self, T, ID>),
                // C's `STATIC_LOCKDEP_MAP_INIT(name, &work)`: lockdep accepts keys in a module's
                // static data, and forgets them when the module's memory goes.
                #[cfg(CONFIG_LOCKDEP)]
                lockdep_map: bindings::lockdep_map {
                    key: ws.cast(),
                    name: kernel::str::as_char_ptr_in_const_context(name),
                    // SAFETY: All-zero is a valid `lockdep_map` (no class cached yet, the
                    // default wait and lock types), as C's static initialiser leaves it.
                    ..unsafe { core::mem::zeroed() }
                },
            }),
            disables: Atomic::new(0),
            seen: Atomic::new(0),
            _item: PhantomData,
        }
    }
}

impl<T: ?Sized, const ID: u64> Work<T, ID> {
    /// Returns the raw `work_struct` of the `Work` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must be aligned and not dangling (the memory need not be initialised).
    #[inline]
    pub unsafe fn raw_get(ptr: *const Self) -> *mut bindings::work_struct {
        // SAFETY: The caller promises that `ptr` is aligned and not dangling.
        unsafe { Opaque::cast_into(core::ptr::addr_of!((*ptr).work)) }
    }

    /// Returns the raw `work_struct`.
    #[inline]
    pub fn as_raw(&self) -> *mut bindings::work_struct {
        self.work.get()
    }

    /// Starts a disable: `EOVERFLOW` if [`MAX_DISABLE`] are started already. The caller then
    /// disables the item in C and calls [`Work::finish_disable`].
    pub(in crate::rust_wq) fn start_disable(&self) -> Result {
        let mut cur = self.disables.load(Relaxed);
        loop {
            if cur >> 16 >= MAX_DISABLE {
                return Err(EOVERFLOW);
            }
            match self.disables.cmpxchg(cur, cur + STARTED, Relaxed) {
                Ok(_) => return Ok(()),
                Err(now) => cur = now,
            }
        }
    }

    /// `cancel_work_sync()` with its checks and its count, in one call into the C glue
    /// (`rust_wq_cancel_work_sync_counted`): `EAGAIN` if the caller cannot sleep, `EDEADLK` if
    /// it is the item's own `run`, `EOVERFLOW` as [`Work::start_disable`]; otherwise counted as
    /// a disable started (C disables the item while it waits, so C's count stays below its limit),
    /// C's call, and the count lowered again (C undid its disable itself, before it returned).
    /// Returns whether the item was pending.
    ///
    /// The glue does to `disables` what [`Work::start_disable`] does, and then a relaxed
    /// subtraction, with C's atomics (the same operations as the kernel's Rust `Atomic`, inline
    /// there): so the invariant holds as it does for the disables of Rust: the high half is raised,
    /// with the same limit, before C disables the item, and lowered (INVARIANT) only after C's
    /// transient disable is over, so it stays at least C's count.
    #[inline]
    pub(in crate::rust_wq) fn cancel_sync_checked(&self) -> Result<bool> {
        // SAFETY: `as_raw` is the initialised `work_struct` of this item, alive while `self` is;
        // `disables` is a live atomic `u32` (the layout of C's `atomic_t`), only changed
        // atomically. The glue calls `cancel_work_sync` only where the caller may sleep and is not
        // the worker running the item.
        let r = unsafe {
            rust_wq_cancel_work_sync_counted(
                self.as_raw(),
                self.disables.as_ptr().cast(),
                STARTED,
                MAX_DISABLE * STARTED,
            )
        };
        // An error only on the refusals above.
        bool_or_errno(r)
    }

    /// Whether the item is pending (its `PENDING` bit, read once: C's `work_pending()`).
    #[inline]
    pub fn is_pending(&self) -> bool {
        // SAFETY: `as_raw` is the initialised `work_struct` of this item.
        unsafe { raw_is_pending(self.as_raw()) }
    }

    /// How deep the item is disabled (advisory): disables started, finished or not, and not
    /// undone by an enable, plus the `cancel_sync` calls waiting (C disables the item meanwhile).
    pub fn disable_depth(&self) -> u32 {
        self.disables.load(Relaxed) >> 16
    }

    /// Records that a disable started with [`Work::start_disable`] is done in C.
    pub(in crate::rust_wq) fn finish_disable(&self) {
        // INVARIANT: C's count was raised first, so it stays at least the low half.
        self.disables.add(FINISHED, Relaxed);
    }

    /// Enables the item once if a disable finished; returns C's answer (`true`: enabled now),
    /// or `false` without calling C if no disable is left to undo.
    pub(in crate::rust_wq) fn enable(&self) -> bool {
        let mut cur = self.disables.load(Relaxed);
        loop {
            if cur & 0xffff == 0 {
                return false;
            }
            match self.disables.cmpxchg(cur, cur - FINISHED, Relaxed) {
                Ok(_) => break,
                Err(now) => cur = now,
            }
        }
        // SAFETY: The item is initialised, and C's count is at least one: a finished disable was
        // claimed above and is undone only here. `enable_work` may be called from any context.
        let enabled = unsafe { bindings::enable_work(self.as_raw()) };
        // INVARIANT: C's count went down first, so the high half stays at least C's count.
        self.disables.fetch_sub(STARTED, Relaxed);
        enabled
    }
}

/// Whether the `work_struct` at `work` is pending (its `PENDING` bit, read once: C's
/// `work_pending()`).
///
/// # Safety
///
/// `work` must point at an initialised `work_struct` that stays valid during the call.
#[inline]
pub(in crate::rust_wq) unsafe fn raw_is_pending(work: *mut bindings::work_struct) -> bool {
    // SAFETY: `data` is the `atomic_long_t` of an initialised `work_struct` (the caller's
    // promise: valid, aligned, a machine word), which C only changes atomically (bit operations,
    // `atomic_long_set()`): C's `work_pending()` reads it with a plain `test_bit()`, and this is
    // its `READ_ONCE()`.
    let data = unsafe { read_once(core::ptr::addr_of!((*work).data.counter)) };
    data & (1 << bindings::work_bits_WORK_STRUCT_PENDING_BIT) != 0
}

/// The function a work item runs, and the pointer type that owns it while it is queued.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a work item: it has no `WorkItem<{ID}>` implementation",
    label = "implement `rust_wq::WorkItem` for this type",
    note = "`impl WorkItem for {Self} {{ type Pointer = Arc<Self>; fn run(this: Arc<Self>) {{ .. }} }}` \
            (or `Pin<KBox<Self>>`); an item of `kernel::workqueue` goes through \
            `enqueue_kernel_item` instead"
)]
pub trait WorkItem<const ID: u64 = 0> {
    /// The pointer that owns the item while it is queued: [`Arc<Self>`], [`Pin<KBox<Self>>`],
    /// `ARef<Self>`, or `&'static Self` (no count: see
    /// [`static_work`](crate::rust_wq::item::static_work)).
    type Pointer: WorkItemPointer<Target = Self>;

    /// Runs the item in process context, on a kworker (or in softirq context on a BH queue).
    ///
    /// The pointer handed over at enqueue time comes back here and is dropped at the end unless
    /// `run` keeps or requeues it.
    fn run(this: Self::Pointer);
}

/// A smart pointer that can own a work item while the C side holds it as a raw pointer.
///
/// # Safety
///
/// - `into_raw` returns a non-null pointer to a valid `Target` that stays valid, and is not
///   moved, until the same pointer is given to `from_raw`.
/// - `from_raw` given a pointer from `into_raw` gives back the pointer that was consumed.
///
/// Delayed items need more of their pointer: see
/// [`DelayedItemPointer`](crate::rust_wq::DelayedItemPointer).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot own a queued work item",
    label = "queue an `Arc<T>`, a `Pin<KBox<T>>`, an `ARef<T>` or a `&'static T`",
    note = "the item must be `Send` (and `Sync` behind an `Arc` or `ARef`) and `'static`: it runs \
            on another thread, after the caller returned"
)]
pub unsafe trait WorkItemPointer: Sized + Send + 'static {
    /// The type pointed at.
    type Target;

    /// Gives up ownership and returns the raw pointer.
    fn into_raw(self) -> *mut Self::Target;

    /// Takes back ownership of a pointer from [`WorkItemPointer::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` must come from `into_raw` of this type, and ownership must not be taken back twice.
    unsafe fn from_raw(ptr: *mut Self::Target) -> Self;
}

/// A [`WorkItemPointer`] that a cancel or a disable may hand back to its caller: the handles'
/// `cancel`, `cancel_sync`, `disable` and `disable_sync` ([`WorkRef`], [`DelayedWorkRef`]) return
/// the queue's pointer only for these kinds, and `enable` (which could undo the disable a
/// [`WorkBox`]'s drop leaves on a field) is for them only too.
///
/// Every kind of the crate is one except the pointer of a [`WorkBox`] item, which is valid only
/// while its box lives and so must never be held by safe code: a box's fields are cancelled
/// through [`WorkBox`] itself.
///
/// [`WorkRef`]: crate::rust_wq::WorkRef
/// [`DelayedWorkRef`]: crate::rust_wq::DelayedWorkRef
/// [`WorkBox`]: crate::rust_wq::WorkBox
///
/// # Safety
///
/// A pointer that [`WorkItemPointer::from_raw`] makes of a queue's raw pointer may be kept by safe
/// code for as long as it likes, queued again, or dropped: its validity does not depend on
/// anything but the pointer itself; and anyone may undo a disable of its item (`enable`).
#[diagnostic::on_unimplemented(
    message = "a cancel or disable does not hand `{Self}` back",
    label = "the item's pointer is valid only while its `WorkBox` lives",
    note = "cancel the fields of a `WorkBox` through the box (`WorkBox::cancel_sync`, \
            `WorkBox::cancel_delayed_sync`, `WorkBox::cancel_all`); they are never disabled, so \
            there is no `enable` for them"
)]
pub unsafe trait GivenBack: WorkItemPointer {}

// SAFETY: An `Arc` owns its count.
unsafe impl<T: Send + Sync + 'static> GivenBack for Arc<T> {}

// SAFETY: An `ARef` owns its count.
unsafe impl<T: AlwaysRefCounted + Send + Sync + 'static> GivenBack for ARef<T> {}

// SAFETY: A `Pin<KBox>` owns its allocation.
unsafe impl<T: Send + 'static> GivenBack for Pin<KBox<T>> {}

// SAFETY: A `&'static T` is valid until the module's exit, whoever holds it.
unsafe impl<T: Sync + 'static> GivenBack for &'static T {}

// SAFETY: `Arc::into_raw` keeps the reference count that `Arc::from_raw` gives back, and the
// allocation neither moves nor dies while that count is held.
unsafe impl<T: Send + Sync + 'static> WorkItemPointer for Arc<T> {
    type Target = T;

    #[inline]
    fn into_raw(self) -> *mut T {
        Arc::into_raw(self).cast_mut()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        // SAFETY: The caller promises that `ptr` comes from `Arc::into_raw`.
        unsafe { Arc::from_raw(ptr) }
    }
}

// SAFETY: `ARef::into_raw` keeps the reference count that `ARef::from_raw` gives back
// (`AlwaysRefCounted`: the object lives while a count is held), and the object never moves.
// Nothing here needs the object dropped in place, which `AlwaysRefCounted` does not promise:
// that is why `ARef` is no `DelayedItemPointer`.
unsafe impl<T: AlwaysRefCounted + Send + Sync + 'static> WorkItemPointer for ARef<T> {
    type Target = T;

    #[inline]
    fn into_raw(self) -> *mut T {
        ARef::into_raw(self).as_ptr()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        // SAFETY: The caller promises that `ptr` comes from `ARef::into_raw` (so it is not
        // null) and gives back its count.
        unsafe { ARef::from_raw(core::ptr::NonNull::new_unchecked(ptr)) }
    }
}

// SAFETY: `KBox::into_raw` leaks the allocation until `KBox::from_raw` takes it back; the value
// is pinned, and we never move it.
unsafe impl<T: Send + 'static> WorkItemPointer for Pin<KBox<T>> {
    type Target = T;

    #[inline]
    fn into_raw(self) -> *mut T {
        // SAFETY: The raw pointer is only turned back into a `Pin<KBox<T>>`; the value is never
        // moved out of it.
        KBox::into_raw(unsafe { Pin::into_inner_unchecked(self) })
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        // SAFETY: The caller promises that `ptr` comes from `into_raw`, whose box was pinned.
        unsafe { Pin::new_unchecked(KBox::from_raw(ptr)) }
    }
}

// SAFETY: The referent of a `&'static T` lives, unmoved, as long as the program, which for a module
// is until its exit: a shared reference that lives that long forbids moving or freeing it. Safe
// code gets one from a `static`, or from memory that is never freed (`static_work::leak_item`, a
// leaked `Arc`, `KBox::leak`). No item of the module is pending or running once the module's
// memory goes (the unload of `Drained` waits for them all). References carry no count:
// `from_raw` gives back what `into_raw` took.
unsafe impl<T: Sync + 'static> WorkItemPointer for &'static T {
    type Target = T;

    #[inline]
    fn into_raw(self) -> *mut T {
        core::ptr::from_ref(self).cast_mut()
    }

    #[inline]
    unsafe fn from_raw(ptr: *mut T) -> Self {
        // SAFETY: The caller promises that `ptr` comes from `into_raw`, so from a `&'static T`.
        unsafe { &*ptr }
    }
}

/// Declares that a type contains a [`Work<T, ID>`] field, which [`HasField`] locates. Implement
/// both with [`impl_has_work!`].
///
/// [`impl_has_work!`]: crate::impl_has_work
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no `Work` field with ID {ID}: it cannot be queued with `enqueue`",
    label = "this item has no `rust_wq::Work<{T}, {ID}>` field",
    note = "give it a `#[pin] work: Work<Self>` field, initialised with `work <- new_work!()`, \
            and declare it with `impl_has_work! {{ impl HasWork<Self> for {Self} {{ self.work }} }}`",
    note = "an item with a `DelayedWork` field is queued with `enqueue_delayed(item, 0)`, one \
            with an `RcuWork` field with `enqueue_rcu(item)`"
)]
pub trait HasWork<T, const ID: u64 = 0>: HasField<Work<T, ID>> {}

/// Implements [`HasWork`] and [`HasField`] for a struct with a [`Work`] field.
///
/// # Examples
///
/// ```
/// use crate::rust_wq::{impl_has_work, Work};
///
/// #[pin_data]
/// struct Job {
///     #[pin]
///     work: Work<Job>,
/// }
/// impl_has_work! { impl HasWork<Self> for Job { self.work } }
/// ```
#[macro_export]
macro_rules! impl_has_work {
    ($(impl$({$($generics:tt)*})?
       HasWork<$work_type:ty $(, $id:tt)?>
       for $self:ty
       { self.$field:ident }
    )*) => {$(
        $crate::__rust_wq_impl_has_field!(
            HasWork, Work,
            [$({$($generics)*})?], $work_type, [$($id)?], $self, $field
        );
    )*};
}

/// Creates a [`Work`] initialiser with a lockdep class of its own for this call site (see
/// [Lockdep classes](crate::rust_wq::error#lockdep-classes) for what that means for BH queues).
#[macro_export]
macro_rules! new_work {
    ($($name:literal)?) => {
        $crate::rust_wq::Work::new(
            ::kernel::optional_name!($($name)?),
            ::kernel::static_lock_class!(),
        )
    };
}
