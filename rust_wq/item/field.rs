// SPDX-License-Identifier: GPL-2.0

//! What the three kinds of work field ([`Work`], [`DelayedWork`], [`RcuWork`]) share: the trait
//! that ties a field to the struct around it, and the function C calls to run the item.
//!
//! [`Work`]: crate::rust_wq::Work
//! [`DelayedWork`]: crate::rust_wq::DelayedWork
//! [`RcuWork`]: crate::rust_wq::RcuWork

use crate::rust_wq::{
    internal::{
        read_once,
        reclaim, //
    },
    item::work::on_stack,
    WorkItem,
    WorkItemPointer, //
};
use kernel::{
    bindings,
    prelude::*,
    sync::{
        atomic::Atomic,
        LockClassKey, //
    },
};

/// Ties a field of type `F` to the struct that contains it: a pointer to the field, and back.
///
/// The work fields of an item are declared through it: [`impl_has_work!`],
/// [`impl_has_delayed_work!`] and [`impl_has_rcu_work!`] implement it for a [`Work`],
/// [`DelayedWork`] or [`RcuWork`] field, together with [`HasWork`], [`HasDelayedWork`] or
/// [`HasRcuWork`].
///
/// # Safety
///
/// `raw_get_field` must return a pointer to one and the same field of type `F` inside `*p` on
/// every call (`p` plus a constant offset), and `field_container_of` must be its inverse:
/// `field_container_of(raw_get_field(p)) == p`.
///
/// [`impl_has_work!`]: crate::impl_has_work
/// [`impl_has_delayed_work!`]: crate::impl_has_delayed_work
/// [`impl_has_rcu_work!`]: crate::impl_has_rcu_work
/// [`Work`]: crate::rust_wq::Work
/// [`DelayedWork`]: crate::rust_wq::DelayedWork
/// [`RcuWork`]: crate::rust_wq::RcuWork
/// [`HasWork`]: crate::rust_wq::HasWork
/// [`HasDelayedWork`]: crate::rust_wq::HasDelayedWork
/// [`HasRcuWork`]: crate::rust_wq::HasRcuWork
#[diagnostic::on_unimplemented(
    message = "`{Self}` has no declared field of type `{F}`",
    label = "no `HasField<{F}>` for this type",
    note = "declare the field with `impl_has_work!`, `impl_has_delayed_work!` or \
            `impl_has_rcu_work!`"
)]
pub unsafe trait HasField<F> {
    /// Returns a pointer to the `F` field.
    ///
    /// # Safety
    ///
    /// `ptr` must be aligned and not dangling.
    unsafe fn raw_get_field(ptr: *mut Self) -> *mut F;

    /// Returns a pointer to the struct that contains the `F` at `ptr`.
    ///
    /// # Safety
    ///
    /// `ptr` must point at the `F` field of a `Self` that [`HasField::raw_get_field`] locates.
    unsafe fn field_container_of(ptr: *mut F) -> *mut Self;
}

/// A work field whose C object C runs through [`run`]: [`Work`], [`DelayedWork`] or [`RcuWork`].
///
/// # Safety
///
/// `Self` starts with the `work_struct` that C hands to the work function, so a pointer to that
/// `work_struct` is a pointer to the `Self` around it.
///
/// [`Work`]: crate::rust_wq::Work
/// [`DelayedWork`]: crate::rust_wq::DelayedWork
/// [`RcuWork`]: crate::rust_wq::RcuWork
pub(in crate::rust_wq) unsafe trait WorkField {
    /// The kinds of queue the item was ever queued on (`reclaim::ON_*`).
    fn seen(&self) -> &Atomic<u32>;
}

// The `work_struct` starts the C objects of the delayed and RCU fields too, which `WorkField`'s
// implementations rely on: checked against the kernel's own layout.
const _: () = assert!(
    core::mem::offset_of!(bindings::delayed_work, work) == 0
        && core::mem::offset_of!(bindings::rcu_work, work) == 0
);

