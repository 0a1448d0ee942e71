//! `PosIndex`: the hash index behind big hashes, sets and sorted sets.
//! It maps a key to a `u32` position in its owner's dense element vector
//! (positions `0..len`, no holes); the owner supplies the hash and closures
//! that read its elements. Each entry also keeps the top 32 bits of its
//! key's hash (its *tag*), and the hash the table itself files it under
//! is a function of the tag alone (`spread`). So:
//! * moving an entry between tables (a resize) never reads an element:
//!   reading one is a cache miss or two (the chunk, the key's bytes), and
//!   rehashing by reading them was 9-10% of a profile of HSET -P16 growing
//!   one hash to 700k fields;
//! * a probe reads an element only when 32 more bits of hash agree, besides
//!   hashbrown's own 7.
//!
//! The price: an entry costs 8 bytes and a control byte per slot instead
//! of 4 and one. Measured in `used_memory` per element of a 1M-member
//! value, against Redis: hash 60 (48 before) against 72, set 52 (40)
//! against 56, sorted set 69 (57) against 109.
//!
//! Why not a bare `HashTable`: a hash table grows by rehashing every
//! element at once (and rehashes in place when deletions have used up its
//! free slots). While one SADD pipeline grew a set to 3M members, a
//! 1-client probe's worst request was 274 ms (Redis: 18 ms; its dict
//! rehashes incrementally). So, as Redis does, the index resizes
//! *incrementally*: when the table would have to rehash, a new table of
//! the right size becomes `main` and the full one becomes `old`; every
//! later insert or remove first moves up to `STEP` entries from `old` to
//! `main`, in bucket order, until `old` is empty. No operation moves more
//! than `STEP` entries; between resizes lookups cost exactly one table
//! probe (one more, in `old`, while a resize runs and the key is not in
//! `main`). Tables below `INCREMENTAL_FROM` entries resize at once (a few
//! microseconds).
//!
//! The new table of a growth resize is prepared ahead: once `main` is 7/8
//! full, a thread of its own allocates it and touches every page of it
//! (`prefaulted`), and the resize takes it if it is ready. Allocated under
//! the lock, its pages were first touched by the resize's random inserts,
//! several fresh huge pages per command: with the log off, a 1-client
//! probe's worst request while a set grew to 3M members was 39-42 ms, and
//! 13-19 ms with the table prepared ahead.
//!
//! (Splitting the index into many small tables instead bounds the rehash
//! too, but measured 25-50% slower lookups and inserts on a 1M-member set
//! in `benches/collections.rs`.)
//!
//! Invariants, while a resize runs (`old` is `Some`):
//! * every position is in exactly one of `main` and `old.table`;
//! * `old.table` holds no entry in a bucket below `old.cursor`, and takes
//!   no inserts (removals and repoints only, which move no other entry),
//!   so once the cursor passes its last bucket it is empty;
//! * `main` was sized for at least twice the entries there were when the
//!   resize began; each insert or remove moves `STEP` entries or scans
//!   `SCAN` buckets, so the resize ends within `entries / STEP + buckets /
//!   SCAN` inserts (under a tenth of the entries, for a growth at 7/8 full
//!   or a shrink at 1/4), fewer than `main`'s free slots: `main` never needs
//!   to grow (rehash) during it.

use hashbrown::HashTable;
use parking_lot::Mutex;
use std::sync::Arc;

/// Entries moved from `old` to `main` per insert or remove, at most. A
/// move reads no element (two cache misses, in `main`), so a step costs a
/// few microseconds; a bigger step ends the resize sooner, and with it
/// the second probe of inserts and the old table's memory.
const STEP: u32 = 32;

/// Buckets of `old` scanned per insert or remove, at most (a shrink's old
/// table is mostly empty).
const SCAN: usize = 4 * STEP as usize;

/// Tables with fewer entries resize at once.
const INCREMENTAL_FROM: usize = 4096;

/// One entry: a position and its key's tag.
#[derive(Clone, Copy)]
struct Slot {
    pos: u32,
    tag: u32,
}

/// The tag of a key hash: its top 32 bits.
#[inline(always)]
fn tag(h: u64) -> u32 {
    (h >> 32) as u32
}

