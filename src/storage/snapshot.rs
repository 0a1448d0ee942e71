//! Snapshot files: a point-in-time image of the keyspace (FORMAT.md,
//! "Snapshot file"). This module is the byte layout only: encoding entries
//! into raw blocks, the writer (header, compressed checksummed blocks,
//! trailer), and the verifying, parallel loader. Which entries go into a
//! snapshot, and when, is `keyspace::cow`'s business.
//!
//! Invariants:
//! * A loader trusts no length before the checksum that covers it has
//!   verified, allocates only what verified lengths justify, and never
//!   panics on any input: every damaged file is refused with an error that
//!   names the file and the byte offset.
//! * The trailer is written last and the file is synced before it is
//!   renamed into place, so a file under its final name is whole.

use super::fs::{Fs, FsFile};
use crate::keyspace::types::{Hash, Set, ZSet};
use crate::keyspace::{CompactBytes, Entry, Value};
use std::path::{Path, PathBuf};

pub const MAGIC: &[u8; 8] = b"CAIRNSNP";
/// Version written. Version 1 (no split values) is still read.
pub const VERSION: u32 = 2;
pub const HEADER_LEN: usize = 24;
pub const BLOCK_HEADER_LEN: usize = 20;
pub const TRAILER_LEN: usize = 48;
const TRAILER_MAGIC: &[u8; 8] = b"CAIRNEND";
pub const CODEC_RAW: u8 = 0;
pub const CODEC_ZSTD: u8 = 1;
/// Raw bytes a writer gathers before it compresses and writes a block.
pub const BLOCK_TARGET: usize = 256 << 10;
/// Largest decompressed size a block may declare per stored byte (zstd's
/// best case is a run-length block: 128 KiB from a few bytes).
const MAX_RATIO: u64 = 1 << 15;
/// Largest decompressed block.
const MAX_RAW: u64 = 1 << 32;

// Value tags (FORMAT.md).
const T_STR: u8 = 0;
const T_INT: u8 = 1;
const T_RAW: u8 = 2;
const T_LIST: u8 = 3;
const T_HASH: u8 = 4;
const T_HASH_BIG: u8 = 5;
const T_SET: u8 = 6;
const T_SET_BIG: u8 = 7;
const T_ZSET: u8 = 8;
const T_ZSET_BIG: u8 = 9;
/// Continuations of a split list, hash, set or sorted set (version 2).
const T_LIST_PART: u8 = 10;
const T_HASH_PART: u8 = 11;
const T_SET_PART: u8 = 12;
const T_ZSET_PART: u8 = 13;
const T_STREAM: u8 = 14;
/// A stream with consumer groups: tag 14's fields, then the groups.
const T_STREAM_GROUPS: u8 = 15;

/// Encoded element bytes after which a collection's entry is cut and goes
/// on in a part (FORMAT.md, "Split values"): a big value is written and
/// read a block at a time instead of as one buffer of its whole size.
pub const PART_BYTES: usize = BLOCK_TARGET / 2;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: offset {offset}: {msg}")]
    Bad {
        path: PathBuf,
        offset: u64,
        msg: String,
    },
}

fn bad(path: &Path, offset: usize, msg: impl Into<String>) -> SnapshotError {
    SnapshotError::Bad {
        path: path.to_path_buf(),
        offset: offset as u64,
        msg: msg.into(),
    }
}

// ------------------------------------------------------------------ encoding

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Append one entry, as it is stored in database `db`, to a raw block.
pub fn encode_entry(out: &mut Vec<u8>, db: u32, e: &Entry) {
    put_varint(out, db as u64);
    put_bytes(out, &e.key);
    put_varint(out, e.expire_at());
    match &e.value {
        Value::Str(b) => {
            out.push(T_STR);
            put_bytes(out, b);
        }
        Value::Raw(b) => {
            out.push(T_RAW);
            put_bytes(out, b);
        }
        Value::Int(n) => {
            out.push(T_INT);
            put_varint(out, zigzag(*n));
        }
        Value::Stream(x) => {
            if x.groups.is_empty() {
                out.push(T_STREAM);
                put_stream(out, x);
            } else {
                out.push(T_STREAM_GROUPS);
                put_stream(out, x);
                put_groups(out, x);
            }
        }
        v => {
            let (tag, _, len) = collection_tags(v).expect("a collection");
            out.push(tag);
            put_varint(out, len as u64);
            let Ok(()) = put_elems(v, out, |_| Ok::<(), std::convert::Infallible>(()));
        }
    }
}

/// A collection's tag, its part tag if it may be split (lists and the
/// big encodings: FORMAT.md "Split values"), and its element count; None
/// for a string.
fn collection_tags(v: &Value) -> Option<(u8, Option<u8>, usize)> {
    Some(match v {
        Value::List(l) => (T_LIST, Some(T_LIST_PART), l.len()),
        Value::Hash(h) if h.is_compact() => (T_HASH, None, h.len()),
        Value::Hash(h) => (T_HASH_BIG, Some(T_HASH_PART), h.len()),
        Value::Set(s) if s.is_compact() => (T_SET, None, s.len()),
        Value::Set(s) => (T_SET_BIG, Some(T_SET_PART), s.len()),
        Value::ZSet(z) if z.is_compact() => (T_ZSET, None, z.len()),
        Value::ZSet(z) => (T_ZSET_BIG, Some(T_ZSET_PART), z.len()),
        Value::Str(_) | Value::Raw(_) | Value::Int(_) | Value::Stream(_) => return None,
    })
}

/// Append the elements of collection `v` to `out` as FORMAT.md encodes
/// them, calling `each` after every element (the splitter cuts parts
/// there). The encoder's one element grammar, for `encode_entry` and
/// `BlockBuf::add`.
fn put_elems<E>(
    v: &Value,
    out: &mut Vec<u8>,
    mut each: impl FnMut(&mut Vec<u8>) -> Result<(), E>,
) -> Result<(), E> {
    match v {
        Value::List(l) => {
            for it in l.iter() {
                put_bytes(out, it);
                each(out)?;
            }
        }
        Value::Hash(h) => {
            for (f, v) in h.iter() {
                put_bytes(out, f);
                put_bytes(out, v);
                each(out)?;
            }
        }
        Value::Set(s) => {
            for m in s.iter() {
                put_bytes(out, &m);
                each(out)?;
            }
        }
        Value::ZSet(z) => {
            for (m, score) in z.iter_unordered() {
                put_bytes(out, m);
                out.extend_from_slice(&score.to_le_bytes());
                each(out)?;
            }
        }
        Value::Str(_) | Value::Raw(_) | Value::Int(_) | Value::Stream(_) => {}
    }
    Ok(())
}

