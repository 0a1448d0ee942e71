//! Sorted-set values: members with a double score, ordered by (score,
//! member bytes) as Redis orders them.
//!
//! Two encodings, as in Redis 7.0 (OBJECT ENCODING reports the same name
//! Redis would):
//!
//! * **"listpack"** (`Repr::Compact`): a `Vec<(score, member)>` kept
//!   sorted. Member lookup is a linear scan, ranks are positions. Used
//!   while `len <= zset-max-listpack-entries` and every member is at most
//!   `zset-max-listpack-value` bytes. Like Redis's listpack, which stores
//!   scores as strings where `-0` reads back as `0`, it keeps `-0` as `0`.
//! * **"skiplist"** (`Repr::Full`): past either limit the set converts,
//!   one way, as in Redis. Three parts:
//!   - `slots`: a dense vector of (member, score), 32 bytes each (members
//!     of up to 22 bytes are stored inline by `CompactBytes`). A removal
//!     moves the last slot into the hole (repointing its index entry and
//!     its tree handle), so the vector stays dense and shrinks when it is
//!     mostly empty.
//!   - `index`: a hash table of slot numbers keyed by member (8 bytes plus
//!     a control byte per bucket): member → slot in O(1). It resizes
//!     incrementally (`PosIndex`), so growing or shrinking the set never
//!     rehashes it all at once.
//!   - `tree`: a `RankTree` of (score rounded to f32, slot number) pairs
//!     (`Key`) in (score, member) order, an order-statistic B+tree: insert,
//!     delete, rank, select-by-rank and the bounds of a score or lex range
//!     are O(log n). The rounded score lets the descent of ZADD, ZREM and
//!     ZRANK compare without reading the slots (a cache miss each); only
//!     scores equal in f32 read the slot. Range bounds given as a
//!     predicate on the exact score still read the slots.
//!
//! Why not Redis's skiplist + dict: a skiplist node costs a pointer to the
//! member, the score, a backward pointer and 16 bytes per level, plus a
//! separately allocated sds and a 24-byte dict entry and bucket pointer:
//! about 100 bytes per element. Here each element costs its 32-byte slot,
//! ~10-20 bytes of hash index and ~8-16 bytes of tree, with no per-element
//! allocation for short members. The B+tree's elements are 8-byte keys
//! rather than members, so members are stored once, and its nodes are
//! contiguous arrays (cache friendly) where a skiplist chases a pointer
//! per level. The price: a tie on the rounded score reads the slot, and a
//! removal does one more O(log n) descent to repoint the moved slot.
//!
//! ZSCAN over the full encoding walks slot positions from the top down
//! (as `Indexed::scan` does): only the last slot ever moves, and only
//! down, so a member present for the whole scan is never missed (it may
//! be returned twice).

use super::chunked::ChunkVec;
use super::posindex::PosIndex;
use super::ranktree::RankTree;
use crate::keyspace::CompactBytes;
use std::hash::BuildHasher;
use std::sync::Arc;

fn hash_of(b: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x7a73_6574).hash_one(b)
}

/// Redis's element order: score, then member bytes (memcmp, shorter first
/// on a common prefix). Scores are never NaN; -0 and 0 compare equal.
#[inline]
pub fn before(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> bool {
    s1 < s2 || (s1 == s2 && m1 < m2)
}

/// Conversion thresholds (zset-max-listpack-entries / -value).
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    pub max_entries: usize,
    pub max_value: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_entries: 128,
            max_value: 64,
        }
    }
}

/// What `ZSet::add` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    New,
    Updated,
    Unchanged,
}

#[derive(Clone)]
struct Slot {
    member: CompactBytes,
    score: f64,
}

/// A tree element: a slot number with its score rounded to `f32`, so a
/// descent compares scores without touching the slot. Rounding is
/// monotone (a < b implies a as f32 <= b as f32), so a difference in
/// `approx` decides the order; only equal `approx` (equal scores, or
/// scores closer than f32's precision) read the slot for the exact score
/// and the member. 8 bytes where (f64, u32) would take 12 or 16.
#[derive(Clone, Copy, Debug)]
struct Key {
    approx: f32,
    slot: u32,
}

