// SPDX-License-Identifier: GPL-2.0

//! The `edu` PCI driver: hard-IRQ top half, bottom half on a rust_wq queue.
//!
//! - Top half ([`TopHalf::top_half`], hard IRQ): reads and acknowledges the interrupt status,
//!   records the time, CPU and context in a fixed ring (no allocation, nothing that sleeps) and
//!   queues the bottom half. An interrupt that finds the bottom half still pending is coalesced:
//!   its event waits in the ring for that run, and is counted.
//! - Bottom half ([`WorkItem::run`], a kworker): reads the device's result, takes a mutex,
//!   appends one record per event, starts the next request and wakes readers.
//! - Slow path ([`Tally`], a delayed item): the bottom half leaves the accounting of what it
//!   handled to a tally armed on a device-managed queue ([`DevmQueue`]), which the device's
//!   unbind drops with the tally still armed or pending; `rust_wq_edu: devm queue gone at
//!   unbind: ...` then reports that every tally queued ran, once. The tally is part of the
//!   device's state, as in a C driver: a [`WorkBox`] field of the [`Hub`], armed by reference
//!   with no count; the box's drop disarms it and waits.

#![forbid(unsafe_code)]

use crate::rust_wq::prelude::*;
use crate::rust_wq::{
    self,
    cpu::{
        self,
        TaskName, //
    },
    new_delayed_work,
    new_work,
    BoxItem,
    Builder,
    DelayedWork,
    DevmQueue,
    EnqueueError,
    Limited,
    Ordered,
    OwnedQueue,
    PerCpu,
    Requeue,
    Slot,
    TopHalf,
    Unbound,
    Work,
    WorkBox,
    WorkItem, //
};
use kernel::{
    device::Core,
    devres,
    io::Io,
    irq::IrqReturn,
    miscdevice::{
        MiscDeviceOptions,
        MiscDeviceRegistration, //
    },
    new_condvar,
    new_mutex,
    new_spinlock_irq,
    pci::{
        self,
        DevresBar, //
    },
    prelude::*,
    str::CString,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc,
        ArcBorrow,
        CondVar,
        Mutex,
        SpinLockIrq, //
    },
    time::{
        delay::fsleep,
        Delta,
        Instant,
        Monotonic, //
    }, //
};

/// The bytes of BAR 0 the driver touches.
const BAR_LEN: usize = 0x100;
const REG_ID: usize = 0x00;
const REG_FACT: usize = 0x08;
const REG_STATUS: usize = 0x20;
const REG_INT_STATUS: usize = 0x24;
const REG_INT_RAISE: usize = 0x60;
const REG_INT_ACK: usize = 0x64;
/// `REG_STATUS`: the factorial is being computed (read only).
const STATUS_COMPUTING: u32 = 0x01;
/// `REG_STATUS`: raise an interrupt when the factorial is done.
const STATUS_IRQ_ON_DONE: u32 = 0x80;
/// Interrupt status of a finished factorial.
const INT_FACT: u32 = 0x01;
/// Interrupt status bits used for "raise" requests, one request in flight per bit.
const RAISE_SHIFT: u32 = 8;
const RAISE_BITS: usize = 16;
/// Events the top half can hold before the bottom half runs.
const RING: usize = 128;
/// Records kept for readers.
const MAX_RECORDS: usize = 1 << 16;
/// How long the bottom half lets events gather before a tally counts them.
const TALLY_DELAY: Delta = Delta::from_millis(100);

/// The device while a driver is bound, for the char device's `open`.
pub(crate) static HUB: Slot<Hub> = Slot::new();

/// Where the bottom half runs.
enum Target {
    /// `schedule_work`: the per-CPU system queue.
    System,
    PerCpu(OwnedQueue<PerCpu>),
    Unbound(OwnedQueue<Unbound>),
}