/// A stream (tag 14, FORMAT.md): its metadata, then its nodes as they
/// are laid out, deleted entries included.
fn put_stream(out: &mut Vec<u8>, x: &crate::keyspace::types::Stream) {
    for v in [
        x.last_id.ms,
        x.last_id.seq,
        x.max_deleted_id.ms,
        x.max_deleted_id.seq,
        x.entries_added,
        x.node_count() as u64,
    ] {
        put_varint(out, v);
    }
    for n in x.nodes() {
        put_varint(out, n.master_fields().len() as u64);
        for f in n.master_fields() {
            put_bytes(out, f);
        }
        put_varint(out, n.item_count() as u64);
        for it in n.items() {
            out.push(it.deleted as u8 | (it.fields.is_some() as u8) << 1);
            put_varint(out, it.id.ms);
            put_varint(out, it.id.seq);
            if let Some(f) = &it.fields {
                put_varint(out, f.len() as u64);
                for f in f {
                    put_bytes(out, f);
                }
            }
            for v in &it.values {
                put_bytes(out, v);
            }
        }
    }
}

/// Signed integers as varints (FORMAT.md): 0, -1, 1, -2, ... as 0, 1, 2,
/// 3, ...
fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    ((z >> 1) as i64) ^ -((z & 1) as i64)
}

/// A stream's consumer groups (tag 15, FORMAT.md): each group's name, last
/// ID, read counter, consumers (name, seen time) and pending entries
/// (ID, delivery time, delivery count, owner's index among the consumers).
fn put_groups(out: &mut Vec<u8>, x: &crate::keyspace::types::Stream) {
    put_varint(out, x.groups.len() as u64);
    for (name, g) in &x.groups {
        put_bytes(out, name);
        put_varint(out, g.last_id.ms);
        put_varint(out, g.last_id.seq);
        put_varint(out, zigzag(g.entries_read));
        put_varint(out, g.consumers.len() as u64);
        let names: Vec<&[u8]> = g.consumers.keys().map(|k| &k[..]).collect();
        for (cname, c) in &g.consumers {
            put_bytes(out, cname);
            put_varint(out, zigzag(c.seen_time));
        }
        put_varint(out, g.pel.len() as u64);
        for (id, n) in g.pel.iter() {
            put_varint(out, id.ms);
            put_varint(out, id.seq);
            put_varint(out, zigzag(n.delivery_time));
            put_varint(out, n.delivery_count);
            let owner = names
                .binary_search(&&n.consumer[..])
                .expect("a pending entry's consumer exists");
            put_varint(out, owner as u64);
        }
    }
}

fn decode_groups(r: &mut Reader, x: &mut crate::keyspace::types::Stream) -> R<()> {
    use crate::keyspace::types::cgroup::{Consumer, Group, Nack};
    use crate::keyspace::types::stream::StreamId;
    let groups = r.count()?;
    for _ in 0..groups {
        let at = r.pos;
        let name: Box<[u8]> = r.bytes()?.into();
        if x.groups.last_key_value().is_some_and(|(k, _)| *k >= name) {
            return Err((at, "stream groups out of order"));
        }
        let last = StreamId::new(r.varint()?, r.varint()?);
        let mut g = Group::new(last, unzigzag(r.varint()?));
        let nc = r.count0()?;
        let mut names: Vec<crate::keyspace::types::cgroup::Name> = Vec::with_capacity(nc);
        for _ in 0..nc {
            let at = r.pos;
            let cname: crate::keyspace::types::cgroup::Name = r.bytes()?.into();
            if names.last().is_some_and(|p| *p >= cname) {
                return Err((at, "stream consumers out of order"));
            }
            let seen_time = unzigzag(r.varint()?);
            g.consumers.insert(
                cname.clone(),
                Consumer {
                    seen_time,
                    pel: Default::default(),
                },
            );
            names.push(cname);
        }
        let np = r.count0()?;
        for _ in 0..np {
            let at = r.pos;
            let id = StreamId::new(r.varint()?, r.varint()?);
            if g.pel.last_key().is_some_and(|k| *k >= id) {
                return Err((at, "pending entries out of order"));
            }
            let delivery_time = unzigzag(r.varint()?);
            let delivery_count = r.varint()?;
            let at = r.pos;
            let owner = r.varint()?;
            let Some(cname) = names.get(owner as usize) else {
                return Err((at, "pending entry of no consumer"));
            };
            g.consumers
                .get_mut(cname)
                .expect("listed")
                .pel
                .insert(id, ());
            g.pel.insert(
                id,
                Nack {
                    delivery_time,
                    delivery_count,
                    consumer: cname.clone(),
                },
            );
        }
        x.groups.insert(name, g);
    }
    Ok(())
}

fn decode_stream(r: &mut Reader) -> R<Value> {
    use crate::keyspace::types::stream::{Item, Stream, StreamId};
    let mut x = Stream::new();
    let last = StreamId::new(r.varint()?, r.varint()?);
    let max_deleted = StreamId::new(r.varint()?, r.varint()?);
    let added = r.varint()?;
    let at = r.pos;
    let nodes = r.varint()?;
    if nodes > (r.b.len() - r.pos) as u64 {
        return Err((at, "node count past the end of the block"));
    }
    let boxed = |b: &[u8]| b.to_vec().into_boxed_slice();
    for _ in 0..nodes {
        let nf = r.count()?;
        let mut master = Vec::with_capacity(nf);
        for _ in 0..nf {
            master.push(boxed(r.bytes()?));
        }
        let ni = r.count()?;
        let mut items = Vec::with_capacity(ni);
        for _ in 0..ni {
            let at = r.pos;
            let flags = r.byte()?;
            if flags > 3 {
                return Err((at, "bad stream entry flags"));
            }
            let id = StreamId::new(r.varint()?, r.varint()?);
            let fields = if flags & 2 != 0 {
                let n = r.count()?;
                let mut f = Vec::with_capacity(n);
                for _ in 0..n {
                    f.push(boxed(r.bytes()?));
                }
                Some(f)
            } else {
                None
            };
            let n = fields.as_ref().map_or(nf, |f| f.len());
            let mut values = Vec::with_capacity(n);
            for _ in 0..n {
                values.push(boxed(r.bytes()?));
            }
            items.push(Item {
                id,
                fields,
                values,
                deleted: flags & 1 != 0,
            });
        }
        let at = r.pos;
        x.push_loaded_node(master, items).map_err(|m| (at, m))?;
    }
    x.set_loaded_meta(last, max_deleted, added)
        .map_err(|m| (at, m))?;
    Ok(Value::Stream(Box::new(x)))
}

/// A cursor over a raw block that fails (never panics) past its end.
struct Reader<'a> {
    b: &'a [u8],
    pos: usize,
}

