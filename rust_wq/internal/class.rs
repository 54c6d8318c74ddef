// SPDX-License-Identifier: GPL-2.0

//! Lockdep classes of work items, and the kind of worker their items run in.
//!
//! What is checked and why: [Lockdep classes](crate::rust_wq::error#lockdep-classes). Here:
//! the kinds of queue each class of this module went on, by the address of its key.

use crate::rust_wq::EnqueueErrorKind;
use kernel::bindings;
#[cfg(CONFIG_LOCKDEP)]
use kernel::{
    prelude::*,
    sync::atomic::{
        Atomic,
        Relaxed, //
    },
};

/// How many lockdep classes of work items a module can queue (on lockdep kernels).
pub const CLASSES: usize = 512;

/// A class seen by this module: its key's address (0: free) and where its items went.
#[cfg(CONFIG_LOCKDEP)]
struct Seen {
    key: Atomic<usize>,
    kinds: Atomic<u32>,
}

/// Items of the class went on a BH queue.
#[cfg(CONFIG_LOCKDEP)]
const BH: u32 = 1;
/// Items of the class went on a threaded queue.
#[cfg(CONFIG_LOCKDEP)]
const THREADED: u32 = 2;

/// The classes this module has queued, by key address, open addressing. A slot's `key` goes
/// from 0 to one address once; its `kinds` from 0 to [`BH`] or [`THREADED`] once.
#[cfg(CONFIG_LOCKDEP)]
static SEEN: [Seen; CLASSES] = [const {
    Seen {
        key: Atomic::new(0),
        kinds: Atomic::new(0),
    }
}; CLASSES];

/// The slot of `key`, taken if it had none; `None` if the table is full.
#[cfg(CONFIG_LOCKDEP)]
fn slot(key: usize) -> Option<&'static Seen> {
    // Keys are static or heap objects of at least 8 bytes: spread by the bits above those.
    let start = (key >> 3).wrapping_mul(0x9e37_79b9) % CLASSES;
    for i in 0..CLASSES {
        let s = &SEEN[(start + i) % CLASSES];
        match s.key.load(Relaxed) {
            k if k == key => return Some(s),
            0 => match s.key.cmpxchg(0, key, Relaxed) {
                Ok(_) => return Some(s),
                Err(now) if now == key => return Some(s),
                Err(_) => continue,
            },
            _ => continue,
        }
    }
    None
}

/// Records that `work` is about to go on a BH queue (`bh`) or a threaded one: `EINVAL` if items
/// of its class went on the other kind before, `ENOSPC` if the module has no room for one more
/// class.
///
/// # Safety
///
/// `work` is an initialised `work_struct`.
#[cfg(CONFIG_LOCKDEP)]
#[inline]
pub(in crate::rust_wq) unsafe fn note(
    work: *mut bindings::work_struct,
    bh: bool,
) -> Result<(), EnqueueErrorKind> {
    // SAFETY: `work` is initialised (caller); its initialiser wrote the key, which stays. Only
    // the address is used.
    note_key(unsafe { (*work).lockdep_map.key }, bh)
}

/// [`note`] for a work item about to be initialised with `key` (`work_on_cpu_in` and
/// `schedule_on_each_cpu_in`, which take the caller's key). Only the address is used.
#[cfg(CONFIG_LOCKDEP)]
#[inline]
pub(in crate::rust_wq) fn note_key(
    key: *const bindings::lock_class_key,
    bh: bool,
) -> Result<(), EnqueueErrorKind> {
    let key = key as usize;
    let want = if bh { BH } else { THREADED };
    let s = slot(key).ok_or(EnqueueErrorKind::TooManyClasses)?;
    match s.kinds.load(Relaxed) {
        cur if cur == want => Ok(()),
        0 => match s.kinds.cmpxchg(0, want, Relaxed) {
            Ok(_) => Ok(()),
            Err(now) if now == want => Ok(()),
            Err(_) => Err(EnqueueErrorKind::ClassContext),
        },
        _ => Err(EnqueueErrorKind::ClassContext),
    }
}

/// Without lockdep there is nothing to check (see the [module documentation](self)).
///
/// # Safety
///
/// As with lockdep: `work` is an initialised `work_struct`.
#[cfg(not(CONFIG_LOCKDEP))]
#[inline(always)]
pub(in crate::rust_wq) unsafe fn note(
    _work: *mut bindings::work_struct,
    _bh: bool,
) -> Result<(), EnqueueErrorKind> {
    Ok(())
}

/// Without lockdep there is nothing to check.
#[cfg(not(CONFIG_LOCKDEP))]
#[inline(always)]
pub(in crate::rust_wq) fn note_key(
    _key: *const bindings::lock_class_key,
    _bh: bool,
) -> Result<(), EnqueueErrorKind> {
    Ok(())
}
