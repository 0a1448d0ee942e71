//! The effect journal: the ordered, replayable record of every change.
//!
//! Commands journal their *effect*, not their text, whenever the two
//! differ: relative expiry becomes an absolute `PEXPIREAT`/`PXAT`,
//! INCRBYFLOAT becomes a `SET` of the result, an expired key becomes `DEL`.
//! Replaying the journal on an empty keyspace (with expiry disabled, see
//! `Keyspace::loading`) reproduces the keyspace exactly.
//!
//! Effects are RESP multibulks, exactly what a Redis AOF holds. The effects
//! of the commands a connection runs in one batch (one lock hold: a
//! pipeline's commands, a MULTI/EXEC) form one *record*, framed by `seal`
//! with the next LSN and checksums (storage/FORMAT.md); the log writer
//! takes the framed bytes. A record is sealed only between commands, so it
//! always holds whole commands and whole transactions. Records are sealed
//! under the state lock, so LSN order is execution order.
//!
//! Invariant: every reader of `last_lsn`/`next_lsn` that needs the effects
//! so far to be in a record (a snapshot's cut, the end of a batch, a served
//! blocked client) calls `seal` first.

use crate::storage::format::{KIND_EFFECTS, REC_HEADER_LEN, frame_in_place};
use crate::storage::log::{BufTrim, LogShared};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Payload size past which a record is sealed at the end of a command
/// instead of the end of its batch.
pub const SEAL_AT: usize = 64 * 1024;

#[derive(Debug)]
pub struct Journal {
    /// When false, effects are dropped (no log configured, or replaying).
    pub enabled: bool,
    /// Framed records not yet taken by the log writer, then the open
    /// record (if any): room for its header, then its effects, written in
    /// place so sealing copies nothing. Invariant: `buf[..rec_start]`
    /// holds only sealed records.
    pub buf: Vec<u8>,
    /// Where the open record starts in `buf` (`None`: no open record).
    rec_start: Option<usize>,
    /// Database the open record starts in.
    rec_db: usize,
    /// Database of the last effect in the open record.
    cur_db: usize,
    /// LSN the next sealed record gets.
    pub next_lsn: u64,
    /// Highest LSN known to be on stable storage (published by the log
    /// writer); stamped into each record (FORMAT.md, "synced LSN").
    pub durable: Arc<AtomicU64>,
    /// Effects appended since start.
    pub effects: u64,
    /// Gives `buf`'s memory back after a burst (`submit_to`).
    buf_trim: BufTrim,
}

impl Default for Journal {
    fn default() -> Self {
        Journal {
            enabled: false,
            buf: Vec::new(),
            rec_start: None,
            rec_db: 0,
            cur_db: 0,
            next_lsn: 1,
            durable: Arc::new(AtomicU64::new(0)),
            effects: 0,
            buf_trim: BufTrim::default(),
        }
    }
}

impl Journal {
    /// Append one effect executed in database `db` to the open record.
    pub fn append(&mut self, db: usize, args: &[&[u8]]) {
        self.effects += 1;
        if !self.enabled {
            return;
        }
        match self.rec_start {
            None => {
                self.rec_start = Some(self.buf.len());
                self.buf.extend_from_slice(&[0u8; REC_HEADER_LEN]);
                self.rec_db = db;
                self.cur_db = db;
            }
            Some(_) if self.cur_db != db => {
                let mut b = itoa::Buffer::new();
                encode(&mut self.buf, &[b"SELECT", b.format(db).as_bytes()]);
                self.cur_db = db;
            }
            Some(_) => {}
        }
        encode(&mut self.buf, args);
    }

    /// A command ended: close the open record only if it has grown past
    /// `SEAL_AT` (a long pipeline's record stays bounded); otherwise it
    /// stays open for the batch's next commands, and the batch's end seals
    /// it. One record per batch instead of per command saves a 32-byte
    /// header and padding per command: INCR's records went from about 96
    /// to about 60 bytes a command at pipeline 16.
    #[inline]
    pub fn end_command(&mut self) {
        if let Some(start) = self.rec_start
            && self.buf.len() - start >= SEAL_AT
        {
            self.seal();
        }
    }

    /// Close the open record (if it holds effects): frame it into `buf`
    /// with the next LSN. Returns true if a record was sealed.
    #[inline]
    pub fn seal(&mut self) -> bool {
        let Some(start) = self.rec_start.take() else {
            return false;
        };
        let synced = self.durable.load(Ordering::Acquire);
        frame_in_place(
            &mut self.buf,
            start,
            KIND_EFFECTS,
            self.rec_db as u32,
            self.next_lsn,
            synced,
        );
        self.next_lsn += 1;
        true
    }

    /// Bytes the journal's buffer holds (eviction leaves them out of the
    /// memory it compares with `maxmemory`).
    pub fn buffered_bytes(&self) -> usize {
        self.buf.capacity()
    }

    /// Hand the sealed records to the log writer (call with the state
    /// lock held, so submission order is LSN order). `buf` keeps its
    /// memory for the next batch unless it served a burst.
    pub fn submit_to(&mut self, log: &LogShared) {
        debug_assert!(self.rec_start.is_none(), "submitting an open record");
        if self.buf.is_empty() {
            return;
        }
        let (used, last) = (self.buf.len(), self.last_lsn());
        log.submit_from(&mut self.buf, last);
        self.buf_trim.after(&mut self.buf, used);
    }

    /// LSN of the last sealed record (0 if none).
    pub fn last_lsn(&self) -> u64 {
        self.next_lsn - 1
    }

    /// Take the framed bytes (the log writer calls this).
    pub fn take(&mut self) -> Vec<u8> {
        debug_assert!(self.rec_start.is_none(), "taking an open record");
        std::mem::take(&mut self.buf)
    }
}

/// Append `args` as a RESP multibulk to `out`.
pub fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    let mut b = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(b.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        out.push(b'$');
        out.extend_from_slice(b.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}