type R<T> = Result<T, (usize, &'static str)>;

impl<'a> Reader<'a> {
    fn varint(&mut self) -> R<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&byte) = self.b.get(self.pos) else {
                return Err((self.pos, "entry cut short"));
            };
            self.pos += 1;
            if shift == 63 && byte > 1 {
                return Err((self.pos - 1, "varint overflows 64 bits"));
            }
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err((self.pos, "varint too long"))
    }

    fn bytes(&mut self) -> R<&'a [u8]> {
        let at = self.pos;
        let n = self.varint()?;
        let left = (self.b.len() - self.pos) as u64;
        if n > left {
            return Err((at, "length past the end of the block"));
        }
        let s = &self.b[self.pos..self.pos + n as usize];
        self.pos += n as usize;
        Ok(s)
    }

    /// A collection's element count: each element takes at least one
    /// byte, so a count larger than what is left is damage (and nothing is
    /// allocated for it).
    fn count(&mut self) -> R<usize> {
        let at = self.pos;
        match self.count0()? {
            0 => Err((at, "empty collection")),
            n => Ok(n),
        }
    }

    /// `count`, for lists that may be empty (a group's consumers and
    /// pending entries).
    fn count0(&mut self) -> R<usize> {
        let at = self.pos;
        let n = self.varint()?;
        if n > (self.b.len() - self.pos) as u64 {
            return Err((at, "element count past the end of the block"));
        }
        Ok(n as usize)
    }

    fn byte(&mut self) -> R<u8> {
        let Some(&b) = self.b.get(self.pos) else {
            return Err((self.pos, "entry cut short"));
        };
        self.pos += 1;
        Ok(b)
    }

    fn f64(&mut self) -> R<f64> {
        let Some(s) = self.b.get(self.pos..self.pos + 8) else {
            return Err((self.pos, "entry cut short"));
        };
        self.pos += 8;
        Ok(f64::from_le_bytes(s.try_into().expect("8 bytes")))
    }
}

/// One decoded entry and its database.
pub struct Decoded {
    pub db: u32,
    pub entry: Entry,
    /// The key's hash as the loader's `hash` function computed it (on a
    /// decode thread, so the inserting thread does not); 0 if none.
    pub hash: u64,
}

fn decode_value(r: &mut Reader) -> R<Value> {
    let at = r.pos;
    let mut v = match r.byte()? {
        T_STR => return Ok(Value::Str(CompactBytes::new(r.bytes()?))),
        T_RAW => return Ok(Value::raw(CompactBytes::new(r.bytes()?))),
        T_INT => return Ok(Value::Int(unzigzag(r.varint()?))),
        T_LIST => Value::List(Box::default()),
        T_HASH | T_HASH_BIG => Value::Hash(Box::new(Hash::new())),
        T_SET | T_SET_BIG => Value::Set(Box::new(Set::new())),
        T_ZSET => Value::ZSet(Box::new(ZSet::new())),
        T_ZSET_BIG => Value::ZSet(Box::new(ZSet::new_full())),
        T_STREAM => return decode_stream(r),
        T_STREAM_GROUPS => {
            let mut v = decode_stream(r)?;
            if let Value::Stream(x) = &mut v {
                decode_groups(r, x)?;
            }
            return Ok(v);
        }
        _ => return Err((at, "unknown value type")),
    };
    let big = matches!(r.b[at], T_HASH_BIG | T_SET_BIG);
    let n = r.count()?;
    decode_elems(r, n, &mut v, big)?;
    Ok(v)
}

/// Decode `n` elements into the collection `v` (which may hold some
/// already: a split value's head, FORMAT.md "Split values"). `big`: a
/// hash or set takes its big encoding at the first element.
fn decode_elems(r: &mut Reader, n: usize, v: &mut Value, big: bool) -> R<()> {
    match v {
        Value::List(l) => {
            for _ in 0..n {
                l.push(r.bytes()?, false);
            }
        }
        Value::Hash(h) => {
            for _ in 0..n {
                let at = r.pos;
                let f = r.bytes()?;
                if !h.insert(f, r.bytes()?) {
                    return Err((at, "duplicate hash field"));
                }
                if big {
                    // Convert at the first field: inserting into the
                    // packed encoding is linear in its size.
                    h.convert_if_needed(0, usize::MAX, &[]);
                }
            }
        }
        Value::Set(s) => {
            let max = if big { 0 } else { usize::MAX };
            for _ in 0..n {
                let at = r.pos;
                if !s.insert(r.bytes()?, max) {
                    return Err((at, "duplicate set member"));
                }
            }
        }
        Value::ZSet(z) => {
            for _ in 0..n {
                let at = r.pos;
                let m = r.bytes()?;
                let score = r.f64()?;
                if score.is_nan() {
                    return Err((at, "NaN score"));
                }
                if z.score(m).is_some() {
                    return Err((at, "duplicate sorted set member"));
                }
                z.insert(m, score);
            }
        }
        _ => return Err((r.pos, "elements for a string")),
    }
    Ok(())
}

/// A continuation of a split value: `n` elements, as encoded, for the
/// value of `key` in `db` that the entries before it began.
pub struct Part {
    db: u32,
    key: Vec<u8>,
    expire_at: u64,
    tag: u8,
    n: usize,
    elems: Vec<u8>,
}

/// What a raw block holds: entries and continuations of split values.
pub enum Item {
    Whole(Decoded),
    Part(Part),
}

/// Skip `n` encoded elements of a part with tag `tag`, checking that
/// they are all there.
fn skip_elems(r: &mut Reader, tag: u8, n: usize) -> R<()> {
    for _ in 0..n {
        match tag {
            T_LIST_PART | T_SET_PART => {
                r.bytes()?;
            }
            T_HASH_PART => {
                r.bytes()?;
                r.bytes()?;
            }
            _ => {
                r.bytes()?;
                r.f64()?;
            }
        }
    }
    Ok(())
}

/// Decode every item of a raw block. Returns the number of whole
/// entries (what the block header counts). `Err((offset in the raw
/// block, what))` on damage.
fn decode_items(raw: &[u8], parts: bool, mut f: impl FnMut(Item)) -> R<u32> {
    let mut r = Reader { b: raw, pos: 0 };
    let mut n = 0u32;
    while r.pos < raw.len() {
        let at = r.pos;
        let db = r.varint()?;
        let db = u32::try_from(db).map_err(|_| (at, "database number too large"))?;
        let key = r.bytes()?;
        let expire_at = r.varint()?;
        if let Some(&tag @ T_LIST_PART..=T_ZSET_PART) = r.b.get(r.pos) {
            if !parts {
                return Err((r.pos, "a part of a split value in a version 1 file"));
            }
            r.pos += 1;
            let count = r.count()?;
            let start = r.pos;
            skip_elems(&mut r, tag, count)?;
            f(Item::Part(Part {
                db,
                key: key.to_vec(),
                expire_at,
                tag,
                n: count,
                elems: raw[start..r.pos].to_vec(),
            }));
            continue;
        }
        let value = decode_value(&mut r)?;
        let mut entry = Entry::new(key, value);
        entry.expire_at = expire_at;
        f(Item::Whole(Decoded { db, entry, hash: 0 }));
        n += 1;
    }
    Ok(n)
}

/// Joins split values: each part is decoded into the entry it continues,
/// and an entry is handed on only once no part can follow it (the next
/// entry began, or the input ended). Invariant: `held` is the last whole
/// entry seen, if it is a list, hash, set or sorted set.
#[derive(Default)]
struct Joiner {
    held: Option<Decoded>,
}

