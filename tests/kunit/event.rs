// SPDX-License-Identifier: GPL-2.0

//! Waiting on events: a thread that must wait for another (an item to run, a worker to be let
//! go, a count to be reached) sleeps until that thread says so, instead of polling with sleeps.
//!
//! Every wait has a bound, [`PATIENCE_MS`], far longer than what it waits for takes on any
//! machine. A wait that ran out only ends the wait: the caller fails as "too slow to finish"
//! (the log says where), never with a verdict on what it saw. The KUnit module and the torture
//! suite (`tests/stress`) both mount this file.
//!
//! C header: [`include/linux/completion.h`](srctree/include/linux/completion.h)

use kernel::{
    bindings, new_condvar, new_spinlock_irq,
    prelude::*,
    sync::{
        Arc,
        CondVar,
        SpinLockIrq, //
    },
    time::{
        msecs_to_jiffies,
        Instant,
        Monotonic, //
    },
    types::Opaque,
};

/// The longest a test waits for what must happen (an item to run, another thread to reach a
/// point): far longer than that takes on any machine, so that no verdict depends on its speed.
/// It also stays below the hung-task watchdog's 120 s, so that a wait never looks hung.
pub const PATIENCE_MS: i64 = 60_000;

/// Says in the log that a wait at `at` ran out: the case fails as too slow, not as wrong.
fn too_slow(at: &core::panic::Location<'_>) {
    pr_info!(
        "    # too slow to finish: waited {} s at {}:{} and it did not happen\n",
        PATIENCE_MS / 1000,
        at.file(),
        at.line()
    );
}

/// One slice of a wait of `left` milliseconds, in jiffies: at most [`PATIENCE_MS`].
fn slice(left: i64) -> kernel::time::Jiffies {
    msecs_to_jiffies(left.clamp(1, PATIENCE_MS) as u32)
}

/// Something that happens once and that any number of threads wait for: C's
/// `struct completion`, set from any context and waited for with a bound.
///
/// [`Event::set`] is C's `complete`, not `complete_all`: under lockdep `complete_all` warns in a
/// hard interrupt that would not be threaded on PREEMPT_RT (a hard `hrtimer` callback). A wait
/// that sees the event sets it again for the next waiter, so that it stays set once set.
#[pin_data]
pub struct Event {
    #[pin]
    done: Opaque<bindings::completion>,
}

// SAFETY: A `struct completion` may be set and waited for from any thread.
unsafe impl Send for Event {}

// SAFETY: Every method takes `&self`; C serialises the users of a completion with its own lock.
unsafe impl Sync for Event {}

impl Event {
    /// An event that is not set.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            done <- Opaque::ffi_init(|slot: *mut bindings::completion| {
                // SAFETY: `slot` is valid for writes of a `struct completion`.
                unsafe { bindings::init_completion(slot) }
            }),
        })
    }

    /// An event that is not set, to share between threads.
    pub fn new_arc() -> Result<Arc<Self>> {
        Arc::pin_init(Self::new(), GFP_KERNEL)
    }

    /// Sets the event and wakes its waiters. Any context, hard interrupts included.
    pub fn set(&self) {
        // SAFETY: `done` is an initialised completion; `complete` takes a raw spinlock with
        // interrupts off, which any context may.
        unsafe { bindings::complete(self.done.get()) }
    }

    /// Whether the event is set.
    pub fn is_set(&self) -> bool {
        // SAFETY: `done` is an initialised completion; any context may read it.
        unsafe { bindings::completion_done(self.done.get()) }
    }

    /// Waits until the event is set, up to `ms` milliseconds; quietly `false` if it was not.
    /// The caller must be able to sleep.
    pub fn wait_ms(&self, ms: i64) -> bool {
        let t0 = Instant::<Monotonic>::now();
        loop {
            let left = ms - t0.elapsed().as_millis();
            if left <= 0 {
                return self.is_set();
            }
            // SAFETY: `done` is an initialised completion.
            let got =
                unsafe { bindings::wait_for_completion_timeout(self.done.get(), slice(left)) };
            if got != 0 {
                // The wait took the `complete`: give it back, for the next waiter and wait.
                self.set();
                return true;
            }
        }
    }

    /// Waits until the event is set, up to [`PATIENCE_MS`]; if it was not, the log says "too
    /// slow to finish" with the caller's line, and the answer is `false`.
    #[track_caller]
    pub fn wait(&self) -> bool {
        let at = core::panic::Location::caller();
        let set = self.wait_ms(PATIENCE_MS);
        if !set {
            too_slow(at);
        }
        set
    }

    /// Waits until the event is set, however long that takes, as C's `wait_for_completion`
    /// (but in slices that the hung-task watchdog does not take for a hang): for a worker held
    /// until the case lets it go.
    pub fn wait_unbounded(&self) {
        while !self.wait_ms(PATIENCE_MS) {}
    }
}

/// A condition that other threads change and announce ([`Changes::notify`]), and that any
/// number of threads wait for: C's `wait_event`, through a [`CondVar`].
///
/// Announced from task or softirq context only: the wait queue's lock is a `spinlock_t`, which a
/// hard interrupt may not take. The conditions waited for read atomics and take no lock.
#[pin_data]
pub struct Changes {
    #[pin]
    lock: SpinLockIrq<()>,
    #[pin]
    changed: CondVar,
}

impl Changes {
    /// A condition nobody waits for yet.
    pub fn new() -> impl PinInit<Self> {
        pin_init!(Self {
            lock <- new_spinlock_irq!((), "Changes::lock"),
            changed <- new_condvar!("Changes::changed"),
        })
    }

    /// Announces a change made before the call: every waiter checks its condition again.
    pub fn notify(&self) {
        // A waiter checks its condition holding the lock, and releases it only once it is on
        // the wait queue: by the time this thread has had the lock, each waiter either saw the
        // change or is on the queue, and woken below.
        drop(self.lock.lock());
        self.changed.notify_all();
    }

    /// Waits until `cond` holds, checking it at each change announced, up to `ms` milliseconds;
    /// quietly `false` if it never did. The caller must be able to sleep.
    pub fn wait_ms(&self, ms: i64, cond: impl Fn() -> bool) -> bool {
        let t0 = Instant::<Monotonic>::now();
        let mut guard = self.lock.lock();
        while !cond() {
            let left = ms - t0.elapsed().as_millis();
            if left <= 0 {
                return false;
            }
            // Woken by a change, or at the end of the slice: either way `cond` is checked again,
            // and the clock. Kernel threads take no signals.
            let _ = self
                .changed
                .wait_interruptible_timeout(&mut guard, slice(left));
        }
        true
    }

    /// Waits until `cond` holds, up to [`PATIENCE_MS`]; if it never did, the log says "too slow
    /// to finish" with the caller's line, and the answer is `false`.
    #[track_caller]
    pub fn wait_until(&self, cond: impl Fn() -> bool) -> bool {
        let at = core::panic::Location::caller();
        let held = self.wait_ms(PATIENCE_MS, cond);
        if !held {
            too_slow(at);
        }
        held
    }
}