/// Applies the `highpri` and `max_active` parameters to an owned queue's builder.
fn tuned<K: Limited>(mut b: Builder<K>) -> Result<Builder<K>> {
    if crate::module_parameters::highpri.value() {
        b = b.highpri();
    }
    match crate::module_parameters::max_active.value() {
        0 => Ok(b),
        n => Ok(b.max_active(u32::try_from(n).map_err(|_| EINVAL)?)),
    }
}

impl Target {
    fn from_params() -> Result<Self> {
        Ok(match crate::module_parameters::queue.value() {
            0 => Self::System,
            1 => Self::PerCpu(tuned(OwnedQueue::percpu())?.build(c"rust_wq_edu")?),
            2 => Self::Unbound(tuned(OwnedQueue::unbound())?.build(c"rust_wq_edu")?),
            _ => return Err(EINVAL),
        })
    }

    fn name(&self) -> &'static str {
        match self {
            Self::System => "system_percpu (schedule_work)",
            Self::PerCpu(_) => "owned per-CPU",
            Self::Unbound(_) => "owned unbound",
        }
    }

    fn enqueue(&self, hub: Arc<Hub>) -> Result<(), EnqueueError<Arc<Hub>>> {
        match self {
            Self::System => rust_wq::schedule_work(hub),
            Self::PerCpu(q) => q.enqueue(hub),
            Self::Unbound(q) => q.enqueue(hub),
        }
    }
}

/// What the top half saw.
#[derive(Clone, Copy)]
pub(crate) struct Event {
    status: u32,
    at: Instant<Monotonic>,
    cpu: u32,
    hardirq: bool,
}

/// Events from the top half, waiting for the bottom half. Fixed size: no allocation in IRQ.
struct IrqRing {
    events: [Option<Event>; RING],
    head: usize,
    len: usize,
}

impl IrqRing {
    fn push(&mut self, e: Event) -> bool {
        if self.len == RING {
            return false;
        }
        self.events[(self.head + self.len) % RING] = Some(e);
        self.len += 1;
        true
    }

    fn pop(&mut self) -> Option<Event> {
        if self.len == 0 {
            return None;
        }
        let e = self.events[self.head].take();
        self.head = (self.head + 1) % RING;
        self.len -= 1;
        e
    }
}

/// A request from userspace.
#[derive(Clone, Copy)]
struct Request {
    seq: u64,
    input: u32,
}

/// One event handled by the bottom half.
pub(crate) struct Done {
    seq: u64,
    kind: &'static str,
    input: u32,
    result: u32,
    ev: Event,
    bh_cpu: u32,
    worker: TaskName,
    latency_us: i64,
    bh_task: bool,
}

/// Counters, as asked for by a `stats` command.
pub(crate) struct Stats {
    irqs: u64,
    coalesced: u64,
    bh_runs: u64,
    lost: u64,
    tallies: u64,
    tallied: u64,
    queue: &'static str,
}

/// What readers of `/dev/rust_wq_edu` get, one line each.
pub(crate) enum Record {
    Done(Done),
    Stats(Stats),
}

impl Record {
    pub(crate) fn to_line(&self) -> Result<CString> {
        match self {
            Record::Done(d) => CString::try_from_fmt(fmt!(
                "rec seq={} kind={} in={} result={} irq_cpu={} bh_cpu={} worker={} latency_us={} \
                 hardirq={} bh_task={}\n",
                d.seq,
                d.kind,
                d.input,
                d.result,
                d.ev.cpu,
                d.bh_cpu,
                d.worker,
                d.latency_us,
                u8::from(d.ev.hardirq),
                u8::from(d.bh_task)
            )),
            Record::Stats(s) => CString::try_from_fmt(fmt!(
                "stats irqs={} coalesced={} bh_runs={} lost={} tallies={} tallied={} queue={}\n",
                s.irqs,
                s.coalesced,
                s.bh_runs,
                s.lost,
                s.tallies,
                s.tallied,
                s.queue
            )),
        }
    }
}

