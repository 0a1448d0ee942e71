//! The Redis RDB value codec: object type bytes, length and string
//! encodings (integer and LZF forms), and the compact blobs Redis embeds in
//! values (listpack, ziplist, intset, zipmap). DUMP/RESTORE use it through
//! `payload`; `file` reads whole RDB files for migration (`rdb-import`)
//! with the same `Reader` and `decode_object`.
//!
//! Invariants:
//! * Decoding is total: any byte string yields a value or an `RdbError`,
//!   never a panic, and no allocation exceeds what the remaining input can
//!   justify (a declared length is checked against the bytes left before
//!   anything is reserved; an LZF string may expand at most `lzf::MAX_RATIO`
//!   times its compressed size).
//! * Encoding writes what Redis 7.0 writes for the same logical value and
//!   encoding (`encode_*`), so Redis RESTOREs it and, for values built the
//!   same way, the bytes are equal.

pub mod file;
pub mod intset;
pub mod listpack;
pub mod lzf;
pub mod payload;
pub mod value;
pub mod ziplist;
pub mod zipmap;

use std::collections::HashSet;

/// RDB object type bytes.
pub mod ty {
    pub const STRING: u8 = 0;
    pub const LIST: u8 = 1;
    pub const SET: u8 = 2;
    pub const ZSET: u8 = 3;
    pub const HASH: u8 = 4;
    pub const ZSET_2: u8 = 5;
    pub const MODULE: u8 = 6;
    pub const MODULE_2: u8 = 7;
    pub const HASH_ZIPMAP: u8 = 9;
    pub const LIST_ZIPLIST: u8 = 10;
    pub const SET_INTSET: u8 = 11;
    pub const ZSET_ZIPLIST: u8 = 12;
    pub const HASH_ZIPLIST: u8 = 13;
    pub const LIST_QUICKLIST: u8 = 14;
    pub const STREAM_LISTPACKS: u8 = 15;
    pub const HASH_LISTPACK: u8 = 16;
    pub const ZSET_LISTPACK: u8 = 17;
    pub const LIST_QUICKLIST_2: u8 = 18;
    pub const STREAM_LISTPACKS_2: u8 = 19;
    pub const SET_LISTPACK: u8 = 20;
    pub const STREAM_LISTPACKS_3: u8 = 21;
}

/// Quicklist node containers (RDB_TYPE_LIST_QUICKLIST_2).
const QUICKLIST_PLAIN: u64 = 1;
const QUICKLIST_PACKED: u64 = 2;

/// Redis's threshold above which rdbSaveRawString tries LZF.
const LZF_MIN_LEN: usize = 20;