impl Key {
    fn new(score: f64, slot: u32) -> Key {
        Key {
            approx: score as f32,
            slot,
        }
    }
}

#[derive(Clone)]
struct Full {
    /// In chunks shared on clone, as are the tree's nodes: the first
    /// change after a clone copies the index, one chunk and one tree path.
    /// A snapshot's freeze shares only the slots (`ZSet::frozen_view`).
    /// Invariant: dense, one slot per element of the tree.
    slots: ChunkVec<Slot>,
    index: PosIndex,
    /// Invariant: `Key::approx` is `slots[Key::slot].score as f32`.
    tree: RankTree<Key>,
}

#[derive(Clone)]
enum Repr {
    Compact(Vec<(f64, CompactBytes)>),
    /// Shared on clone; its first change after copies the index and a
    /// tree path, not the slots (see `Full`). A snapshot freezes only its
    /// slots (`ZSet::frozen_view`).
    Full(Arc<Full>),
}

/// A Redis sorted set.
#[derive(Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Compact(Vec::new()),
        }
    }
}

impl std::fmt::Debug for ZSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.iter().map(|(m, s)| (String::from_utf8_lossy(m), s)))
            .finish()
    }
}

impl PartialEq for ZSet {
    fn eq(&self, o: &ZSet) -> bool {
        self.len() == o.len()
            && self
                .iter()
                .zip(o.iter())
                .all(|((m1, s1), (m2, s2))| m1 == m2 && s1.to_bits() == s2.to_bits())
    }
}

impl Full {
    fn find(&self, m: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.index
            .find(hash_of(m), |i| slots[i as usize].member.as_slice() == m)
    }

    /// Rank of the element (score, member) if it were in the tree: the
    /// number of elements before it.
    fn rank_of(&self, score: f64, m: &[u8]) -> usize {
        let slots = &self.slots;
        let q = score as f32;
        self.tree.count_while(|k| {
            k.approx < q
                || (k.approx == q && {
                    let s = &slots[k.slot as usize];
                    before(s.score, &s.member, score, m)
                })
        })
    }

    fn insert_new(&mut self, m: &[u8], score: f64) {
        let slot = Slot {
            member: CompactBytes::new(m),
            score,
        };
        assert!(self.slots.len() < u32::MAX as usize, "zset too large");
        self.slots.push(slot);
        let id = (self.slots.len() - 1) as u32;
        let rank = self.rank_of(score, m);
        self.tree.insert_at(rank, Key::new(score, id));
        self.index.insert_unique(hash_of(m), id);
    }

    fn set_score(&mut self, id: u32, score: f64) {
        let s = &self.slots[id as usize];
        let old = self.rank_of(s.score, &s.member);
        let key = Key::new(score, id);
        if self.keeps_rank(old, score, &s.member) {
            self.slots[id as usize].score = score;
            self.tree.set_at(old, key);
            return;
        }
        let got = self.tree.remove_at(old);
        debug_assert_eq!(got.slot, id);
        self.slots[id as usize].score = score;
        let s = &self.slots[id as usize];
        let new = self.rank_of(score, &s.member);
        self.tree.insert_at(new, key);
    }

    /// Whether the element at `rank`, given the new score `score` (its
    /// member is `m`), still sorts between its neighbours.
    fn keeps_rank(&self, rank: usize, score: f64, m: &[u8]) -> bool {
        let (s, n) = (&self.slots, self.tree.len());
        let after_prev = rank == 0 || {
            let p = self.tree.get(rank - 1);
            let p = &s[p.slot as usize];
            before(p.score, &p.member, score, m)
        };
        after_prev
            && (rank + 1 == n || {
                let q = self.tree.get(rank + 1);
                let q = &s[q.slot as usize];
                before(score, m, q.score, &q.member)
            })
    }

