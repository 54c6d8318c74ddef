// SPDX-License-Identifier: GPL-2.0

//! Scoped work: closures that borrow from the caller's stack, run by a queue's workers, sound in
//! the way `std::thread::scope` is.
//!
//! [`scope`] calls its closure with a [`Scope`]; closures spawned on it ([`spawn!`] on
//! `system_dfl`, [`spawn_on!`] on an owned queue) may borrow anything that outlives the call
//! (`'env`), mutably too. [`scope`] returns only after every spawned closure has run and been
//! dropped (or, see *Rules*, been dropped unrun), so no borrow outlives its data; nothing can make
//! it return earlier (the `Scope` stays [`scope`]'s own, so it cannot be leaked or forgotten).
//!
//! Each [`spawn!`] or [`spawn_on!`] site gives its closures a lockdep class of its own, as
//! [`try_spawn!`](crate::try_spawn) and [`new_work!`](crate::new_work) do: with one class for
//! all, lockdep would join the locks of unrelated closures into false cycles (and turn itself
//! off). A site counts once against the module's [`CLASSES`](crate::rust_wq::CLASSES),
//! however often it spawns.
//!
//! Waiting is what a flush is, with the same rules: `EAGAIN` where the caller cannot sleep,
//! `EDEADLK` from a kworker (the closures could wait behind the caller's own item) and from
//! memory reclaim (the closures go on queues without `WQ_MEM_RECLAIM`). Nothing is spawned then.
//!
//! # Rules
//!
//! - Spawning with flags that may sleep (`GFP_KERNEL`) where the caller cannot sleep (under a
//!   spinlock, with interrupts off) is `EAGAIN`, as with [`try_spawn!`](crate::try_spawn);
//!   `GFP_ATOMIC` spawns there.
//! - The closure given to [`scope`] must return able to sleep. Its lock, RCU and interrupt
//!   guards cannot leave it (they are `!Send`), but one it leaks (`mem::forget`) stays: [`scope`]
//!   then cannot sleep, and work waiting for this CPU may not run while it waits. So it takes
//!   every spawned closure that has not started off its queue and drops it unrun (then it
//!   returns `EAGAIN`, the closure's result dropped), refuses further spawns (`ECANCELED`), and
//!   waits for the closures already running by spinning. Those finish on other CPUs. One that
//!   cannot (it started on this CPU's worker of a per-CPU queue and was preempted there, or the
//!   machine has one CPU, or it waits for the leaked lock) would use the stack it borrows after
//!   [`scope`] returned, so [`scope`] does not return: it says so in the kernel log (`pr_err`)
//!   after a second, and the kernel's lockup detectors follow. No closure spawned after the leak
//!   strands on this CPU: it cannot have started here, so it is dropped or runs elsewhere.
//!
//! # Examples
//!
//! ```
//! use crate::rust_wq::{scope, spawn};
//!
//! let mut halves = [0u64; 2];
//! let (lo, hi) = halves.split_at_mut(1);
//! scope(|s| -> Result {
//!     spawn!(s, GFP_KERNEL, || lo[0] = (0..1000).sum())?;
//!     spawn!(s, GFP_KERNEL, || hi[0] = (1000..2000).sum())?;
//!     Ok(())
//! })??;
//! assert_eq!(halves[0] + halves[1], (0..2000).sum());
//! # Ok::<(), Error>(())
//! ```
//!
//! [`spawn!`]: crate::spawn
//! [`spawn_on!`]: crate::spawn_on

