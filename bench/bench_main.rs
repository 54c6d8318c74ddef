// SPDX-License-Identifier: GPL-2.0

//! rust_wq_bench: cost of a work item through rust_wq, against the in-tree `kernel::workqueue`
//! measured in the same boot. Prints figures; asserts nothing. Meant for the kernel without debug
//! options (`make bench`).
//!
//! - burst: N items queued back to back, time until the last one ran, per item;
//! - ping: one item at a time, queue then wait for it, per round trip.

use kernel::{
    prelude::*,
    sync::{
        atomic::{
            Atomic,
            Relaxed, //
        },
        Arc, Completion,
    },
    time::{
        Instant,
        Monotonic, //
    },
};

#[path = "../rust_wq/lib.rs"]
pub mod rust_wq;

module! {
    type: rust_wq::Drained<RustWqBench>,
    name: "rust_wq_bench",
    authors: ["rust_wq developers"],
    description: "rust_wq against kernel::workqueue, same boot",
    license: "GPL",
}

const BURST: u32 = 2000;
const PINGS: u32 = 500;
const ROUNDS: usize = 5;

/// Counts down the items of one measurement and completes when the last one ran.
#[pin_data]
struct Countdown {
    left: Atomic<u32>,
    #[pin]
    done: Completion,
}

impl Countdown {
    fn new(n: u32) -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self { left: Atomic::new(n), done <- Completion::new() }),
            GFP_KERNEL,
        )
    }

    fn hit(&self) {
        if self.left.fetch_sub(1, Relaxed) == 1 {
            self.done.complete_all();
        }
    }
}

/// The baseline: an item of the in-tree `kernel::workqueue`.
#[pin_data]
struct InTree {
    count: Arc<Countdown>,
    #[pin]
    work: kernel::workqueue::Work<InTree>,
}

kernel::impl_has_work! { impl HasWork<Self> for InTree { self.work } }

impl kernel::workqueue::WorkItem for InTree {
    type Pointer = Arc<InTree>;

    fn run(this: Arc<InTree>) {
        this.count.hit();
    }
}

/// The same item through rust_wq.
#[pin_data]
struct Ours {
    count: Arc<Countdown>,
    #[pin]
    work: rust_wq::Work<Ours>,
}

crate::impl_has_work! { impl HasWork<Self> for Ours { self.work } }

impl rust_wq::WorkItem for Ours {
    type Pointer = Arc<Ours>;

    fn run(this: Arc<Ours>) {
        this.count.hit();
    }
}

/// Where a measurement queues its items.
#[derive(Clone, Copy)]
enum Path<'a> {
    InTreeHighpri,
    OursHighpri,
    OursOwnedPerCpu(&'a rust_wq::OwnedQueue),
    OursOwnedUnbound(&'a rust_wq::OwnedQueue<rust_wq::Unbound>),
}

impl Path<'_> {
    fn name(&self) -> &'static str {
        match self {
            Path::InTreeHighpri => "kernel::workqueue, system_highpri (baseline)",
            Path::OursHighpri => "rust_wq, system_highpri",
            Path::OursOwnedPerCpu(_) => "rust_wq, owned per-CPU highpri",
            Path::OursOwnedUnbound(_) => "rust_wq, owned unbound",
        }
    }

    /// Queues `n` fresh items and returns the nanoseconds until the last one ran.
    fn burst(&self, n: u32) -> Result<i64> {
        let count = Countdown::new(n)?;
        let mut theirs = KVec::new();
        let mut ours = KVec::new();
        for _ in 0..n {
            let c = count.clone();
            match self {
                Path::InTreeHighpri => theirs.push(
                    Arc::pin_init(
                        pin_init!(InTree { count: c, work <- kernel::new_work!() }),
                        GFP_KERNEL,
                    )?,
                    GFP_KERNEL,
                )?,
                _ => ours.push(
                    Arc::pin_init(
                        pin_init!(Ours { count: c, work <- rust_wq::new_work!() }),
                        GFP_KERNEL,
                    )?,
                    GFP_KERNEL,
                )?,
            }
        }
        let t0 = Instant::<Monotonic>::now();
        for it in theirs.iter() {
            let _ = kernel::workqueue::system_highpri().enqueue(it.clone());
        }
        for it in ours.iter() {
            let _ = match self {
                Path::OursHighpri => rust_wq::system_highpri().enqueue(it.clone()),
                Path::OursOwnedPerCpu(q) => q.enqueue(it.clone()),
                Path::OursOwnedUnbound(q) => q.enqueue(it.clone()),
                Path::InTreeHighpri => Ok(()),
            };
        }
        count.done.wait_for_completion();
        Ok(t0.elapsed().as_nanos())
    }

    /// `n` round trips of one item each; returns the total nanoseconds.
    fn ping(&self, n: u32) -> Result<i64> {
        let mut total = 0;
        for _ in 0..n {
            total += self.burst(1)?;
        }
        Ok(total)
    }
}

fn median(mut v: [i64; ROUNDS]) -> i64 {
    v.sort_unstable();
    v[ROUNDS / 2]
}

struct RustWqBench;

impl kernel::Module for RustWqBench {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let percpu = rust_wq::OwnedQueue::percpu()
            .highpri()
            .build(c"rwq_bench_pcpu")?;
        let unbound = rust_wq::OwnedQueue::unbound().build(c"rwq_bench_unbound")?;
        pr_info!(
            "burst: {BURST} items queued back to back; ping: {PINGS} single round trips; \
             median of {ROUNDS} rounds\n"
        );
        pr_info!(
            "{:<46} {:>12} {:>7} {:>12} {:>7}\n",
            "path",
            "burst ns/it",
            "ratio",
            "ping ns/rt",
            "ratio"
        );
        let paths = [
            Path::InTreeHighpri,
            Path::OursHighpri,
            Path::OursOwnedPerCpu(&percpu),
            Path::OursOwnedUnbound(&unbound),
        ];
        // Warm up: worker pools grow on first use.
        for p in paths.iter() {
            p.burst(BURST)?;
            p.ping(PINGS / 10)?;
        }
        // Rounds outside, paths inside: drift within the boot hits every path alike.
        let mut burst = [[0i64; ROUNDS]; 4];
        let mut ping = [[0i64; ROUNDS]; 4];
        for r in 0..ROUNDS {
            for (i, p) in paths.iter().enumerate() {
                burst[i][r] = p.burst(BURST)? / i64::from(BURST);
                ping[i][r] = p.ping(PINGS)? / i64::from(PINGS);
            }
        }
        let (base_burst, base_ping) = (median(burst[0]), median(ping[0]));
        for (i, p) in paths.iter().enumerate() {
            let (b, g) = (median(burst[i]), median(ping[i]));
            pr_info!(
                "{:<46} {:>12} {:>4}.{:02} {:>12} {:>4}.{:02}\n",
                p.name(),
                b,
                b / base_burst,
                (b * 100 / base_burst) % 100,
                g,
                g / base_ping,
                (g * 100 / base_ping) % 100
            );
        }
        Ok(Self)
    }
}