/// Requests and records, under a mutex (process context only).
pub(crate) struct State {
    /// The device is going away: no new device work.
    stopping: bool,
    next_seq: u64,
    pending: KVec<Request>,
    in_flight: Option<Request>,
    raises: [Option<Request>; RAISE_BITS],
    pub(crate) records: KVec<Record>,
}

/// What the tallies counted, shared with the device's resources that report at its unbind.
pub(crate) struct TallyCounts {
    /// Events handled by bottom halves and not counted by a tally yet.
    fresh: Atomic<u64>,
    /// Events counted by tallies.
    tallied: Atomic<u64>,
    /// Tallies the devm queue took.
    queued: Atomic<u64>,
    /// Tallies that ran.
    ran: Atomic<u64>,
    /// Tallies queued and not run yet when the unbind came to the devm queue.
    pending_at_unbind: Atomic<u64>,
}

/// The slow path of the bottom half: counts the events it handled, later, on the device's
/// devm queue. Kept in a [`WorkBox`] by the [`Hub`].
#[pin_data]
pub(crate) struct Tally {
    counts: Arc<TallyCounts>,
    #[pin]
    pub(crate) dwork: DelayedWork<Tally>,
}

impl Tally {
    fn new(counts: Arc<TallyCounts>) -> Result<WorkBox<Self>> {
        WorkBox::new(
            pin_init!(Self {
                counts,
                dwork <- new_delayed_work!("Tally::dwork"),
            }),
            GFP_KERNEL,
        )
    }

    /// Arms the tally on `slow` to run after `delay`. With `modify` the timer of a tally
    /// already armed moves (`mod_delayed`), else such a tally stays as it is (`EBUSY`: it will
    /// count the new events too). `ENODEV` once the device has unbound.
    fn arm(this: &WorkBox<Self>, slow: &DevmQueue<Ordered>, delay: Delta, modify: bool) -> Result {
        // Counted inside the access, which the unbind waits for before it drops the queue: once
        // the queue is gone, `queued` is final.
        slow.try_access_with(|q| {
            let queued = if modify {
                this.mod_delayed(q, delay)?
            } else {
                this.enqueue_delayed(q, delay)?;
                true
            };
            if queued {
                this.counts.queued.add(1, Relaxed);
            }
            Ok(())
        })
        .unwrap_or(Err(ENODEV))
    }
}

impl BoxItem for Tally {
    fn run(this: Pin<&Self>, _again: Requeue<'_, Self, 0>) {
        let c = &this.counts;
        c.tallied.add(c.fresh.xchg(0, Relaxed), Relaxed);
        c.ran.add(1, Relaxed);
    }
}

/// What an enqueue refused gave: the errno (0 if it was taken) and whether `item` came back.
fn refusal<P: core::ops::Deref>(
    r: Result<(), EnqueueError<P>>,
    item: &P::Target,
) -> (i32, &'static str) {
    match r {
        Ok(()) => (0, "queued"),
        Err(e) => {
            let errno = e.error().to_errno();
            if core::ptr::eq(&*e.into_item(), item) {
                (errno, "back")
            } else {
                (errno, "lost")
            }
        }
    }
}

/// Registered with the device last, so its unbind drops this first, before the interrupt, the
/// bottom half and the devm queue go: notes the tallies still pending or armed then.
struct TallyAtUnbind(Arc<TallyCounts>);

impl Drop for TallyAtUnbind {
    fn drop(&mut self) {
        let t = &self.0;
        let ran = t.ran.load(Relaxed);
        let pending = t.queued.load(Relaxed).saturating_sub(ran);
        t.pending_at_unbind.store(pending, Relaxed);
    }
}

/// Registered with the device before its devm queue, so its unbind drops this after the queue:
/// reports what the queue ran. `scripts/qemu-run.sh` (`edu-unload`) checks the line.
struct TallyAfterUnbind(Arc<TallyCounts>);

