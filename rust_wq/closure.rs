// SPDX-License-Identifier: GPL-2.0

//! Closures run by kworkers: one-off items ([`spawn`]), closures that borrow from the caller's
//! stack ([`scope`]), and a function run synchronously on a chosen CPU or on every online CPU
//! ([`on_cpu`]).

pub mod on_cpu;
pub mod scope;
pub mod spawn;