use crate::rust_wq::prelude::*;
use crate::rust_wq::{
    closure::spawn::may_block,
    cpu,
    queue::builder::Threaded,
    queue::system,
    HasField,
    OwnedQueue,
    Work,
    WorkItem,
    WorkItemPointer, //
};
use core::{
    marker::PhantomData,
    ptr, //
};
use kernel::{
    alloc::Flags,
    bindings, new_spinlock_irq,
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Full,
            Relaxed, //
        },
        LockClassKey,
        SpinLockIrq, //
    },
    time::{
        Delta,
        Instant,
        Monotonic, //
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

/// Makes `node` an empty list, or an unlinked node (pointing at itself both ways).
///
/// # Safety
///
/// `node` must be valid for writes.
unsafe fn list_init(node: *mut bindings::list_head) {
    // SAFETY: The caller's promise.
    unsafe {
        (*node).next = node;
        (*node).prev = node;
    }
}

/// Links the unlinked `node` at the tail of the list `head`.
///
/// # Safety
///
/// `node`, `head` and the nodes of `head`'s list must be valid, and nothing else may touch them
/// during the call (the list's lock is held, or the list is the caller's own).
unsafe fn list_add_tail(node: *mut bindings::list_head, head: *mut bindings::list_head) {
    // SAFETY: The caller's promise.
    unsafe {
        let prev = (*head).prev;
        (*node).next = head;
        (*node).prev = prev;
        (*prev).next = node;
        (*head).prev = node;
    }
}

/// Unlinks `node` from its list and leaves it unlinked; an unlinked node stays so.
///
/// # Safety
///
/// As [`list_add_tail`], for `node` and its list.
unsafe fn list_del_init(node: *mut bindings::list_head) {
    // SAFETY: The caller's promise.
    unsafe {
        let (next, prev) = ((*node).next, (*node).prev);
        (*prev).next = next;
        (*next).prev = prev;
        list_init(node);
    }
}

/// The jobs of one [`scope`] not yet dropped, by their [`Job::link`].
#[pin_data]
struct JobList {
    #[pin]
    head: Opaque<bindings::list_head>,
    /// Set once [`scope`] drops the jobs that have not started: no job joins afterwards.
    closed: bool,
}

impl JobList {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            head <- Opaque::ffi_init(|head| {
                // SAFETY: `head` is valid for writes of a `list_head`.
                unsafe { list_init(head) }
            }),
            closed: false,
        })
    }
}

/// What the closures of one [`scope`] share with it: the closures not yet finished, plus one
/// for [`scope`] itself until it waits, the completion that the last one signals, and the list
/// of the jobs (what [`scope`] takes back from their queues if it cannot sleep).
#[pin_data]
struct ScopeData {
    pending: Atomic<usize>,
    #[pin]
    done: Opaque<bindings::completion>,
    /// With interrupts off: jobs are spawned under the caller's locks, which interrupt handlers
    /// may take too.
    #[pin]
    jobs: SpinLockIrq<JobList>,
}

// SAFETY: `pending` is atomic, the completion serialises its users with its own lock, and the
// list of jobs is only touched with `jobs` locked.
unsafe impl Sync for ScopeData {}