impl Drop for TallyAfterUnbind {
    fn drop(&mut self) {
        let t = &self.0;
        pr_info!(
            "devm queue gone at unbind: pending {}, queued {}, ran {}\n",
            t.pending_at_unbind.load(Relaxed),
            t.queued.load(Relaxed),
            t.ran.load(Relaxed)
        );
    }
}

/// The driver's state, shared by the top half, the bottom half and open files.
#[pin_data]
pub(crate) struct Hub {
    bar: DevresBar<BAR_LEN>,
    target: Target,
    /// The slow path's queue (ordered), dropped by the device's unbind.
    slow: DevmQueue<Ordered>,
    /// Declared after `slow`, so dropped after it: a tally still armed when the last reference
    /// to the hub drops the queue runs first.
    tally: WorkBox<Tally>,
    #[pin]
    pub(crate) work: Work<Hub>,
    #[pin]
    ring: SpinLockIrq<IrqRing>,
    #[pin]
    pub(crate) state: Mutex<State>,
    #[pin]
    pub(crate) changed: CondVar,
    irqs: Atomic<u64>,
    coalesced: Atomic<u64>,
    bh_runs: Atomic<u64>,
    lost: Atomic<u64>,
}

impl Hub {
    fn new(
        bar: DevresBar<BAR_LEN>,
        target: Target,
        slow: DevmQueue<Ordered>,
        tally: WorkBox<Tally>,
    ) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                bar,
                target,
                slow,
                tally,
                work <- new_work!("Hub::work"),
                ring <- new_spinlock_irq!(IrqRing { events: [None; RING], head: 0, len: 0 }),
                state <- new_mutex!(State {
                    stopping: false,
                    next_seq: 1,
                    pending: KVec::new(),
                    in_flight: None,
                    raises: [None; RAISE_BITS],
                    records: KVec::new(),
                }),
                changed <- new_condvar!(),
                irqs: Atomic::new(0),
                coalesced: Atomic::new(0),
                bh_runs: Atomic::new(0),
                lost: Atomic::new(0),
            }),
            GFP_KERNEL,
        )
    }

    /// Queues a factorial of `n`; the device computes one at a time.
    pub(crate) fn submit_factorial(&self, n: u32) -> Result {
        let mut st = self.state.lock();
        if st.stopping {
            return Err(ENODEV);
        }
        let seq = st.next_seq;
        st.next_seq += 1;
        st.pending.push(Request { seq, input: n }, GFP_KERNEL)?;
        self.start_next(&mut st)
    }

    /// Starts the oldest pending factorial if the device is idle.
    fn start_next(&self, st: &mut State) -> Result {
        if st.stopping {
            return Err(ENODEV);
        }
        if st.in_flight.is_some() || st.pending.is_empty() {
            return Ok(());
        }
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        let req = st.pending.remove(0)?;
        st.in_flight = Some(req);
        bar.write32(STATUS_IRQ_ON_DONE, REG_STATUS);
        bar.write32(req.input, REG_FACT);
        Ok(())
    }

    /// Asks the device to raise an interrupt; sleeps while all raise bits are in flight.
    pub(crate) fn submit_raise(&self) -> Result {
        let mut st = self.state.lock();
        let bit = loop {
            if st.stopping {
                return Err(ENODEV);
            }
            if let Some(bit) = st.raises.iter().position(Option::is_none) {
                break bit;
            }
            if self.changed.wait_interruptible(&mut st) {
                return Err(ERESTARTSYS);
            }
        };
        let seq = st.next_seq;
        st.next_seq += 1;
        st.raises[bit] = Some(Request {
            seq,
            input: bit as u32,
        });
        let bar = self.bar.try_access().ok_or(ENODEV)?;
        bar.write32(1 << (RAISE_SHIFT + bit as u32), REG_INT_RAISE);
        Ok(())
    }

    /// Appends a stats record.
    pub(crate) fn submit_stats(&self) -> Result {
        let mut st = self.state.lock();
        let rec = Record::Stats(Stats {
            irqs: self.irqs.load(Relaxed),
            coalesced: self.coalesced.load(Relaxed),
            bh_runs: self.bh_runs.load(Relaxed),
            lost: self.lost.load(Relaxed),
            tallies: self.tally.counts.ran.load(Relaxed),
            tallied: self.tally.counts.tallied.load(Relaxed),
            queue: self.target.name(),
        });
        Self::append(&mut st, rec, &self.lost);
        drop(st);
        self.changed.notify_all();
        Ok(())
    }

    /// Arms the tally to run in `secs` seconds, or moves the timer of the one armed.
    pub(crate) fn submit_tally(&self, secs: u32) -> Result {
        Tally::arm(
            &self.tally,
            &self.slow,
            Delta::from_secs(i64::from(secs)),
            true,
        )
    }

    /// Once the device has unbound (through a file opened before): offers the bottom half and
    /// the tally to the devm queue through [`DevmQueue::enqueue`],
    /// [`DevmQueue::enqueue_delayed`] and [`DevmQueue::mod_delayed`]. Each must be refused with
    /// `ENODEV`, the bottom half handed back and the tally kept disarmed in its box; prints what
    /// each gave (`edu-unload` checks the line).
    /// `EBUSY` while the device is bound.
    pub(crate) fn offer_after_unbind(this: &Arc<Hub>) -> Result {
        if this.slow.try_access().is_some() {
            return Err(EBUSY);
        }
        let delay = Delta::from_secs(3600);
        let (e, e_back) = refusal(this.slow.enqueue(this.clone()), &**this);
        let kept = |r: Result<bool>| {
            let e = match r {
                Ok(_) => 0,
                Err(e) => e.to_errno(),
            };
            let armed = DelayedWork::of(&*this.tally).is_pending();
            (e, if armed { "armed" } else { "kept" })
        };
        let (d, d_back) = kept(this.tally.enqueue_delayed(&this.slow, delay).map(|()| true));
        let (m, m_back) = kept(this.tally.mod_delayed(&this.slow, delay));
        pr_info!(
            "devm queue after unbind: enqueue {e} {e_back}, enqueue_delayed {d} {d_back}, \
             mod_delayed {m} {m_back}\n"
        );
        Ok(())
    }

    fn append(st: &mut State, rec: Record, lost: &Atomic<u64>) {
        if st.records.len() >= MAX_RECORDS || st.records.push(rec, GFP_KERNEL).is_err() {
            lost.add(1, Relaxed);
        }
    }
}