/// Why a byte string is not a valid RDB value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RdbError {
    #[error("unexpected end of input")]
    Truncated,
    #[error("invalid length encoding")]
    BadLength,
    #[error("invalid string encoding {0}")]
    BadStringEncoding(u8),
    #[error("invalid LZF compressed string")]
    BadLzf,
    #[error("corrupt {0}")]
    Corrupt(&'static str),
    #[error("duplicate {0} element")]
    Duplicate(&'static str),
    #[error("empty collection")]
    Empty,
    #[error("unknown RDB object type {0}")]
    UnknownType(u8),
    #[error("RDB object type {0} (module) is not supported")]
    Unsupported(u8),
}

pub type Result<T> = std::result::Result<T, RdbError>;

/// A decoded value, independent of how the keyspace stores it.
#[derive(Debug, Clone, PartialEq)]
pub enum RdbValue {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    /// Members in encounter order; `intset` when the RDB form was an
    /// intset (Redis keeps that encoding if the size limit allows).
    Set {
        members: Vec<Vec<u8>>,
        intset: bool,
    },
    /// Field/value pairs; `compact` when the RDB form was a listpack or a
    /// ziplist (Redis then converts to a hashtable on the count alone; a
    /// HASH record or a zipmap also on field/value lengths).
    Hash {
        pairs: Vec<(Vec<u8>, Vec<u8>)>,
        compact: bool,
    },
    /// Member/score pairs (no NaN scores).
    ZSet {
        pairs: Vec<(Vec<u8>, f64)>,
        compact: bool,
    },
    /// A stream, its node layout kept (checked as it was built).
    Stream(Box<crate::keyspace::types::Stream>),
}

/// A cursor over RDB bytes.
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// A length field: its value, or a special string encoding (11xxxxxx).
enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<'a> Reader<'a> {
    pub fn new(buf: &'a [u8]) -> Reader<'a> {
        Reader { buf, pos: 0 }
    }

    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub fn position(&self) -> usize {
        self.pos
    }

    pub fn u8(&mut self) -> Result<u8> {
        let b = *self.buf.get(self.pos).ok_or(RdbError::Truncated)?;
        self.pos += 1;
        Ok(b)
    }

    /// The next `n` bytes (n is checked against the input before use).
    pub fn take(&mut self, n: u64) -> Result<&'a [u8]> {
        if n > self.remaining() as u64 {
            return Err(RdbError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    fn array<const N: usize>(&mut self) -> Result<[u8; N]> {
        let s = self.take(N as u64)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    fn len_field(&mut self) -> Result<Len> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain((((b & 0x3f) as u64) << 8) | self.u8()? as u64),
            3 => Len::Encoded(b & 0x3f),
            _ => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => return Err(RdbError::BadLength),
            },
        })
    }

    /// A length (`rdbLoadLen`). As in Redis, the "encoded" flag of a
    /// length read where no string can follow is ignored.
    pub fn length(&mut self) -> Result<u64> {
        Ok(match self.len_field()? {
            Len::Plain(n) => n,
            Len::Encoded(n) => n as u64,
        })
    }

    /// A length that counts items each taking at least `min_item` bytes:
    /// refused if the input cannot hold that many, so it is a safe
    /// capacity to reserve.
    pub fn count(&mut self, min_item: usize) -> Result<usize> {
        let n = self.length()?;
        if n > (self.remaining() / min_item.max(1)) as u64 {
            return Err(RdbError::Truncated);
        }
        Ok(n as usize)
    }

    /// A string (`rdbGenericLoadStringObject`): raw, integer or LZF.
    pub fn string(&mut self) -> Result<Vec<u8>> {
        match self.len_field()? {
            Len::Plain(n) => Ok(self.take(n)?.to_vec()),
            Len::Encoded(0) => Ok(itoa_vec(self.u8()? as i8 as i64)),
            Len::Encoded(1) => Ok(itoa_vec(i16::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(2) => Ok(itoa_vec(i32::from_le_bytes(self.array()?) as i64)),
            Len::Encoded(3) => {
                let clen = self.length()?;
                let len = self.length()?;
                let c = self.take(clen)?;
                lzf::decompress_exact(c, len)
            }
            Len::Encoded(e) => Err(RdbError::BadStringEncoding(e)),
        }
    }

    /// A double in the old textual form (`rdbLoadDoubleValue`).
    pub fn text_double(&mut self) -> Result<f64> {
        match self.u8()? {
            253 => Ok(f64::NAN),
            254 => Ok(f64::INFINITY),
            255 => Ok(f64::NEG_INFINITY),
            n => {
                let s = self.take(n as u64)?;
                parse_score(s).ok_or(RdbError::Corrupt("double"))
            }
        }
    }

    /// A little-endian binary double (`rdbLoadBinaryDoubleValue`).
    pub fn binary_double(&mut self) -> Result<f64> {
        Ok(f64::from_le_bytes(self.array()?))
    }
}

fn itoa_vec(n: i64) -> Vec<u8> {
    itoa::Buffer::new().format(n).as_bytes().to_vec()
}

/// A score written as text in an RDB or a compact blob (`strtod` over the
/// whole string). NaN is returned as such; the caller rejects it.
pub fn parse_score(s: &[u8]) -> Option<f64> {
    match s {
        b"inf" | b"+inf" => Some(f64::INFINITY),
        b"-inf" => Some(f64::NEG_INFINITY),
        b"nan" | b"-nan" => Some(f64::NAN),
        _ => crate::util::parse_f64(s),
    }
}

/// Whether `t` is an object type byte Redis 7.0 (or 7.2 for sets) knows.
pub fn is_object_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=21)
}

/// Decode one object of type `t` (`rdbLoadObject`).
pub fn decode_object(t: u8, r: &mut Reader) -> Result<RdbValue> {
    match t {
        ty::STRING => Ok(RdbValue::String(r.string()?)),
        ty::LIST => {
            let n = r.count(1)?;
            let mut items = Vec::with_capacity(n);
            for _ in 0..n {
                items.push(r.string()?);
            }
            non_empty_list(items)
        }
        ty::SET => {
            let n = r.count(1)?;
            let mut members = Vec::with_capacity(n);
            for _ in 0..n {
                members.push(r.string()?);
            }
            no_dups(members.iter().map(|m| m.as_slice()), "set")?;
            set_value(members, false)
        }
        ty::ZSET | ty::ZSET_2 => {
            let n = r.count(2)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let m = r.string()?;
                let s = if t == ty::ZSET_2 {
                    r.binary_double()?
                } else {
                    r.text_double()?
                };
                pairs.push((m, s));
            }
            zset_value(pairs, false)
        }
        ty::HASH => {
            let n = r.count(2)?;
            let mut pairs = Vec::with_capacity(n);
            for _ in 0..n {
                let f = r.string()?;
                let v = r.string()?;
                pairs.push((f, v));
            }
            hash_value(pairs, false)
        }
        ty::HASH_ZIPMAP => {
            let blob = r.string()?;
            hash_value(zipmap::decode(&blob)?, false)
        }
        ty::LIST_ZIPLIST => non_empty_list(ziplist::decode(&r.string()?)?),
        ty::SET_INTSET => {
            let members = intset::decode(&r.string()?)?;
            set_value(members.into_iter().map(itoa_vec).collect(), true)
        }
        ty::SET_LISTPACK => {
            let members = listpack::decode(&r.string()?)?;
            no_dups(members.iter().map(|m| m.as_slice()), "set")?;
            set_value(members, false)
        }
        ty::ZSET_ZIPLIST | ty::ZSET_LISTPACK => {
            let blob = r.string()?;
            let flat = if t == ty::ZSET_ZIPLIST {
                ziplist::decode(&blob)?
            } else {
                listpack::decode(&blob)?
            };
            let pairs = pairs_of(flat, "zset")?
                .into_iter()
                .map(|(m, s)| Ok((m, parse_score(&s).ok_or(RdbError::Corrupt("zset score"))?)))
                .collect::<Result<Vec<_>>>()?;
            zset_value(pairs, true)
        }
        ty::HASH_ZIPLIST | ty::HASH_LISTPACK => {
            let blob = r.string()?;
            let flat = if t == ty::HASH_ZIPLIST {
                ziplist::decode(&blob)?
            } else {
                listpack::decode(&blob)?
            };
            hash_value(pairs_of(flat, "hash")?, true)
        }
        ty::LIST_QUICKLIST | ty::LIST_QUICKLIST_2 => {
            let nodes = r.count(1)?;
            let mut items = Vec::new();
            for _ in 0..nodes {
                let container = if t == ty::LIST_QUICKLIST_2 {
                    r.length()?
                } else {
                    QUICKLIST_PACKED
                };
                let blob = r.string()?;
                match container {
                    QUICKLIST_PLAIN => items.push(blob),
                    QUICKLIST_PACKED if t == ty::LIST_QUICKLIST => {
                        items.extend(ziplist::decode_allow_empty(&blob)?)
                    }
                    QUICKLIST_PACKED => items.extend(listpack::decode_allow_empty(&blob)?),
                    _ => return Err(RdbError::Corrupt("quicklist container")),
                }
            }
            non_empty_list(items)
        }
        ty::MODULE | ty::MODULE_2 => Err(RdbError::Unsupported(t)),
        ty::STREAM_LISTPACKS | ty::STREAM_LISTPACKS_2 | ty::STREAM_LISTPACKS_3 => {
            decode_stream(t, r)
        }
        _ => Err(RdbError::UnknownType(t)),
    }
}