/// The `work_func_t` of every work field `F` of a `T`: turns the `work_struct` back into the
/// pointer that owns the item, and runs [`WorkItem::run`].
///
/// # Safety
///
/// `ptr` must be the `work_struct` of the `F` field that `HasField<F>` locates in a `T` whose
/// ownership was handed to the queue through [`WorkItemPointer::into_raw`] of its
/// `WorkItem<ID>::Pointer`.
pub(in crate::rust_wq) unsafe extern "C" fn run<F, T, const ID: u64>(
    ptr: *mut bindings::work_struct,
) where
    F: WorkField,
    T: WorkItem<ID> + HasField<F>,
{
    // The `work_struct` is at the start of `F` (`WorkField` contract).
    let field = ptr.cast::<F>();
    // SAFETY: `field` is the `F` field of a `T` (caller), which stays alive at least until `run`
    // gives back the reference below. `seen` is an `Atomic<u32>`: valid, aligned, a word, only
    // changed atomically; read inline (`READ_ONCE()`), not through a C helper call.
    let seen = unsafe { read_once((*field).seen().as_ptr().cast_const()) };
    // SAFETY: As above.
    let item = unsafe { T::field_container_of(field) };
    // SAFETY: The queue owned this reference since the enqueue that queued this run (caller).
    let this = unsafe { T::Pointer::from_raw(item) };
    reclaim::run(seen, || T::run(this))
}

/// Initialises the `work_struct` at the start of an `F` field of a `T` (C's `INIT_WORK`): its
/// function is [`run`], its name `name` and its lockdep class `key`, and if it is on the stack,
/// the object debugger is told so (see [`on_stack`]).
///
/// # Safety
///
/// `work` is valid for writes, and is the `work_struct` at the start of the `F` being
/// initialised.
#[inline]
pub(in crate::rust_wq) unsafe fn init_work<F, T, const ID: u64>(
    work: *mut bindings::work_struct,
    name: &'static CStr,
    key: Pin<&'static LockClassKey>,
) where
    F: WorkField,
    T: WorkItem<ID> + HasField<F>,
{
    // SAFETY: `work` is valid for writes (caller), and `run::<F, T, ID>` has the signature of a
    // `work_func_t`. C calls it only with this `work_struct`, at the start of an `F` (caller),
    // once it is queued: rust_wq queues an `F` only as the field of a `T` (found through
    // `HasField`), with the pointer from `WorkItemPointer::into_raw` that `run` takes back.
    unsafe {
        bindings::init_work_with_key(
            work,
            Some(run::<F, T, ID>),
            on_stack(work.cast()),
            name.as_char_ptr(),
            key.as_ptr(),
        )
    }
}

/// The one implementation of [`impl_has_work!`](crate::impl_has_work),
/// [`impl_has_delayed_work!`](crate::impl_has_delayed_work) and
/// [`impl_has_rcu_work!`](crate::impl_has_rcu_work): implements [`HasField`] for a struct with a
/// field `$field` of type `$kind<$work_type, $id>`, and `$trait`, which says so to the queues.
#[doc(hidden)]
#[macro_export]
macro_rules! __rust_wq_impl_has_field {
    ($trait:ident, $kind:ident,
     [$({$($generics:tt)*})?], $work_type:ty, [$($id:tt)?], $self:ty, $field:ident) => {
        // SAFETY: `raw_get_field` returns a pointer to the field `$field`, of type
        // `$kind<$work_type, $id>` (it would not compile otherwise), and `field_container_of` is
        // its inverse.
        unsafe impl$(<$($generics)+>)?
            $crate::rust_wq::HasField<$crate::rust_wq::$kind<$work_type $(, $id)?>> for $self
        {
            #[inline]
            unsafe fn raw_get_field(
                ptr: *mut Self,
            ) -> *mut $crate::rust_wq::$kind<$work_type $(, $id)?> {
                // SAFETY: The caller promises that the pointer is not dangling.
                unsafe { ::core::ptr::addr_of_mut!((*ptr).$field) }
            }

            #[inline]
            unsafe fn field_container_of(
                ptr: *mut $crate::rust_wq::$kind<$work_type $(, $id)?>,
            ) -> *mut Self {
                // SAFETY: The caller promises that the pointer is the field of a `Self`.
                unsafe { ::kernel::container_of!(ptr, Self, $field) }
            }
        }

        impl$(<$($generics)+>)? $crate::rust_wq::$trait<$work_type $(, $id)?> for $self {}
    };
}
