//! Hash values in two encodings, as Redis 7.0:
//!
//! * "listpack" (`Pack`): small hashes, all pairs in one byte buffer,
//!   `varint(len) field varint(len) value` per pair, in insertion order
//!   (an overwritten value keeps its place, a deleted pair closes the gap),
//!   which is the order Redis's listpack replies in. Lookups are linear,
//!   bounded by hash-max-listpack-entries.
//! * "hashtable" (`Indexed` of 32-byte `Pair`s): O(1) lookup, insert,
//!   delete and random pick.
//!
//! The conversion is one way, as in Redis: `convert_if_needed` switches to
//! the hashtable once a limit is passed, and nothing converts back.

use super::indexed::Indexed;
use super::pair::Pair;
use std::sync::Arc;

/// Append LEB128 `n`.
fn put_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Read a LEB128 number at `pos`: (value, position after it).
#[inline]
fn get_varint(b: &[u8], pos: usize) -> (usize, usize) {
    let c = b[pos];
    if c < 0x80 {
        return (c as usize, pos + 1);
    }
    get_varint_long(b, pos)
}

fn get_varint_long(b: &[u8], mut pos: usize) -> (usize, usize) {
    let (mut n, mut shift) = (0usize, 0);
    loop {
        let c = b[pos];
        pos += 1;
        n |= ((c & 0x7f) as usize) << shift;
        if c < 0x80 {
            return (n, pos);
        }
        shift += 7;
    }
}

fn varint_len(n: usize) -> usize {
    (usize::BITS - (n | 1).leading_zeros()).div_ceil(7) as usize
}

/// The packed ("listpack") encoding. Invariant: `buf` holds exactly
/// `count` pairs.
#[derive(Clone, Default)]
struct Pack {
    buf: Vec<u8>,
    count: u32,
}

/// Where one pair sits in a `Pack`: `start..end` is the whole pair,
/// `value..end` the encoded value (length prefix included).
struct Slot {
    start: usize,
    value: usize,
    end: usize,
}

impl Pack {
    fn iter(&self) -> PackIter<'_> {
        PackIter {
            buf: &self.buf,
            pos: 0,
            left: self.count as usize,
        }
    }

    fn find(&self, field: &[u8]) -> Option<Slot> {
        let b = &self.buf;
        let mut pos = 0;
        while pos < b.len() {
            let (flen, fstart) = get_varint(b, pos);
            let value = fstart + flen;
            let (vlen, vstart) = get_varint(b, value);
            let end = vstart + vlen;
            // Length, then last byte (field names often differ only at
            // the end), before the full comparison.
            if flen == field.len()
                && field.last() == b[fstart..value].last()
                && &b[fstart..value] == field
            {
                return Some(Slot {
                    start: pos,
                    value,
                    end,
                });
            }
            pos = end;
        }
        None
    }

    fn value_at(&self, s: &Slot) -> &[u8] {
        let (_, vstart) = get_varint(&self.buf, s.value);
        &self.buf[vstart..s.end]
    }

    /// Set a field; true if it was new.
    fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        let mut enc = Vec::with_capacity(varint_len(value.len()) + value.len());
        put_varint(&mut enc, value.len());
        enc.extend_from_slice(value);
        if let Some(s) = self.find(field) {
            self.buf.splice(s.value..s.end, enc);
            return false;
        }
        // Grow exactly, as a listpack does (realloc per insert).
        let extra = varint_len(field.len()) + field.len() + enc.len();
        self.buf.reserve_exact(extra);
        put_varint(&mut self.buf, field.len());
        self.buf.extend_from_slice(field);
        self.buf.extend_from_slice(&enc);
        self.count += 1;
        true
    }

    fn remove(&mut self, field: &[u8]) -> bool {
        match self.find(field) {
            Some(s) => {
                self.buf.drain(s.start..s.end);
                self.count -= 1;
                true
            }
            None => false,
        }
    }
}

struct PackIter<'a> {
    buf: &'a [u8],
    pos: usize,
    left: usize,
}

impl<'a> Iterator for PackIter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let (flen, fstart) = get_varint(self.buf, self.pos);
        let (vlen, vstart) = get_varint(self.buf, fstart + flen);
        self.pos = vstart + vlen;
        Some((
            &self.buf[fstart..fstart + flen],
            &self.buf[vstart..vstart + vlen],
        ))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for PackIter<'_> {}

