// SPDX-License-Identifier: GPL-2.0

//! [`Stats`]: the accounting of an owned queue built with [`Builder::stats`].
//!
//! [`Builder::stats`]: crate::rust_wq::Builder::stats

use crate::rust_wq::{
    cpu,
    queue::borrowed::WORK_CPU_UNBOUND, //
};
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// Per-queue accounting, kept when the queue was built with [`Builder::stats`].
///
/// [`Builder::stats`]: crate::rust_wq::Builder::stats
pub struct Stats {
    per_cpu: KVec<Atomic<u64>>,
    rejected: Atomic<u64>,
    pub(in crate::rust_wq) delayed: Atomic<u64>,
}

impl Stats {
    pub(in crate::rust_wq) fn new() -> Result<KBox<Self>> {
        let n = cpu::nr_cpu_ids() as usize;
        let mut per_cpu = KVec::with_capacity(n, GFP_KERNEL)?;
        for _ in 0..n {
            per_cpu.push(Atomic::new(0), GFP_KERNEL)?;
        }
        Ok(KBox::new(
            Self {
                per_cpu,
                rejected: Atomic::new(0),
                delayed: Atomic::new(0),
            },
            GFP_KERNEL,
        )?)
    }

    pub(in crate::rust_wq) fn count(&self, cpu: i32, ok: bool) {
        if !ok {
            self.rejected.add(1, Relaxed);
            return;
        }
        let cpu = if cpu == WORK_CPU_UNBOUND {
            cpu::current_cpu() as usize
        } else {
            cpu as usize
        };
        if let Some(c) = self.per_cpu.get(cpu) {
            c.add(1, Relaxed);
        }
    }

    /// Items accepted, by the CPU they were queued on (the local CPU when none was chosen).
    pub fn enqueued_on(&self, cpu: u32) -> u64 {
        self.per_cpu
            .get(cpu as usize)
            .map_or(0, |c| c.load(Relaxed))
    }

    /// Items accepted in all (the sum over all CPUs of [`Stats::enqueued_on`]).
    pub fn enqueued(&self) -> u64 {
        self.per_cpu.iter().map(|c| c.load(Relaxed)).sum()
    }

    /// Enqueues refused (`EBUSY`, `EINVAL`, `ENODEV`).
    pub fn rejected(&self) -> u64 {
        self.rejected.load(Relaxed)
    }

    /// Accepted enqueues that armed a timer (a subset of [`Stats::enqueued`]).
    pub fn delayed(&self) -> u64 {
        self.delayed.load(Relaxed)
    }
}
