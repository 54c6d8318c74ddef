// SPDX-License-Identifier: GPL-2.0

//! `/dev/rust_wq_edu`: submit requests to the `edu` device, read one line per bottom-half event.
//!
//! Writes (one command per write):
//! - `fact N`: the device computes N! (mod 2^32) and interrupts when done;
//! - `raise K`: the device raises K interrupts, as fast as it is asked;
//! - `stats`: appends a line with the interrupt, coalescing and bottom-half counters, and the
//!   tallies run on the device-managed queue with the events they counted;
//! - `tally N`: arms the tally to run in N seconds (moving the timer of one armed already);
//!   unbinding the device meanwhile runs it at once, before the queue goes.
//! - `late`: once the device has unbound (the file was opened before), offers the bottom half
//!   and the tally to the device-managed queue, which must refuse each with `ENODEV` and hand
//!   it back; the driver prints what each gave. `EBUSY` while the device is bound.
//!
//! Reads return whole lines, starting with the records made after `open`, and block until there
//! is one:
//!
//! ```text
//! rec seq=7 kind=fact in=10 result=3628800 irq_cpu=0 bh_cpu=0 worker=kworker/0:1H latency_us=412 hardirq=1 bh_task=1
//! stats irqs=120 coalesced=14 bh_runs=106 lost=0 tallies=9 tallied=118 queue=owned per-CPU
//! ```

#![forbid(unsafe_code)]

use crate::driver::{
    Hub,
    HUB, //
};
use kernel::{
    fs::{
        File,
        Kiocb, //
    },
    iov::{
        IovIterDest,
        IovIterSource, //
    },
    miscdevice::{
        MiscDevice,
        MiscDeviceRegistration, //
    },
    new_mutex,
    prelude::*,
    sync::{
        Arc,
        Mutex, //
    },
};

/// An open `/dev/rust_wq_edu`.
#[pin_data]
pub(crate) struct EduFile {
    hub: Arc<Hub>,
    /// Index of the next record to read (records are only ever appended).
    #[pin]
    cursor: Mutex<usize>,
}

fn parse(cmd: &[u8]) -> Option<(&[u8], u32)> {
    let cmd = cmd.trim_ascii();
    let (word, rest) = match cmd.iter().position(|b| b.is_ascii_whitespace()) {
        Some(i) => (&cmd[..i], cmd[i..].trim_ascii()),
        None => (cmd, &b""[..]),
    };
    if rest.is_empty() {
        return Some((word, 0));
    }
    let mut n: u32 = 0;
    for &d in rest {
        if !d.is_ascii_digit() {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u32::from(d - b'0'))?;
    }
    Some((word, n))
}

#[vtable]
impl MiscDevice for EduFile {
    type Ptr = Pin<KBox<Self>>;

    fn open(_file: &File, _misc: &MiscDeviceRegistration<Self>) -> Result<Pin<KBox<Self>>> {
        let hub = HUB.get().ok_or(ENODEV)?;
        let cursor = {
            let st = hub.state.lock();
            st.records.len()
        };
        KBox::try_pin_init(
            try_pin_init!(EduFile { hub, cursor <- new_mutex!(cursor) }),
            GFP_KERNEL,
        )
    }

    fn write_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterSource<'_>) -> Result<usize> {
        let me = kiocb.file();
        let mut buf = KVec::new();
        let len = iov.copy_from_iter_vec(&mut buf, GFP_KERNEL)?;
        let (word, n) = parse(&buf).ok_or(EINVAL)?;
        match word {
            b"fact" => me.hub.submit_factorial(n)?,
            b"raise" => {
                for _ in 0..n.max(1) {
                    me.hub.submit_raise()?;
                }
            }
            b"stats" => me.hub.submit_stats()?,
            b"tally" => me.hub.submit_tally(n)?,
            b"late" => Hub::offer_after_unbind(&me.hub)?,
            _ => return Err(EINVAL),
        }
        Ok(len)
    }

    fn read_iter(kiocb: Kiocb<'_, Self::Ptr>, iov: &mut IovIterDest<'_>) -> Result<usize> {
        let me = kiocb.file();
        let mut cursor = me.cursor.lock();
        let mut st = me.hub.state.lock();
        while *cursor >= st.records.len() {
            if me.hub.changed.wait_interruptible(&mut st) {
                return Err(ERESTARTSYS);
            }
        }
        let mut copied = 0;
        while let Some(rec) = st.records.get(*cursor) {
            let line = rec.to_line()?;
            let bytes = line.to_bytes();
            if bytes.len() > iov.len() {
                break;
            }
            copied += iov.copy_to_iter(bytes);
            *cursor += 1;
        }
        if copied == 0 {
            // The buffer cannot hold even one line.
            return Err(EINVAL);
        }
        Ok(copied)
    }
}