impl Joiner {
    fn take(&mut self, item: Item, out: &mut Vec<Decoded>) -> Result<(), &'static str> {
        match item {
            Item::Whole(d) => {
                out.extend(self.held.take());
                match d.entry.value {
                    Value::List(_) | Value::Hash(_) | Value::Set(_) | Value::ZSet(_) => {
                        self.held = Some(d)
                    }
                    _ => out.push(d),
                }
                Ok(())
            }
            Item::Part(p) => {
                let Some(h) = self.held.as_mut() else {
                    return Err("a continuation of a value that did not begin before it");
                };
                if h.db != p.db
                    || h.entry.key[..] != p.key[..]
                    || h.entry.expire_at() != p.expire_at
                {
                    return Err(
                        "a continuation of another key (or expiry) than the entry before it",
                    );
                }
                // Only the big encodings are ever split: a packed one
                // would make every insert linear.
                let fits = match (&h.entry.value, p.tag) {
                    (Value::List(_), T_LIST_PART) => true,
                    (Value::Hash(x), T_HASH_PART) => !x.is_compact(),
                    (Value::Set(x), T_SET_PART) => !x.is_compact(),
                    (Value::ZSet(x), T_ZSET_PART) => !x.is_compact(),
                    _ => false,
                };
                if !fits {
                    return Err("a continuation of another type or encoding");
                }
                let mut r = Reader {
                    b: &p.elems,
                    pos: 0,
                };
                decode_elems(&mut r, p.n, &mut h.entry.value, true).map_err(|(_, what)| what)?;
                if r.pos != p.elems.len() {
                    return Err("a continuation with bytes after its elements");
                }
                Ok(())
            }
        }
    }

    fn finish(&mut self, out: &mut Vec<Decoded>) {
        out.extend(self.held.take());
    }
}

/// Decode every entry of a raw block of a version 2 file (split values
/// joined within it; tests). `Err((offset in the raw block, what))` on
/// damage.
#[cfg(test)]
pub(crate) fn decode_block(raw: &[u8], mut f: impl FnMut(Decoded)) -> R<u32> {
    let mut j = Joiner::default();
    let mut out = Vec::new();
    let mut bad = None;
    let n = decode_items(raw, true, |it| {
        if bad.is_none()
            && let Err(what) = j.take(it, &mut out)
        {
            bad = Some((0, what));
        }
    })?;
    if let Some(b) = bad {
        return Err(b);
    }
    j.finish(&mut out);
    out.into_iter().for_each(&mut f);
    Ok(n)
}

// ------------------------------------------------------------------ writer

/// The file side of a writer: compresses blocks and writes them, keeping
/// the whole-file CRC.
struct Sink {
    file: Box<dyn FsFile>,
    /// CRC of every byte written so far (the trailer's whole-file CRC).
    crc: u32,
    bytes: u64,
    /// Write-behind (`FsFile::write_behind`): bytes below `started` are on
    /// their way to the disk, bytes below `waited` are there. Invariant:
    /// `waited <= started <= bytes`.
    started: u64,
    waited: u64,
    /// What the trailer counts: blocks, entries, and raw (uncompressed)
    /// bytes, the data's logical size.
    blocks: u64,
    keys: u64,
    raw_bytes: u64,
    /// The zstd context (`None`: blocks are stored raw, `rdbcompression
    /// no`) and output buffer, kept from block to block: a context and a
    /// buffer per block cost an allocation each, and the buffer's fresh
    /// pages a fault each.
    zstd: Option<zstd::bulk::Compressor<'static>>,
    zbuf: Vec<u8>,
}

/// The block compressor: zstd's fast mode 3 with its literals still
/// Huffman-coded. Snapshot values are mostly literals to zstd (random
/// alphanumeric values have no matches): on those, level 1 gave 1.535x at
/// 238 MB/s and this 1.533x at 301 MB/s (`zstd -b`, 85 MB of a snapshot's
/// raw blocks, 256 KB blocks); plain fast modes, which leave literals raw,
/// keep only 1.18x. Automatic log rewrites recompress the whole dataset,
/// so this is CPU every write-heavy workload pays.
/// (Level 1 if that setting is refused.)
fn compressor() -> std::io::Result<zstd::bulk::Compressor<'static>> {
    use zstd::zstd_safe::{CParameter, ParamSwitch};
    zstd::bulk::Compressor::new(-3)
        .and_then(|mut c| {
            c.set_parameter(CParameter::LiteralCompressionMode(ParamSwitch::Enable))?;
            Ok(c)
        })
        .or_else(|_| zstd::bulk::Compressor::new(1))
}

/// Bytes between two write-behind calls: at most about two of these are
/// dirty in the page cache at any time while a snapshot is written.
const WRITE_BEHIND: u64 = 4 << 20;

impl Sink {
    fn new(file: Box<dyn FsFile>, first: &[u8], compress: bool) -> Sink {
        Sink {
            file,
            crc: crc32c::crc32c(first),
            bytes: first.len() as u64,
            started: 0,
            waited: 0,
            blocks: 0,
            keys: 0,
            raw_bytes: 0,
            zstd: if compress { compressor().ok() } else { None },
            zbuf: Vec::new(),
        }
    }

    /// `raw` compressed into `zbuf` (`compressor`), if that makes it
    /// smaller.
    fn compress(&mut self, raw: &[u8]) -> bool {
        let Some(z) = &mut self.zstd else {
            return false;
        };
        self.zbuf.clear();
        self.zbuf
            .reserve(zstd::zstd_safe::compress_bound(raw.len()));
        z.compress_to_buffer(raw, &mut self.zbuf).is_ok() && self.zbuf.len() < raw.len()
    }

    fn put(&mut self, b: &[u8]) -> std::io::Result<()> {
        self.file.write_all(b)?;
        self.crc = crc32c::crc32c_append(self.crc, b);
        self.bytes += b.len() as u64;
        if self.bytes - self.started >= WRITE_BEHIND {
            // Wait for the window started last time, then start this one.
            self.file
                .write_behind(self.waited, self.started - self.waited, true)?;
            self.file
                .write_behind(self.started, self.bytes - self.started, false)?;
            self.waited = self.started;
            self.started = self.bytes;
        }
        Ok(())
    }

    fn block(&mut self, raw: &[u8], entries: u32) -> std::io::Result<()> {
        let zbuf = if self.compress(raw) {
            Some(std::mem::take(&mut self.zbuf))
        } else {
            None
        };
        let (codec, stored) = match &zbuf {
            Some(z) => (CODEC_ZSTD, &z[..]),
            None => (CODEC_RAW, raw),
        };
        let too_big = || std::io::Error::other("snapshot block over 4 GiB");
        let mut h = [0u8; BLOCK_HEADER_LEN];
        h[0..4].copy_from_slice(
            &u32::try_from(stored.len())
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        h[4..8].copy_from_slice(
            &u32::try_from(raw.len())
                .map_err(|_| too_big())?
                .to_le_bytes(),
        );
        h[8..12].copy_from_slice(&entries.to_le_bytes());
        h[12] = codec;
        let crc = crc32c::crc32c_append(crc32c::crc32c(&h[..16]), stored);
        h[16..20].copy_from_slice(&crc.to_le_bytes());
        self.put(&h)?;
        self.put(stored)?;
        if let Some(z) = zbuf {
            self.zbuf = z;
        }
        self.blocks += 1;
        self.keys += entries as u64;
        self.raw_bytes += raw.len() as u64;
        Ok(())
    }
}

/// Where `BlockBuf` writes its blocks: the writer (on the thread that
/// serializes) or, on the compressor thread, the file side itself.
pub trait BlockSink {
    /// Write one block of `entries` encoded entries (`encode_entry`).
    fn block(&mut self, raw: &[u8], entries: u32) -> std::io::Result<()>;