/// The big encoding is shared on clone (`Arc`). A snapshot freezes a big
/// hash as a view that shares its pairs' chunks but not its index
/// (`frozen_view`) and serializes it off the lock (`keyspace::cow::freeze`):
/// each later change copies at most the chunk it touches.
#[derive(Clone)]
enum Repr {
    Pack(Pack),
    Table(Arc<Indexed<Pair>>),
}

/// A Redis hash (field -> value).
#[derive(Clone)]
pub struct Hash {
    repr: Repr,
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            repr: Repr::Pack(Pack::default()),
        }
    }
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len() && self.iter().all(|(f, v)| other.get(f) == Some(v))
    }
}

/// Iterator over a hash's pairs (insertion order for the packed encoding).
pub struct Iter<'a>(IterRepr<'a>);

enum IterRepr<'a> {
    Pack(PackIter<'a>),
    Table(super::chunked::Iter<'a, Pair>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Pack(p) => p.next(),
            IterRepr::Table(t) => t.next().map(|p| (p.field(), p.value())),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Pack(p) => p.size_hint(),
            IterRepr::Table(t) => t.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.count as usize,
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Pack(_) => "listpack",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Whether the compact ("listpack") encoding is still in use.
    pub fn is_compact(&self) -> bool {
        matches!(self.repr, Repr::Pack(_))
    }

    /// What a snapshot's freeze keeps of a hash in the big encoding
    /// (`cow::freeze`): its pairs, in chunks shared with this hash, without
    /// the index (`Indexed::frozen_view`). Only `len` and `iter` answer
    /// right on it. `None` for the compact encoding.
    pub fn frozen_view(&self) -> Option<Hash> {
        match &self.repr {
            Repr::Pack(_) => None,
            Repr::Table(t) => Some(Hash {
                repr: Repr::Table(Arc::new(t.frozen_view())),
            }),
        }
    }

    /// Switch to the "hashtable" encoding if the limits are exceeded
    /// (more than `max_entries` fields, or one of `extra`, the field and
    /// value about to be written, longer than `max_value`).
    pub fn convert_if_needed(&mut self, max_entries: usize, max_value: usize, extra: &[&[u8]]) {
        if let Repr::Pack(p) = &self.repr
            && (p.count as usize > max_entries || extra.iter().any(|b| b.len() > max_value))
        {
            self.convert();
        }
    }

    /// Move every pair into the hashtable encoding (insertion order kept).
    fn convert(&mut self) {
        if let Repr::Pack(p) = &self.repr {
            let mut t = Indexed::default();
            t.reserve(p.count as usize);
            for (f, v) in p.iter() {
                t.push_new(Pair::new(f, v));
            }
            self.repr = Repr::Table(Arc::new(t));
        }
    }

    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Pack(p) => p.buf.capacity(),
            Repr::Table(t) => t.heap_size() + t.iter().map(Pair::heap_size).sum::<usize>(),
        }
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Pack(p) => p.find(field).map(|s| p.value_at(&s)),
            Repr::Table(t) => t.find(field).map(|i| t.at(i).value()),
        }
    }

    /// Start loading the pair of `field` (a hint; a hashtable-encoded
    /// hash only).
    #[inline]
    pub fn prefetch(&self, field: &[u8]) {
        if let Repr::Table(t) = &self.repr {
            t.prefetch(field);
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        match &self.repr {
            Repr::Pack(p) => p.find(field).is_some(),
            Repr::Table(t) => t.find(field).is_some(),
        }
    }

    /// Set a field; true if it was new. Never converts: callers check the
    /// limits with `convert_if_needed`.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => p.insert(field, value),
            Repr::Table(t) => {
                let t = Arc::make_mut(t);
                match t.find_or_push(field, || Pair::new(field, value)) {
                    Ok(i) => {
                        t.at_mut(i).set_value(value);
                        false
                    }
                    Err(_) => true,
                }
            }
        }
    }

    /// Remove a field; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Pack(p) => p.remove(field),
            Repr::Table(t) => Indexed::remove_shared(t, field).is_some(),
        }
    }

    /// The pair at a position (0..len), for random picks. O(len) in the
    /// packed encoding (bounded by hash-max-listpack-entries).
    pub fn at(&self, i: usize) -> (&[u8], &[u8]) {
        match &self.repr {
            Repr::Pack(p) => p.iter().nth(i).expect("position in range"),
            Repr::Table(t) => {
                let p = t.at(i);
                (p.field(), p.value())
            }
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        match &self.repr {
            Repr::Pack(p) => Iter(IterRepr::Pack(p.iter())),
            Repr::Table(t) => Iter(IterRepr::Table(t.iter())),
        }
    }

    /// One step of a scan (`Indexed::scan`); the packed encoding is
    /// returned whole (next cursor 0), as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        match &self.repr {
            Repr::Pack(p) => {
                p.iter().for_each(|(k, v)| f(k, v));
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |p| f(p.field(), p.value())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The view a snapshot freezes keeps the contents at the freeze while
    /// the hash changes, and leaves the hash's table unshared: no change
    /// afterwards copies the index.
    #[test]
    fn frozen_view_keeps_the_contents_and_shares_no_index() {
        let mut h = Hash::new();
        h.convert();
        for i in 0..5000 {
            h.insert(i.to_string().as_bytes(), b"v");
        }
        let before: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        let view = h.frozen_view().expect("big encoding");
        let Repr::Table(t) = &h.repr else {
            panic!("converted")
        };
        assert_eq!(Arc::strong_count(t), 1, "the live table is shared");
        for i in 0..100 {
            h.insert(i.to_string().as_bytes(), b"changed");
            h.remove((4999 - i).to_string().as_bytes());
            h.insert(format!("new{i}").as_bytes(), b"n");
        }
        assert_eq!(h.get(b"7"), Some(&b"changed"[..]));
        assert_eq!(h.len(), 5000);
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            view.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(view.len(), 5000);
        assert_eq!(got, before);
        assert!(Hash::new().frozen_view().is_none());
    }

    #[test]
    fn varints() {
        for n in [0, 1, 127, 128, 16383, 16384, 1 << 30] {
            let mut b = Vec::new();
            put_varint(&mut b, n);
            assert_eq!(b.len(), varint_len(n));
            assert_eq!(get_varint(&b, 0), (n, b.len()));
        }
    }

    #[test]
    fn pack_keeps_insertion_order() {
        let mut h = Hash::new();
        for (f, v) in [("a", "1"), ("b", "2"), ("c", "3")] {
            assert!(h.insert(f.as_bytes(), v.as_bytes()));
        }
        assert!(!h.insert(b"a", b"one hundred"));
        assert!(h.remove(b"b"));
        let got: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        let want = [
            (b"a".to_vec(), b"one hundred".to_vec()),
            (b"c".to_vec(), b"3".to_vec()),
        ];
        assert_eq!(got, want);
        assert_eq!(h.encoding(), "listpack");
        h.convert_if_needed(1, 64, &[]);
        assert_eq!(h.encoding(), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"one hundred"[..]));
        let after: Vec<(Vec<u8>, Vec<u8>)> =
            h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
        assert_eq!(after, want);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, Vec<u8>),
        Del(u8),
        Convert(usize),
    }

    proptest! {
        #[test]
        fn matches_model(ops in prop::collection::vec(prop_oneof![
            6 => (0..20u8, prop::collection::vec(any::<u8>(), 0..200)).prop_map(|(f, v)| Op::Set(f, v)),
            3 => (0..20u8).prop_map(Op::Del),
            1 => (0..30usize).prop_map(Op::Convert),
        ], 0..100)) {
            let mut h = Hash::new();
            // Insertion-ordered model of (field, value).
            let mut m: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Set(f, v) => {
                        let f = vec![b'f'; f as usize];
                        // A hint: it must not disturb anything.
                        h.prefetch(&f);
                        let new = match m.iter_mut().find(|(k, _)| *k == f) {
                            Some(p) => { p.1 = v.clone(); false }
                            None => { m.push((f.clone(), v.clone())); true }
                        };
                        prop_assert_eq!(h.insert(&f, &v), new);
                    }
                    Op::Del(f) => {
                        let f = vec![b'f'; f as usize];
                        h.prefetch(&f);
                        let had = m.iter().position(|(k, _)| *k == f).map(|i| m.remove(i)).is_some();
                        // The hashtable moves the last pair into the hole.
                        prop_assert_eq!(h.remove(&f), had);
                    }
                    Op::Convert(n) => h.convert_if_needed(n, 64, &[]),
                }
                prop_assert_eq!(h.len(), m.len());
                for (f, v) in &m {
                    prop_assert_eq!(h.get(f), Some(v.as_slice()));
                }
                if h.is_compact() {
                    let got: Vec<(Vec<u8>, Vec<u8>)> =
                        h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect();
                    prop_assert_eq!(&got, &m);
                    for (i, (f, _)) in m.iter().enumerate() {
                        prop_assert_eq!(h.at(i).0, f.as_slice());
                    }
                }
            }
        }
    }
}