impl TopHalf for Hub {
    fn quiesce(this: &Arc<Hub>) {
        this.stop_device();
        // Interrupts raised before the device stopped are still handled: the handler is in
        // place until this returns, and the top half acknowledges them.
    }

    fn top_half(this: ArcBorrow<'_, Hub>) -> IrqReturn {
        let ev_at = Instant::<Monotonic>::now();
        let Some(bar) = this.bar.try_access() else {
            return IrqReturn::None;
        };
        let status = bar.read32(REG_INT_STATUS);
        if status == 0 {
            // Not ours: the line is shared.
            return IrqReturn::None;
        }
        bar.write32(status, REG_INT_ACK);
        this.irqs.add(1, Relaxed);
        let ev = Event {
            status,
            at: ev_at,
            cpu: cpu::current_cpu(),
            hardirq: cpu::in_hardirq(),
        };
        if !this.ring.lock().push(ev) {
            this.lost.add(1, Relaxed);
        }
        if this.target.enqueue(this.into()).is_err() {
            // Still pending (`EBUSY`): that run will see this event too. (The other errors,
            // such as `ESHUTDOWN` while the module goes away, leave the event in the ring.)
            this.coalesced.add(1, Relaxed);
        }
        IrqReturn::Handled
    }
}

impl Hub {
    /// Stops all device work and interrupts; see [`TopHalf::quiesce`].
    fn stop_device(&self) {
        let mut st = self.state.lock();
        st.stopping = true;
        let dropped = st.pending.len() + usize::from(st.in_flight.take().is_some());
        st.pending.clear();
        drop(st);
        // Writers waiting for a raise bit give up.
        self.changed.notify_all();
        if dropped != 0 {
            pr_info!("{dropped} queued requests dropped: the device goes away\n");
        }
        // The bar is reached under RCU: one access at a time, never across a sleep.
        let read = |reg| {
            self.bar
                .try_access_with(|bar| bar.try_read32(reg).ok())
                .flatten()
        };
        let write = |val, reg| {
            self.bar
                .try_access_with(|bar| bar.try_write32(val, reg).ok())
                .flatten()
        };
        // No interrupt when the factorial in flight completes; let it finish.
        if write(0, REG_STATUS).is_none() {
            return;
        }
        for _ in 0..1000 {
            if read(REG_STATUS).unwrap_or(0) & STATUS_COMPUTING == 0 {
                break;
            }
            fsleep(Delta::from_micros(100));
        }
        // Let the top half acknowledge what is already raised; whatever it did not get to is
        // acknowledged here and counted, so the line is never left asserted.
        for _ in 0..100 {
            if read(REG_INT_STATUS).unwrap_or(0) == 0 {
                return;
            }
            fsleep(Delta::from_micros(100));
        }
        let status = read(REG_INT_STATUS).unwrap_or(0);
        if status != 0 {
            let _ = write(status, REG_INT_ACK);
            self.lost.add(u64::from(status.count_ones()), Relaxed);
        }
    }
}