    /// `block`, leaving `raw` empty: a piped writer takes the buffer
    /// itself, instead of a copy, and leaves one the compressor is done
    /// with in its place.
    fn block_vec(&mut self, raw: &mut Vec<u8>, entries: u32) -> std::io::Result<()> {
        self.block(raw, entries)?;
        raw.clear();
        Ok(())
    }
}

impl BlockSink for SnapWriter {
    fn block(&mut self, raw: &[u8], entries: u32) -> std::io::Result<()> {
        SnapWriter::block(self, raw, entries)
    }

    fn block_vec(&mut self, raw: &mut Vec<u8>, entries: u32) -> std::io::Result<()> {
        match &mut self.out {
            Out::Piped { back, .. } if !raw.is_empty() => {
                let full = std::mem::replace(raw, spare(back, raw.capacity()));
                self.send(Piece::Raw(full, entries))
            }
            _ => {
                self.block(raw, entries)?;
                raw.clear();
                Ok(())
            }
        }
    }
}

impl BlockSink for Sink {
    fn block(&mut self, raw: &[u8], entries: u32) -> std::io::Result<()> {
        Sink::block(self, raw, entries)
    }
}

/// Blocks in flight between the thread that serializes and the one that
/// compresses and writes: bounds the memory a slow disk (or a starved
/// low-priority compressor) can pin to a few blocks.
const PIPE_DEPTH: usize = 4;

/// An empty block buffer: one the compressor thread is done with (it
/// clears them before sending them back), or a new one of `cap` bytes.
fn spare(back: &std::sync::mpsc::Receiver<Vec<u8>>, cap: usize) -> Vec<u8> {
    back.try_recv().unwrap_or_else(|_| Vec::with_capacity(cap))
}

/// What goes down the pipe to the compressor thread.
enum Piece {
    /// A block of `n` entries the sender encoded.
    Raw(Vec<u8>, u32),
    /// An entry for the compressor thread to encode (a frozen big value:
    /// encoding it is most of the work, so it too runs at idle priority).
    Entry(u32, Entry),
}

enum Out {
    /// Compress and write on the calling thread.
    Direct(Sink),
    /// Hand blocks to a compressor thread (`SnapWriter::piped`).
    Piped {
        tx: std::sync::mpsc::SyncSender<Piece>,
        /// Block buffers the compressor is done with, to be filled again:
        /// one comes back for each block sent, and a new one is made only
        /// when none is back, so at most about `PIPE_DEPTH + 2` exist and
        /// their pages are not faulted in afresh for every block.
        back: std::sync::mpsc::Receiver<Vec<u8>>,
        thread: std::thread::JoinHandle<std::io::Result<Sink>>,
    },
    /// Transient, while switching modes.
    Gone,
}

/// Writes a snapshot file: header, then blocks, then the trailer.
pub struct SnapWriter {
    out: Out,
}

fn header() -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(MAGIC);
    h[8..12].copy_from_slice(&VERSION.to_le_bytes());
    let crc = crc32c::crc32c(&h[..16]);
    h[16..20].copy_from_slice(&crc.to_le_bytes());
    h
}

fn piped_failed() -> std::io::Error {
    std::io::Error::other("the snapshot compressor thread stopped")
}

impl SnapWriter {
    /// Start a snapshot in `file` (already created). `compress`: zstd
    /// blocks (`rdbcompression yes`).
    pub fn new(mut file: Box<dyn FsFile>, compress: bool) -> std::io::Result<SnapWriter> {
        let h = header();
        file.write_all(&h)?;
        Ok(SnapWriter {
            out: Out::Direct(Sink::new(file, &h, compress)),
        })
    }

    /// Compress and write blocks on a thread of its own at the lowest CPU
    /// priority (`util::lower_thread_priority`), so the caller, which
    /// serializes under the state lock, never holds that lock while
    /// descheduled in favour of compression, and the compression never takes
    /// CPU from client commands. At most `PIPE_DEPTH` blocks wait.
    pub fn piped(mut self) -> std::io::Result<SnapWriter> {
        let Out::Direct(mut sink) = std::mem::replace(&mut self.out, Out::Gone) else {
            return Ok(self);
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Piece>(PIPE_DEPTH);
        let (back_tx, back) = std::sync::mpsc::channel::<Vec<u8>>();
        let thread = std::thread::Builder::new()
            .name("cairn-compress".into())
            .spawn(move || {
                crate::util::lower_thread_priority();
                let mut own = BlockBuf::default();
                for piece in rx {
                    match piece {
                        Piece::Raw(mut raw, entries) => {
                            sink.block(&raw, entries)?;
                            raw.clear();
                            let _ = back_tx.send(raw);
                        }
                        Piece::Entry(db, e) => own.add(db, &e, &mut sink)?,
                    }
                }
                own.flush(&mut sink)?;
                Ok(sink)
            })?;
        self.out = Out::Piped { tx, back, thread };
        Ok(self)
    }

    /// Write one block of `entries` encoded entries (`encode_entry`).
    pub fn block(&mut self, raw: &[u8], entries: u32) -> std::io::Result<()> {
        if raw.is_empty() {
            return Ok(());
        }
        match &mut self.out {
            Out::Direct(sink) => sink.block(raw, entries),
            Out::Piped { back, .. } => {
                let mut v = spare(back, raw.len());
                v.extend_from_slice(raw);
                self.send(Piece::Raw(v, entries))
            }
            Out::Gone => Err(piped_failed()),
        }
    }

    /// Send a piece down the pipe (a piped writer).
    fn send(&mut self, piece: Piece) -> std::io::Result<()> {
        match &mut self.out {
            Out::Piped { tx, .. } => {
                if tx.send(piece).is_err() {
                    return self.compressor_failed();
                }
                Ok(())
            }
            _ => Err(piped_failed()),
        }
    }

    /// Write one entry, taking it over. A piped writer has the compressor
    /// thread encode it (at idle priority: the snapshot thread hands it
    /// the frozen big values, whose encoding is the bulk of their cost).
    pub fn entry(&mut self, db: u32, e: Entry) -> std::io::Result<()> {
        match &mut self.out {
            Out::Piped { .. } => self.send(Piece::Entry(db, e)),
            _ => {
                let mut b = BlockBuf::default();
                b.add(db, &e, self)?;
                b.flush(self)
            }
        }
    }

    /// The compressor thread stopped on an error: report that one.
    fn compressor_failed(&mut self) -> std::io::Result<()> {
        if let Out::Piped { thread, .. } = std::mem::replace(&mut self.out, Out::Gone) {
            thread.join().map_err(|_| piped_failed())??;
        }
        Err(piped_failed())
    }

    /// Write the trailer and sync the file. Returns the file size.
    pub fn finish(self, cut_lsn: u64, created_ms: u64) -> std::io::Result<u64> {
        self.finish_counted(cut_lsn, created_ms)
            .map(|(bytes, _)| bytes)
    }

    /// `finish`, also returning the raw (uncompressed) bytes of all blocks.
    pub fn finish_counted(self, cut_lsn: u64, created_ms: u64) -> std::io::Result<(u64, u64)> {
        let mut sink = match self.out {
            Out::Direct(sink) => sink,
            Out::Piped { tx, thread, .. } => {
                drop(tx);
                thread.join().map_err(|_| piped_failed())??
            }
            Out::Gone => return Err(piped_failed()),
        };
        let mut t = [0u8; TRAILER_LEN];
        t[..8].copy_from_slice(TRAILER_MAGIC);
        t[8..16].copy_from_slice(&sink.keys.to_le_bytes());
        t[16..24].copy_from_slice(&sink.blocks.to_le_bytes());
        t[24..32].copy_from_slice(&cut_lsn.to_le_bytes());
        t[32..40].copy_from_slice(&created_ms.to_le_bytes());
        let crc = crc32c::crc32c_append(sink.crc, &t[..44]);
        t[44..48].copy_from_slice(&crc.to_le_bytes());
        sink.file.write_all(&t)?;
        sink.bytes += TRAILER_LEN as u64;
        sink.file.sync_data()?;
        Ok((sink.bytes, sink.raw_bytes))
    }
}

/// Accumulates encoded entries and writes a block whenever
/// `BLOCK_TARGET` raw bytes are gathered.
pub struct BlockBuf {
    pub raw: Vec<u8>,
    /// Entries that begin in `raw` (parts of split values not counted).
    pub entries: u32,
    /// A collection's elements being gathered into its next part (`add`).
    scratch: Vec<u8>,
}

impl Default for BlockBuf {
    fn default() -> Self {
        BlockBuf {
            raw: Vec::with_capacity(BLOCK_TARGET + (BLOCK_TARGET >> 2)),
            entries: 0,
            scratch: Vec::new(),
        }
    }
}

/// `BlockBuf::add`'s state while it encodes one collection in parts.
struct Splitter<'a, S: BlockSink> {
    buf: &'a mut BlockBuf,
    w: &'a mut S,
    db: u32,
    e: &'a Entry,
    /// Tag of the first piece, and of the parts after it.
    head: u8,
    part: u8,
    /// Elements gathered (in the scratch buffer); pieces written so far.
    n: u64,
    pieces: u32,
}

