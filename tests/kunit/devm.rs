// SPDX-License-Identifier: GPL-2.0

//! `DevmQueue`, which needs a device in its driver's `probe`: this module registers a platform
//! driver of its own and adds a platform device that it binds (the C shim adds and removes the
//! device), so that `probe` builds the queue and hands it to the test thread.
//!
//! The cases drop the handle in each context where its drop cannot wait (a kworker, softirq,
//! hard interrupt, a spinlock held, memory reclaim), twice: while the device is bound, and while
//! the device's unbind is dropping the queue and waits for an item of it (where a drop in place
//! would wait for that unbind). Each time the drop must return at once, before the items pending
//! and armed on the queue ran, and they must then run once each, the hand-off finish and nothing
//! WARN.

use kernel::prelude::*;

#[kunit_tests(rust_wq_devm)]
mod tests {
    use crate::event::{
        Event,
        PATIENCE_MS, //
    };
    use crate::probe::{
        errno,
        wait_for,
        Action,
        DelayedProbe,
        InReclaim,
        Job,
        Probe,
        Shared, //
    };
    use crate::rust_wq::prelude::*;
    use crate::rust_wq::{
        self,
        impl_has_work,
        new_work,
        DevmQueue,
        EnqueueErrorKind,
        Ordered,
        OwnedQueue,
        PerCpu,
        Slot,
        Unbound,
        Work,
        WorkItem, //
    };
    use core::{
        cell::UnsafeCell,
        mem::MaybeUninit, //
    };
    use kernel::{
        device::Core,
        driver,
        ffi::{
            c_char,
            c_int,
            c_void, //
        },
        new_spinlock,
        platform,
        prelude::*,
        sync::{
            atomic::{
                Acquire,
                Atomic,
                Relaxed, //
            },
            Arc,
            ArcBorrow,
            SpinLock, //
        },
        time::{
            hrtimer::{
                HrTimer,
                HrTimerCallback,
                HrTimerCallbackContext,
                HrTimerPointer,
                HrTimerRestart,
                RelativeHardMode, //
            },
            Delta,
            Monotonic, //
        },
        ModuleMetadata,
        ThisModule, //
    };

    /// The name of the test driver and of its device: the platform bus matches them by name.
    const NAME: &CStr = c"rust_wq_devm_test";

    /// What the test driver's `probe` does with the device: set by [`TestDevice::add`], called
    /// once (a `FnMut` around the caller's `FnOnce`: a boxed `FnOnce` cannot be called here).
    type ProbeFn = dyn for<'a, 'b> FnMut(&'a platform::Device<Core<'b>>) + Send;

    /// The `probe` of the device being added, taken by the driver's `probe`.
    #[pin_data]
    struct Plan {
        #[pin]
        probe: SpinLock<Option<KBox<ProbeFn>>>,
    }

    /// Hands the [`Plan`] of the device being added to the driver (which only has static
    /// context).
    static PLAN: Slot<Plan> = Slot::new();

    /// A platform driver of this module that runs the [`Plan`] in its `probe`.
    struct TestDriver;

    impl platform::Driver for TestDriver {
        type IdInfo = ();
        type Data<'bound> = ();

