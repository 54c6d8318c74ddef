// SPDX-License-Identifier: GPL-2.0

//! [`Builder`]: the flags and limits of an owned queue, checked by type where possible.
//!
//! The kind is chosen first and cannot change: per-CPU, unbound, ordered or BH. Each kind only
//! offers the options that mean something for it, so for example `cpu_intensive` on an unbound
//! queue, `max_active` on an ordered queue or `freezable` on a BH queue do not compile. What the
//! types cannot say (`max_active` range, name length) is checked by [`Builder::build`].

use crate::rust_wq::OwnedQueue;
use core::marker::PhantomData;
use kernel::{
    bindings,
    prelude::*, //
};

/// The longest queue name the kernel keeps (`WQ_NAME_LEN` minus the NUL, `kernel/workqueue.c`).
pub const MAX_NAME_LEN: usize = 31;
/// The largest `max_active` (`WQ_MAX_ACTIVE`).
pub const MAX_ACTIVE: u32 = bindings::wq_consts_WQ_MAX_ACTIVE;
/// The `max_active` the kernel picks when none is given (`WQ_DFL_ACTIVE`).
pub const DEFAULT_MAX_ACTIVE: u32 = bindings::wq_consts_WQ_DFL_ACTIVE;

mod sealed {
    pub trait Sealed {}
    /// Sealing [`Threaded`](super::Threaded), [`Limited`](super::Limited) and
    /// [`Unbounded`](super::Unbounded) too: a driver module (rust_wq is a module of the driver's
    /// crate) must not declare `Bh` threaded or `Ordered` limited, which C would warn about.
    pub trait Threaded {}
    pub trait Limited {}
    pub trait Unbounded {}
}

/// The kind of an owned queue. Sealed: the kinds are [`PerCpu`], [`Unbound`], [`Ordered`] and
/// [`Bh`].
pub trait Kind: sealed::Sealed + Send + Sync + 'static {
    /// The `WQ_*` flags of the kind.
    const FLAGS: u32;
}

/// Kinds whose items run in kworker threads and may sleep: options such as `freezable` apply.
#[diagnostic::on_unimplemented(
    message = "items of a queue of kind `{Self}` run in softirq context: this needs a kworker",
    label = "BH queues run items in softirq context, where they must not sleep",
    note = "use `OwnedQueue::percpu()`, `unbound()` or `ordered()` for items that sleep, for \
            options such as `freezable`, `mem_reclaim` or `sysfs`, and for a delayed item's CPU \
            (`enqueue_delayed_on`: a BH timer could fire after its CPU went offline)"
)]
pub trait Threaded: Kind + sealed::Threaded {}

/// Kinds with an adjustable concurrency limit (`max_active`).
#[diagnostic::on_unimplemented(
    message = "`max_active` is not adjustable on a queue of kind `{Self}`",
    label = "ordered queues run one item at a time, BH queues one per CPU",
    note = "`max_active` and `set_max_active` are for `OwnedQueue::percpu()` and \
            `OwnedQueue::unbound()` queues"
)]
pub trait Limited: Threaded + sealed::Limited {}

/// Kinds whose workers are not bound to one CPU (`WQ_UNBOUND`): items may be queued near a NUMA
/// node ([`OwnedQueue::enqueue_on_node`](crate::rust_wq::OwnedQueue::enqueue_on_node)).
#[diagnostic::on_unimplemented(
    message = "a queue of kind `{Self}` is bound to CPUs: this needs an unbound queue",
    label = "only unbound queues (`OwnedQueue::unbound()`, `ordered()`) queue near a NUMA node",
    note = "`enqueue_on` queues on a chosen CPU of a per-CPU queue"
)]
pub trait Unbounded: Threaded + sealed::Unbounded {}

/// Items run on the CPU they were queued on, in that CPU's kworker pool (`WQ_PERCPU`).
pub enum PerCpu {}
/// Items run on any CPU of the queue's affinity scope (`WQ_UNBOUND`).
pub enum Unbound {}
/// Items run one at a time, in queueing order (`alloc_ordered_workqueue`).
pub enum Ordered {}
/// Items run in softirq context on the queueing CPU and must not sleep (`WQ_BH`).
pub enum Bh {}

impl sealed::Sealed for PerCpu {}
impl sealed::Sealed for Unbound {}
impl sealed::Sealed for Ordered {}
impl sealed::Sealed for Bh {}

impl Kind for PerCpu {
    const FLAGS: u32 = bindings::wq_flags_WQ_PERCPU;
}
impl Kind for Unbound {
    const FLAGS: u32 = bindings::wq_flags_WQ_UNBOUND;
}
impl Kind for Ordered {
    const FLAGS: u32 = bindings::wq_flags_WQ_UNBOUND | bindings::wq_flags___WQ_ORDERED;
}
impl Kind for Bh {
    const FLAGS: u32 = bindings::wq_flags_WQ_BH | bindings::wq_flags_WQ_PERCPU;
}

impl sealed::Threaded for PerCpu {}
impl sealed::Threaded for Unbound {}
impl sealed::Threaded for Ordered {}
impl Threaded for PerCpu {}
impl Threaded for Unbound {}
impl Threaded for Ordered {}
impl sealed::Unbounded for Unbound {}
impl sealed::Unbounded for Ordered {}
impl Unbounded for Unbound {}
impl Unbounded for Ordered {}
impl sealed::Limited for PerCpu {}
impl sealed::Limited for Unbound {}
impl Limited for PerCpu {}
impl Limited for Unbound {}