impl<S: BlockSink> Splitter<'_, S> {
    /// One more element is in `scratch`: write a piece once enough are.
    #[inline]
    fn elem(&mut self, scratch: &mut Vec<u8>) -> std::io::Result<()> {
        self.n += 1;
        if scratch.len() >= PART_BYTES {
            self.piece(scratch)?;
        }
        Ok(())
    }

    /// Write the gathered elements: as the entry itself (its first piece)
    /// or as a part, then a block if one is gathered.
    fn piece(&mut self, scratch: &mut Vec<u8>) -> std::io::Result<()> {
        let b = &mut *self.buf;
        put_varint(&mut b.raw, self.db as u64);
        put_bytes(&mut b.raw, &self.e.key);
        put_varint(&mut b.raw, self.e.expire_at());
        b.raw.push(if self.pieces == 0 {
            self.head
        } else {
            self.part
        });
        put_varint(&mut b.raw, self.n);
        b.raw.extend_from_slice(scratch);
        scratch.clear();
        if self.pieces == 0 {
            b.entries += 1;
        }
        self.pieces += 1;
        self.n = 0;
        b.flush_if_full(self.w)
    }

    /// Write the last piece. A value split in several ends its block, so
    /// its parts are contiguous whatever the sink writes next.
    fn finish(mut self, scratch: &mut Vec<u8>) -> std::io::Result<()> {
        if self.n > 0 {
            self.piece(scratch)?;
        }
        if self.pieces > 1 {
            self.buf.flush(self.w)?;
        }
        Ok(())
    }
}

impl BlockBuf {
    pub fn push(&mut self, db: u32, e: &Entry) {
        encode_entry(&mut self.raw, db, e);
        self.entries += 1;
    }

    pub fn full(&self) -> bool {
        self.raw.len() >= BLOCK_TARGET
    }

    /// Encode `e` and write a block through `w` if one is gathered. A
    /// list, hash, set or sorted set whose elements pass `PART_BYTES` is
    /// split into parts (FORMAT.md, "Split values"), written as they fill
    /// blocks: no buffer here grows with the size of a collection (one
    /// that is not split is encoded exactly as `encode_entry` does; a
    /// string is written whole). Big values go through here: the frozen
    /// ones on the compressor thread, and all of a SAVE's.
    pub fn add(&mut self, db: u32, e: &Entry, w: &mut impl BlockSink) -> std::io::Result<()> {
        let Some((head, Some(part), _)) = collection_tags(&e.value) else {
            self.push(db, e);
            return self.flush_if_full(w);
        };
        let mut scratch = std::mem::take(&mut self.scratch);
        scratch.clear();
        let mut sp = Splitter {
            buf: self,
            w,
            db,
            e,
            head,
            part,
            n: 0,
            pieces: 0,
        };
        put_elems(&e.value, &mut scratch, |s| sp.elem(s))?;
        sp.finish(&mut scratch)?;
        self.scratch = scratch;
        Ok(())
    }

    /// Append `entries` already encoded entries, then write a block through
    /// `w` if one is gathered.
    pub fn add_raw(
        &mut self,
        raw: &[u8],
        entries: u32,
        w: &mut impl BlockSink,
    ) -> std::io::Result<()> {
        self.raw.extend_from_slice(raw);
        self.entries += entries;
        self.flush_if_full(w)
    }

    fn flush_if_full(&mut self, w: &mut impl BlockSink) -> std::io::Result<()> {
        if self.full() { self.flush(w) } else { Ok(()) }
    }

    /// Write the gathered entries as one block (if there are any) and
    /// start over.
    pub fn flush(&mut self, w: &mut impl BlockSink) -> std::io::Result<()> {
        if self.raw.is_empty() {
            return Ok(());
        }
        w.block_vec(&mut self.raw, self.entries)?;
        self.entries = 0;
        Ok(())
    }
}

/// Durably put a finished temp file in place: rename, sync the directory.
pub fn install(fs: &dyn Fs, tmp: &Path, dst: &Path) -> std::io::Result<()> {
    fs.rename(tmp, dst)?;
    fs.sync_dir(dst.parent().unwrap_or(Path::new(".")))
}

// ------------------------------------------------------------------ loader

/// What a verified snapshot's trailer says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub keys: u64,
    pub blocks: u64,
    /// Every log record up to this LSN is in the snapshot.
    pub cut_lsn: u64,
    pub created_ms: u64,
    /// Bytes of all blocks once decompressed.
    pub raw_bytes: u64,
}

/// A block that verified: where its stored bytes are and how to read them.
#[derive(Debug, Clone, Copy)]
struct BlockRef {
    offset: usize,
    stored: usize,
    raw: usize,
    entries: u32,
    codec: u8,
    /// Whether parts of split values may appear (version 2 on).
    parts: bool,
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn le64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(b[at..at + 8].try_into().expect("8 bytes"))
}