/// A stream (`rdbLoadObject`'s RDB_TYPE_STREAM_LISTPACKS*): its listpack
/// nodes, each keyed by its master ID, then its metadata and consumer
/// groups.
fn decode_stream(t: u8, r: &mut Reader) -> Result<RdbValue> {
    use crate::keyspace::types::stream::{Item, Stream, StreamId};
    let bad = RdbError::Corrupt;
    let nodes = r.count(2)?;
    let mut x = Stream::new();
    for _ in 0..nodes {
        let key = r.string()?;
        let key: [u8; 16] = key.try_into().map_err(|_| bad("stream node key"))?;
        let master = StreamId::from_raw(key);
        let mut el = listpack::decode(&r.string()?)?.into_iter();
        let next_int = |el: &mut std::vec::IntoIter<Vec<u8>>| -> Result<i64> {
            el.next()
                .and_then(|e| crate::util::parse_i64(&e))
                .ok_or(bad("stream entry"))
        };
        let count = next_int(&mut el)?;
        let deleted = next_int(&mut el)?;
        let nf = next_int(&mut el)?;
        if nf <= 0 || nf as usize > el.len() {
            return Err(bad("stream master entry"));
        }
        let master_fields: Vec<Box<[u8]>> = (0..nf)
            .map(|_| {
                el.next()
                    .map(Vec::into_boxed_slice)
                    .ok_or(bad("stream master entry"))
            })
            .collect::<Result<_>>()?;
        if next_int(&mut el)? != 0 {
            return Err(bad("stream master entry"));
        }
        let mut items = Vec::new();
        let (mut live, mut dead) = (0i64, 0i64);
        while el.len() > 0 {
            let flags = next_int(&mut el)?;
            if !(0..=3).contains(&flags) {
                return Err(bad("stream entry flags"));
            }
            let id = StreamId::new(
                master.ms.wrapping_add(next_int(&mut el)? as u64),
                master.seq.wrapping_add(next_int(&mut el)? as u64),
            );
            let (fields, values, lp_count) = if flags & 2 != 0 {
                if (nf as usize) > el.len() {
                    return Err(bad("stream entry"));
                }
                let v: Vec<Box<[u8]>> = el
                    .by_ref()
                    .take(nf as usize)
                    .map(Vec::into_boxed_slice)
                    .collect();
                (None, v, nf + 3)
            } else {
                let n = next_int(&mut el)?;
                if n <= 0 || (n as usize).saturating_mul(2) > el.len() {
                    return Err(bad("stream entry"));
                }
                let (mut f, mut v) = (Vec::new(), Vec::new());
                for _ in 0..n {
                    f.push(
                        el.next()
                            .map(Vec::into_boxed_slice)
                            .ok_or(bad("stream entry"))?,
                    );
                    v.push(
                        el.next()
                            .map(Vec::into_boxed_slice)
                            .ok_or(bad("stream entry"))?,
                    );
                }
                (Some(f), v, 2 * n + 4)
            };
            if next_int(&mut el)? != lp_count {
                return Err(bad("stream entry count"));
            }
            if flags & 1 != 0 {
                dead += 1;
            } else {
                live += 1;
            }
            items.push(Item {
                id,
                fields,
                values,
                deleted: flags & 1 != 0,
            });
        }
        if (live, dead) != (count, deleted) || items.first().is_none_or(|i| i.id != master) {
            return Err(bad("stream node counts"));
        }
        x.push_loaded_node(master_fields, items).map_err(bad)?;
    }
    let length = r.length()?;
    let last = StreamId::new(r.length()?, r.length()?);
    let (max_deleted, added) = if t == ty::STREAM_LISTPACKS {
        (StreamId::MIN, length)
    } else {
        // (The recorded first ID is recomputed from the entries.)
        let _first = StreamId::new(r.length()?, r.length()?);
        (StreamId::new(r.length()?, r.length()?), r.length()?)
    };
    if length != x.len() as u64 {
        return Err(bad("stream length"));
    }
    x.set_loaded_meta(last, max_deleted, added).map_err(bad)?;
    decode_groups(t, r, &mut x)?;
    Ok(RdbValue::Stream(Box::new(x)))
}