/// The configuration of an [`OwnedQueue`] to be allocated.
///
/// # Examples
///
/// ```
/// # use crate::rust_wq::OwnedQueue;
/// let q = OwnedQueue::percpu().highpri().max_active(4).build(c"my_driver")?;
/// let u = OwnedQueue::unbound().mem_reclaim().sysfs().build(c"my_reclaim")?;
/// let o = OwnedQueue::ordered().freezable().build(c"my_fifo")?;
/// # Ok::<(), Error>(())
/// ```
pub struct Builder<K: Kind> {
    flags: u32,
    max_active: Option<u32>,
    stats: bool,
    _kind: PhantomData<K>,
}

impl<K: Kind> Builder<K> {
    pub(in crate::rust_wq) fn new(extra: u32) -> Self {
        Self {
            flags: K::FLAGS | extra,
            max_active: None,
            stats: false,
            _kind: PhantomData,
        }
    }

    /// Runs items in the high-priority pools (nice -20; per-CPU workers are `kworker/N:MH`).
    pub fn highpri(mut self) -> Self {
        self.flags |= bindings::wq_flags_WQ_HIGHPRI;
        self
    }

    /// Keeps per-queue accounting: see [`OwnedQueue::stats`]. Off by default, free when off.
    pub fn stats(mut self) -> Self {
        self.stats = true;
        self
    }

    /// The raw `WQ_*` flags that will be passed to `alloc_workqueue`.
    pub fn flags(&self) -> u32 {
        self.flags
    }

    /// Allocates the queue (`alloc_workqueue`). The name must be 1 to [`MAX_NAME_LEN`] bytes;
    /// with [`Builder::sysfs`], no other queue in sysfs may have it. Sleeps.
    ///
    /// # Errors
    ///
    /// - `EINVAL`: the name is empty, or `max_active` is 0 or above [`MAX_ACTIVE`].
    /// - `ENAMETOOLONG`: the name is longer than [`MAX_NAME_LEN`] bytes (the kernel would cut
    ///   it short).
    /// - `EEXIST`: with [`Builder::sysfs`], a queue of that name is in sysfs already (checked
    ///   and registered under one lock of the module, so two builders of one name in this
    ///   module cannot both pass: rule 6 of docs/soundness.md for other modules).
    /// - `EAGAIN`: the caller cannot sleep.
    /// - `ENOMEM`: an allocation failed, or `alloc_workqueue` returned no queue.
    /// - `EINVAL`: the module is not wrapped in [`Drained`](crate::rust_wq::Drained);
    ///   `ESHUTDOWN`: it is being unloaded.
    pub fn build(self, name: &CStr) -> Result<OwnedQueue<K>> {
        let len = name.to_bytes().len();
        if len == 0 {
            return Err(EINVAL);
        }
        if len > MAX_NAME_LEN {
            return Err(ENAMETOOLONG);
        }
        let max_active = match self.max_active {
            None => 0,
            Some(n) if (1..=MAX_ACTIVE).contains(&n) => n as i32,
            Some(_) => return Err(EINVAL),
        };
        // A sysfs name already taken is `EEXIST`: checked in `OwnedQueue::alloc`, under the
        // lock that also covers the registration.
        let max_active = if K::FLAGS & bindings::wq_flags___WQ_ORDERED != 0 {
            1
        } else {
            max_active
        };
        OwnedQueue::alloc(name, self.flags, max_active, self.stats)
    }
}

// The options below are methods of every builder with a bound on the kind, not methods of some
// builders only: misuse then names the bound, whose message says what to write instead.
impl<K: Kind> Builder<K> {
    /// Freezes the queue during system suspend (`WQ_FREEZABLE`).
    pub fn freezable(mut self) -> Self
    where
        K: Threaded,
    {
        self.flags |= bindings::wq_flags_WQ_FREEZABLE;
        self
    }

    /// Gives the queue a rescuer thread so it makes progress under memory pressure
    /// (`WQ_MEM_RECLAIM`, `kworker/R-<name>`). Required for queues used on reclaim paths.
    pub fn mem_reclaim(mut self) -> Self
    where
        K: Threaded,
    {
        self.flags |= bindings::wq_flags_WQ_MEM_RECLAIM;
        self
    }

    /// Shows the queue in `/sys/bus/workqueue/devices/<name>` (`WQ_SYSFS`). Names must then be
    /// unique: [`Builder::build`] fails with `EEXIST` otherwise. (Two modules racing for one
    /// name can still make the loser's allocation fail with `ENOMEM` and a sysfs stack dump.)
    pub fn sysfs(mut self) -> Self
    where
        K: Threaded,
    {
        self.flags |= bindings::wq_flags_WQ_SYSFS;
        self
    }

    /// Sets how many items of this queue may run at once (per CPU for per-CPU queues, in all for
    /// unbound queues): 1 to [`MAX_ACTIVE`]; the default is [`DEFAULT_MAX_ACTIVE`].
    pub fn max_active(mut self, n: u32) -> Self
    where
        K: Limited,
    {
        self.max_active = Some(n);
        self
    }
}

impl Builder<PerCpu> {
    /// Keeps long-running items out of concurrency management (`WQ_CPU_INTENSIVE`).
    pub fn cpu_intensive(mut self) -> Self {
        self.flags |= bindings::wq_flags_WQ_CPU_INTENSIVE;
        self
    }
}