/// Check the header, every block's checksum and the trailer (counts and
/// whole-file checksum). Nothing is decompressed.
fn verify(path: &Path, b: &[u8]) -> Result<(Summary, Vec<BlockRef>), SnapshotError> {
    if b.len() < HEADER_LEN + TRAILER_LEN {
        return Err(bad(
            path,
            b.len(),
            format!(
                "file is {} bytes, shorter than a header and a trailer (truncated)",
                b.len()
            ),
        ));
    }
    if &b[..8] != MAGIC {
        let what = if b.starts_with(b"REDIS") {
            "a Redis RDB file, not a Cairn snapshot (import it into a new data dir with `rdb-import`)"
        } else {
            "bad magic (not a Cairn snapshot)"
        };
        return Err(bad(path, 0, what));
    }
    if le32(b, 16) != crc32c::crc32c(&b[..16]) {
        return Err(bad(path, 16, "header checksum mismatch"));
    }
    let v = le32(b, 8);
    if !(1..=VERSION).contains(&v) {
        return Err(bad(path, 8, format!("unsupported snapshot version {v}")));
    }
    let end = b.len() - TRAILER_LEN;
    let mut blocks = Vec::new();
    let mut pos = HEADER_LEN;
    let mut raw_total = 0u64;
    let mut keys = 0u64;
    while pos < end {
        if end - pos < BLOCK_HEADER_LEN {
            return Err(bad(path, pos, "block header cut short (truncated)"));
        }
        let h = &b[pos..pos + BLOCK_HEADER_LEN];
        let stored = le32(h, 0) as usize;
        if stored > end - pos - BLOCK_HEADER_LEN {
            return Err(bad(
                path,
                pos,
                "block length runs past the end of the file (damaged or truncated)",
            ));
        }
        let payload = &b[pos + BLOCK_HEADER_LEN..pos + BLOCK_HEADER_LEN + stored];
        let crc = crc32c::crc32c_append(crc32c::crc32c(&h[..16]), payload);
        if crc != le32(h, 16) {
            return Err(bad(path, pos, "block checksum mismatch"));
        }
        let raw = le32(h, 4) as u64;
        let entries = le32(h, 8);
        let codec = h[12];
        let ok_len = match codec {
            CODEC_RAW => raw == stored as u64,
            CODEC_ZSTD => raw <= (stored as u64).saturating_mul(MAX_RATIO) && raw <= MAX_RAW,
            _ => return Err(bad(path, pos + 12, format!("unknown block codec {codec}"))),
        };
        // (A block may hold only parts of a split value: no entry begins
        // in it.)
        if !ok_len || raw == 0 || h[13..16] != [0, 0, 0] {
            return Err(bad(path, pos, "block header fields out of range"));
        }
        raw_total += raw;
        keys += entries as u64;
        blocks.push(BlockRef {
            offset: pos + BLOCK_HEADER_LEN,
            stored,
            raw: raw as usize,
            entries,
            codec,
            parts: v >= 2,
        });
        pos += BLOCK_HEADER_LEN + stored;
    }
    let t = &b[end..];
    if &t[..8] != TRAILER_MAGIC {
        return Err(bad(path, end, "no trailer (truncated or damaged)"));
    }
    if le32(t, 44) != crc32c::crc32c(&b[..end + 44]) {
        return Err(bad(path, end + 44, "whole-file checksum mismatch"));
    }
    let s = Summary {
        keys: le64(t, 8),
        blocks: le64(t, 16),
        cut_lsn: le64(t, 24),
        created_ms: le64(t, 32),
        raw_bytes: raw_total,
    };
    if s.blocks != blocks.len() as u64 || s.keys != keys || le32(t, 40) != 0 {
        return Err(bad(
            path,
            end,
            format!(
                "trailer says {} keys in {} blocks, the file has {keys} in {}",
                s.keys,
                s.blocks,
                blocks.len()
            ),
        ));
    }
    Ok((s, blocks))
}

/// The key hash a loader's decode threads compute for each entry.
pub type KeyHash<'a> = &'a (dyn Fn(u32, &[u8]) -> u64 + Sync);

/// Decompress and decode one verified block.
fn load_block(path: &Path, b: &[u8], r: &BlockRef) -> Result<Vec<Item>, SnapshotError> {
    load_block_hashed(path, b, r, &|_, _| 0)
}

/// `load_block`, with `hash` computed for every entry, and without the
/// entries already expired at `now` (0: keep all).
fn load_block_hashed(
    path: &Path,
    b: &[u8],
    r: &BlockRef,
    hash: KeyHash,
) -> Result<Vec<Item>, SnapshotError> {
    let stored = &b[r.offset..r.offset + r.stored];
    let hdr = r.offset - BLOCK_HEADER_LEN;
    let owned;
    let raw: &[u8] = if r.codec == CODEC_ZSTD {
        owned = zstd::bulk::decompress(stored, r.raw)
            .map_err(|e| bad(path, hdr, format!("block does not decompress: {e}")))?;
        if owned.len() != r.raw {
            return Err(bad(path, hdr, "block decompresses to a different size"));
        }
        &owned
    } else {
        stored
    };
    if raw.is_empty() {
        return Err(bad(path, hdr, "empty block"));
    }
    let mut out = Vec::with_capacity((r.entries as usize).min(raw.len()));
    // (Expired entries are dropped once joined with their parts:
    // `load_hashed`.)
    let n = decode_items(raw, r.parts, |mut it| {
        if let Item::Whole(d) = &mut it {
            d.hash = hash(d.db, &d.entry.key);
        }
        out.push(it)
    })
    .map_err(|(at, what)| bad(path, hdr, format!("block entry at raw offset {at}: {what}")))?;
    if n != r.entries {
        return Err(bad(
            path,
            hdr,
            format!("block header says {} entries, it holds {n}", r.entries),
        ));
    }
    Ok(out)
}

/// Verify only (rdb-check): every checksum, then decode every block,
/// showing each entry (expired ones included) to `f`.
pub fn check(path: &Path, b: &[u8], mut f: impl FnMut(&Decoded)) -> Result<Summary, SnapshotError> {
    let (s, blocks) = verify(path, b)?;
    let mut j = Joiner::default();
    let mut out = Vec::new();
    for r in &blocks {
        for it in load_block(path, b, r)? {
            j.take(it, &mut out)
                .map_err(|what| bad(path, r.offset - BLOCK_HEADER_LEN, what))?;
        }
        out.drain(..).for_each(|d| f(&d));
    }
    j.finish(&mut out);
    out.drain(..).for_each(|d| f(&d));
    Ok(s)
}

/// Load a snapshot: verify it whole, then decode blocks in parallel and
/// hand every entry not expired at `now` to `sink` (in file order within a
/// block; blocks in file order). Nothing reaches `sink` unless the whole
/// file verified.
pub fn load(
    path: &Path,
    b: &[u8],
    now: u64,
    mut sink: impl FnMut(Decoded) -> Result<(), String>,
) -> Result<Summary, SnapshotError> {
    load_hashed(
        path,
        b,
        now,
        &|_, _| 0,
        |_| {},
        |entries, block| {
            entries
                .into_iter()
                .try_for_each(&mut sink)
                .map_err(|msg| BlockError { block, msg })
        },
    )
}