fn raw_id(r: &mut Reader) -> Result<crate::keyspace::types::stream::StreamId> {
    Ok(crate::keyspace::types::stream::StreamId::from_raw(
        r.array()?,
    ))
}

/// A stream's consumer groups (`rdbLoadObject`): per group its name, last
/// ID, read counter (types 19 and 21; estimated for 15), its PEL (raw ID,
/// delivery time, delivery count) and its consumers (name, seen time, a
/// type 21 active time, and the raw IDs of their pending entries, which
/// must be in the group's PEL and owned by no other consumer).
fn decode_groups(t: u8, r: &mut Reader, x: &mut crate::keyspace::types::Stream) -> Result<()> {
    use crate::keyspace::types::cgroup::{Consumer, Group, Meta, Name};
    let bad = RdbError::Corrupt;
    let groups = r.count(4)?;
    for _ in 0..groups {
        let name: Box<[u8]> = r.string()?.into();
        let last = crate::keyspace::types::stream::StreamId::new(r.length()?, r.length()?);
        let entries_read = if t == ty::STREAM_LISTPACKS {
            Meta::of(x).distance(last)
        } else {
            r.length()? as i64
        };
        let mut g = Group::new(last, entries_read);
        // The PEL's delivery time and count, and the owner the consumers'
        // lists give each entry (exactly one).
        let n = r.count(16 + 8 + 1)?;
        let mut pel: std::collections::BTreeMap<_, (i64, u64, Option<Name>)> = Default::default();
        for _ in 0..n {
            let id = raw_id(r)?;
            let time = i64::from_le_bytes(r.array()?);
            let count = r.length()?;
            if pel.insert(id, (time, count, None)).is_some() {
                return Err(RdbError::Duplicate("stream PEL"));
            }
        }
        let nc = r.count(1 + 8 + 1)?;
        for _ in 0..nc {
            let cname: Name = r.string()?.into();
            let seen_time = i64::from_le_bytes(r.array()?);
            if t == ty::STREAM_LISTPACKS_3 {
                let _active_time: [u8; 8] = r.array()?;
            }
            let mut c = Consumer {
                seen_time,
                pel: Default::default(),
            };
            let n = r.count(16)?;
            for _ in 0..n {
                let id = raw_id(r)?;
                match pel.get_mut(&id) {
                    Some((_, _, o @ None)) => *o = Some(cname.clone()),
                    _ => return Err(bad("stream consumer PEL entry")),
                }
                c.pel.insert(id, ());
            }
            if g.consumers.insert(cname, c).is_some() {
                return Err(RdbError::Duplicate("stream consumer"));
            }
        }
        for (id, (delivery_time, delivery_count, owner)) in pel {
            let Some(consumer) = owner else {
                return Err(bad("stream PEL entry without consumer"));
            };
            g.pel.insert(
                id,
                crate::keyspace::types::cgroup::Nack {
                    delivery_time,
                    delivery_count,
                    consumer,
                },
            );
        }
        if x.groups.insert(name, g).is_some() {
            return Err(RdbError::Duplicate("stream group"));
        }
    }
    Ok(())
}