        fn probe<'bound>(
            pdev: &'bound platform::Device<Core<'_>>,
            _info: Option<&'bound ()>,
        ) -> impl PinInit<(), Error> + 'bound {
            let f = PLAN.get().and_then(|plan| plan.probe.lock().take());
            if let Some(mut f) = f {
                f(pdev);
            }
            Ok(())
        }
    }

    /// This module, for the driver's registration.
    static MODULE: ThisModule = <crate::LocalModule as ModuleMetadata>::THIS_MODULE;

    /// The test driver, registered while this lives.
    fn register_driver() -> Result<Pin<KBox<driver::Registration<platform::Adapter<TestDriver>>>>> {
        KBox::pin_init(driver::Registration::new(NAME, &MODULE), GFP_KERNEL)
    }

    extern "C" {
        fn rust_wq_test_pdev_add(name: *const c_char) -> *mut c_void;
        fn rust_wq_test_pdev_remove(d: *mut c_void);
        fn rust_wq_test_pdev_remove_async(d: *mut c_void) -> c_int;
        fn rust_wq_test_pdev_wait_removed(d: *mut c_void);
    }

    /// A platform device named [`NAME`], bound to the test driver; dropping it removes it,
    /// which unbinds it in the caller.
    ///
    /// # Invariants
    ///
    /// `0` comes from `rust_wq_test_pdev_add` and has not been removed.
    struct TestDevice(*mut c_void);

    impl TestDevice {
        /// Adds the device and binds it, with `probe` as what the driver's `probe` does.
        ///
        /// # Errors
        ///
        /// `ENOMEM` if the device could not be added, `ENODEV` if it did not bind.
        fn add(
            probe: impl for<'a, 'b> FnOnce(&'a platform::Device<Core<'b>>) + Send + 'static,
        ) -> Result<Self> {
            let mut once = Some(probe);
            let probe: KBox<ProbeFn> = KBox::new(
                move |pdev: &platform::Device<Core<'_>>| {
                    if let Some(f) = once.take() {
                        f(pdev);
                    }
                },
                GFP_KERNEL,
            )?;
            let plan = Arc::pin_init(
                pin_init!(Plan { probe <- new_spinlock!(Some(probe)) }),
                GFP_KERNEL,
            )?;
            PLAN.publish(plan).map_err(|_| EBUSY)?;
            // SAFETY: `NAME` is a NUL-terminated string; C copies it.
            let raw = unsafe { rust_wq_test_pdev_add(NAME.as_char_ptr()) };
            // The driver's `probe` ran in the call (platform drivers probe synchronously), and
            // took the plan's function if it bound the device.
            let plan = PLAN.take()?.ok_or(EINVAL)?;
            let dev = (!raw.is_null()).then_some(Self(raw)).ok_or(ENOMEM)?;
            if plan.probe.lock().is_some() {
                return Err(ENODEV);
            }
            // INVARIANT: From `rust_wq_test_pdev_add`, not removed.
            Ok(dev)
        }

        /// Removes the device in a kernel thread of its own (a task that is no kworker): its
        /// unbind runs there while the caller goes on.
        fn remove_in_thread(self) -> Result<Removing> {
            // SAFETY: `self.0` is a device not removed (type invariant); on success the thread
            // owns it, so `self` is forgotten.
            let r = unsafe { rust_wq_test_pdev_remove_async(self.0) };
            if r != 0 {
                // `self` is dropped: removed here.
                return Err(Error::from_errno(r));
            }
            let raw = self.0;
            core::mem::forget(self);
            Ok(Removing(raw))
        }
    }

    impl Drop for TestDevice {
        fn drop(&mut self) {
            // SAFETY: `self.0` is a device not removed (type invariant), removed once, here.
            unsafe { rust_wq_test_pdev_remove(self.0) };
        }
    }

    /// A [`TestDevice`] being removed by its thread; dropping this waits until it is.
    struct Removing(*mut c_void);

    impl Drop for Removing {
        fn drop(&mut self) {
            // SAFETY: `self.0` was handed to `rust_wq_test_pdev_remove_async`, which succeeded;
            // waited for once, here.
            unsafe { rust_wq_test_pdev_wait_removed(self.0) };
        }
    }

    /// Where the test thread keeps the queue that `probe` built.
    type QueueSlot = Arc<SpinLock<Option<DevmQueue<Ordered>>>>;

    /// Takes the queue out of `slot` and drops it (outside the slot's lock); 1 if there was one,
    /// 2 if the slot was empty.
    fn take_and_drop(slot: &QueueSlot) -> u32 {
        let q = slot.lock().take();
        let had = q.is_some();
        drop(q);
        if had {
            1
        } else {
            2
        }
    }

    /// A value that one caller takes, in any context: a hard interrupt may take no `spinlock_t`
    /// (lockdep enforces PREEMPT_RT's rule), so a flag that one caller alone turns guards it.
    ///
    /// # Invariants
    ///
    /// `value` is initialised while `taken` is false, and is moved out only by the caller that
    /// turned `taken` from false to true.
    struct TakeOnce<T> {
        taken: Atomic<bool>,
        value: UnsafeCell<MaybeUninit<T>>,
    }

    // SAFETY: The value is never shared: one caller, on whatever thread, moves it out (or the
    // drop does), so sending `T` between threads is all that `&TakeOnce<T>` allows.
    unsafe impl<T: Send> Sync for TakeOnce<T> {}

    impl<T> TakeOnce<T> {
        fn new(value: T) -> Self {
            // INVARIANT: Initialised, not taken.
            Self {
                taken: Atomic::new(false),
                value: UnsafeCell::new(MaybeUninit::new(value)),
            }
        }

        /// The value, for the first caller only.
        fn take(&self) -> Option<T> {
            if self.taken.xchg(true, Acquire) {
                return None;
            }
            // SAFETY: This caller turned `taken` from false to true, so `value` is initialised
            // and no other caller moves it out (type invariant); it is not read again.
            Some(unsafe { (*self.value.get()).assume_init_read() })
        }
    }

    impl<T> Drop for TakeOnce<T> {
        fn drop(&mut self) {
            drop(self.take());
        }
    }

    /// An answer that another context gives once (a hard interrupt too), for the test thread to
    /// wait for.
    #[pin_data]
    struct Answer {
        value: Atomic<u32>,
        #[pin]
        given: Event,
    }

    impl Answer {
        fn new() -> impl PinInit<Self> {
            pin_init!(Self { value: Atomic::new(0), given <- Event::new() })
        }

        /// Gives the answer `v` (not 0). Any context.
        fn give(&self, v: u32) {
            self.value.store(v, Relaxed);
            self.given.set();
        }

        /// The answer once given; 0 if it was not within [`PATIENCE_MS`] (the log says so,
        /// with the caller's line).
        #[track_caller]
        fn wait(&self) -> u32 {
            if self.given.wait() {
                self.value.load(Relaxed)
            } else {
                0
            }
        }
    }

    /// Drops a queue from a BH item or from a hard `hrtimer` callback; `done` answers 1 once the
    /// drop returned (2 if the queue was gone).
    #[pin_data]
    struct Dropper {
        queue: TakeOnce<DevmQueue<Ordered>>,
        #[pin]
        done: Answer,
        #[pin]
        work: Work<Dropper>,
        #[pin]
        timer: HrTimer<Dropper>,
    }

    impl_has_work! { impl HasWork<Self> for Dropper { self.work } }

    kernel::impl_has_hr_timer! {
        impl HasHrTimer<Self> for Dropper {
            mode: RelativeHardMode<Monotonic>,
            field: self.timer
        }
    }

    impl Dropper {
        fn new(q: DevmQueue<Ordered>) -> Result<Arc<Self>> {
            Arc::pin_init(
                pin_init!(Self {
                    queue: TakeOnce::new(q),
                    done <- Answer::new(),
                    // Only ever on a BH queue: a lockdep class of its own.
                    work <- new_work!("devm::Dropper::work (BH)"),
                    timer <- HrTimer::new(),
                }),
                GFP_KERNEL,
            )
        }

        fn drop_queue(&self) {
            let q = self.queue.take();
            let had = q.is_some();
            drop(q);
            self.done.give(if had { 1 } else { 2 });
        }
    }

    impl WorkItem for Dropper {
        type Pointer = Arc<Dropper>;

        fn run(this: Arc<Dropper>) {
            this.drop_queue();
        }
    }

    impl HrTimerCallback for Dropper {
        type Pointer<'a> = Arc<Dropper>;

        fn run(
            this: ArcBorrow<'_, Dropper>,
            _ctx: HrTimerCallbackContext<'_, Dropper>,
        ) -> HrTimerRestart {
            this.drop_queue();
            HrTimerRestart::NoRestart
        }
    }

    /// The context the handle is dropped in.
    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Where {
        /// The run of an item of the queue itself (which the unbind waits for).
        Kworker,
        /// A BH item.
        Softirq,
        /// A hard `hrtimer` callback.
        HardIrq,
        /// The test thread, holding a spinlock.
        Atomic,
        /// The test thread, in memory reclaim (`PF_MEMALLOC`).
        Reclaim,
    }

    impl Where {
        const ALL: [Where; 5] = [
            Where::Kworker,
            Where::Softirq,
            Where::HardIrq,
            Where::Atomic,
            Where::Reclaim,
        ];
    }

    /// Drops the handle in `place`; [`take_and_drop`]'s answer once the drop returned, 0 if it
    /// did not within [`PATIENCE_MS`]. (For [`Where::Kworker`] the item that drops it is queued
    /// already, waiting for `go`, and answers in `done`.)
    fn drop_in(place: Where, slot: &QueueSlot, go: &Event, done: &Answer) -> Result<u32> {
        match place {
            Where::Kworker => {
                go.set();
                Ok(done.wait())
            }
            Where::Softirq => {
                // Out of the slot first: the lock guard of a temporary would live through `new`.
                let q = slot.lock().take().ok_or(ENODEV)?;
                let d = Dropper::new(q)?;
                rust_wq::system_bh().enqueue(d.clone())?;
                Ok(d.done.wait())
            }
            Where::HardIrq => {
                // Out of the slot first: the lock guard of a temporary would live through `new`.
                let q = slot.lock().take().ok_or(ENODEV)?;
                let d = Dropper::new(q)?;
                let handle = d.clone().start(Delta::from_micros(100));
                let answer = d.done.wait();
                // Cancels the timer if it never fired, and waits for a callback under way.
                drop(handle);
                Ok(answer)
            }
            Where::Atomic => {
                let lock = KBox::pin_init(new_spinlock!(()), GFP_KERNEL)?;
                let _guard = lock.lock();
                Ok(take_and_drop(slot))
            }
            Where::Reclaim => {
                let _r = InReclaim::enter();
                Ok(take_and_drop(slot))
            }
        }
    }

    /// Whether the device's unbind has revoked the queue of `slot` (and so is dropping it).
    fn revoked(slot: &QueueSlot) -> bool {
        slot.lock()
            .as_ref()
            .is_some_and(|q| q.try_access().is_none())
    }

    /// What [`drop_once`] saw: `Ok` if all held, else the first thing that did not. The
    /// helpers report, the cases assert (KUnit replaces `assert!` in the test functions only).
    type Verdict = core::result::Result<(), &'static str>;

    /// `Err(what)` unless `cond`.
    fn check(cond: bool, what: &'static str) -> Verdict {
        if cond {
            Ok(())
        } else {
            Err(what)
        }
    }

    /// One drop of the handle in `place`: `probe` builds an ordered queue; an item blocks its
    /// worker until `release` (in the kworker case it is the item that drops the handle, when
    /// `go` is set, and blocks after), three items wait behind it and one is armed for a minute.
    /// With `during_unbind`, a kernel thread removes the device first, and the drop comes once
    /// its unbind has revoked the queue and is dropping it, waiting for the blocked item.
    ///
    /// The drop must return before anything else of the queue ran (it waited for nothing), and
    /// hand off: the hand-off is still in flight then (it drops the queue, which waits for the
    /// blocked item). Once released, each item runs once, the hand-off and the unbind finish.
    fn drop_once(place: Where, during_unbind: bool) -> Result<Verdict> {
        let verdict = drop_once_judged(place, during_unbind)?;
        if let Err(what) = verdict {
            let when = if during_unbind {
                "during the unbind"
            } else {
                "while bound"
            };
            pr_info!("    # dropped in {place:?} {when}: {what}\n");
        }
        Ok(verdict)
    }

    /// [`drop_once`], without the log line.
    fn drop_once_judged(place: Where, during_unbind: bool) -> Result<Verdict> {
        let slot: QueueSlot = Arc::pin_init(new_spinlock!(None), GFP_KERNEL)?;
        let built = Arc::new(Atomic::new(0i32), GFP_KERNEL)?;
        let dev = {
            let (slot, built) = (slot.clone(), built.clone());
            TestDevice::add(move |pdev| {
                match OwnedQueue::ordered().build_devm(pdev.as_ref(), c"rwq_devm_drop") {
                    Ok(q) => *slot.lock() = Some(q),
                    Err(e) => built.store(e.to_errno(), Relaxed),
                }
            })?
        };
        if built.load(Relaxed) != 0 {
            return Ok(Err("probe could not build the queue"));
        }

        let s = Shared::new()?;
        let h = Shared::new()?;
        let go = Event::new_arc()?;
        let done = Arc::pin_init(Answer::new(), GFP_KERNEL)?;
        let release = Event::new_arc()?;
        let blocker = {
            let (slot, go, done, release) =
                (slot.clone(), go.clone(), done.clone(), release.clone());
            Job::new(&h, move || {
                // Each wait gives up after `PATIENCE_MS`, quietly, so that a drop that waited
                // for the unbind (which waits for this item) fails the case instead of hanging.
                if place == Where::Kworker {
                    let _ = go.wait_ms(PATIENCE_MS);
                    done.give(take_and_drop(&slot));
                }
                let _ = release.wait_ms(PATIENCE_MS);
            })?
        };
        let pending = [
            Probe::new(&s, 1, Action::Record)?,
            Probe::new(&s, 2, Action::Record)?,
            Probe::new(&s, 3, Action::Record)?,
        ];
        let armed = DelayedProbe::new(&s)?;
        {
            let guard = slot.lock();
            let q = guard.as_ref().ok_or(ENODEV)?;
            q.enqueue(blocker)?;
            for p in pending {
                q.enqueue(p)?;
            }
            q.enqueue_delayed(armed, Delta::from_millis(60_000))?;
        }
        if h.wait_entered(1) != 1 {
            return Ok(Err("the blocker never ran"));
        }

        let (dev, removing) = if during_unbind {
            let r = dev.remove_in_thread()?;
            // The unbind revoked the queue; it drops it now, waiting for the blocker. The
            // revocation, rust_wq's, announces nothing: polled.
            if !wait_for(|| revoked(&slot)) {
                return Ok(Err("the unbind never revoked the queue"));
            }
            (None, Some(r))
        } else {
            (Some(dev), None)
        };
        let dropped = drop_in(place, &slot, &go, &done)?;
        // Nothing of the queue ran during the drop: it waited for none of it (in the kworker
        // case, the dropping item is the one that holds up the rest).
        let ran_meanwhile = s.runs() + h.runs();
        let handoffs = rust_wq::testing::handoffs_in_flight();
        release.set();
        // Judged before the wait for the unbind: a drop that deadlocked with it (an item of
        // the queue waiting for the unbind) must fail the case, not hang it.
        if dropped != 1 {
            core::mem::forget(removing);
            return Ok(Err("the drop did not return"));
        }
        let verdict = check(
            place == Where::Kworker || ran_meanwhile == 0,
            "the drop waited for the queue's items",
        )
        // The hand-off is under way: it drops the queue, which waits for the blocker.
        .and(check(
            handoffs >= 1,
            "no hand-off was in flight after the drop",
        ));
        drop(removing);
        // The hand-off finished, and with it the queue's drop. rust_wq's count of hand-offs
        // announces nothing: polled.
        let verdict = verdict
            .and(check(
                wait_for(|| rust_wq::testing::handoffs_in_flight() == 0),
                "the hand-off never finished",
            ))
            .and(check(
                s.wait_dropped(4) == 4 && h.wait_dropped(1) == 1,
                "an item was not dropped exactly once",
            ));
        // Each item ran once: the blocker, the three behind it and the armed one (tag 0).
        let mut tags = [0u32; 4];
        let n = {
            let order = s.order.lock();
            for (t, &o) in tags.iter_mut().zip(order.iter()) {
                *t = o;
            }
            order.len()
        };
        tags.sort_unstable();
        let verdict = verdict.and(check(
            h.runs() == 1 && s.runs() == 4 && n == 4 && tags == [0, 1, 2, 3],
            "an item did not run exactly once",
        ));
        // A device still bound goes now; its unbind has nothing of the queue left to do.
        drop(dev);
        Ok(verdict.and(check(s.runs() == 4, "an item ran at the unbind")))
    }

    /// The handle dropped in each place where its drop cannot wait, while the device is bound and
    /// while the unbind drops the queue and waits for an item of it: handed off every time.
    ///
    /// - In a kworker, by an item of the queue itself: during the unbind, which waits for that
    ///   very item, a drop in place would wait for the unbind forever.
    /// - In softirq (a BH item), in a hard `hrtimer` callback, with a spinlock held: no sleep
    ///   there.
    /// - By a task in memory reclaim: no wait for items that may need memory (during the unbind,
    ///   a drop in place would wait for the unbind, which waits for the queue's items).
    #[test]
    fn dropped_where_it_cannot_wait_hands_off() -> Result {
        let driver = register_driver()?;
        let mut wrong = 0u32;
        for place in Where::ALL {
            for during_unbind in [false, true] {
                if drop_once(place, during_unbind)?.is_err() {
                    wrong += 1;
                }
            }
        }
        drop(driver);
        assert_eq!(wrong, 0);
        Ok(())
    }

    /// `build_devm` with a spinlock held in `probe` fails as `build` does there (`EAGAIN`) and
    /// leaves nothing behind: the same sysfs name builds right after in the same `probe`, that
    /// queue runs work, and the unbind drops it (its handle then refuses work with `ENODEV`).
    #[test]
    fn build_devm_under_a_spinlock_in_probe_is_eagain_and_loses_nothing() -> Result {
        let _driver = register_driver()?;
        let slot: Arc<SpinLock<Option<DevmQueue<Unbound>>>> =
            Arc::pin_init(new_spinlock!(None), GFP_KERNEL)?;
        let atomic = Arc::new(Atomic::new(1i32), GFP_KERNEL)?;
        let after = Arc::new(Atomic::new(1i32), GFP_KERNEL)?;
        let dev = {
            let (slot, atomic, after) = (slot.clone(), atomic.clone(), after.clone());
            TestDevice::add(move |pdev| {
                let Ok(lock) = KBox::pin_init(new_spinlock!(()), GFP_KERNEL) else {
                    return;
                };
                let r = {
                    let _guard = lock.lock();
                    OwnedQueue::unbound()
                        .sysfs()
                        .build_devm(pdev.as_ref(), c"rwq_devm_atomic")
                };
                atomic.store(errno(r), Relaxed);
                match OwnedQueue::unbound()
                    .sysfs()
                    .build_devm(pdev.as_ref(), c"rwq_devm_atomic")
                {
                    Ok(q) => {
                        after.store(0, Relaxed);
                        *slot.lock() = Some(q);
                    }
                    Err(e) => after.store(e.to_errno(), Relaxed),
                }
            })?
        };
        assert_eq!(atomic.load(Relaxed), EAGAIN.to_errno());
        assert_eq!(after.load(Relaxed), 0);
        let s = Shared::new()?;
        let p = Probe::new(&s, 0, Action::Record)?;
        slot.lock().as_ref().ok_or(ENODEV)?.enqueue(p)?;
        assert_eq!(s.wait_runs(1), 1);
        drop(dev);
        let late = Probe::new(&s, 1, Action::Record)?;
        let r = slot.lock().as_ref().ok_or(ENODEV)?.enqueue(late);
        assert!(matches!(&r, Err(e) if e.error() == ENODEV));
        drop(r);
        assert_eq!(s.runs(), 1);
        assert_eq!(s.wait_dropped(2), 2);
        // The handle of an unbound device goes without a wait.
        let q = slot.lock().take();
        drop(q);
        Ok(())
    }

    /// A test device bound to the test driver, whose `probe` built a per-CPU `DevmQueue` named
    /// `name`: the queue and the device (dropping it unbinds).
    fn bound_percpu_queue(name: &'static CStr) -> Result<(DevmQueue<PerCpu>, TestDevice)> {
        let slot: Arc<SpinLock<Option<DevmQueue<PerCpu>>>> =
            Arc::pin_init(new_spinlock!(None), GFP_KERNEL)?;
        let dev = {
            let slot = slot.clone();
            TestDevice::add(move |pdev| {
                if let Ok(q) = OwnedQueue::percpu().build_devm(pdev.as_ref(), name) {
                    *slot.lock() = Some(q);
                }
            })?
        };
        let q = slot.lock().take().ok_or(ENODEV)?;
        Ok((q, dev))
    }

    /// A closure that a `DevmQueue` refuses inside its devres guard (an RCU read-side critical
    /// section) is dropped after the guard, in the caller's context: what it captured may sleep
    /// in its `Drop`. Here the refusal is `ClassContext`: the call site's one class (the same key
    /// for both kinds of queue) went on a BH queue first. Needs lockdep, which keeps classes.
    #[test]
    fn a_closure_refused_inside_a_devm_queues_guard_is_dropped_outside_it() -> Result {
        if !cfg!(CONFIG_LOCKDEP) {
            crate::probe::skip(c"no lockdep: no classes, nothing refused");
            return Ok(());
        }
        struct OnDrop(Arc<Atomic<u32>>);
        impl Drop for OnDrop {
            fn drop(&mut self) {
                // 1: dropped where it may sleep; 2: where it may not.
                let v = if rust_wq::cpu::may_sleep().is_ok() {
                    1
                } else {
                    2
                };
                self.0.store(v, Relaxed);
            }
        }
        let _driver = register_driver()?;
        let (q, dev) = bound_percpu_queue(c"rwq_devm_refuse")?;
        let key = kernel::static_lock_class!();
        let class = || rust_wq::closure::spawn::SpawnClass {
            threaded: key,
            bh: key,
        };
        let ran = Event::new_arc()?;
        let ev = ran.clone();
        rust_wq::system_bh().try_spawn_in(class(), GFP_KERNEL, move || ev.set())?;
        assert!(ran.wait());
        let dropped = Arc::new(Atomic::new(0u32), GFP_KERNEL)?;
        let guard = OnDrop(dropped.clone());
        let r = q.try_spawn_in(class(), GFP_KERNEL, move || drop(guard));
        assert_eq!(r, Err(EINVAL));
        assert_eq!(dropped.load(Relaxed), 1);
        drop(q);
        drop(dev);
        Ok(())
    }

    /// Every queueing of a `DevmQueue` works while its device is bound, from a task that may
    /// sleep: `try_spawn!` with `GFP_KERNEL` too, whose closure is allocated before the devres
    /// guard (an RCU read-side critical section) is taken; after the unbind each is
    /// `DeviceUnbound` with the item back, and nothing more runs.
    #[test]
    fn every_queueing_of_a_devm_queue_works_while_bound_and_is_device_unbound_after() -> Result {
        let _driver = register_driver()?;
        let (q, dev) = bound_percpu_queue(c"rwq_devm_all")?;
        let s = Shared::new()?;
        let spawned = Event::new_arc()?;
        let ev = spawned.clone();
        crate::try_spawn!(q, GFP_KERNEL, move || ev.set())?;
        assert!(spawned.wait());
        let ms = Delta::from_millis(1);
        q.enqueue(Probe::new(&s, 0, Action::Record)?)?;
        q.enqueue_on(0, Probe::new(&s, 1, Action::Record)?)?;
        q.enqueue_cloned(&Probe::new(&s, 2, Action::Record)?)?;
        q.enqueue_delayed(DelayedProbe::new(&s)?, ms)?;
        q.enqueue_delayed_on(0, DelayedProbe::new(&s)?, ms)?;
        q.mod_delayed(DelayedProbe::new(&s)?, ms)?;
        q.mod_delayed_on(0, DelayedProbe::new(&s)?, ms)?;
        assert_eq!(s.wait_runs(7), 7);
        drop(dev);
        let p = Probe::new(&s, 3, Action::Record)?;
        let e = q.enqueue(p.clone()).err().ok_or(EINVAL)?;
        assert_eq!(e.kind(), EnqueueErrorKind::DeviceUnbound);
        assert!(core::ptr::eq(&*e.into_item(), &*p));
        let d = DelayedProbe::new(&s)?;
        let e = q.enqueue_delayed(d.clone(), ms).err().ok_or(EINVAL)?;
        assert_eq!(e.kind(), EnqueueErrorKind::DeviceUnbound);
        assert!(core::ptr::eq(&*e.into_item(), &*d));
        assert_eq!(crate::try_spawn!(q, GFP_KERNEL, || ()), Err(ENODEV));
        assert_eq!(s.runs(), 7);
        drop(q);
        Ok(())
    }
}
