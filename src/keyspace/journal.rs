//! The effect journal: the ordered, replayable record of every change.
//!
//! Commands journal their *effect*, not their text, whenever the two
//! differ: relative expiry becomes an absolute `PEXPIREAT`/`PXAT`,
//! INCRBYFLOAT becomes a `SET` of the result, an expired key becomes `DEL`.
//! Replaying the journal on an empty keyspace (with expiry disabled, see
//! `Keyspace::loading`) reproduces the keyspace exactly.
//!
//! Encoding: each effect is a RESP multibulk, exactly what a Redis AOF
//! holds; a `SELECT n` is emitted whenever the database changes. The
//! durable log (storage) frames and checksums these bytes; the journal
//! itself only accumulates them in execution order.

#[derive(Default, Debug)]
pub struct Journal {
    /// When false, effects are dropped (no log configured).
    pub enabled: bool,
    /// Encoded effects not yet taken by the log writer.
    pub buf: Vec<u8>,
    /// Database the encoded stream is currently in (None: unknown).
    cur_db: Option<usize>,
    /// Effects appended since start (SELECTs not counted).
    pub effects: u64,
}

impl Journal {
    /// Append one effect executed in database `db`.
    pub fn append(&mut self, db: usize, args: &[&[u8]]) {
        self.effects += 1;
        if !self.enabled {
            return;
        }
        if self.cur_db != Some(db) {
            let mut b = itoa::Buffer::new();
            encode(&mut self.buf, &[b"SELECT", b.format(db).as_bytes()]);
            self.cur_db = Some(db);
        }
        encode(&mut self.buf, args);
    }

    /// Take the accumulated bytes (the log writer calls this).
    pub fn take(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.buf)
    }

    /// Forget the current database so the next effect starts with SELECT
    /// (used when a new log segment starts).
    pub fn reset_db(&mut self) {
        self.cur_db = None;
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