/// A stream as RDB_TYPE_STREAM_LISTPACKS_2 (what Redis 7.0 writes): its
/// nodes as listpacks, then its metadata and consumer groups.
pub fn encode_stream(out: &mut Vec<u8>, x: &crate::keyspace::types::Stream, compress: bool) {
    out.push(ty::STREAM_LISTPACKS_2);
    put_len(out, x.node_count() as u64);
    let mut b = itoa::Buffer::new();
    for n in x.nodes() {
        let first = n.first_id();
        put_string(out, &first.to_raw(), compress);
        let mut lp = listpack::Builder::new();
        let live = n.items().filter(|i| !i.deleted).count();
        lp.push(b.format(live).as_bytes());
        lp.push(b.format(n.item_count() - live).as_bytes());
        lp.push(b.format(n.master_fields().len()).as_bytes());
        for f in n.master_fields() {
            lp.push(f);
        }
        lp.push(b"0");
        for it in n.items() {
            let flags = (it.deleted as u8) | if it.fields.is_none() { 2 } else { 0 };
            lp.push(b.format(flags).as_bytes());
            lp.push(b.format(it.id.ms.wrapping_sub(first.ms) as i64).as_bytes());
            lp.push(
                b.format(it.id.seq.wrapping_sub(first.seq) as i64)
                    .as_bytes(),
            );
            let nf = it.values.len();
            match &it.fields {
                None => {
                    for v in &it.values {
                        lp.push(v);
                    }
                    lp.push(b.format(nf + 3).as_bytes());
                }
                Some(f) => {
                    lp.push(b.format(nf).as_bytes());
                    for (f, v) in f.iter().zip(&it.values) {
                        lp.push(f);
                        lp.push(v);
                    }
                    lp.push(b.format(2 * nf + 4).as_bytes());
                }
            }
        }
        put_string(out, &lp.finish(), compress);
    }
    put_len(out, x.len() as u64);
    for v in [
        x.last_id.ms,
        x.last_id.seq,
        x.first_id.ms,
        x.first_id.seq,
        x.max_deleted_id.ms,
        x.max_deleted_id.seq,
        x.entries_added,
    ] {
        put_len(out, v);
    }
    put_len(out, x.groups.len() as u64);
    for (name, g) in &x.groups {
        put_string(out, name, compress);
        put_len(out, g.last_id.ms);
        put_len(out, g.last_id.seq);
        put_len(out, g.entries_read as u64);
        put_len(out, g.pel.len() as u64);
        for (id, n) in g.pel.iter() {
            out.extend_from_slice(&id.to_raw());
            out.extend_from_slice(&n.delivery_time.to_le_bytes());
            put_len(out, n.delivery_count);
        }
        put_len(out, g.consumers.len() as u64);
        for (cname, c) in &g.consumers {
            put_string(out, cname, compress);
            out.extend_from_slice(&c.seen_time.to_le_bytes());
            put_len(out, c.pel.len() as u64);
            for id in c.pel.keys() {
                out.extend_from_slice(&id.to_raw());
            }
        }
    }
}

