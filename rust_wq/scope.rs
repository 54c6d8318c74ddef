// SPDX-License-Identifier: GPL-2.0

//! Scoped work: closures that borrow from the caller's stack, run by a queue's workers, sound in
//! the way `std::thread::scope` is.
//!
//! [`scope`] calls its closure with a [`Scope`]; closures spawned on it ([`spawn!`] on
//! `system_dfl`, [`spawn_on!`] on an owned queue) may borrow anything that outlives the call
//! (`'env`), mutably too. [`scope`] returns only after every spawned closure has run and been
//! dropped, so no borrow outlives its data; nothing can make it return earlier (the `Scope` stays
//! [`scope`]'s own, so it cannot be leaked or forgotten).
//!
//! Each [`spawn!`] or [`spawn_on!`] site gives its closures a lockdep class of its own, as
//! [`try_spawn!`](crate::try_spawn) and [`new_work!`](crate::new_work) do: with one class for
//! all, lockdep would join the locks of unrelated closures into false cycles (and turn itself
//! off). A site counts once against the module's [`CLASSES`](crate::rust_wq::class::CLASSES),
//! however often it spawns.
//!
//! Waiting is what a flush is, with the same rules: `EAGAIN` where the caller cannot sleep,
//! `EDEADLK` from a kworker (the closures could wait behind the caller's own item) and from
//! memory reclaim (the closures go on queues without `WQ_MEM_RECLAIM`). Nothing is spawned then.
//! Spawning with flags that may sleep (`GFP_KERNEL`) where the caller cannot sleep (under a
//! spinlock, with interrupts off) is `EAGAIN`, as with [`try_spawn!`](crate::try_spawn);
//! `GFP_ATOMIC` spawns there.
//!
//! # Examples
//!
//! ```ignore
//! let mut halves = [0u64; 2];
//! let (lo, hi) = halves.split_at_mut(1);
//! rust_wq::scope(|s| -> Result {
//!     rust_wq::spawn!(s, GFP_KERNEL, || lo[0] = (0..1000).sum())?;
//!     rust_wq::spawn!(s, GFP_KERNEL, || hi[0] = (1000..2000).sum())?;
//!     Ok(())
//! })??;
//! assert_eq!(halves[0] + halves[1], (0..2000).sum());
//! ```
//!
//! [`spawn!`]: crate::spawn
//! [`spawn_on!`]: crate::spawn_on

use crate::rust_wq::{
    builder::Threaded,
    cpu,
    spawn::may_block,
    system,
    OwnedQueue,
    Work,
    WorkItem, //
};
use core::{
    marker::PhantomData,
    ptr, //
};
use kernel::{
    alloc::Flags,
    bindings,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        LockClassKey, //
    },
    types::Opaque,
};

/// The lockdep class of the closures spawned at one site, and the name lockdep shows for it.
/// [`spawn!`](crate::spawn) and [`spawn_on!`](crate::spawn_on) make one per call site.
pub struct JobClass {
    /// The name of the class: the site's file and line.
    pub name: &'static CStr,
    /// The key of the class.
    pub key: Pin<&'static LockClassKey>,
}

/// What the closures of one [`scope`] share with it: the closures not yet finished, plus one
/// for [`scope`] itself until it waits, and the completion that the last one signals.
#[pin_data]
struct ScopeData {
    pending: Atomic<usize>,
    #[pin]
    done: Opaque<bindings::completion>,
}

// SAFETY: `pending` is atomic, and the completion serialises its users with its own lock.
unsafe impl Sync for ScopeData {}

impl ScopeData {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            pending: Atomic::new(1),
            done <- Opaque::ffi_init(|slot| {
                // SAFETY: `slot` is valid for writes of a `struct completion`.
                unsafe { bindings::init_completion(slot) }
            }),
        })
    }

    /// Counts one closure out; the last one signals [`scope`].
    fn finish(&self) {
        if self.pending.fetch_sub(1, Full) == 1 {
            // SAFETY: `done` is initialised; `complete_all` may be called from any context.
            // The waiter returns only once this call released the completion's lock.
            unsafe { bindings::complete_all(self.done.get()) };
        }
    }

    /// Counts [`scope`] out and waits until the last closure has signalled.
    fn wait(&self) {
        if self.pending.fetch_sub(1, Full) == 1 {
            // Every closure had finished: none touches the data any more.
            return;
        }
        if cpu::may_sleep().is_ok() {
            // SAFETY: `done` is initialised, and we may sleep.
            unsafe { bindings::wait_for_completion(self.done.get()) };
            return;
        }
        // The closure given to `scope` left the caller unable to sleep (a guard it forgot, say):
        // wait without sleeping. `completion_done` takes the completion's lock, so once it
        // says done, `complete_all` has returned and the data may go.
        // SAFETY: `done` is initialised; `completion_done` may be called from any context.
        while !unsafe { bindings::completion_done(self.done.get()) } {
            core::hint::spin_loop();
        }
    }
}