impl ScopeData {
    fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            pending: Atomic::new(1),
            done <- Opaque::ffi_init(|slot| {
                // SAFETY: `slot` is valid for writes of a `struct completion`.
                unsafe { bindings::init_completion(slot) }
            }),
            jobs <- new_spinlock_irq!(JobList::new(), "rust_wq::scope::jobs"),
        })
    }

    /// Links the unlinked `node` (a [`Job::link`]) into the list: `ECANCELED` once [`scope`]
    /// has dropped the jobs that had not started.
    ///
    /// # Safety
    ///
    /// `node` must be the `link` of a job of this scope, valid until the job's drop unlinks it.
    unsafe fn link(&self, node: *mut bindings::list_head) -> Result {
        let mut jobs = self.jobs.lock();
        let jobs = jobs.as_mut().project();
        if *jobs.closed {
            return Err(ECANCELED);
        }
        // SAFETY: The list's nodes are the links of live jobs (each unlinks itself under this
        // lock before it goes), `node` is unlinked and valid (the caller), and we hold the lock.
        unsafe { list_add_tail(node, jobs.head.get()) };
        Ok(())
    }

    /// Unlinks `node` (a [`Job::link`]) if it is in the list.
    ///
    /// # Safety
    ///
    /// `node` must be the `link` of a live job of this scope, in the list or unlinked.
    unsafe fn unlink(&self, node: *mut bindings::list_head) {
        let _jobs = self.jobs.lock();
        // SAFETY: `node` is valid (the caller) and, if linked, so are its neighbours (live jobs,
        // or the head); we hold the lock.
        unsafe { list_del_init(node) };
    }

    /// Counts one closure out; the last one signals [`scope`].
    fn finish(&self) {
        if self.pending.fetch_sub(1, Full) == 1 {
            // SAFETY: `done` is initialised; `complete_all` may be called from any context.
            // The waiter returns only once this call released the completion's lock.
            unsafe { bindings::complete_all(self.done.get()) };
        }
    }

    /// Takes every job that has not started off its queue and drops it (its closure unrun), and
    /// closes the list to new jobs. Returns how many it dropped. Any context.
    fn drop_unstarted(&self) -> usize {
        let mut taken = bindings::list_head {
            next: ptr::null_mut(),
            prev: ptr::null_mut(),
        };
        // `taken` stays in place until this function returns, and is only reached through this.
        let taken = &raw mut taken;
        // SAFETY: `taken` is valid for writes.
        unsafe { list_init(taken) };
        {
            let mut jobs = self.jobs.lock();
            let jobs = jobs.as_mut().project();
            *jobs.closed = true;
            let head = jobs.head.get();
            // SAFETY: The list is initialised, its nodes are the links of live jobs (each
            // unlinks itself under this lock before it goes), and we hold the lock.
            let mut node = unsafe { (*head).next };
            while node != head {
                // SAFETY: As above.
                let next = unsafe { (*node).next };
                // SAFETY: `node` is the `link` of a live job (see above).
                let job = unsafe { Job::of_link(node) };
                // SAFETY: The job is alive while it is in the list, and its work item is
                // initialised (before it was linked); `cancel_work` may be called from any
                // context.
                if unsafe { bindings::cancel_work(Work::raw_get(Job::raw_get_field(job))) } {
                    // SAFETY: `node` is in the list, whose lock we hold; `taken` is ours.
                    unsafe {
                        list_del_init(node);
                        list_add_tail(node, taken);
                    }
                }
                node = next;
            }
        }
        let mut dropped = 0;
        loop {
            // SAFETY: `taken` is a list only this function touches: its nodes are the links of
            // jobs taken off their queues, whose only owner we are now.
            let node = unsafe { (*taken).next };
            if node == taken {
                break;
            }
            // SAFETY: As above.
            unsafe { list_del_init(node) };
            // SAFETY: `cancel_work` found this job pending and took it off its queue, so the
            // queue's pointer to it (from `into_raw` of a `Pin<KBox<Job>>`) is ours, once; its
            // drop drops the closure unrun and counts it out.
            drop(unsafe { <Pin<KBox<Job>> as WorkItemPointer>::from_raw(Job::of_link(node)) });
            dropped += 1;
        }
        dropped
    }

    /// Counts [`scope`] out and waits until every job has been dropped. `EAGAIN` if the caller
    /// could not sleep and jobs that had not started were dropped unrun (see [`scope`]).
    fn wait(&self) -> Result {
        if cpu::may_sleep().is_ok() {
            if self.pending.fetch_sub(1, Full) != 1 {
                // SAFETY: `done` is initialised, and we may sleep.
                unsafe { bindings::wait_for_completion(self.done.get()) };
            }
            return Ok(());
        }
        // The closure given to `scope` left the caller unable to sleep: a guard it leaked. What
        // waits on this CPU cannot run until the guard goes, which it does not while we wait:
        // drop what has not started, wait for the rest without sleeping.
        let dropped = self.drop_unstarted();
        let running = self.pending.fetch_sub(1, Full) - 1;
        if dropped != 0 || running != 0 {
            pr_err!(
                "rust_wq: scope: its closure returned unable to sleep (a leaked guard): \
                 {dropped} spawned closures dropped unrun, {running} waited for by spinning\n"
            );
        }
        if running != 0 {
            self.spin();
        }
        if dropped == 0 {
            Ok(())
        } else {
            Err(EAGAIN)
        }
    }

    /// Waits without sleeping until the last job has signalled; reports a wait of over a
    /// second, which may never end (see [`scope`]).
    fn spin(&self) {
        let start = Instant::<Monotonic>::now();
        let mut told = false;
        // `completion_done` takes the completion's lock, so once it says done, `complete_all`
        // has returned and the data may go.
        // SAFETY: `done` is initialised; `completion_done` may be called from any context.
        while !unsafe { bindings::completion_done(self.done.get()) } {
            if !told && start.elapsed() > Delta::from_secs(1) {
                told = true;
                pr_err!(
                    "rust_wq: scope: still spinning for a closure that started before its \
                     caller leaked a guard; one that needs this CPU never finishes\n"
                );
            }
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

/// A closure spawned on a [`Scope`], with its lifetime erased (see `Scope::job`).
///
/// # Invariants
///
/// - `f` is null or a `KBox<Option<F>>` of the closure type that `call` was made for; `scope` is
///   the data of the [`scope`] call that waits for this job: both stay valid until the job's
///   drop has called `ScopeData::finish`. Every job is dropped (after its run, or unrun), and
///   its drop frees the closure if it is still there, unlinks `link`, then calls `finish`, once.
/// - `link` is unlinked, or in the list of `scope`'s jobs from its spawn until its drop, or in
///   `ScopeData::drop_unstarted`'s own list once that took the job off its queue. It is
///   touched only with the scope's list locked, or by `drop_unstarted` in its own list, and by
///   whoever does not own the job through raw pointers only: a worker running the job holds
///   `Pin<&mut Job>` meanwhile, which `link` does not conflict with (it is `Opaque`, as the work
///   item that C touches meanwhile is).
#[pin_data(PinnedDrop)]
pub struct Job {
    #[pin]
    work: Work<Job>,
    #[pin]
    link: Opaque<bindings::list_head>,
    f: *mut core::ffi::c_void,
    call: unsafe fn(*mut core::ffi::c_void, bool),
    scope: *const ScopeData,
}

// SAFETY: The closure is `Send` (a bound of `spawn_in`), and `ScopeData` is `Sync` (an atomic,
// a completion and a list that lock themselves): a job may move to a kworker.
unsafe impl Send for Job {}

crate::impl_has_work! { impl HasWork<Self> for Job { self.work } }

impl Job {
    /// The job whose `link` is at `node`.
    ///
    /// # Safety
    ///
    /// `node` must point at the `link` of a `Job`.
    unsafe fn of_link(node: *mut bindings::list_head) -> *mut Job {
        // SAFETY: `Opaque` is `#[repr(transparent)]`, and `node` is the `link` field of a `Job`
        // (the caller's promise).
        unsafe { kernel::container_of!(node.cast::<Opaque<bindings::list_head>>(), Job, link) }
    }

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
        // SAFETY: The scope's data lives until this job's `finish` (type invariant): `scope`
        // waits for it.
        let scope = unsafe { &*self.scope };
        // SAFETY: `link` is this live job's, in its scope's list or unlinked (type invariant).
        unsafe { scope.unlink(self.link.get()) };
        // Nothing of the scope is touched after this.
        scope.finish();
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
    /// makes one per call site. `flags` are those of its allocations.
    ///
    /// # Errors
    ///
    /// `f` is dropped unrun:
    ///
    /// - `EAGAIN`: `flags` may sleep (`GFP_KERNEL`) and the caller cannot.
    /// - `ENOMEM`: the closure's box could not be allocated.
    /// - `ECANCELED`: the scope is dropping its closures that have not started (see [`scope`]).
    /// - An error of [`Enqueue::enqueue`]: `EINVAL` (the module
    ///   is not wrapped in [`Drained`](crate::rust_wq::Drained)), `ESHUTDOWN` (it is being
    ///   unloaded), or, with lockdep, `ENOSPC` (the module's table of lockdep classes is full).
    ///
    /// [`Enqueue::enqueue`]: crate::rust_wq::Enqueue::enqueue
    pub fn spawn_in<F>(&'scope self, class: JobClass, flags: Flags, f: F) -> Result
    where
        F: FnOnce() + Send + 'scope,
    {
        let job = self.job(class, flags, f)?;
        system::system_dfl().enqueue(job).map_err(|e| e.error())
    }

    /// Queues `f` on the owned queue `queue`, as [`Scope::spawn_in`] does on `system_dfl`:
    /// use [`spawn_on!`](crate::spawn_on).
    ///
    /// # Errors
    ///
    /// Those of [`Scope::spawn_in`], the enqueue being
    /// [`Enqueue::enqueue`] on
    /// `queue`; `f` is dropped unrun.
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

    /// Boxes `f` in a job counted and linked in the scope. A job not made, not linked or refused
    /// by the queue is dropped with the error, which drops `f` unrun and counts it out.
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
        // lives until `scope` returns, which waits for every job's `finish`; `link` starts
        // unlinked.
        let job = KBox::pin_init(
            pin_init!(Job {
                work <- Work::new(class.name, class.key),
                link <- Opaque::ffi_init(|node| {
                    // SAFETY: `node` is valid for writes of a `list_head`.
                    unsafe { list_init(node) }
                }),
                f: raw,
                call: call_box::<F>,
                scope: ptr::from_ref(self.data),
            }),
            flags,
        );
        let job = job.inspect_err(|_| {
            // SAFETY: The job was not made, so `raw` (from `KBox::into_raw` of a
            // `KBox<Option<F>>` above) is still ours, and is used once here.
            unsafe { call_box::<F>(raw, false) };
            self.data.finish();
        })?;
        // Linked before it is queued: its drop, after its run or on a refusal, unlinks it.
        // SAFETY: `link` is the job's, which lives until its drop unlinks it.
        unsafe { self.data.link(job.link.get()) }?;
        Ok(job)
    }
}

/// Runs `f` with a [`Scope`] on which it may spawn closures that borrow from the caller, and
/// returns `f`'s result once every spawned closure has run. `f` and its result are `Send`, so
/// no lock, RCU or interrupt guard taken in `f` outlives it. One that `f` leaks on purpose
/// (`mem::forget`) leaves the caller unable to sleep: the closures that have not started are
/// dropped unrun, those running are waited for by spinning, which never ends if one of them
/// needs this CPU: see the module's *Rules*.
///
/// # Errors
///
/// - `EAGAIN`: the caller cannot sleep; `f` is not called.
/// - `EDEADLK`: the caller is a kworker or in memory reclaim; `f` is not called.
/// - `EAGAIN`: `f` returned with the caller unable to sleep (a guard it leaked), and closures
///   that had not started were dropped unrun; `f`'s result is dropped.
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
    data.wait()?;
    Ok(r)
}

/// Queues a closure that may borrow from a [`scope`] on `system_dfl`, with `flags` for its
/// allocations and the lockdep class of this call site: see [`Scope::spawn_in`].
///
/// ```
/// # use crate::rust_wq::{scope, spawn};
/// # let mut total = 0;
/// scope(|s| spawn!(s, GFP_KERNEL, || total += 1))??;
/// # assert_eq!(total, 1);
/// # Ok::<(), Error>(())
/// ```
#[macro_export]
macro_rules! spawn {
    ($scope:expr, $flags:expr, $f:expr $(,)?) => {
        $scope.spawn_in(
            $crate::rust_wq::closure::scope::JobClass {
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
/// ```
/// # use crate::rust_wq::{scope, spawn_on, OwnedQueue};
/// # let queue = OwnedQueue::unbound().build(c"jobs")?;
/// # let mut total = 0;
/// scope(|s| spawn_on!(s, &queue, GFP_KERNEL, || total += 1))??;
/// # assert_eq!(total, 1);
/// # Ok::<(), Error>(())
/// ```
#[macro_export]
macro_rules! spawn_on {
    ($scope:expr, $queue:expr, $flags:expr, $f:expr $(,)?) => {
        $scope.spawn_on_in(
            $queue,
            $crate::rust_wq::closure::scope::JobClass {
                name: ::kernel::optional_name!(),
                key: ::kernel::static_lock_class!(),
            },
            $flags,
            $f,
        )
    };
}
