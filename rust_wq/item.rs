// SPDX-License-Identifier: GPL-2.0

//! Work items: the C objects embedded in a driver's items, and what is done to them.
//!
//! - [`Work`](work::Work) ([`work`]): a `work_struct`, and the traits that tie it to its container.
//! - [`DelayedWork`](delayed::DelayedWork) ([`delayed`]): a `delayed_work`, queued after a delay.
//! - [`RcuWork`](rcu_work::RcuWork) ([`rcu_work`]): an `rcu_work`, queued after an RCU grace
//!   period.
//! - [`HasField`](field::HasField) ([`field`]): ties a work field to the struct around it, for
//!   the three kinds above, and the function C calls to run the item.
//! - Items queued by `&'static` reference, with no count ([`static_work`]):
//!   [`StaticWork`](static_work::StaticWork), a `static` item that runs a function (C's
//!   `DECLARE_WORK`), and [`leak_item`](static_work::leak_item) for any item.
//! - [`KernelItem`](kernel_item::KernelItem) ([`kernel_item`]): an item of the in-tree
//!   `kernel::workqueue`, queued by rust_wq.
//! - Handles ([`handle`]): pending state, cancel, flush and disable of the C object inside an
//!   item, the one public way to act on it (the operations behind them are private).

pub mod delayed;
pub mod field;
pub mod handle;
pub mod kernel_item;
pub mod rcu_work;
pub mod static_work;
pub mod work;
pub mod work_box;