impl WorkItem for Hub {
    type Pointer = Arc<Hub>;

    fn run(this: Arc<Hub>) {
        let bh_cpu = cpu::current_cpu();
        let worker = TaskName::current();
        let bh_task = cpu::in_task() && cpu::preemptible();
        this.bh_runs.add(1, Relaxed);

        // May sleep: this is process context.
        let mut st = this.state.lock();
        let mut handled = 0;
        loop {
            let ev = this.ring.lock().pop();
            let Some(ev) = ev else { break };
            handled += 1;
            // From the top half to the bottom half handling this event.
            let latency_us = (Instant::<Monotonic>::now() - ev.at).as_micros_ceil();
            let record = |seq, kind, input, result| {
                Record::Done(Done {
                    seq,
                    kind,
                    input,
                    result,
                    ev,
                    bh_cpu,
                    worker,
                    latency_us,
                    bh_task,
                })
            };
            if ev.status & INT_FACT != 0 {
                let result = this.bar.try_access().map_or(0, |bar| bar.read32(REG_FACT));
                if let Some(req) = st.in_flight.take() {
                    Hub::append(
                        &mut st,
                        record(req.seq, "fact", req.input, result),
                        &this.lost,
                    );
                }
                let _ = this.start_next(&mut st);
            }
            for bit in 0..RAISE_BITS {
                if ev.status & (1 << (RAISE_SHIFT + bit as u32)) == 0 {
                    continue;
                }
                if let Some(req) = st.raises[bit].take() {
                    Hub::append(&mut st, record(req.seq, "raise", req.input, 0), &this.lost);
                }
            }
        }
        drop(st);
        this.changed.notify_all();
        if handled != 0 {
            this.tally.counts.fresh.add(handled, Relaxed);
            // One tally for the events of the next `TALLY_DELAY`: `EBUSY` while one is armed
            // (it counts these too), `ENODEV` once the device has unbound.
            let _ = Tally::arm(&this.tally, &this.slow, TALLY_DELAY, false);
        }
    }
}

/// Keeps the device's [`Hub`] in [`HUB`] while the driver is bound.
struct Published(Arc<Hub>);