fn non_empty_list(items: Vec<Vec<u8>>) -> Result<RdbValue> {
    if items.is_empty() {
        return Err(RdbError::Empty);
    }
    Ok(RdbValue::List(items))
}

fn set_value(members: Vec<Vec<u8>>, intset: bool) -> Result<RdbValue> {
    if members.is_empty() {
        return Err(RdbError::Empty);
    }
    Ok(RdbValue::Set { members, intset })
}

fn hash_value(pairs: Vec<(Vec<u8>, Vec<u8>)>, compact: bool) -> Result<RdbValue> {
    if pairs.is_empty() {
        return Err(RdbError::Empty);
    }
    no_dups(pairs.iter().map(|p| p.0.as_slice()), "hash")?;
    Ok(RdbValue::Hash { pairs, compact })
}

fn zset_value(pairs: Vec<(Vec<u8>, f64)>, compact: bool) -> Result<RdbValue> {
    if pairs.is_empty() {
        return Err(RdbError::Empty);
    }
    if pairs.iter().any(|p| p.1.is_nan()) {
        return Err(RdbError::Corrupt("zset NaN score"));
    }
    no_dups(pairs.iter().map(|p| p.0.as_slice()), "zset")?;
    Ok(RdbValue::ZSet { pairs, compact })
}

