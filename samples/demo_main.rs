// SPDX-License-Identifier: GPL-2.0

//! rust_wq demo: queues one item per online CPU on an owned per-CPU queue, one on an unbound
//! queue and one delayed item (the module's one, armed by `&'static` reference), and reports
//! where each ran.

use crate::rust_wq::prelude::*;
use kernel::{
    prelude::*,
    sync::Arc,
    time::Delta, //
};

#[path = "../rust_wq/lib.rs"]
pub mod rust_wq;

use rust_wq::{
    cpu::{
        self,
        TaskName, //
    },
    DelayedWork,
    OwnedQueue,
    Unbound,
    Work,
    WorkItem, //
};

module! {
    type: rust_wq::Drained<RustWqDemo>,
    name: "rust_wq_demo",
    authors: ["rust_wq developers"],
    description: "Shows where rust_wq runs work items",
    license: "GPL",
}

#[pin_data]
struct Hello {
    asked: Option<u32>,
    #[pin]
    work: Work<Hello>,
}

impl_has_work! { impl HasWork<Self> for Hello { self.work } }

impl WorkItem for Hello {
    type Pointer = Arc<Hello>;

    fn run(this: Arc<Hello>) {
        match this.asked {
            Some(n) => pr_info!(
                "item for CPU {n} ran on CPU {} in {}\n",
                cpu::current_cpu(),
                TaskName::current()
            ),
            None => pr_info!(
                "unbound item ran on CPU {} in {}\n",
                cpu::current_cpu(),
                TaskName::current()
            ),
        }
    }
}

/// One item for the whole module, as C's `DECLARE_DELAYED_WORK`: made once, at load, in a box
/// that is never freed, and armed by `&'static` reference (no reference count).
#[pin_data]
struct Later {
    #[pin]
    dwork: DelayedWork<Later>,
}

impl_has_delayed_work! { impl HasDelayedWork<Self> for Later { self.dwork } }

impl WorkItem for Later {
    type Pointer = &'static Later;

    fn run(_this: &'static Later) {
        pr_info!(
            "delayed item ran on CPU {} in {}\n",
            cpu::current_cpu(),
            TaskName::current()
        );
    }
}

struct RustWqDemo {
    _percpu: OwnedQueue,
    _unbound: OwnedQueue<Unbound>,
}

impl kernel::Module for RustWqDemo {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let percpu = OwnedQueue::percpu().highpri().build(c"rust_wq_demo")?;
        let unbound = OwnedQueue::unbound().build(c"rust_wq_demo_u")?;
        for n in 0..cpu::nr_cpu_ids() {
            let item = Arc::pin_init(
                pin_init!(Hello { asked: Some(n), work <- new_work!("Hello::work") }),
                GFP_KERNEL,
            )?;
            match percpu.enqueue_on(n, item.clone()) {
                Ok(()) => {
                    Work::of(&*item).flush()?;
                }
                Err(e) => pr_info!("CPU {n} refused: errno {}\n", e.error().to_errno()),
            }
        }
        let item = Arc::pin_init(
            pin_init!(Hello { asked: None, work <- new_work!("Hello::work") }),
            GFP_KERNEL,
        )?;
        unbound.enqueue(item.clone())?;
        Work::of(&*item).flush()?;
        // Still armed when the module goes: the queue runs it before it is destroyed.
        let later = rust_wq::leak_item(KBox::pin_init(
            pin_init!(Later { dwork <- new_delayed_work!("Later::dwork") }),
            GFP_KERNEL,
        )?);
        unbound
            .enqueue_delayed(later, Delta::from_millis(60_000))
            .map_err(|e| e.error())?;
        pr_info!("a delayed item is armed for 60 s; unloading will run it now\n");
        Ok(Self {
            _percpu: percpu,
            _unbound: unbound,
        })
    }
}