/// A sink's error: what is wrong, in the block the loader numbered
/// `block` (the number it passed with that block's entries).
#[derive(Debug)]
pub struct BlockError {
    pub block: u64,
    pub msg: String,
}

impl From<String> for BlockError {
    fn from(msg: String) -> Self {
        BlockError { block: 0, msg }
    }
}

/// What a loader knows before the first entry reaches its sink.
#[derive(Debug, Clone, Copy)]
pub struct LoadHint {
    /// The trailer's counts (expired keys included).
    pub summary: Summary,
    /// Some(db) if the first and the last block hold only entries of `db`
    /// (a snapshot is written database by database, so then very likely
    /// every entry is in `db`): the sink may size that table up front.
    pub single_db: Option<u32>,
    /// Size of the file in bytes.
    pub file_bytes: u64,
}

impl LoadHint {
    /// Entries to size tables for: the trailer's key count, which has only
    /// been checked against the block headers (the entries themselves are
    /// counted as they are decoded, later), so it is capped by what the
    /// file could hold: an entry takes at least 5 raw bytes (db, key
    /// length, expiry, tag, value), and no more than one key per 2 bytes
    /// of file is believed (a real snapshot holds tens of bytes per key
    /// even compressed). A lying file thus costs memory in proportion to
    /// its size, never more.
    pub fn keys_to_reserve(&self) -> u64 {
        self.summary
            .keys
            .min(self.summary.raw_bytes / 5)
            .min(self.file_bytes / 2)
    }
}

/// Blocks decoded ahead of the one being inserted, at most (bounds the
/// memory of decoded entries waiting for the sink).
const AHEAD: usize = 64;

/// `load`, pipelined: decode threads take blocks in turn, drop the
/// entries expired at `now`, compute every key's `hash` (`Decoded::hash`)
/// and run ahead of the calling thread, which hands each block's entries
/// to `sink` in file order as they arrive, so decoding and inserting
/// overlap. `prepare` is called once, after the whole file verified and
/// before the first block. `sink` gets a block's entries and a number
/// that identifies the block (pass it back through `BlockError` to have
/// an error name that block's offset).
pub fn load_hashed(
    path: &Path,
    b: &[u8],
    now: u64,
    hash: KeyHash,
    prepare: impl FnOnce(&LoadHint),
    mut sink: impl FnMut(Vec<Decoded>, u64) -> Result<(), BlockError>,
) -> Result<Summary, SnapshotError> {
    let (s, blocks) = verify(path, b)?;
    let only_db = |r: &BlockRef| -> Result<Option<u32>, SnapshotError> {
        let mut dbs = load_block(path, b, r)?.into_iter().map(|it| match it {
            Item::Whole(d) => d.db,
            Item::Part(p) => p.db,
        });
        let first = dbs.next();
        Ok(first.filter(|&f| dbs.all(|d| d == f)))
    };
    let single_db = match (blocks.first(), blocks.last()) {
        (Some(f), Some(l)) => match (only_db(f)?, only_db(l)?) {
            (Some(a), Some(z)) if a == z => Some(a),
            _ => None,
        },
        _ => None,
    };
    prepare(&LoadHint {
        summary: s,
        single_db,
        file_bytes: b.len() as u64,
    });
    // Split values are joined here, in file order: an entry reaches the
    // sink with the block after the one it began in (or at the end).
    let mut joiner = Joiner::default();
    let mut last_at = 0u64;
    let mut put = |res: Result<Vec<Item>, SnapshotError>, r: Option<&BlockRef>| {
        let mut entries = Vec::new();
        match r {
            Some(r) => {
                let at = (r.offset - BLOCK_HEADER_LEN) as u64;
                // (Sized by the items decoded: the header's entry count
                // is only checked against them.)
                let items = res?;
                entries.reserve(items.len());
                for it in items {
                    joiner
                        .take(it, &mut entries)
                        .map_err(|what| bad(path, at as usize, what))?;
                }
                last_at = at;
            }
            None => joiner.finish(&mut entries),
        }
        // An expired value goes with its parts: they carry its expiry.
        entries.retain(|d| {
            let exp = d.entry.expire_at();
            exp == 0 || exp >= now
        });
        if entries.is_empty() {
            return Ok(());
        }
        sink(entries, last_at).map_err(|e| SnapshotError::Bad {
            path: path.to_path_buf(),
            offset: e.block,
            msg: e.msg,
        })
    };
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    if threads == 1 || blocks.len() <= 1 {
        for r in &blocks {
            put(load_block_hashed(path, b, r, hash), Some(r))?;
        }
        put(Ok(Vec::new()), None)?;
        return Ok(s);
    }
    use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
    // Next block to decode; blocks handed to the sink; stop (error).
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let blocks = &blocks[..];
    std::thread::scope(|sc| {
        let (tx, rx) = std::sync::mpsc::sync_channel(AHEAD);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, done, stop) = (&next, &done, &stop);
            sc.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= blocks.len() {
                        return;
                    }
                    // Never run more than AHEAD blocks ahead of the sink.
                    while i >= done.load(Ordering::Acquire) + AHEAD {
                        if stop.load(Ordering::Acquire) {
                            return;
                        }
                        std::thread::sleep(std::time::Duration::from_micros(100));
                    }
                    if stop.load(Ordering::Acquire) {
                        return;
                    }
                    let res = load_block_hashed(path, b, &blocks[i], hash);
                    if tx.send((i, res)).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut early = std::collections::BTreeMap::new();
        let r = (|| {
            for (want, r) in blocks.iter().enumerate() {
                let res = loop {
                    if let Some(res) = early.remove(&want) {
                        break res;
                    }
                    match rx.recv() {
                        Ok((i, res)) if i == want => break res,
                        Ok((i, res)) => {
                            early.insert(i, res);
                        }
                        Err(_) => {
                            return Err(bad(path, r.offset, "snapshot decode thread failed"));
                        }
                    }
                };
                put(res, Some(r))?;
                done.store(want + 1, Ordering::Release);
            }
            put(Ok(Vec::new()), None)
        })();
        if r.is_err() {
            stop.store(true, Ordering::Release);
        }
        // Unblock decode threads waiting to send, so the scope can end.
        drop(rx);
        r
    })?;
    Ok(s)
}

/// `load_hashed` on a file read through `fs`.
pub fn load_file_hashed(
    fs: &dyn Fs,
    path: &Path,
    now: u64,
    hash: KeyHash,
    prepare: impl FnOnce(&LoadHint),
    sink: impl FnMut(Vec<Decoded>, u64) -> Result<(), BlockError>,
) -> Result<Summary, SnapshotError> {
    let bytes = fs.read(path).map_err(|source| SnapshotError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    load_hashed(path, &bytes, now, hash, prepare, sink)
}

#[cfg(test)]
mod tests;