/// Consecutive (a, b) pairs of a flat element list; an odd count is corrupt.
fn pairs_of(flat: Vec<Vec<u8>>, what: &'static str) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    if !flat.len().is_multiple_of(2) {
        return Err(RdbError::Corrupt(what));
    }
    let mut out = Vec::with_capacity(flat.len() / 2);
    let mut it = flat.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn no_dups<'a>(items: impl ExactSizeIterator<Item = &'a [u8]>, what: &'static str) -> Result<()> {
    let mut seen = HashSet::with_capacity(items.len());
    for i in items {
        if !seen.insert(i) {
            return Err(RdbError::Duplicate(what));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// Encoding (rdbSave*)

/// `rdbSaveLen`.
pub fn put_len(out: &mut Vec<u8>, n: u64) {
    if n < 1 << 6 {
        out.push(n as u8);
    } else if n < 1 << 14 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else if n <= u32::MAX as u64 {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    } else {
        out.push(0x81);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

/// `rdbEncodeInteger`: the 8/16/32-bit string encodings, if `v` fits.
fn put_int_encoded(out: &mut Vec<u8>, v: i64) -> bool {
    if let Ok(b) = i8::try_from(v) {
        out.extend_from_slice(&[0xc0, b as u8]);
    } else if let Ok(h) = i16::try_from(v) {
        out.push(0xc1);
        out.extend_from_slice(&h.to_le_bytes());
    } else if let Ok(w) = i32::try_from(v) {
        out.push(0xc2);
        out.extend_from_slice(&w.to_le_bytes());
    } else {
        return false;
    }
    true
}

/// `rdbSaveLongLongAsStringObject`: an integer string value.
pub fn put_int_string(out: &mut Vec<u8>, v: i64) {
    if !put_int_encoded(out, v) {
        let mut b = itoa::Buffer::new();
        let s = b.format(v).as_bytes();
        put_len(out, s.len() as u64);
        out.extend_from_slice(s);
    }
}

/// `rdbSaveRawString` with rdbcompression on or off: integer encoding for
/// short canonical integers, LZF for longer strings when it saves at least
/// 4 bytes, else length + bytes.
pub fn put_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    if s.len() <= 11
        && let Some(v) = crate::util::parse_i64(s)
        && put_int_encoded(out, v)
    {
        return;
    }
    if compress
        && s.len() > LZF_MIN_LEN
        && let Some(c) = lzf::compress(s, s.len() - 4)
    {
        out.push(0xc3);
        put_len(out, c.len() as u64);
        put_len(out, s.len() as u64);
        out.extend_from_slice(&c);
        return;
    }
    put_len(out, s.len() as u64);
    out.extend_from_slice(s);
}

/// `rdbSaveBinaryDoubleValue`.
pub fn put_binary_double(out: &mut Vec<u8>, d: f64) {
    out.extend_from_slice(&d.to_le_bytes());
}

/// Quicklist node size limits (`list-max-listpack-size`): a negative
/// fill is a byte limit per node, a positive one a count limit (with
/// Redis's 8 KB safety cap).
fn node_allows(node_bytes: usize, node_count: usize, item: usize, fill: i64) -> bool {
    const LEVELS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
    const SAFETY: usize = 8192;
    const OVERHEAD: usize = 8;
    let new_sz = node_bytes + item + OVERHEAD;
    if fill < 0 {
        let lvl = (-fill - 1) as usize;
        if lvl < LEVELS.len() && new_sz <= LEVELS[lvl] {
            return true;
        }
    }
    if new_sz > SAFETY {
        return false;
    }
    (node_count as i64) < fill
}

/// A list as RDB_TYPE_LIST_QUICKLIST_2: listpack nodes split the way
/// Redis's quicklist splits pushes at the tail under `fill`.
pub fn encode_list<'a>(
    out: &mut Vec<u8>,
    items: impl Iterator<Item = &'a [u8]>,
    fill: i64,
    compress: bool,
) {
    let mut nodes: Vec<listpack::Builder> = Vec::new();
    for it in items {
        let fits = nodes
            .last()
            .is_some_and(|n| node_allows(n.bytes(), n.count(), it.len(), fill));
        if !fits {
            nodes.push(listpack::Builder::new());
        }
        nodes.last_mut().expect("pushed above").push(it);
    }
    out.push(ty::LIST_QUICKLIST_2);
    put_len(out, nodes.len() as u64);
    for n in nodes {
        put_len(out, QUICKLIST_PACKED);
        put_string(out, &n.finish(), compress);
    }
}

/// A hash: HASH_LISTPACK when `compact`, else HASH.
pub fn encode_hash<'a>(
    out: &mut Vec<u8>,
    pairs: impl ExactSizeIterator<Item = (&'a [u8], &'a [u8])>,
    compact: bool,
    compress: bool,
) {
    if compact {
        let mut lp = listpack::Builder::new();
        for (f, v) in pairs {
            lp.push(f);
            lp.push(v);
        }
        out.push(ty::HASH_LISTPACK);
        put_string(out, &lp.finish(), compress);
    } else {
        out.push(ty::HASH);
        put_len(out, pairs.len() as u64);
        for (f, v) in pairs {
            put_string(out, f, compress);
            put_string(out, v, compress);
        }
    }
}

/// A set: SET_INTSET when `intset` and every member is a canonical
/// integer, else SET.
pub fn encode_set(out: &mut Vec<u8>, members: &[&[u8]], intset: bool, compress: bool) {
    if intset {
        let ints: Option<Vec<i64>> = members.iter().map(|m| crate::util::parse_i64(m)).collect();
        if let Some(ints) = ints {
            out.push(ty::SET_INTSET);
            put_string(out, &intset::encode(ints), compress);
            return;
        }
    }
    out.push(ty::SET);
    put_len(out, members.len() as u64);
    for m in members {
        put_string(out, m, compress);
    }
}

/// A sorted set given in ascending order: ZSET_LISTPACK when `compact`,
/// else ZSET_2 written from the greatest to the smallest member (Redis
/// 7.0's order, which makes loading append at the skiplist head).
pub fn encode_zset<'a>(
    out: &mut Vec<u8>,
    ascending: impl DoubleEndedIterator<Item = (&'a [u8], f64)> + ExactSizeIterator,
    compact: bool,
    compress: bool,
) {
    if compact {
        let mut lp = listpack::Builder::new();
        for (m, s) in ascending {
            lp.push(m);
            lp.push(score_text(s).as_bytes());
        }
        out.push(ty::ZSET_LISTPACK);
        put_string(out, &lp.finish(), compress);
    } else {
        out.push(ty::ZSET_2);
        put_len(out, ascending.len() as u64);
        for (m, s) in ascending.rev() {
            put_string(out, m, compress);
            put_binary_double(out, s);
        }
    }
}

/// A score as Redis 7.0's `d2string` writes it into a listpack: integral
/// values within +-2^62 (`double2ll`) as integers, others with "%.17g".
pub fn score_text(d: f64) -> String {
    const LIMIT: f64 = (i64::MAX / 2) as f64;
    if d.is_nan() {
        "nan".into()
    } else if d.is_infinite() {
        if d > 0.0 { "inf" } else { "-inf" }.into()
    } else if d == 0.0 {
        if d.is_sign_negative() { "-0" } else { "0" }.into()
    } else if (-LIMIT..=LIMIT).contains(&d) && d == (d as i64) as f64 {
        (d as i64).to_string()
    } else {
        crate::util::fmt_double_g17(d)
    }
}

/// A string value: integer form for `Int`, else `put_string`.
pub fn encode_string(out: &mut Vec<u8>, s: &[u8], compress: bool) {
    out.push(ty::STRING);
    put_string(out, s, compress);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_round_trip() {
        for n in [0u64, 63, 64, 16383, 16384, u32::MAX as u64, 1 << 40] {
            let mut b = Vec::new();
            put_len(&mut b, n);
            b.extend_from_slice(&[0; 16]);
            assert_eq!(Reader::new(&b).length().unwrap(), n);
        }
    }

    #[test]
    fn strings_round_trip() {
        let long = b"abcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(10);
        let cases: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"0".to_vec(),
            b"-128".to_vec(),
            b"32767".to_vec(),
            b"-2147483648".to_vec(),
            b"2147483648".to_vec(),
            b"007".to_vec(),
            long,
            (0..=255u8).collect(),
        ];
        for s in cases {
            for compress in [false, true] {
                let mut b = Vec::new();
                put_string(&mut b, &s, compress);
                let mut r = Reader::new(&b);
                assert_eq!(r.string().unwrap(), s);
                assert_eq!(r.remaining(), 0);
            }
        }
    }

    #[test]
    fn huge_declared_lengths_are_refused_without_allocating() {
        // A list claiming 2^62 items, a string claiming 4 GB, an LZF
        // string claiming 4 GB from 3 bytes.
        let mut b = vec![ty::LIST, 0x81];
        b.extend_from_slice(&(1u64 << 62).to_be_bytes());
        assert!(decode_object(b[0], &mut Reader::new(&b[1..])).is_err());
        let b = [0x80, 0xff, 0xff, 0xff, 0xff, b'a'];
        assert_eq!(Reader::new(&b).string(), Err(RdbError::Truncated));
        let b = [0xc3, 3, 0x80, 0xff, 0xff, 0xff, 0xff, 0, b'a', b'b'];
        assert_eq!(Reader::new(&b).string(), Err(RdbError::BadLzf));
    }

    /// Random bodies and single-byte corruptions of valid encodings, for
    /// every type byte: errors, never panics (the fuzz target goes further).
    #[test]
    fn decoding_is_total() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        let mut valid = Vec::new();
        let items: Vec<&[u8]> = vec![b"a", b"12", b"-70000", b"hello hello hello hello", b""];
        let mut o = Vec::new();
        encode_list(&mut o, items.iter().copied(), -2, true);
        valid.push(o);
        let mut o = Vec::new();
        encode_hash(
            &mut o,
            [(b"f".as_slice(), b"v".as_slice())].into_iter(),
            true,
            true,
        );
        valid.push(o);
        let mut o = Vec::new();
        encode_set(&mut o, &[b"1", b"300", b"-70000"], true, true);
        valid.push(o);
        let mut o = Vec::new();
        encode_zset(
            &mut o,
            [(b"m".as_slice(), 1.5), (b"n", 2.0)].into_iter(),
            true,
            true,
        );
        valid.push(o);
        let mut o = Vec::new();
        encode_zset(&mut o, [(b"m".as_slice(), 1.5)].into_iter(), false, true);
        valid.push(o);
        for v in &valid {
            assert!(decode_object(v[0], &mut Reader::new(&v[1..])).is_ok());
            for i in 0..v.len() {
                for bit in 0..8 {
                    let mut c = v.clone();
                    c[i] ^= 1 << bit;
                    let _ = decode_object(c[0], &mut Reader::new(&c[1..]));
                }
                let _ = decode_object(v[0], &mut Reader::new(&v[1..i.max(1)]));
            }
        }
        for _ in 0..20_000 {
            let n = (next() % 64) as usize;
            let body: Vec<u8> = (0..n).map(|_| next() as u8).collect();
            let t = (next() % 23) as u8;
            let _ = decode_object(t, &mut Reader::new(&body));
        }
    }

    #[test]
    fn score_text_matches_d2string() {
        assert_eq!(score_text(1.0), "1");
        assert_eq!(score_text(-0.0), "-0");
        assert_eq!(score_text(1.5), "1.5");
        assert_eq!(score_text(f64::INFINITY), "inf");
        assert_eq!(score_text(1e20), "1e+20");
        assert_eq!(score_text(123456789012345678.0), "123456789012345680");
        assert_eq!(score_text(4611686018427387904.0), "4611686018427387904");
        assert_eq!(score_text(9223372036854775807.0), "9.2233720368547758e+18");
        assert_eq!(score_text(0.1), "0.10000000000000001");
    }
}