impl Drop for Published {
    fn drop(&mut self) {
        // New opens fail from here on; open files keep their reference. Unbinding runs in
        // process context, where `take` can wait for its grace period.
        if let Err(e) = HUB.take() {
            pr_warn!("hub left published: errno {}\n", e.to_errno());
        }
        let hub = &self.0;
        pr_info!(
            "driver unbound: {} irqs, {} coalesced, {} bottom halves, {} lost\n",
            hub.irqs.load(Relaxed),
            hub.coalesced.load(Relaxed),
            hub.bh_runs.load(Relaxed),
            hub.lost.load(Relaxed)
        );
    }
}

/// The driver's data for a bound device. The interrupt and the bottom half are owned by the
/// device (see [`rust_wq::request_deferred_irq`]) and go after this, when it unbinds.
#[pin_data]
pub(crate) struct EduData {
    _published: Published,
    #[pin]
    _misc: MiscDeviceRegistration<crate::chardev::EduFile>,
}

pub(crate) struct EduDriver;

kernel::pci_device_table!(
    PCI_TABLE,
    <EduDriver as pci::Driver>::IdInfo,
    // The kernel has no vendor constant for QEMU's 0x1234: match edu's class code (0x00ff00),
    // then check vendor and device in `probe`.
    [(pci::DeviceId::from_class(EDU_CLASS, 0xff_ffff), ())]
);

const EDU_CLASS: u32 = 0x00_ff00;
const EDU_VENDOR: u16 = 0x1234;
const EDU_DEVICE: u16 = 0x11e8;

impl pci::Driver for EduDriver {
    type IdInfo = ();
    type Data<'bound> = EduData;

    const ID_TABLE: pci::IdTable<Self::IdInfo> = &PCI_TABLE;

    fn probe<'bound>(
        pdev: &'bound pci::Device<Core<'_>>,
        _info: Option<&'bound Self::IdInfo>,
    ) -> impl PinInit<Self::Data<'bound>, Error> + 'bound {
        pin_init::pin_init_scope(move || {
            if pdev.vendor_id().as_raw() != EDU_VENDOR || pdev.device_id() != EDU_DEVICE {
                return Err(ENODEV);
            }
            pdev.enable_device_mem()?;
            pdev.set_master();
            let bar = pdev.iomap_region_sized::<BAR_LEN>(0, c"rust_wq_edu")?;
            let id = bar.read32(REG_ID);
            if id & 0xff != 0xed {
                return Err(ENODEV);
            }
            // The unbind drops the device's resources in the reverse order: `TallyAtUnbind`,
            // the interrupt and the bottom half with the state, whose last reference drops the
            // devm queue (running the tallies left on it; else the queue's own resource does),
            // `TallyAfterUnbind`.
            let counts = Arc::new(
                TallyCounts {
                    fresh: Atomic::new(0),
                    tallied: Atomic::new(0),
                    queued: Atomic::new(0),
                    ran: Atomic::new(0),
                    pending_at_unbind: Atomic::new(0),
                },
                GFP_KERNEL,
            )?;
            devres::register(pdev.as_ref(), TallyAfterUnbind(counts.clone()), GFP_KERNEL)?;
            let slow = OwnedQueue::ordered().build_devm(pdev.as_ref(), c"rust_wq_edu_slow")?;
            let hub = Hub::new(
                bar.into_devres()?,
                Target::from_params()?,
                slow,
                Tally::new(counts.clone())?,
            )?;
            let irq = rust_wq::request_deferred_irq(pdev, c"rust_wq_edu", hub.clone())?;
            devres::register(pdev.as_ref(), TallyAtUnbind(counts), GFP_KERNEL)?;
            HUB.publish(hub.clone()).map_err(|_| EBUSY)?;
            pr_info!(
                "edu {}.{} bound; {:?} interrupt; bottom halves on the {} queue\n",
                id >> 24,
                (id >> 16) & 0xff,
                irq,
                hub.target.name()
            );
            Ok(try_pin_init!(EduData {
                _published: Published(hub),
                _misc <- MiscDeviceRegistration::register(MiscDeviceOptions {
                    name: c"rust_wq_edu",
                }),
            }))
        })
    }
}