/// The spawning side of a [`scope`]: see the [module documentation](self).
///
/// `'scope` is the scope's own lifetime, `'env` that of what its closures borrow.
pub struct Scope<'scope, 'env: 'scope> {
    data: &'scope ScopeData,
    // Invariant in both, as `std::thread::Scope` is: a closure must not be able to shorten
    // `'scope` or lengthen `'env`.
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

/// A closure spawned on a [`Scope`], with its lifetime erased (see [`Scope::job`]).
///
/// # Invariants
///
/// `f` is null or a `KBox<Option<F>>` of the closure type that `call` was made for; `scope` is
/// the data of the [`scope`] call that waits for this job: both stay valid until the job's drop
/// has called [`ScopeData::finish`]. Every job is dropped (after its run, or unrun), and its drop
/// frees the closure if it is still there, then calls `finish`, once.
#[pin_data(PinnedDrop)]
pub struct Job {
    #[pin]
    work: Work<Job>,
    f: *mut core::ffi::c_void,
    call: unsafe fn(*mut core::ffi::c_void, bool),
    scope: *const ScopeData,
}

// SAFETY: The closure is `Send` (a bound of `spawn_in`), and `ScopeData` is `Sync` (an atomic and a
// completion that locks itself): a job may move to a kworker.
unsafe impl Send for Job {}

crate::impl_has_work! { impl HasWork<Self> for Job { self.work } }

impl Job {
    /// Runs the closure (`run`) or only drops it, once; later calls do nothing.
    fn take_closure(self: Pin<&mut Self>, run: bool) {
        let this = self.project();
        let f = *this.f;
        *this.f = ptr::null_mut();
        if !f.is_null() {
            // SAFETY: `f` is the boxed closure `call` was made for (type invariant), taken out
            // of the job just above, so it is used once.
            unsafe { (*this.call)(f, run) };
        }
    }
}

impl WorkItem for Job {
    type Pointer = Pin<KBox<Job>>;

    fn run(mut this: Pin<KBox<Job>>) {
        this.as_mut().take_closure(true);
    }
}

#[pinned_drop]
impl PinnedDrop for Job {
    fn drop(mut self: Pin<&mut Self>) {
        self.as_mut().take_closure(false);
        let scope = self.scope;
        // SAFETY: The scope's data lives until this `finish` (type invariant): `scope` waits for
        // it. Nothing of the scope is touched afterwards.
        unsafe { (*scope).finish() };
    }
}