    /// Remove slot `id`, whose rank is `rank`; the last slot moves into
    /// its place.
    fn remove_id(&mut self, id: u32, rank: usize) -> (CompactBytes, f64) {
        let got = self.tree.remove_at(rank);
        debug_assert_eq!(got.slot, id);
        let h = hash_of(&self.slots[id as usize].member);
        let slots = &self.slots;
        // Also points the index's entry of the last slot at `id`.
        self.index
            .remove(h, |i| i == id, |i| hash_of(&slots[i as usize].member))
            .expect("member indexed");
        let last = (self.slots.len() - 1) as u32;
        if id != last {
            let ls = &self.slots[last as usize];
            let lrank = self.rank_of(ls.score, &ls.member);
            debug_assert_eq!(self.tree.get(lrank).slot, last);
            self.tree.set_at(lrank, Key::new(ls.score, id));
        }
        let old = self.slots.swap_remove(id as usize);
        (old.member, old.score)
    }

    fn at(&self, rank: usize) -> (&[u8], f64) {
        let s = &self.slots[self.tree.get(rank).slot as usize];
        (&s.member, s.score)
    }
}

impl ZSet {
    pub fn new() -> ZSet {
        ZSet::default()
    }

    /// An empty set already in the full ("skiplist") encoding, as Redis
    /// creates one when a size hint exceeds the listpack limits (a new key
    /// of a big ZADD, a big ZRANGESTORE, a big ZUNIONSTORE result).
    pub fn new_full() -> ZSet {
        let mut z = ZSet::new();
        z.convert();
        z
    }

    /// An empty set in the encoding Redis's `zsetTypeCreate` picks for
    /// `size_hint` elements whose longest member is `value_len_hint` bytes.
    pub fn with_hint(size_hint: usize, value_len_hint: usize, lim: Limits) -> ZSet {
        if size_hint > lim.max_entries || value_len_hint > lim.max_value {
            ZSet::new_full()
        } else {
            ZSet::new()
        }
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Compact(v) => v.len(),
            Repr::Full(f) => f.slots.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// OBJECT ENCODING name (Redis 7.0: "listpack" or "skiplist").
    pub fn encoding(&self) -> &'static str {
        match self.repr {
            Repr::Compact(_) => "listpack",
            Repr::Full(_) => "skiplist",
        }
    }

    /// Whether the compact ("listpack") encoding is still in use.
    pub fn is_compact(&self) -> bool {
        matches!(self.repr, Repr::Compact(_))
    }

    /// What a snapshot's freeze keeps of a set in the full encoding
    /// (`cow::freeze`): its slots, in chunks shared with this set, without
    /// the index and the order tree. So this set's later changes copy at
    /// most the chunks they touch, never the index nor a tree path. Only
    /// `len` and `iter_unordered` answer right on it. `None` for the
    /// compact encoding.
    pub fn frozen_view(&self) -> Option<ZSet> {
        match &self.repr {
            Repr::Compact(_) => None,
            Repr::Full(f) => Some(ZSet {
                repr: Repr::Full(Arc::new(Full {
                    slots: f.slots.clone(),
                    index: PosIndex::default(),
                    tree: RankTree::default(),
                })),
            }),
        }
    }

