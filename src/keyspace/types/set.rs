//! Set values in two encodings, as Redis 7.0:
//!
//! * "intset" (`IntSet`): while every member is a canonical 64-bit integer
//!   and there are at most set-max-intset-entries of them, a sorted array
//!   of 2-, 4- or 8-byte integers (the narrowest width that holds them all;
//!   the width only grows). Iteration is ascending, as Redis replies.
//! * "hashtable" (`Indexed`): O(1) membership, insert, delete and random
//!   pick; scans that never miss a member present for the whole scan.
//!
//! The conversion is one way, as in Redis.

use super::indexed::Indexed;
use crate::keyspace::CompactBytes;
use std::sync::Arc;

/// Sorted integers at one width. Invariant: strictly ascending.
#[derive(Clone, Debug)]
enum IntSet {
    W16(Vec<i16>),
    W32(Vec<i32>),
    W64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::W16(Vec::new())
    }
}

/// Apply `$body` to the vector of whatever width, as `$v`.
macro_rules! each_width {
    ($s:expr, $v:ident => $body:expr) => {
        match $s {
            IntSet::W16($v) => $body,
            IntSet::W32($v) => $body,
            IntSet::W64($v) => $body,
        }
    };
}

impl IntSet {
    fn len(&self) -> usize {
        each_width!(self, v => v.len())
    }

    fn get(&self, i: usize) -> i64 {
        match self {
            IntSet::W16(v) => i64::from(v[i]),
            IntSet::W32(v) => i64::from(v[i]),
            IntSet::W64(v) => v[i],
        }
    }

    /// Binary search for `n` (Ok: its position; Err: where it would go).
    fn search(&self, n: i64) -> Result<usize, usize> {
        match self {
            IntSet::W16(v) => match i16::try_from(n) {
                Ok(x) => v.binary_search(&x),
                Err(_) => Err(if n < 0 { 0 } else { v.len() }),
            },
            IntSet::W32(v) => match i32::try_from(n) {
                Ok(x) => v.binary_search(&x),
                Err(_) => Err(if n < 0 { 0 } else { v.len() }),
            },
            IntSet::W64(v) => v.binary_search(&n),
        }
    }

    /// Widen so that `n` fits.
    fn upgrade_for(&mut self, n: i64) {
        let need = if i16::try_from(n).is_ok() {
            0
        } else if i32::try_from(n).is_ok() {
            1
        } else {
            2
        };
        let have = match self {
            IntSet::W16(_) => 0,
            IntSet::W32(_) => 1,
            IntSet::W64(_) => 2,
        };
        if need <= have {
            return;
        }
        *self = match (need, &*self) {
            (1, IntSet::W16(v)) => IntSet::W32(v.iter().map(|&x| x as i32).collect()),
            (_, s) => IntSet::W64((0..s.len()).map(|i| s.get(i)).collect()),
        };
    }

    /// Add `n`; false if present.
    fn insert(&mut self, n: i64) -> bool {
        self.upgrade_for(n);
        match self.search(n) {
            Ok(_) => false,
            Err(pos) => {
                // `upgrade_for` made `n` fit the width.
                match self {
                    IntSet::W16(v) => v.insert(pos, n as i16),
                    IntSet::W32(v) => v.insert(pos, n as i32),
                    IntSet::W64(v) => v.insert(pos, n),
                }
                true
            }
        }
    }

    fn remove(&mut self, n: i64) -> bool {
        match self.search(n) {
            Ok(pos) => {
                each_width!(self, v => {
                    v.remove(pos);
                });
                true
            }
            Err(_) => false,
        }
    }

    fn heap_size(&self) -> usize {
        each_width!(self, v => v.capacity() * std::mem::size_of_val(&v.first().copied().unwrap_or_default()))
    }
}

#[derive(Clone)]
enum Repr {
    Ints(IntSet),
    /// Shared on clone; a snapshot freezes it as a view without the index
    /// (as `Hash`; `Indexed::frozen_view`).
    Table(Arc<Indexed<CompactBytes>>),
}

/// A Redis set.
#[derive(Clone)]
pub struct Set {
    repr: Repr,
}

impl Default for Set {
    fn default() -> Self {
        Set {
            repr: Repr::Ints(IntSet::default()),
        }
    }
}