/// Takes the closure boxed at `f` back and runs it (`run`) or only drops it.
///
/// # Safety
///
/// `f` must come from `KBox::into_raw` of a `KBox<Option<F>>`, and not be used again.
unsafe fn call_box<F: FnOnce()>(f: *mut core::ffi::c_void, run: bool) {
    // SAFETY: The caller's promise.
    let mut f = unsafe { KBox::from_raw(f.cast::<Option<F>>()) };
    if let Some(f) = f.take() {
        if run {
            f();
        }
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// Queues `f` on [`system_dfl`](crate::rust_wq::system_dfl) to run once before [`scope`]
    /// returns, its work item in lockdep class `class`: use [`spawn!`](crate::spawn), which
    /// makes one per call site. `flags` are those of its allocations: `EAGAIN` for flags that
    /// may sleep (`GFP_KERNEL`) where the caller cannot. `ENOMEM`, or an error of
    /// [`Queue::enqueue`] (`ESHUTDOWN` during the module's unload); `f` is dropped unrun then.
    ///
    /// [`Queue::enqueue`]: crate::rust_wq::Queue::enqueue
    pub fn spawn_in<F>(&'scope self, class: JobClass, flags: Flags, f: F) -> Result
    where
        F: FnOnce() + Send + 'scope,
    {
        let job = self.job(class, flags, f)?;
        system::system_dfl().enqueue(job).map_err(|e| e.error())
    }

    /// Queues `f` on the owned queue `queue`, as [`Scope::spawn_in`] does on `system_dfl`:
    /// use [`spawn_on!`](crate::spawn_on). Errors as
    /// [`OwnedQueue::enqueue`](crate::rust_wq::OwnedQueue::enqueue) and [`Scope::spawn_in`].
    pub fn spawn_on_in<K: Threaded, F>(
        &'scope self,
        queue: &OwnedQueue<K>,
        class: JobClass,
        flags: Flags,
        f: F,
    ) -> Result
    where
        F: FnOnce() + Send + 'scope,
    {
        let job = self.job(class, flags, f)?;
        queue.enqueue(job).map_err(|e| e.error())
    }

    /// Boxes `f` in a job counted in the scope. A job the queue refuses is dropped with the
    /// error, which drops `f` unrun and counts it out.
    fn job<F>(&'scope self, class: JobClass, flags: Flags, f: F) -> Result<Pin<KBox<Job>>>
    where
        F: FnOnce() + Send + 'scope,
    {
        if may_block(flags) {
            cpu::may_sleep()?;
        }
        let boxed = KBox::new(Some(f), flags)?;
        let raw = KBox::into_raw(boxed).cast::<core::ffi::c_void>();
        // Counted in first: the job's drop counts it out, whatever happens to it.
        self.data.pending.add(1, Relaxed);
        // Lifetimes are erased here: `scope` does not return before the job is dropped (after
        // its run or unrun), so `f`'s borrows (`'scope`) outlive every use of `f`.
        // INVARIANT: `raw` is a `KBox<Option<F>>` and `call_box::<F>` is made for it; the data
        // lives until `scope` returns, which waits for every job's `finish`.
        let job = KBox::pin_init(
            pin_init!(Job {
                work <- Work::new(class.name, class.key),
                f: raw,
                call: call_box::<F>,
                scope: ptr::from_ref(self.data),
            }),
            flags,
        );
        job.inspect_err(|_| {
            // SAFETY: The job was not made, so `raw` (from `KBox::into_raw` of a
            // `KBox<Option<F>>` above) is still ours, and is used once here.
            unsafe { call_box::<F>(raw, false) };
            self.data.finish();
        })
    }
}

/// Runs `f` with a [`Scope`] on which it may spawn closures that borrow from the caller, and
/// returns `f`'s result once every spawned closure has run. `EAGAIN` where the caller cannot
/// sleep, `EDEADLK` from a kworker or in memory reclaim; `f` is not called then. `f` and its
/// result are `Send`, so no lock, RCU or interrupt guard taken in `f` outlives it; one that `f`
/// leaks on purpose (`mem::forget`) makes the wait spin instead of sleeping.
pub fn scope<'env, T, F>(f: F) -> Result<T>
where
    // Neither `f` nor its result can carry a lock, RCU or interrupt guard out to the caller
    // (those are `!Send`, and so is a closure that captures a place to put one): `scope` sleeps
    // after `f`.
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> T + Send,
    T: Send,
{
    let ctx = cpu::context();
    if !ctx.may_sleep() {
        return Err(EAGAIN);
    }
    if ctx.is_worker() || ctx.in_memalloc() {
        return Err(EDEADLK);
    }
    ::pin_init::stack_pin_init!(let data = ScopeData::new());
    let data: &ScopeData = &data;
    let scope = Scope {
        data,
        _scope: PhantomData,
        _env: PhantomData,
    };
    let r = f(&scope);
    data.wait();
    Ok(r)
}

/// Queues a closure that may borrow from a [`scope`] on `system_dfl`, with `flags` for its
/// allocations and the lockdep class of this call site: see [`Scope::spawn_in`].
///
/// ```ignore
/// rust_wq::scope(|s| rust_wq::spawn!(s, GFP_KERNEL, || total += 1))??;
/// ```
#[macro_export]
macro_rules! spawn {
    ($scope:expr, $flags:expr, $f:expr $(,)?) => {
        $scope.spawn_in(
            $crate::rust_wq::scope::JobClass {
                name: ::kernel::optional_name!(),
                key: ::kernel::static_lock_class!(),
            },
            $flags,
            $f,
        )
    };
}

/// Queues a closure that may borrow from a [`scope`] on an owned queue, with `flags` for its
/// allocations and the lockdep class of this call site: see [`Scope::spawn_on_in`].
///
/// ```ignore
/// rust_wq::scope(|s| rust_wq::spawn_on!(s, &queue, GFP_KERNEL, || total += 1))??;
/// ```
#[macro_export]
macro_rules! spawn_on {
    ($scope:expr, $queue:expr, $flags:expr, $f:expr $(,)?) => {
        $scope.spawn_on_in(
            $queue,
            $crate::rust_wq::scope::JobClass {
                name: ::kernel::optional_name!(),
                key: ::kernel::static_lock_class!(),
            },
            $flags,
            $f,
        )
    };
}