    /// Heap bytes owned by the set (INFO memory, MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match &self.repr {
            Repr::Compact(v) => {
                v.capacity() * std::mem::size_of::<(f64, CompactBytes)>()
                    + v.iter().map(|(_, m)| m.heap_size()).sum::<usize>()
            }
            Repr::Full(f) => {
                std::mem::size_of::<Full>()
                    + f.slots.heap_size()
                    + f.slots.iter().map(|s| s.member.heap_size()).sum::<usize>()
                    + f.index.heap_size()
                    + f.tree.heap_size()
            }
        }
    }

    /// The score of a member.
    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Compact(v) => v.iter().find(|(_, x)| x.as_slice() == m).map(|e| e.0),
            Repr::Full(f) => f.find(m).map(|i| f.slots[i as usize].score),
        }
    }

    /// Add a member or update its score, converting with the default
    /// limits (128 entries, 64 bytes). True if the member was new.
    pub fn insert(&mut self, m: &[u8], score: f64) -> bool {
        self.add(m, score, Limits::default()) == Added::New
    }

    /// Switch to the full encoding (one way). SORT does this to the sorted
    /// set it sorts, as Redis's does ("destructively convert encoded sorted
    /// sets for SORT"): OBJECT ENCODING and DUMP show it.
    pub fn convert(&mut self) {
        if let Repr::Compact(v) = &mut self.repr {
            let v = std::mem::take(v);
            let mut full = Full {
                slots: ChunkVec::with_capacity(v.len()),
                index: PosIndex::default(),
                tree: RankTree::new(),
            };
            full.index.reserve(v.len());
            for (i, (score, member)) in v.into_iter().enumerate() {
                let h = hash_of(&member);
                full.slots.push(Slot { member, score });
                full.tree.insert_at(i, Key::new(score, i as u32));
                full.index.insert_unique(h, i as u32);
            }
            self.repr = Repr::Full(Arc::new(full));
        }
    }

    /// Add a member or update its score (a score equal to the current one,
    /// -0 vs 0 included, changes nothing, as in Redis). A new member
    /// converts the set to the full encoding if it would exceed `lim`.
    /// `score` must not be NaN.
    pub fn add(&mut self, m: &[u8], score: f64, lim: Limits) -> Added {
        debug_assert!(!score.is_nan());
        if let Repr::Full(f) = &mut self.repr {
            // One index probe for both the lookup and the update.
            return match f.find(m) {
                Some(id) if f.slots[id as usize].score == score => Added::Unchanged,
                Some(id) => {
                    Arc::make_mut(f).set_score(id, score);
                    Added::Updated
                }
                None => {
                    Arc::make_mut(f).insert_new(m, score);
                    Added::New
                }
            };
        }
        if let Some(cur) = self.score(m) {
            if cur == score {
                return Added::Unchanged;
            }
            match &mut self.repr {
                Repr::Compact(v) => {
                    let i = v
                        .iter()
                        .position(|(_, x)| x.as_slice() == m)
                        .expect("found");
                    let (_, member) = v.remove(i);
                    let score = if score == 0.0 { 0.0 } else { score };
                    let at = v.partition_point(|(s, x)| before(*s, x, score, m));
                    v.insert(at, (score, member));
                }
                Repr::Full(f) => {
                    let id = f.find(m).expect("found");
                    Arc::make_mut(f).set_score(id, score);
                }
            }
            return Added::Updated;
        }
        if self.is_compact() && (self.len() + 1 > lim.max_entries || m.len() > lim.max_value) {
            self.convert();
        }
        match &mut self.repr {
            Repr::Compact(v) => {
                // Listpack stores "-0" and reads it back as 0.
                let score = if score == 0.0 { 0.0 } else { score };
                let at = v.partition_point(|(s, x)| before(*s, x, score, m));
                v.insert(at, (score, CompactBytes::new(m)));
            }
            Repr::Full(f) => Arc::make_mut(f).insert_new(m, score),
        }
        Added::New
    }

    /// Remove a member; true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Compact(v) => match v.iter().position(|(_, x)| x.as_slice() == m) {
                Some(i) => {
                    v.remove(i);
                    true
                }
                None => false,
            },
            Repr::Full(f) => match f.find(m) {
                Some(id) => {
                    let s = &f.slots[id as usize];
                    let rank = f.rank_of(s.score, &s.member);
                    Arc::make_mut(f).remove_id(id, rank);
                    true
                }
                None => false,
            },
        }
    }

    /// Ascending rank (0-based) of a member.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Compact(v) => v.iter().position(|(_, x)| x.as_slice() == m),
            Repr::Full(f) => f.find(m).map(|id| {
                let s = &f.slots[id as usize];
                f.rank_of(s.score, &s.member)
            }),
        }
    }

    /// The element at an ascending rank (0..len).
    pub fn at(&self, rank: usize) -> (&[u8], f64) {
        match &self.repr {
            Repr::Compact(v) => (&v[rank].1, v[rank].0),
            Repr::Full(f) => f.at(rank),
        }
    }

    /// Number of leading elements (in ascending order) for which
    /// `pred(score, member)` holds; `pred` must hold for a prefix only.
    /// This is how range bounds become ranks.
    pub fn count_while(&self, pred: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Compact(v) => v.partition_point(|(s, m)| pred(*s, m)),
            Repr::Full(f) => {
                let slots = &f.slots;
                f.tree.count_while(|k| {
                    let s = &slots[k.slot as usize];
                    pred(s.score, &s.member)
                })
            }
        }
    }

    /// Call `f` on the elements at ascending ranks `start..end`, in
    /// ascending order or (with `rev`) descending; `f` returns false to
    /// stop.
    pub fn visit(
        &self,
        start: usize,
        end: usize,
        rev: bool,
        mut f: impl FnMut(&[u8], f64) -> bool,
    ) {
        let end = end.min(self.len());
        if start >= end {
            return;
        }
        match &self.repr {
            Repr::Compact(v) => {
                let r = &v[start..end];
                if rev {
                    let _ = r.iter().rev().all(|(s, m)| f(m, *s));
                } else {
                    let _ = r.iter().all(|(s, m)| f(m, *s));
                }
            }
            Repr::Full(full) => {
                let slots = &full.slots;
                full.tree.visit(start, end, rev, |k| {
                    let s = &slots[k.slot as usize];
                    f(&s.member, s.score)
                });
            }
        }
    }

    /// Elements at ranks `start..end`, owned, in the given direction.
    pub fn range(&self, start: usize, end: usize, rev: bool) -> Vec<(Vec<u8>, f64)> {
        let mut out = Vec::with_capacity(end.saturating_sub(start).min(self.len()));
        self.visit(start, end, rev, |m, s| {
            out.push((m.to_vec(), s));
            true
        });
        out
    }

    /// Remove the elements at ascending ranks `start..end`; returns them.
    pub fn remove_range(&mut self, start: usize, end: usize) -> Vec<(Vec<u8>, f64)> {
        let end = end.min(self.len());
        if start >= end {
            return Vec::new();
        }
        match &mut self.repr {
            Repr::Compact(v) => v
                .drain(start..end)
                .map(|(s, m)| (m.as_slice().to_vec(), s))
                .collect(),
            Repr::Full(f) => {
                let f = Arc::make_mut(f);
                (start..end)
                    .map(|_| {
                        let id = f.tree.get(start).slot;
                        let (m, s) = f.remove_id(id, start);
                        (m.as_slice().to_vec(), s)
                    })
                    .collect()
            }
        }
    }

    /// Every (member, score), in no particular order for the big encoding
    /// (its slots in memory order: no tree walk, no random access); what a
    /// snapshot writes, since loading does not depend on the order.
    pub fn iter_unordered(&self) -> impl Iterator<Item = (&[u8], f64)> {
        let (compact, slots): (&[(f64, CompactBytes)], _) = match &self.repr {
            Repr::Compact(v) => (&v[..], None),
            Repr::Full(f) => (&[][..], Some(f.slots.iter())),
        };
        compact.iter().map(|(s, m)| (m.as_slice(), *s)).chain(
            slots
                .into_iter()
                .flatten()
                .map(|s| (s.member.as_slice(), s.score)),
        )
    }

    /// All elements in ascending (score, member) order.
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], f64)> {
        let (compact, full) = match &self.repr {
            Repr::Compact(v) => (Some(v.iter().map(|(s, m)| (m.as_slice(), *s))), None),
            Repr::Full(f) => {
                let slots = &f.slots;
                let it = f.tree.to_vec().into_iter().map(move |k| {
                    let s = &slots[k.slot as usize];
                    (s.member.as_slice(), s.score)
                });
                (None, Some(it))
            }
        };
        compact
            .into_iter()
            .flatten()
            .chain(full.into_iter().flatten())
    }

    /// One ZSCAN step over the full encoding: visits up to `count` slots
    /// below `cursor` (0 starts at the top), returns the next cursor (0
    /// when done). The compact encoding is returned whole (cursor 0), as
    /// Redis returns a listpack.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &self.repr {
            Repr::Compact(v) => {
                v.iter().for_each(|(s, m)| f(m, *s));
                0
            }
            Repr::Full(full) => {
                let len = full.slots.len();
                let top = if cursor == 0 {
                    len
                } else {
                    (cursor.min(len as u64)) as usize
                };
                let bottom = top.saturating_sub(count.max(1));
                for i in (bottom..top).rev() {
                    let s = &full.slots[i];
                    f(&s.member, s.score);
                }
                bottom as u64
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// As `hash::tests::frozen_view_keeps_the_contents_and_shares_no_index`;
    /// the order tree is not shared either.
    #[test]
    fn frozen_view_keeps_the_contents_and_shares_no_index() {
        let mut z = ZSet::new_full();
        for i in 0..5000 {
            z.insert(format!("m{i}").as_bytes(), i as f64);
        }
        let mut before: Vec<(Vec<u8>, u64)> = z
            .iter_unordered()
            .map(|(m, s)| (m.to_vec(), s.to_bits()))
            .collect();
        let view = z.frozen_view().expect("full encoding");
        let Repr::Full(f) = &z.repr else {
            panic!("full")
        };
        assert_eq!(Arc::strong_count(f), 1, "the live set is shared");
        for i in 0..100 {
            assert!(z.remove(format!("m{i}").as_bytes()));
            z.insert(format!("m{}", 100 + i).as_bytes(), -1.0);
            z.insert(format!("new{i}").as_bytes(), 0.5);
        }
        assert_eq!(z.len(), 5000);
        assert_eq!(z.rank(b"new0"), Some(100));
        assert_eq!(view.len(), 5000);
        let mut got: Vec<(Vec<u8>, u64)> = view
            .iter_unordered()
            .map(|(m, s)| (m.to_vec(), s.to_bits()))
            .collect();
        before.sort();
        got.sort();
        assert_eq!(got, before);
        assert!(ZSet::new().frozen_view().is_none());
    }

    /// The model: a Vec sorted by (score, member).
    fn model_sorted(m: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, f64)> {
        let mut v = m.to_vec();
        v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then(a.0.cmp(&b.0)));
        v
    }

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, i8),
        Remove(u8),
        RemoveRange(u8, u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (any::<u8>(), -20i8..20).prop_map(|(m, s)| Op::Add(m, s)),
            2 => any::<u8>().prop_map(Op::Remove),
            1 => (any::<u8>(), 0u8..8).prop_map(|(a, n)| Op::RemoveRange(a, n)),
        ]
    }

    fn member(i: u8) -> Vec<u8> {
        format!("m{i}").into_bytes()
    }

    proptest! {
        #[test]
        fn matches_model(ops in proptest::collection::vec(op(), 1..600), entries in 0usize..40) {
            let lim = Limits { max_entries: entries, max_value: 64 };
            let mut z = ZSet::new();
            let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
            for o in ops {
                match o {
                    Op::Add(m, s) => {
                        let m = member(m);
                        let s = s as f64 / 2.0;
                        let want = match model.iter_mut().find(|e| e.0 == m) {
                            Some(e) if e.1 == s => Added::Unchanged,
                            Some(e) => { e.1 = s; Added::Updated }
                            None => { model.push((m.clone(), s)); Added::New }
                        };
                        prop_assert_eq!(z.add(&m, s, lim), want);
                    }
                    Op::Remove(m) => {
                        let m = member(m);
                        let had = model.iter().position(|e| e.0 == m);
                        if let Some(i) = had { model.remove(i); }
                        prop_assert_eq!(z.remove(&m), had.is_some());
                    }
                    Op::RemoveRange(a, n) => {
                        let sorted = model_sorted(&model);
                        let a = (a as usize).min(sorted.len());
                        let b = (a + n as usize).min(sorted.len());
                        let gone = z.remove_range(a, b);
                        prop_assert_eq!(&gone[..], &sorted[a..b]);
                        model.retain(|e| !gone.iter().any(|g| g.0 == e.0));
                    }
                }
                prop_assert_eq!(z.len(), model.len());
                if z.len() > entries { prop_assert!(!z.is_compact()); }
            }
            let sorted = model_sorted(&model);
            let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            prop_assert_eq!(&got, &sorted);
            for (i, (m, s)) in sorted.iter().enumerate() {
                prop_assert_eq!(z.rank(m), Some(i));
                prop_assert_eq!(z.score(m), Some(*s));
                let (am, as_) = z.at(i);
                prop_assert_eq!((am, as_), (m.as_slice(), *s));
            }
            // Score bounds as ranks.
            for bound in [-5.0, 0.0, 2.5] {
                let n = z.count_while(|s, _| s < bound);
                prop_assert_eq!(n, sorted.iter().filter(|e| e.1 < bound).count());
            }
            let n = sorted.len();
            let rev = z.range(n / 4, n, true);
            let mut want = sorted[n / 4..].to_vec();
            want.reverse();
            prop_assert_eq!(rev, want);
            // A full scan returns every member once.
            let mut seen = Vec::new();
            let mut c = 0;
            loop {
                c = z.scan(c, 3, |m, s| seen.push((m.to_vec(), s)));
                if c == 0 { break; }
            }
            prop_assert_eq!(model_sorted(&seen), sorted);
        }
    }

    #[test]
    fn conversion_thresholds_and_negative_zero() {
        let lim = Limits::default();
        let mut z = ZSet::new();
        z.add(b"a", -0.0, lim);
        assert!(z.score(b"a").unwrap().is_sign_positive());
        for i in 0..127 {
            z.add(format!("m{i}").as_bytes(), i as f64, lim);
        }
        assert_eq!((z.len(), z.encoding()), (128, "listpack"));
        z.add(b"m0", 5.0, lim);
        assert_eq!(z.encoding(), "listpack");
        z.add(b"extra", 1.0, lim);
        assert_eq!(z.encoding(), "skiplist");
        let mut z = ZSet::new();
        z.add(&[b'x'; 65], 1.0, lim);
        assert_eq!(z.encoding(), "skiplist");
        z.add(b"n", -0.0, lim);
        assert!(z.score(b"n").unwrap().is_sign_negative());
        // Equal score (0 vs -0): unchanged.
        assert_eq!(z.add(b"n", 0.0, lim), Added::Unchanged);
    }

    /// Re-scoring in the full encoding, both in place (the rank holds:
    /// first, last, middle, a tie broken by the member) and by moving,
    /// against the sorted model after every step.
    #[test]
    fn rescore_in_place_and_moving() {
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut z = ZSet::new();
        let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
        for i in 0..300u32 {
            let m = member((i % 256) as u8);
            let s = f64::from(i / 256 * 1000 + i % 256 * 10);
            if !model.iter().any(|e| e.0 == m) {
                model.push((m.clone(), s));
                z.add(&m, s, lim);
            }
        }
        assert!(!z.is_compact());
        let steps: &[(u8, f64)] = &[
            (0, -5.0),     // first stays first
            (255, 9999.0), // last stays last
            (100, 1001.0), // 1000 -> 1001: between 990 and 1010
            (100, 1015.0), // past 1010: moves one up
            (7, 2540.0),   // middle to the end: moves
            (9, 80.0),     // ties with m8 (80), after it: "m8" < "m9"
            (9, 80.0),     // unchanged
            (8, 80.5),     // m8 passes m9
            (8, -5.0),     // ties with m0 at the front: "m0" < "m8"
            (0, -0.0),     // m0 moves after m8
        ];
        for &(i, s) in steps {
            let m = member(i);
            let e = model.iter_mut().find(|e| e.0 == m).expect("present");
            let want = if e.1 == s {
                Added::Unchanged
            } else {
                Added::Updated
            };
            e.1 = s;
            assert_eq!(z.add(&m, s, lim), want, "{i} {s}");
            let sorted = model_sorted(&model);
            let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
            assert_eq!(got, sorted, "after {i} -> {s}");
            for (r, (m, _)) in sorted.iter().enumerate().step_by(17) {
                assert_eq!(z.rank(m), Some(r));
            }
            let r = sorted.iter().position(|e| e.0 == member(i)).unwrap();
            assert_eq!(z.rank(&member(i)), Some(r));
        }
    }

    /// Scores that round to the same `f32` (close doubles, huge values
    /// that all become infinity, tiny ones that become 0) are ordered by
    /// the exact score, then the member.
    #[test]
    fn scores_equal_in_f32_order_exactly() {
        let pool = [
            1.0,
            1.0 + 1e-12,
            1.0 + 2e-12,
            1.0 - 1e-12,
            1e300,
            2e300,
            f64::MAX,
            f64::INFINITY,
            -1e300,
            -f64::MAX,
            f64::NEG_INFINITY,
            1e-300,
            -1e-300,
            0.0,
            -0.0,
            1e9 + 0.5,
            1e9 + 1.0,
        ];
        assert_eq!(pool[1] as f32, pool[0] as f32);
        assert_eq!(pool[4] as f32, f32::INFINITY);
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        let mut z = ZSet::new();
        let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for step in 0..3000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let m = member((x % 200) as u8);
            let s = pool[(x >> 20) as usize % pool.len()];
            if (x >> 40).is_multiple_of(5) {
                let had = model.iter().position(|e| e.0 == m);
                if let Some(i) = had {
                    model.remove(i);
                }
                assert_eq!(z.remove(&m), had.is_some());
            } else {
                match model.iter_mut().find(|e| e.0 == m) {
                    // An equal score (0 vs -0 included) changes nothing.
                    Some(e) if e.1 != s => e.1 = s,
                    Some(_) => {}
                    None => model.push((m.clone(), s)),
                }
                z.add(&m, s, lim);
            }
            if step % 97 == 0 || step == 2999 {
                let sorted = model_sorted(&model);
                let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                assert_eq!(got.len(), sorted.len());
                for (g, w) in got.iter().zip(&sorted) {
                    assert_eq!((&g.0, g.1.to_bits()), (&w.0, w.1.to_bits()));
                }
                for (r, (m, _)) in sorted.iter().enumerate() {
                    assert_eq!(z.rank(m), Some(r));
                }
                for b in [1.0, 1.0 + 1e-12, 1e300, f64::INFINITY, 0.0] {
                    let n = z.count_while(|s, _| s < b);
                    assert_eq!(n, sorted.iter().filter(|e| e.1 < b).count());
                }
            }
        }
    }

    #[test]
    fn slots_stay_dense_and_shrink() {
        let mut z = ZSet::new();
        let lim = Limits {
            max_entries: 0,
            max_value: 64,
        };
        for i in 0..1000 {
            z.add(format!("{i}").as_bytes(), i as f64, lim);
        }
        let before = z.heap_size();
        for i in 0..500 {
            assert!(z.remove(format!("{i}").as_bytes()));
        }
        for i in 0..500 {
            z.add(format!("x{i}").as_bytes(), i as f64, lim);
        }
        // The slots are reused, not grown; only the tree may have split
        // leaves in two for the 500 inserts in its middle.
        let tree_slack = 500 * std::mem::size_of::<Key>();
        assert!(
            z.heap_size() <= before + tree_slack + 4096,
            "{} vs {before}",
            z.heap_size()
        );
        assert_eq!(z.len(), 1000);
        let full = z.heap_size();
        for i in 500..1000 {
            assert!(z.remove(format!("{i}").as_bytes()));
        }
        for i in 0..490 {
            assert!(z.remove(format!("x{i}").as_bytes()));
        }
        assert_eq!(z.len(), 10);
        assert!(z.heap_size() * 10 < full, "{} vs {full}", z.heap_size());
        let got: Vec<Vec<u8>> = z.iter().map(|(m, _)| m.to_vec()).collect();
        let want: Vec<Vec<u8>> = (490..500).map(|i| format!("x{i}").into_bytes()).collect();
        assert_eq!(got, want);
    }
}