/// One member as `iter()` and `at()` yield it: borrowed bytes, or an
/// intset integer rendered in decimal. Derefs to the bytes.
#[derive(Clone, Copy)]
pub enum Member<'a> {
    Bytes(&'a [u8]),
    Int { len: u8, buf: [u8; 20] },
}

impl Member<'_> {
    fn int(n: i64) -> Member<'static> {
        let mut b = itoa::Buffer::new();
        let s = b.format(n).as_bytes();
        let mut buf = [0u8; 20];
        buf[..s.len()].copy_from_slice(s);
        Member::Int {
            len: s.len() as u8,
            buf,
        }
    }
}

impl std::ops::Deref for Member<'_> {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Member::Bytes(b) => b,
            Member::Int { len, buf } => &buf[..*len as usize],
        }
    }
}

impl AsRef<[u8]> for Member<'_> {
    fn as_ref(&self) -> &[u8] {
        self
    }
}

impl std::fmt::Debug for Member<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self))
    }
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.iter().all(|m| other.contains(&m))
    }
}

/// Iterator over a set's members (ascending for an intset).
pub struct Iter<'a> {
    set: &'a Set,
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = Member<'a>;

    fn next(&mut self) -> Option<Member<'a>> {
        if self.pos >= self.set.len() {
            return None;
        }
        self.pos += 1;
        Some(self.set.at(self.pos - 1))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.set.len() - self.pos;
        (n, Some(n))
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.len(),
            Repr::Table(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name (Redis 7.0: "intset" or "hashtable").
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Ints(_) => "intset",
            Repr::Table(_) => "hashtable",
        }
    }

    /// Whether the compact ("intset") encoding is still in use.
    pub fn is_compact(&self) -> bool {
        matches!(self.repr, Repr::Ints(_))
    }

    /// What a snapshot's freeze keeps of a set in the hashtable encoding
    /// (`cow::freeze`): its members, in chunks shared with this set,
    /// without the index (`Indexed::frozen_view`). Only `len` and `iter`
    /// answer right on it. `None` for the intset encoding.
    pub fn frozen_view(&self) -> Option<Set> {
        match &self.repr {
            Repr::Ints(_) => None,
            Repr::Table(t) => Some(Set {
                repr: Repr::Table(Arc::new(t.frozen_view())),
            }),
        }
    }

    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Ints(s) => s.heap_size(),
            Repr::Table(t) => t.heap_size() + t.iter().map(|m| m.heap_size()).sum::<usize>(),
        }
    }

    /// Move every member into the hashtable encoding.
    fn convert(&mut self) {
        if let Repr::Ints(s) = &self.repr {
            let mut t = Indexed::default();
            t.reserve(s.len() + 1);
            let mut b = itoa::Buffer::new();
            for i in 0..s.len() {
                t.push_new(CompactBytes::new(b.format(s.get(i)).as_bytes()));
            }
            self.repr = Repr::Table(Arc::new(t));
        }
    }

    /// Start loading member `m` (a hint; a hashtable-encoded set only).
    #[inline]
    pub fn prefetch(&self, m: &[u8]) {
        if let Repr::Table(t) = &self.repr {
            t.prefetch(m);
        }
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match &self.repr {
            Repr::Ints(s) => crate::util::parse_i64(m).is_some_and(|n| s.search(n).is_ok()),
            Repr::Table(t) => t.find(m).is_some(),
        }
    }

    /// Add a member; true if it was new. `max_intset` is
    /// set-max-intset-entries (the intset -> hashtable conversion limit).
    pub fn insert(&mut self, m: &[u8], max_intset: usize) -> bool {
        if let Repr::Ints(s) = &mut self.repr {
            match crate::util::parse_i64(m) {
                Some(n) => {
                    if !s.insert(n) {
                        return false;
                    }
                    if s.len() > max_intset {
                        self.convert();
                    }
                    return true;
                }
                None => self.convert(),
            }
        }
        let Repr::Table(t) = &mut self.repr else {
            unreachable!("converted above")
        };
        Arc::make_mut(t)
            .find_or_push(m, || CompactBytes::new(m))
            .is_err()
    }

    /// Remove a member; true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Ints(s) => crate::util::parse_i64(m).is_some_and(|n| s.remove(n)),
            Repr::Table(t) => Indexed::remove_shared(t, m).is_some(),
        }
    }

    /// The member at a position (0..len), for random picks; ascending
    /// order for an intset.
    pub fn at(&self, i: usize) -> Member<'_> {
        match &self.repr {
            Repr::Ints(s) => Member::int(s.get(i)),
            Repr::Table(t) => Member::Bytes(t.at(i)),
        }
    }

    pub fn iter(&self) -> Iter<'_> {
        Iter { set: self, pos: 0 }
    }

    /// One step of a scan (`Indexed::scan`); an intset is returned whole
    /// (next cursor 0), as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        match &self.repr {
            Repr::Ints(_) => {
                self.iter().for_each(|m| f(&m));
                0
            }
            Repr::Table(t) => t.scan(cursor, count, |m| f(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    /// As `hash::tests::frozen_view_keeps_the_contents_and_shares_no_index`.
    #[test]
    fn frozen_view_keeps_the_contents_and_shares_no_index() {
        let mut s = Set::new();
        for i in 0..5000 {
            s.insert(format!("m{i}").as_bytes(), 512);
        }
        let before: BTreeSet<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        let view = s.frozen_view().expect("hashtable encoding");
        let Repr::Table(t) = &s.repr else {
            panic!("converted")
        };
        assert_eq!(Arc::strong_count(t), 1, "the live table is shared");
        for i in 0..100 {
            // A hint, on the shared table: it must not disturb anything.
            s.prefetch(format!("m{i}").as_bytes());
            s.prefetch(format!("absent{i}").as_bytes());
            assert!(s.remove(format!("m{i}").as_bytes()));
            assert!(s.insert(format!("new{i}").as_bytes(), 512));
        }
        assert!(s.contains(b"new7") && !s.contains(b"m7"));
        assert_eq!(view.len(), 5000);
        let got: BTreeSet<Vec<u8>> = view.iter().map(|m| m.to_vec()).collect();
        assert_eq!(got, before);
        assert!(Set::new().frozen_view().is_none());
    }

    #[test]
    fn widths_grow_and_order_is_ascending() {
        let mut s = Set::new();
        for m in [
            "5",
            "-3",
            "70000",
            "-9223372036854775808",
            "9223372036854775807",
        ] {
            assert!(s.insert(m.as_bytes(), 512));
        }
        assert!(!s.insert(b"70000", 512));
        assert_eq!(s.encoding(), "intset");
        let got: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
        let want: Vec<&[u8]> = vec![
            b"-9223372036854775808",
            b"-3",
            b"5",
            b"70000",
            b"9223372036854775807",
        ];
        assert_eq!(got, want);
        assert!(!s.contains(b"05"));
        assert!(!s.insert(b"5", 512));
        assert!(s.insert(b"05", 512));
        assert_eq!(s.encoding(), "hashtable");
        assert!(s.contains(b"5") && s.contains(b"05") && s.contains(b"-3"));
        assert_eq!(s.len(), 6);
    }

    proptest! {
        #[test]
        fn matches_model(ops in prop::collection::vec((any::<bool>(), prop_oneof![
            8 => prop_oneof![-40_000i64..40_000, any::<i64>(), -5i64..5].prop_map(|n| n.to_string()),
            1 => "[a-c0-9]{0,3}",
        ]), 0..150), max in 0usize..64) {
            let mut s = Set::new();
            let mut m: BTreeSet<String> = BTreeSet::new();
            for (add, x) in ops {
                if add {
                    prop_assert_eq!(s.insert(x.as_bytes(), max), m.insert(x.clone()));
                } else {
                    prop_assert_eq!(s.remove(x.as_bytes()), m.remove(&x));
                }
                prop_assert_eq!(s.len(), m.len());
                let all_ints = m.iter().all(|x| crate::util::parse_i64(x.as_bytes()).is_some());
                if !all_ints || m.len() > max {
                    prop_assert!(!s.is_compact());
                }
                if s.is_compact() {
                    let mut want: Vec<i64> = m.iter().map(|x| x.parse().unwrap()).collect();
                    want.sort();
                    let got: Vec<i64> = s.iter()
                        .map(|x| std::str::from_utf8(&x).unwrap().parse().unwrap())
                        .collect();
                    prop_assert_eq!(got, want);
                }
            }
            let mut got: Vec<String> = s.iter().map(|x| String::from_utf8(x.to_vec()).unwrap()).collect();
            got.sort();
            prop_assert_eq!(got, m.iter().cloned().collect::<Vec<_>>());
            for x in &m {
                prop_assert!(s.contains(x.as_bytes()));
            }
        }
    }
}
