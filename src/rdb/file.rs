//! Whole Redis RDB files (`dump.rdb`), read for migration (`rdb-import`).
//!
//! Layout (Redis's rdb.c): `REDIS` and the version as four ASCII digits,
//! then a run of opcodes and keys, then `EOF` (0xFF) and, from version 5,
//! the CRC-64 of everything before it (little endian; 0 when the writer
//! had `rdbchecksum no`). Opcodes:
//!
//! | byte | opcode        | body                                        |
//! |------|---------------|---------------------------------------------|
//! | 0xFA | AUX           | two strings (redis-ver, ctime, ...)          |
//! | 0xFB | RESIZEDB      | two lengths (table sizes, a hint)            |
//! | 0xFC | EXPIRETIME_MS | i64 LE, the next key's expiry in ms          |
//! | 0xFD | EXPIRETIME    | i32 LE, the next key's expiry in seconds     |
//! | 0xFE | SELECTDB      | a length: the database of the keys after it  |
//! | 0xF8 | IDLE          | a length: the next key's LRU idle time       |
//! | 0xF9 | FREQ          | one byte: the next key's LFU counter         |
//! | 0xF4 | SLOT_INFO     | three lengths (Redis 7.4 cluster hint)       |
//! | 0xF5 | FUNCTION2     | a function library's code (a string)         |
//! | 0xF7 | MODULE_AUX    | module data: refused                          |
//! | 0xF6 | FUNCTION      | Redis 7.0 release candidates' form: refused   |
//!
//! Any other byte is a value type, followed by the key (a string) and the
//! value (`decode_object`, the same decoder as RESTORE's).
//!
//! Invariants: reading is total (an error, never a panic) and allocates
//! no more than the input can justify (`Reader::count`); the checksum is
//! verified before anything is handed to the caller, so a damaged file
//! loads nothing; anything this reader cannot carry over faithfully
//! (streams, modules, versions newer than it knows) is refused
//! with the key or opcode and its offset, not skipped.

use super::payload::crc64;
use super::{RdbError, RdbValue, Reader, decode_object, is_object_type};

/// The newest RDB version read: Redis 7.4's (7.0 writes 10, 7.2 11).
pub const MAX_VERSION: u32 = 12;

mod op {
    pub const SLOT_INFO: u8 = 0xF4;
    pub const FUNCTION2: u8 = 0xF5;
    pub const FUNCTION: u8 = 0xF6;
    pub const MODULE_AUX: u8 = 0xF7;
    pub const IDLE: u8 = 0xF8;
    pub const FREQ: u8 = 0xF9;
    pub const AUX: u8 = 0xFA;
    pub const RESIZEDB: u8 = 0xFB;
    pub const EXPIRETIME_MS: u8 = 0xFC;
    pub const EXPIRETIME: u8 = 0xFD;
    pub const SELECTDB: u8 = 0xFE;
    pub const EOF: u8 = 0xFF;
}

/// One key of the file.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub db: u64,
    pub key: Vec<u8>,
    pub value: RdbValue,
    /// Absolute expiry in Unix ms, if the key has one.
    pub expire_ms: Option<i64>,
}

/// What the file says about itself.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FileInfo {
    pub version: u32,
    /// AUX fields in file order (`redis-ver`, `ctime`, `used-mem`, ...).
    pub aux: Vec<(Vec<u8>, Vec<u8>)>,
    pub keys: u64,
    /// Whether the file carried a checksum (0 means `rdbchecksum no`).
    pub checksummed: bool,
    /// Function libraries' code (FUNCTION LOAD's argument), in file order.
    pub functions: Vec<Vec<u8>>,
}

