// SPDX-License-Identifier: GPL-2.0

//! The machinery that makes the public API sound, private to rust_wq: what a module queued and
//! must wait for before its code goes ([`registry`]), the delayed items armed on each queue
//! ([`tracker`]), the arm state of one delayed item ([`arm_lock`]), the flush dependencies of
//! memory reclaim ([`reclaim`]) and the lockdep classes of items ([`class`]).

pub(in crate::rust_wq) mod arm_lock;
pub(in crate::rust_wq) mod class;
pub(in crate::rust_wq) mod reclaim;
pub(in crate::rust_wq) mod registry;
pub(in crate::rust_wq) mod tracker;