/// The hash the table files an entry under: a function of the tag alone,
/// so a resize can recompute it from the slot. The multiplication makes
/// the top 7 bits (hashbrown's control byte) depend on every bit of the
/// tag; the low bits (the bucket) are the tag's own low bits, permuted.
#[inline(always)]
fn spread(tag: u32) -> u64 {
    u64::from(tag).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// A key hash's tag and the table hash it is filed under.
#[inline(always)]
fn filed(h: u64) -> (u32, u64) {
    let t = tag(h);
    (t, spread(t))
}

#[inline(always)]
fn rehash(s: &Slot) -> u64 {
    spread(s.tag)
}

#[derive(Clone)]
struct Resize {
    table: HashTable<Slot>,
    /// Buckets below it hold nothing.
    cursor: usize,
}

/// A table for the next growth, allocated and faulted in on a thread of
/// its own (`prefaulted`), with the capacity it was asked for.
type Ahead = (usize, Arc<Mutex<Option<HashTable<Slot>>>>);

#[derive(Default)]
pub struct PosIndex {
    main: HashTable<Slot>,
    /// `main`'s capacity when it was allocated (7/8 of its buckets).
    /// `HashTable::capacity` is entries plus free slots, and a removal that
    /// leaves a tombstone lowers it: it does not tell how big the table is.
    main_cap: usize,
    old: Option<Box<Resize>>,
    /// Asked for once `main` is 7/8 full; taken by the growth resize if it
    /// is ready by then.
    ahead: Option<Ahead>,
}

impl Clone for PosIndex {
    fn clone(&self) -> Self {
        PosIndex {
            main: self.main.clone(),
            main_cap: self.main_cap,
            old: self.old.clone(),
            ahead: None,
        }
    }
}

/// A table of capacity `cap` whose memory is resident: filled once and
/// emptied. The first touch of fresh memory is what costs (measured: 47-84
/// ms per 64 MB on the test VM, a huge page zeroed at each first touch);
/// done under the lock by the random inserts of a resize, it stalled a
/// command for up to 25 ms.
fn prefaulted(cap: usize) -> HashTable<Slot> {
    let mut t = HashTable::with_capacity(cap);
    let n = t.capacity() as u32;
    for i in 0..n {
        let s = Slot { pos: 0, tag: i };
        t.insert_unique(rehash(&s), s, |_| unreachable!("sized"));
    }
    t.clear();
    t
}

impl PosIndex {
    /// Entries (= the owner's positions).
    pub fn len(&self) -> usize {
        self.main.len() + self.old.as_ref().map_or(0, |o| o.table.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The position `eq` accepts among those hashed `h`.
    #[inline(always)]
    pub fn find(&self, h: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        let (t, th) = filed(h);
        let mut hit = |s: &Slot| s.tag == t && eq(s.pos);
        if let Some(s) = self.main.find(th, &mut hit) {
            return Some(s.pos);
        }
        match &self.old {
            None => None,
            Some(o) => o.table.find(th, hit).map(|s| s.pos),
        }
    }

    /// Change the entry of position `from` (hashed `h`) to `to`. Panics if
    /// `from` is not indexed under `h`.
    fn repoint(&mut self, h: u64, from: u32, to: u32) {
        let (_, th) = filed(h);
        if let Some(s) = self.main.find_mut(th, |s| s.pos == from) {
            s.pos = to;
            return;
        }
        let o = self.old.as_mut().expect("position indexed");
        let s = o
            .table
            .find_mut(th, |s| s.pos == from)
            .unwrap_or_else(|| panic!("position {from} indexed"));
        s.pos = to;
    }

    /// Add `pos`, whose key (hashed `h`) is not in the index.
    pub fn insert_unique(&mut self, h: u64, pos: u32) {
        self.before_insert();
        let s = Slot { pos, tag: tag(h) };
        self.main.insert_unique(rehash(&s), s, rehash);
    }

    /// The position `eq` accepts among those hashed `h`, or else add
    /// `new_pos` for it. `Ok(existing)` or `Err(new_pos)`.
    pub fn find_or_insert(
        &mut self,
        h: u64,
        mut eq: impl FnMut(u32) -> bool,
        new_pos: u32,
    ) -> Result<u32, u32> {
        if self.old.is_none() && self.main.len() < self.main.capacity() {
            // The common case: one probe, and the insert cannot rehash.
            let (t, th) = filed(h);
            match self.main.entry(th, |s| s.tag == t && eq(s.pos), rehash) {
                hashbrown::hash_table::Entry::Occupied(e) => return Ok(e.get().pos),
                hashbrown::hash_table::Entry::Vacant(v) => {
                    v.insert(Slot {
                        pos: new_pos,
                        tag: t,
                    });
                }
            }
            self.think_ahead();
            return Err(new_pos);
        }
        if let Some(p) = self.find(h, &mut eq) {
            return Ok(p);
        }
        self.insert_unique(h, new_pos);
        Err(new_pos)
    }

    /// Remove and return the position `eq` accepts among those hashed `h`,
    /// and index the last position under it instead: the owner then moves
    /// its last element into the hole (`swap_remove`). `hash` gives the
    /// hash of any position in the index, as the owner's elements stand
    /// before that move (it is asked for the last one's only).
    pub fn remove(
        &mut self,
        h: u64,
        mut eq: impl FnMut(u32) -> bool,
        hash: impl Fn(u32) -> u64,
    ) -> Option<u32> {
        self.step();
        // Give memory back once the table is mostly empty.
        let n = self.len().saturating_sub(1);
        if self.old.is_none() && self.main_cap > 64 && n * 4 <= self.main_cap {
            self.resize_to(n * 2);
        }
        let (t, th) = filed(h);
        let mut hit = |s: &Slot| s.tag == t && eq(s.pos);
        let pos = match self.main.find_entry(th, &mut hit) {
            Ok(e) => e.remove().0.pos,
            Err(_) => {
                let o = self.old.as_mut()?;
                o.table.find_entry(th, hit).ok()?.remove().0.pos
            }
        };
        let last = self.len() as u32;
        if pos != last {
            self.repoint(hash(last), last, pos);
        }
        Some(pos)
    }

    /// Make room for `n` more entries at once (loaders and conversions,
    /// which fill a new value: nothing waits on it yet).
    pub fn reserve(&mut self, n: usize) {
        self.finish();
        self.main.reserve(n, rehash);
        self.main_cap = self.main_cap.max(self.main.capacity());
    }

    /// Called before every insert into `main`: move up to `STEP` entries
    /// if a resize runs; start one if `main` has no free slot left.
    fn before_insert(&mut self) {
        self.step();
        self.think_ahead();
        if self.main.len() < self.main.capacity() {
            return;
        }
        // A resize never lets `main` fill up (see the invariants); if one
        // did, hashbrown's own growth below would still be correct.
        debug_assert!(self.old.is_none(), "main filled up during a resize");
        let n = self.main.len();
        if n < INCREMENTAL_FROM || self.old.is_some() {
            self.main.reserve(1, rehash);
            self.main_cap = self.main.capacity();
        } else {
            let ready = self
                .ahead
                .take()
                .filter(|(cap, _)| (2 * n..=4 * n).contains(cap))
                .and_then(|(_, slot)| slot.lock().take());
            match ready {
                Some(t) => self.resize_into(t),
                None => self.resize_to(2 * n),
            }
        }
    }

    /// Once `main` is 7/8 full (and big), ask for the next table on a
    /// thread of its own, so that it is resident when `main` fills up.
    fn think_ahead(&mut self) {
        let n = self.main.len();
        if self.ahead.is_some()
            || self.old.is_some()
            || n < INCREMENTAL_FROM
            || self.main.capacity() - n > self.main_cap / 8
        {
            return;
        }
        let cap = 2 * self.main_cap;
        let slot = Arc::new(Mutex::new(None));
        let fill = slot.clone();
        let spawned = std::thread::Builder::new()
            .name("cairn-prefault".into())
            .spawn(move || {
                let t = prefaulted(cap);
                *fill.lock() = Some(t);
            });
        if spawned.is_ok() {
            self.ahead = Some((cap, slot));
        }
    }

    /// Start moving every entry into a new table sized for `cap` entries
    /// (at once for small tables).
    fn resize_to(&mut self, cap: usize) {
        let n = self.main.len();
        self.resize_into(HashTable::with_capacity(cap.max(n * 2)));
    }

    /// `resize_to` with the new (empty) table given.
    fn resize_into(&mut self, new: HashTable<Slot>) {
        debug_assert!(self.old.is_none() && new.is_empty());
        let n = self.main.len();
        debug_assert!(new.capacity() >= 2 * n);
        // A table prepared for a growth this resize is not (a shrink, or a
        // growth that did not wait for it) would only hold memory.
        self.ahead = None;
        self.main_cap = new.capacity();
        let table = std::mem::replace(&mut self.main, new);
        self.old = Some(Box::new(Resize { table, cursor: 0 }));
        if n < INCREMENTAL_FROM {
            self.finish();
        }
    }

    /// Move the entries of `old`'s next buckets to `main`: `STEP` of them,
    /// or as many as the next `SCAN` buckets hold.
    fn step(&mut self) {
        let Some(o) = self.old.as_mut() else { return };
        let buckets = o.table.num_buckets();
        let stop = buckets.min(o.cursor + SCAN);
        let mut moved = 0;
        while o.cursor < stop && moved < STEP {
            if let Ok(e) = o.table.get_bucket_entry(o.cursor) {
                let (s, _) = e.remove();
                self.main
                    .insert_unique(rehash(&s), s, |_| unreachable!("sized"));
                moved += 1;
            }
            o.cursor += 1;
        }
        if o.cursor >= buckets || o.table.is_empty() {
            debug_assert!(o.table.is_empty(), "entries left behind the cursor");
            self.old = None;
        }
    }

    /// Complete a running resize.
    fn finish(&mut self) {
        while self.old.is_some() {
            self.step();
        }
    }

    /// Bytes the index owns: 8 bytes and a control byte per slot.
    pub fn heap_size(&self) -> usize {
        let slot = std::mem::size_of::<Slot>() + 1;
        self.main_cap * slot
            + self.old.as_ref().map_or(0, |o| {
                std::mem::size_of::<Resize>() + o.table.capacity() * slot
            })
    }

    /// Assert the invariants: every position `0..len` is indexed exactly
    /// once, under its hash's tag, and `old` holds nothing below its
    /// cursor.
    #[cfg(test)]
    pub fn check(&self, hash: impl Fn(u32) -> u64) {
        let n = self.len() as u32;
        for p in 0..n {
            let (t, th) = filed(hash(p));
            let is = |s: &Slot| s.pos == p && s.tag == t;
            let in_main = self.main.find(th, is).is_some();
            let in_old = self
                .old
                .as_ref()
                .is_some_and(|o| o.table.find(th, is).is_some());
            assert!(
                in_main != in_old,
                "position {p}: main {in_main} old {in_old}"
            );
        }
        if let Some(o) = &self.old {
            for b in 0..o.cursor {
                assert!(
                    o.table.get_bucket(b).is_none(),
                    "bucket {b} below the cursor"
                );
            }
            assert!(
                self.main.capacity() - self.main.len() >= o.table.len(),
                "main cannot take the rest"
            );
        }
    }

    #[cfg(test)]
    fn resizing(&self) -> bool {
        self.old.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    fn h(k: u64) -> u64 {
        use std::hash::BuildHasher;
        foldhash::fast::FixedState::with_seed(7).hash_one(k)
    }

    /// An owner as `Indexed` is: keys at positions of a dense vector;
    /// removal moves the last key into the hole.
    #[derive(Clone, Default)]
    struct Owner {
        keys: Vec<u64>,
        idx: PosIndex,
    }

    impl Owner {
        fn find(&self, k: u64) -> Option<u32> {
            let keys = &self.keys;
            self.idx.find(h(k), |p| keys[p as usize] == k)
        }
        fn add(&mut self, k: u64) -> bool {
            let keys = &self.keys;
            let pos = keys.len() as u32;
            let r = self
                .idx
                .find_or_insert(h(k), |p| keys[p as usize] == k, pos);
            if r.is_err() {
                self.keys.push(k);
            }
            r.is_err()
        }
        fn del(&mut self, k: u64) -> bool {
            let keys = &self.keys;
            let Some(pos) =
                self.idx
                    .remove(h(k), |p| keys[p as usize] == k, |p| h(keys[p as usize]))
            else {
                return false;
            };
            self.keys.swap_remove(pos as usize);
            true
        }
        /// Add keys `*k`, `*k + 1`, ... while `more` says so.
        fn add_while(&mut self, k: &mut u64, more: impl Fn(&PosIndex) -> bool) {
            while more(&self.idx) {
                self.add(*k);
                *k += 1;
            }
        }
        /// Keys 0, 1, ... added until the index starts an incremental
        /// resize; returns the next key.
        fn until_a_resize_starts() -> (Owner, u64) {
            let (mut o, mut k) = (Owner::default(), 0);
            o.add_while(&mut k, |i| !i.resizing());
            (o, k)
        }
        fn check(&self) {
            let keys = &self.keys;
            assert_eq!(self.idx.len(), keys.len());
            self.idx.check(|p| h(keys[p as usize]));
            for (i, &k) in keys.iter().enumerate() {
                assert_eq!(self.find(k), Some(i as u32));
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        /// Random adds and removes over key ranges that grow the index
        /// past several incremental resizes and shrink it back match a
        /// HashMap; the invariants hold at points in the middle of
        /// resizes, and a clone taken along the way keeps answering as it
        /// did.
        #[test]
        fn matches_a_model_and_clones_stay_frozen(
            ops in proptest::collection::vec((0u8..10, 0u64..20_000), 1..40_000),
            grow_until in 0usize..40_000,
        ) {
            let mut o = Owner::default();
            let mut model: HashMap<u64, ()> = HashMap::new();
            let mut frozen: Option<(Owner, usize)> = None;
            for (i, (op, k)) in ops.into_iter().enumerate() {
                // Mostly adds first, mostly removes after `grow_until`
                // (down to about a tenth of the key range: small enough
                // for the at-once shrink).
                let add = if i < grow_until { op < 8 } else { op < 1 };
                if add {
                    prop_assert_eq!(o.add(k), model.insert(k, ()).is_none());
                } else {
                    prop_assert_eq!(o.del(k), model.remove(&k).is_some());
                }
                if o.idx.resizing() && i % 1009 == 0 {
                    o.check();
                }
                if i % 7919 == 0 {
                    frozen = Some((o.clone(), o.keys.len()));
                }
            }
            o.check();
            prop_assert_eq!(o.keys.len(), model.len());
            if let Some((f, n)) = frozen {
                prop_assert_eq!(f.keys.len(), n);
                f.check();
            }
        }
    }

    #[test]
    fn growing_resizes_incrementally_and_every_state_is_consistent() {
        let mut o = Owner::default();
        let mut resizes = 0;
        let mut checked = 0;
        for k in 0..100_000u64 {
            let was = o.idx.resizing();
            o.add(k);
            if o.idx.resizing() && !was {
                resizes += 1;
            }
            // Check a few states in the middle of resizes (the full check
            // is O(n)).
            if o.idx.resizing() && k % 101 == 0 {
                o.check();
                checked += 1;
            }
        }
        o.check();
        assert!(resizes >= 4, "{resizes} incremental resizes");
        assert!(checked >= 10, "{checked} states checked mid-resize");
        // Removing most of it shrinks the table, incrementally too.
        let grown = o.idx.heap_size();
        // In an order unrelated to the positions (7919 is coprime with
        // 100_000), so the removed key is rarely the last one.
        for i in 0..99_000u64 {
            assert!(o.del(i * 7919 % 100_000));
            if o.idx.resizing() && i % 101 == 0 {
                o.check();
            }
        }
        o.check();
        assert!(
            o.idx.heap_size() * 20 < grown,
            "{} of {grown} bytes",
            o.idx.heap_size()
        );
    }

    #[test]
    fn a_removal_during_a_resize_repoints_an_entry_old_holds() {
        let (mut o, mut k) = Owner::until_a_resize_starts();
        // The add that started the resize put the last position in `main`;
        // remove it, so that the last position is one `old` holds (the
        // resize has moved at most a step).
        assert!(o.del(k - 1));
        let last = (o.keys.len() - 1) as u32;
        let (_, th) = filed(h(o.keys[last as usize]));
        let old = &o.idx.old.as_ref().unwrap().table;
        assert!(old.find(th, |s| s.pos == last).is_some());
        // Removing another key moves the last one into its hole.
        assert!(o.del(o.keys[2]));
        o.check();
        // And the resize still completes with every key in place.
        o.add_while(&mut k, PosIndex::resizing);
        o.check();
    }

    /// Keys whose hashes share their top 32 bits (the tag) share the
    /// table's hash too: the element compare still tells them apart.
    #[test]
    fn keys_with_one_tag_are_told_apart() {
        let mut idx = PosIndex::default();
        let keys: Vec<u64> = (0..5000u64).map(|i| (7 << 32) | i).collect();
        for (p, &k) in keys.iter().enumerate() {
            let r = idx.find_or_insert(k, |q| keys[q as usize] == k, p as u32);
            assert_eq!(r, Err(p as u32));
        }
        for (p, &k) in keys.iter().enumerate() {
            assert_eq!(idx.find(k, |q| keys[q as usize] == k), Some(p as u32));
        }
        idx.check(|p| keys[p as usize]);
    }

    /// The bound that matters to latency: past `INCREMENTAL_FROM`, no
    /// insert or remove touches more than `STEP` entries besides its own,
    /// and `main` is never rehashed in place or regrown by hashbrown
    /// (its capacity changes only when a resize starts with a new table).
    #[test]
    fn no_change_moves_more_than_a_step() {
        let mut o = Owner::default();
        let mut resizes = 0;
        let (mut len, mut cap, mut cursor) = (0usize, 0usize, None::<usize>);
        let mut track = |o: &Owner, resizes: &mut usize| {
            let (l, c) = (o.idx.main.len(), o.idx.main_cap);
            let now = o.idx.old.as_ref().map(|r| r.cursor);
            // A resize started (with a new table, perhaps of the same
            // size, to clear tombstones) if its cursor is new.
            let started = now.is_some_and(|n| cursor.is_none_or(|was| n < was));
            if o.keys.len() > INCREMENTAL_FROM {
                if started {
                    assert!(l <= STEP as usize + 1, "{l} entries moved at once");
                    *resizes += 1;
                } else {
                    assert_eq!(c, cap, "main regrown outside a resize");
                    assert!(l.abs_diff(len) <= STEP as usize + 1, "{len} -> {l}");
                }
                assert!(o.idx.main.capacity() <= o.idx.main_cap);
            }
            (len, cap, cursor) = (l, c, now);
        };
        for k in 0..60_000u64 {
            o.add(k);
            track(&o, &mut resizes);
        }
        for i in 0..55_000u64 {
            o.del(i * 7919 % 60_000);
            track(&o, &mut resizes);
        }
        o.check();
        assert!(resizes >= 5, "{resizes} resizes seen");
    }

    /// Past 7/8 of a big table, the next table is prepared on another
    /// thread and the growth resize takes it over (empty, of the asked
    /// capacity); the index stays consistent through it.
    #[test]
    fn the_growth_resize_takes_the_table_prepared_ahead() {
        let (mut o, mut k) = (Owner::default(), 0);
        o.add_while(&mut k, |i| i.ahead.is_none());
        assert!(o.keys.len() >= INCREMENTAL_FROM);
        let (cap, slot) = o.idx.ahead.clone().unwrap();
        // Wait for the preparing thread (it has no deadline to meet here).
        while slot.lock().is_none() {
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
        o.add_while(&mut k, |i| !i.resizing());
        assert!(slot.lock().is_none(), "the prepared table was not taken");
        assert!(o.idx.ahead.is_none());
        assert_eq!(o.idx.main_cap, cap);
        o.check();
        o.add_while(&mut k, PosIndex::resizing);
        o.check();
    }

    #[test]
    fn reserve_finishes_a_resize_then_sizes_at_once() {
        let (mut o, _) = Owner::until_a_resize_starts();
        o.idx.reserve(100_000);
        assert!(!o.idx.resizing());
        o.check();
    }
}