impl FileInfo {
    /// An AUX field's value.
    pub fn aux(&self, name: &str) -> Option<&[u8]> {
        self.aux
            .iter()
            .find(|(k, _)| k == name.as_bytes())
            .map(|(_, v)| v.as_slice())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FileError {
    #[error("not a Redis RDB file (no REDIS magic)")]
    NotRdb,
    #[error("RDB version {0} is newer than this reader knows (up to {MAX_VERSION})")]
    Version(u32),
    #[error("checksum mismatch: the file says {stored:016x}, its bytes give {computed:016x}")]
    Checksum { stored: u64, computed: u64 },
    #[error("at byte {offset}: {what}")]
    At { offset: usize, what: String },
}

fn at(offset: usize, what: impl ToString) -> FileError {
    FileError::At {
        offset,
        what: what.to_string(),
    }
}

/// Read a whole RDB file: check its header and checksum, then hand every
/// key to `f` in file order. `f` may refuse a key (its message is
/// returned with the key's offset).
pub fn read(
    buf: &[u8],
    mut f: impl FnMut(Item) -> Result<(), String>,
) -> Result<FileInfo, FileError> {
    if buf.len() < 9 || &buf[..5] != b"REDIS" {
        return Err(FileError::NotRdb);
    }
    let digits = &buf[5..9];
    if !digits.iter().all(u8::is_ascii_digit) {
        return Err(FileError::NotRdb);
    }
    let version: u32 = std::str::from_utf8(digits)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(FileError::NotRdb)?;
    if version == 0 || version > MAX_VERSION {
        return Err(FileError::Version(version));
    }
    let mut info = FileInfo {
        version,
        ..FileInfo::default()
    };
    // The body ends before the checksum, which covers everything up to
    // and including the EOF byte.
    let body_end = if version >= 5 {
        if buf.len() < 9 + 1 + 8 {
            return Err(at(
                buf.len(),
                "file cut short before its checksum (truncated)",
            ));
        }
        let end = buf.len() - 8;
        let stored = u64::from_le_bytes(buf[end..].try_into().expect("8 bytes"));
        if stored != 0 {
            let computed = crc64(&buf[..end]);
            if computed != stored {
                return Err(FileError::Checksum { stored, computed });
            }
            info.checksummed = true;
        }
        end
    } else {
        buf.len()
    };
    let mut r = Reader::new(&buf[..body_end]);
    r.take(9).map_err(|e| at(0, e))?;
    let mut db = 0u64;
    let mut expire: Option<i64> = None;
    loop {
        let offset = r.position();
        let t = r
            .u8()
            .map_err(|_| at(offset, "no EOF opcode (truncated)"))?;
        let e = |what: RdbError| at(offset, what);
        match t {
            op::EOF => {
                if r.remaining() != 0 {
                    return Err(at(offset, "bytes after the EOF opcode"));
                }
                return Ok(info);
            }
            op::AUX => {
                let k = r.string().map_err(e)?;
                let v = r.string().map_err(e)?;
                info.aux.push((k, v));
            }
            op::RESIZEDB => {
                r.length().map_err(e)?;
                r.length().map_err(e)?;
            }
            op::SLOT_INFO => {
                for _ in 0..3 {
                    r.length().map_err(e)?;
                }
            }
            op::SELECTDB => db = r.length().map_err(e)?,
            op::EXPIRETIME_MS => {
                let b = r.take(8).map_err(e)?;
                expire = Some(i64::from_le_bytes(b.try_into().expect("8 bytes")));
            }
            op::EXPIRETIME => {
                let b = r.take(4).map_err(e)?;
                let secs = i32::from_le_bytes(b.try_into().expect("4 bytes"));
                expire = Some(secs as i64 * 1000);
            }
            op::IDLE => {
                r.length().map_err(e)?;
            }
            op::FREQ => {
                r.u8().map_err(e)?;
            }
            op::MODULE_AUX => {
                return Err(at(offset, "module data (MODULE_AUX) is not supported"));
            }
            op::FUNCTION2 => info.functions.push(r.string().map_err(e)?),
            op::FUNCTION => {
                return Err(at(
                    offset,
                    "function library in the format of Redis 7.0's release candidates (not supported)",
                ));
            }
            t if is_object_type(t) => {
                let key = r.string().map_err(e)?;
                let value = decode_object(t, &mut r).map_err(|what| {
                    at(
                        offset,
                        format!("key {:?}: {what}", String::from_utf8_lossy(&key)),
                    )
                })?;
                info.keys += 1;
                f(Item {
                    db,
                    key,
                    value,
                    expire_ms: expire.take(),
                })
                .map_err(|m| at(offset, m))?;
            }
            t => return Err(at(offset, format!("unknown opcode or value type {t}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RDB file of string keys (db, key, value, expiry), as Redis
    /// writes one.
    #[allow(clippy::type_complexity)]
    fn write_strings(version: u32, items: &[(u64, &[u8], &[u8], Option<i64>)]) -> Vec<u8> {
        let mut out = format!("REDIS{version:04}").into_bytes();
        out.push(op::AUX);
        crate::rdb::put_string(&mut out, b"redis-ver", false);
        crate::rdb::put_string(&mut out, b"7.0.15", false);
        let mut db = u64::MAX;
        for &(d, k, v, exp) in items {
            if d != db {
                out.push(op::SELECTDB);
                crate::rdb::put_len(&mut out, d);
                db = d;
            }
            if let Some(ms) = exp {
                out.push(op::EXPIRETIME_MS);
                out.extend_from_slice(&ms.to_le_bytes());
            }
            out.push(crate::rdb::ty::STRING);
            crate::rdb::put_string(&mut out, k, false);
            crate::rdb::put_string(&mut out, v, false);
        }
        out.push(op::EOF);
        if version >= 5 {
            let crc = crc64(&out);
            out.extend_from_slice(&crc.to_le_bytes());
        }
        out
    }

    fn all(buf: &[u8]) -> Result<(FileInfo, Vec<Item>), FileError> {
        let mut items = Vec::new();
        let info = read(buf, |i| {
            items.push(i);
            Ok(())
        })?;
        Ok((info, items))
    }

    #[test]
    fn reads_what_it_writes() {
        let f = write_strings(
            10,
            &[
                (0, b"a", b"1", None),
                (0, b"b", b"hello", Some(1_900_000_000_000)),
                (3, b"c", b"", None),
            ],
        );
        let (info, items) = all(&f).unwrap();
        assert_eq!(info.version, 10);
        assert!(info.checksummed);
        assert_eq!(info.aux("redis-ver"), Some(&b"7.0.15"[..]));
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].expire_ms, Some(1_900_000_000_000));
        assert_eq!(items[2].db, 3);
        assert_eq!(items[2].value, RdbValue::String(Vec::new()));
    }

    #[test]
    fn damage_is_refused() {
        let f = write_strings(10, &[(0, b"key", b"value", None)]);
        // Every single flipped bit: refused, never a panic.
        for i in 0..f.len() * 8 {
            let mut g = f.clone();
            g[i / 8] ^= 1 << (i % 8);
            assert!(all(&g).is_err(), "bit {i}");
        }
        // Every truncation.
        for n in 0..f.len() {
            assert!(all(&f[..n]).is_err(), "cut at {n}");
        }
        assert_eq!(all(b"REDIS0013xxxxxxxxxx"), Err(FileError::Version(13)));
        assert_eq!(all(b"CAIRNSNAP"), Err(FileError::NotRdb));
    }

    #[test]
    fn a_zero_checksum_is_not_checked() {
        let mut f = write_strings(10, &[(0, b"k", b"v", None)]);
        let n = f.len();
        f[n - 8..].fill(0);
        let (info, items) = all(&f).unwrap();
        assert!(!info.checksummed);
        assert_eq!(items.len(), 1);
    }

    #[test]
    fn the_caller_may_refuse_a_key() {
        let f = write_strings(10, &[(20, b"k", b"v", None)]);
        let e = read(&f, |i| Err(format!("db {} out of range", i.db))).unwrap_err();
        assert!(e.to_string().contains("db 20 out of range"), "{e}");
    }
}
