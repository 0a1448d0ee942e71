//! The per-database hash table: extendible hashing over small segments.
//!
//! A directory of `2^gd` slots maps the top `gd` bits of a key's 64-bit hash
//! to a segment; a segment with local depth `ld` owns every hash whose top
//! `ld` bits equal its prefix, i.e. one contiguous range of hash space. Each
//! segment holds at most `SEG_MAX` entries; a full segment splits in two
//! (O(segment), never O(table)), so growth never stalls the server the way
//! a whole-table rehash would.
//!
//! A segment keeps its entries dense in a `Vec` and indexes them with a
//! `hashbrown::HashTable` of 4-byte positions. A hash table's load factor
//! swings between 7/16 and 7/8 as it doubles, and with a uniform hash every
//! segment doubles at about the same key count; with entries (72 bytes)
//! stored in the table's slots, a table just past such a wave wasted about
//! 80 bytes per key (measured: 221 bytes of `used_memory` per 64-byte SET
//! at 2M keys, against 155 at 1.73M). An empty index slot costs 5 bytes.
//!
//! Why segments (see ARCHITECTURE.md):
//! * SCAN: a cursor is a position in hash space. Splits only cut ranges in
//!   two, so a key present for the whole scan is returned at least once
//!   whatever happens between calls.
//! * Snapshots (`cow.rs`): the snapshot thread serializes a segment at a
//!   time; a writer touching an entry of a segment the snapshot has not
//!   reached yet serializes that one entry first (copy-on-write per entry,
//!   stamped in `Entry::snap`).
//! * Active expiry walks segments that hold volatile keys.
//!
//! Invariants:
//! * `dir.len() == 1 << gd`; for each segment `s`, `s.ld <= gd` and exactly
//!   the `2^(gd - s.ld)` directory slots sharing its prefix point at it.
//! * `len` is the sum of the segment lengths.
//! * The hash given to hashbrown is the key hash rotated by 32 bits, so its
//!   low bits (bucket) and top 7 bits (tag) are independent of the
//!   directory bits, which are equal for every key of a segment.

use super::cow::CowShared;
use super::entry::Entry;
use hashbrown::HashTable;
use std::hash::BuildHasher;
use std::sync::Arc;

/// Entries per segment before it splits.
pub const SEG_MAX: usize = 896;
/// Directory depth limit (16M slots); past it segments grow instead.
const MAX_DEPTH: u32 = 24;

#[derive(Clone, Default)]
pub struct Segment {
    ld: u32,
    /// Positions in `entries`, hashed by their keys (`inner` of the hash).
    index: HashTable<Pos>,
    /// The entries, in no particular order. Invariant: the index holds
    /// each position `0..entries.len()` exactly once, under its entry's
    /// key hash.
    entries: Vec<Entry>,
    /// Entries with an expire time (for active expiry).
    pub(crate) volatile: u32,
    /// Epoch of the last snapshot that serialized this segment (see
    /// `keyspace/cow.rs`): below the running snapshot's epoch means the
    /// segment still holds its contents at the cut, not yet written out.
    pub(crate) snap_epoch: u64,
}

/// An entry's position in its segment.
type Pos = u32;

/// One half of a table being loaded by two threads (`Table::load_halves`).
/// Invariant: `segs` are the table's segments `base..base + segs.len()`,
/// each of local depth `gd`, and the directory is the identity, so a hash
/// `h` of this half belongs to `segs[(h >> (64 - gd)) - base]`.
pub struct LoadHalf<'a> {
    segs: &'a mut [Segment],
    base: usize,
    gd: u32,
    hasher: &'a foldhash::fast::RandomState,
    /// Entries inserted with an expire time (for the database's `expires`).
    pub volatile: usize,
}

/// Why `LoadHalf::insert` gave an entry back.
pub enum NotLoaded {
    /// Its key is already present.
    Duplicate(Entry),
    /// Its hash is not this half's, or its segment is full (a split needs
    /// the whole table): insert it through `Table` afterwards.
    Elsewhere(Entry),
}

impl LoadHalf<'_> {
    /// `Table::insert_if_absent_hashed` within this half.
    pub fn insert(&mut self, h: u64, entry: Entry) -> Result<(), NotLoaded> {
        let Some(s) = ((h >> (64 - self.gd)) as usize).checked_sub(self.base) else {
            return Err(NotLoaded::Elsewhere(entry));
        };
        let hasher = self.hasher;
        let Some(seg) = self.segs.get_mut(s) else {
            return Err(NotLoaded::Elsewhere(entry));
        };
        if seg.len() >= SEG_MAX {
            return Err(NotLoaded::Elsewhere(entry));
        }
        let volatile = entry.expire_at != 0;
        seg.push_if_absent(h, entry, hasher)
            .map_err(NotLoaded::Duplicate)?;
        if volatile {
            seg.volatile += 1;
            self.volatile += 1;
        }
        Ok(())
    }
}

impl Segment {
    fn with_capacity(ld: u32, n: usize) -> Segment {
        Segment {
            ld,
            index: HashTable::with_capacity(n),
            entries: Vec::with_capacity(n),
            volatile: 0,
            snap_epoch: 0,
        }
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.entries.iter()
    }

    /// Position of the entry with `key` (hash `h`).
    #[inline]
    fn find(&self, h: u64, key: &[u8]) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(inner(h), |&i| entries[i as usize].key.as_slice() == key)
            .map(|&i| i as usize)
    }

    /// Room for one more entry: the vector grows by a quarter, not by
    /// doubling, so at most about a fifth of it is spare.
    #[inline]
    fn reserve_one(&mut self) {
        if self.entries.len() == self.entries.capacity() {
            self.entries.reserve_exact((self.entries.len() / 4).max(8));
        }
    }

    /// Append `e` (key hash `h`), whose key is not present.
    fn push(&mut self, h: u64, e: Entry, hasher: &foldhash::fast::RandomState) {
        self.reserve_one();
        let pos = self.entries.len() as Pos;
        self.entries.push(e);
        let entries = &self.entries;
        self.index.insert_unique(inner(h), pos, |&i| {
            inner(hasher.hash_one(entries[i as usize].key.as_slice()))
        });
    }

    /// Append `e` (key hash `h`) unless its key is present: one probe
    /// finds its place or the entry already there (then `e` comes back).
    fn push_if_absent(
        &mut self,
        h: u64,
        e: Entry,
        hasher: &foldhash::fast::RandomState,
    ) -> Result<(), Entry> {
        self.reserve_one();
        let pos = self.entries.len() as Pos;
        let entries = &self.entries;
        match self.index.entry(
            inner(h),
            |&i| entries[i as usize].key.as_slice() == e.key.as_slice(),
            |&i| inner(hasher.hash_one(entries[i as usize].key.as_slice())),
        ) {
            hashbrown::hash_table::Entry::Occupied(_) => return Err(e),
            hashbrown::hash_table::Entry::Vacant(v) => {
                v.insert(pos);
            }
        }
        self.entries.push(e);
        Ok(())
    }

    /// Remove the entry at `pos`, whose key hashes to `h`: its position
    /// leaves the index and the last entry moves into its place.
    fn remove_at(&mut self, pos: usize, h: u64, hasher: &foldhash::fast::RandomState) -> Entry {
        if let Ok(o) = self.index.find_entry(inner(h), |&i| i as usize == pos) {
            o.remove();
        } else {
            debug_assert!(false, "entry {pos} not indexed");
        }
        self.swap_out(pos, hasher)
    }

    /// Take out the entry at `pos`, whose position already left the index:
    /// the last entry moves into its place and its position follows.
    fn swap_out(&mut self, pos: usize, hasher: &foldhash::fast::RandomState) -> Entry {
        let last = self.entries.len() - 1;
        if pos != last {
            let lh = hasher.hash_one(self.entries[last].key.as_slice());
            if let Some(slot) = self.index.find_mut(inner(lh), |&i| i as usize == last) {
                *slot = pos as Pos;
            } else {
                debug_assert!(false, "entry {last} not indexed");
            }
        }
        self.entries.swap_remove(pos)
    }
}

/// How many entries ahead the snapshot walk prefetches values
/// (`serialize_segment`).
const PREFETCH_AHEAD: usize = 8;

pub struct Table {
    dir: Vec<u32>,
    segs: Vec<Segment>,
    gd: u32,
    len: usize,
    hasher: foldhash::fast::RandomState,
    /// The running snapshot this table belongs to (set at the cut, cleared
    /// when every segment is serialized), and the table's database at the
    /// cut. `None`: no hook, mutations go straight through.
    pub(crate) cow: Option<(Arc<CowShared>, u32)>,
    /// Next segment the snapshot thread serializes.
    pub(crate) cow_cursor: usize,
}

impl Default for Table {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn inner(h: u64) -> u64 {
    h.rotate_left(32)
}

/// The copy-on-write hook, called before any change to entry `e` (a write,
/// a removal, an expiry) of a segment whose `snap_epoch` is `seg_epoch`,
/// while snapshot `c` runs: if the snapshot has not got the entry yet (its
/// segment not reached, the entry not stamped), serialize it now, as it
/// was at the cut. The only ways to change an entry (`get_mut_hashed`,
/// `remove_hashed`, `retain_segment`) call this first; `insert_new_hashed`
/// stamps new entries so the snapshot skips them.
#[inline]
fn before_write(c: &CowShared, db: u32, seg_epoch: u64, e: &mut Entry) {
    if seg_epoch < c.epoch && e.snap != c.epoch as u32 {
        c.save_entry(db, e);
        e.snap = c.epoch as u32;
    }
}

impl Table {
    pub fn new() -> Self {
        Table {
            dir: vec![0],
            segs: vec![Segment::default()],
            gd: 0,
            len: 0,
            hasher: foldhash::fast::RandomState::default(),
            cow: None,
            cow_cursor: 0,
        }
    }

    #[inline]
    pub fn hash(&self, key: &[u8]) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The table's hash function (`hash`), for computing hashes on other
    /// threads (snapshot loading).
    pub fn hash_builder(&self) -> foldhash::fast::RandomState {
        self.hasher.clone()
    }

    /// Size an empty table for about `n` entries (a snapshot load knows its
    /// key count): the directory and the segments are made at their final
    /// depth at once, so loading never splits a segment or regrows one.
    /// The invariants are those of a table grown by splits: 2^gd segments,
    /// each of local depth gd, slot i pointing at segment i. A table that
    /// is not empty (or is attached to a snapshot) is left as it is.
    pub fn reserve_empty(&mut self, n: usize) {
        /// Entries per segment aimed at: room for the spread of a uniform
        /// hash below `SEG_MAX`.
        const FILL: usize = SEG_MAX * 5 / 7;
        if self.len != 0 || self.segs.len() != 1 || self.cow.is_some() || n <= FILL {
            return;
        }
        let mut gd = 0u32;
        while (n >> gd) > FILL && gd < MAX_DEPTH {
            gd += 1;
        }
        let per = n >> gd;
        let cap = (per + per / 8 + 32).min(SEG_MAX);
        self.dir = (0..1u32 << gd).collect();
        let make = |k: usize| -> Vec<Segment> {
            (0..k).map(|_| Segment::with_capacity(gd, cap)).collect()
        };
        let nseg = 1usize << gd;
        let threads = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        // Fresh memory costs a page fault and the kernel zeroing it, which
        // dominates sizing a big table: fault it in on every core.
        self.segs = if threads > 1 && nseg >= 256 {
            let per = nseg.div_ceil(threads);
            std::thread::scope(|sc| {
                let hs: Vec<_> = (0..nseg)
                    .step_by(per)
                    .map(|from| {
                        let k = per.min(nseg - from);
                        sc.spawn(move || make(k))
                    })
                    .collect();
                hs.into_iter()
                    .flat_map(|h| h.join().expect("table sizing thread"))
                    .collect()
            })
        } else {
            make(nseg)
        };
        self.gd = gd;
        self.cow_cursor = 0;
    }

    #[inline]
    fn seg_of(&self, h: u64) -> usize {
        if self.gd == 0 {
            self.dir[0] as usize
        } else {
            self.dir[(h >> (64 - self.gd)) as usize] as usize
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn segments(&self) -> &[Segment] {
        &self.segs
    }

    /// Bytes of entry slots allocated but empty (each segment's vector
    /// and index past its entries): room new keys take without
    /// allocating. Segments never shrink, so a key deleted leaves its slot
    /// here; eviction counts these bytes as free (`server::evict`).
    /// O(segments): at most 896 entries each.
    pub fn slack_bytes(&self) -> usize {
        self.segs
            .iter()
            .map(|s| {
                (s.entries.capacity() - s.entries.len()) * std::mem::size_of::<Entry>()
                    + s.index.capacity().saturating_sub(s.entries.len())
                        * (std::mem::size_of::<Pos>() + 1)
            })
            .sum()
    }

    #[inline]
    pub fn get(&self, key: &[u8]) -> Option<&Entry> {
        self.get_hashed(self.hash(key), key)
    }

    /// `get` with the key's hash already computed (`Table::hash`).
    #[inline]
    pub fn get_hashed(&self, h: u64, key: &[u8]) -> Option<&Entry> {
        let seg = &self.segs[self.seg_of(h)];
        seg.find(h, key).map(|i| &seg.entries[i])
    }

    /// Start loading what a lookup of hash `h` will read (the index's
    /// group and first candidate slot, then that candidate's entry), so
    /// that a later `get_hashed` finds it in cache. Reads nothing it
    /// returns; a wrong candidate only wastes the prefetch.
    #[inline]
    pub fn prefetch_hashed(&self, h: u64) {
        let seg = &self.segs[self.seg_of(h)];
        if let Some(&pos) = seg.index.iter_hash(inner(h)).next()
            && let Some(e) = seg.entries.get(pos as usize)
        {
            crate::util::prefetch(e as *const Entry);
        }
    }

    #[inline]
    pub fn get_mut_hashed(&mut self, h: u64, key: &[u8]) -> Option<(&mut Entry, usize)> {
        let s = self.seg_of(h);
        let seg = &mut self.segs[s];
        let i = seg.find(h, key)?;
        let e = &mut seg.entries[i];
        if let Some((c, db)) = &self.cow {
            before_write(c, *db, seg.snap_epoch, e);
        }
        Some((e, s))
    }

    /// A read's lookup: sets the entry's access clock to `touch(old)`
    /// and returns it shared. No copy-on-write hook: the access clock is
    /// not part of a snapshot's image, and nothing else changes.
    #[inline]
    pub fn get_touch_hashed(
        &mut self,
        h: u64,
        key: &[u8],
        touch: impl FnOnce(u32) -> u32,
    ) -> Option<&Entry> {
        let s = self.seg_of(h);
        let seg = &mut self.segs[s];
        let i = seg.find(h, key)?;
        let e = &mut seg.entries[i];
        e.lru = touch(e.lru);
        Some(e)
    }

    pub fn volatile_adjust(&mut self, seg: usize, delta: i32) {
        let v = &mut self.segs[seg].volatile;
        *v = (*v as i64 + delta as i64).max(0) as u32;
    }

    /// Insert an entry whose key is not present. Returns its segment index.
    pub fn insert_new(&mut self, entry: Entry) -> usize {
        let h = self.hash(&entry.key);
        self.insert_new_hashed(h, entry)
    }

    /// `insert_new` with the key's hash already computed.
    pub fn insert_new_hashed(&mut self, h: u64, mut entry: Entry) -> usize {
        let s = self.make_room(h, &mut entry);
        let volatile = entry.expire_at != 0;
        self.segs[s].push(h, entry, &self.hasher);
        self.count_insert(s, volatile);
        s
    }

    /// A table just sized by `reserve_empty` (its directory the identity,
    /// depth at least 1, no snapshot attached) split in two by the hash's
    /// top bit: segments `0..n/2` take the hashes that start with 0, the
    /// others those that start with 1, so two threads can fill it at once
    /// (snapshot loading). `None` if the table is not in that shape. Once
    /// the halves are dropped, `load_halves_done` counts what they inserted.
    pub fn load_halves(&mut self) -> Option<[LoadHalf<'_>; 2]> {
        let identity = self.dir.iter().enumerate().all(|(i, &s)| s as usize == i);
        if self.gd == 0 || self.cow.is_some() || self.segs.len() != self.dir.len() || !identity {
            return None;
        }
        let mid = self.segs.len() / 2;
        let gd = self.gd;
        let hasher = &self.hasher;
        let (lo, hi) = self.segs.split_at_mut(mid);
        Some([
            LoadHalf {
                segs: lo,
                base: 0,
                gd,
                hasher,
                volatile: 0,
            },
            LoadHalf {
                segs: hi,
                base: mid,
                gd,
                hasher,
                volatile: 0,
            },
        ])
    }

    /// Count the entries the halves of `load_halves` inserted (the
    /// segments' lengths are the truth; a pass over the segments, once per
    /// loaded batch).
    pub fn load_halves_done(&mut self) {
        self.len = self.segs.iter().map(Segment::len).sum();
    }

    /// `insert_new_hashed` for a key that may be present (snapshot
    /// loading): one probe finds its place or the entry already there.
    /// Returns the entry back, not inserted, if its key is present.
    pub fn insert_if_absent_hashed(&mut self, h: u64, mut entry: Entry) -> Result<usize, Entry> {
        let s = self.make_room(h, &mut entry);
        let volatile = entry.expire_at != 0;
        let hasher = &self.hasher;
        self.segs[s].push_if_absent(h, entry, hasher)?;
        self.count_insert(s, volatile);
        Ok(s)
    }

    /// Before inserting `entry` (hash `h`): stamp it if a snapshot runs
    /// (created after the cut, it is not part of that snapshot) and split
    /// its segment if full. Returns the segment it goes into.
    fn make_room(&mut self, h: u64, entry: &mut Entry) -> usize {
        if let Some((c, _)) = &self.cow {
            entry.snap = c.epoch as u32;
        }
        let s = self.seg_of(h);
        if self.segs[s].len() >= SEG_MAX && self.segs[s].ld < MAX_DEPTH {
            self.split(s, h);
            return self.seg_of(h);
        }
        s
    }

    fn count_insert(&mut self, s: usize, volatile: bool) {
        if volatile {
            self.segs[s].volatile += 1;
        }
        self.len += 1;
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<Entry> {
        self.remove_hashed(self.hash(key), key)
    }

    pub fn remove_hashed(&mut self, h: u64, key: &[u8]) -> Option<Entry> {
        let s = self.seg_of(h);
        let seg = &mut self.segs[s];
        // One probe finds the key and takes its position out of the index.
        let entries = &seg.entries;
        let Ok(o) = seg
            .index
            .find_entry(inner(h), |&i| entries[i as usize].key.as_slice() == key)
        else {
            return None;
        };
        let i = o.remove().0 as usize;
        if let Some((c, db)) = &self.cow {
            before_write(c, *db, seg.snap_epoch, &mut seg.entries[i]);
        }
        let e = seg.swap_out(i, &self.hasher);
        if e.expire_at != 0 {
            seg.volatile = seg.volatile.saturating_sub(1);
        }
        self.len -= 1;
        Some(e)
    }

    /// Split segment `s` on the next hash bit below its prefix.
    fn split(&mut self, s: usize, h: u64) {
        let ld = self.segs[s].ld;
        if ld == self.gd {
            // Double the directory: slot i becomes slots 2i and 2i+1.
            let mut nd = Vec::with_capacity(self.dir.len() * 2);
            for &x in &self.dir {
                nd.push(x);
                nd.push(x);
            }
            self.dir = nd;
            self.gd += 1;
        }
        let bit = 63 - ld; // the bit that separates the two halves
        let hasher = self.hasher.clone();
        let old = &mut self.segs[s];
        let all = std::mem::take(&mut old.entries);
        // Each half with room to grow by a quarter before it reallocates.
        let room = all.len() / 2 + all.len() / 8;
        let mut keep = Segment::with_capacity(ld + 1, room);
        let mut moved = Segment::with_capacity(ld + 1, room);
        // Entries whose separating bit is 1 move to the new segment.
        for e in all {
            let h = hasher.hash_one(e.key.as_slice());
            let half = if (h >> bit) & 1 == 1 {
                &mut moved
            } else {
                &mut keep
            };
            if e.expire_at != 0 {
                half.volatile += 1;
            }
            half.push(h, e, &hasher);
        }
        // Entries keep their `snap` stamps, so both halves are as far
        // along as the split segment was (a half not yet serialized is
        // after the snapshot's cursor: it is pushed at the end).
        keep.snap_epoch = old.snap_epoch;
        moved.snap_epoch = old.snap_epoch;
        *old = keep;
        let new_idx = self.segs.len() as u32;
        self.segs.push(moved);
        // Repoint the upper half of the slots that pointed at `s`.
        let span = 1usize << (self.gd - ld); // slots covered by the old segment
        // `h` hashes into `s`, so its top `gd` bits name one of s's slots.
        let first = ((h >> (64 - self.gd)) as usize) & !(span - 1);
        for slot in first + span / 2..first + span {
            self.dir[slot] = new_idx;
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &Entry> {
        self.segs.iter().flat_map(|s| s.entries.iter())
    }

    /// Encode the entries of segment `s` (as database `db`) that snapshot
    /// `epoch` does not have yet into `out` (big lists are frozen into the
    /// snapshot's deferred list instead), and mark the segment done.
    /// Returns the number of entries encoded into `out`.
    pub(crate) fn serialize_segment(
        &mut self,
        s: usize,
        db: u32,
        epoch: u64,
        out: &mut Vec<u8>,
    ) -> u32 {
        let cow = self.cow.as_ref().map(|(c, _)| c);
        let seg = &mut self.segs[s];
        seg.snap_epoch = epoch;
        let mut n = 0;
        let entries = &seg.entries;
        for (i, e) in entries.iter().enumerate() {
            // The entries are contiguous, their values (and keys over 22
            // bytes) are not: each read cold costs a miss to memory, which
            // dominated the walk (perf: the copy of the bytes). Ask for
            // them a few entries ahead, so the misses overlap: the server's
            // CPU time for a 2M-key BGSAVE went from 490-800 ms to 210-400.
            // (Not for entries the write paths serialized already.)
            if let Some(next) = entries.get(i + PREFETCH_AHEAD)
                && next.snap != epoch as u32
            {
                next.key.prefetch();
                next.value.prefetch();
            }
            if e.snap == epoch as u32 {
                continue;
            }
            // A big collection is frozen (`cow::freeze`) and encoded off
            // the lock.
            if let Some(c) = cow
                && let Some(f) = super::cow::freeze(e)
            {
                c.defer(db, f);
                continue;
            }
            crate::storage::snapshot::encode_entry(out, db, e);
            n += 1;
        }
        n
    }

    /// Next segment not yet serialized for `epoch`, from the cursor on.
    pub(crate) fn cow_next(&mut self, epoch: u64) -> Option<usize> {
        while self.cow_cursor < self.segs.len() {
            let s = self.cow_cursor;
            if self.segs[s].snap_epoch < epoch {
                return Some(s);
            }
            self.cow_cursor += 1;
        }
        None
    }

    /// One SCAN step from `cursor` (a position in hash space, 0 = start).
    /// Calls `f` for about `count` entries in hash order and returns the
    /// next cursor, 0 when the scan is complete. Entries with equal hashes
    /// are never split across calls, so none is skipped.
    pub fn scan(&self, mut cursor: u64, count: usize, mut f: impl FnMut(&Entry)) -> u64 {
        let mut emitted = 0usize;
        let mut batch: Vec<(u64, &Entry)> = Vec::new();
        loop {
            let s = self.seg_of(cursor);
            let seg = &self.segs[s];
            batch.clear();
            batch.extend(
                seg.entries
                    .iter()
                    .map(|e| (self.hash(&e.key), e))
                    .filter(|(h, _)| *h >= cursor),
            );
            batch.sort_unstable_by_key(|(h, _)| *h);
            let mut i = 0;
            while i < batch.len() {
                if emitted >= count {
                    // Stop at a hash boundary.
                    if batch[i].0 != batch[i - 1].0 {
                        return batch[i].0;
                    }
                }
                f(batch[i].1);
                emitted += 1;
                i += 1;
            }
            // Segment exhausted: move to the start of the next range.
            let ld = seg.ld;
            if ld == 0 {
                return 0;
            }
            let prefix = cursor >> (64 - ld);
            if prefix + 1 == (1u64 << ld) {
                return 0;
            }
            cursor = (prefix + 1) << (64 - ld);
            if emitted >= count {
                return cursor;
            }
        }
    }

    /// Call `f` for up to `count` entries (only those with an expire time
    /// if `volatile`), each picked at its own random place: a uniformly
    /// chosen directory slot's segment, then a random entry of it.
    /// Eviction's sample (Redis's `dictGetSomeKeys`). Not a run of
    /// neighbours, as Redis's buckets are: Redis's buckets follow the hash,
    /// but a segment keeps its entries in insertion order, so neighbours
    /// are keys written together, of one age, and five of them rank like
    /// one. Finds at least one entry whenever the table
    /// holds one that qualifies (scanning when random picks keep missing,
    /// as with few volatile keys among many).
    pub fn sample(
        &self,
        count: usize,
        volatile: bool,
        mut rnd: impl FnMut(usize) -> usize,
        mut f: impl FnMut(&Entry),
    ) {
        if self.len == 0 || count == 0 {
            return;
        }
        let mut got = 0;
        for _ in 0..count * 4 {
            let seg = &self.segs[self.dir[rnd(self.dir.len())] as usize];
            if seg.entries.is_empty() || (volatile && seg.volatile == 0) {
                continue;
            }
            let e = &seg.entries[rnd(seg.entries.len())];
            if volatile && e.expire_at == 0 {
                continue;
            }
            f(e);
            got += 1;
            if got == count {
                return;
            }
        }
        if got > 0 {
            return;
        }
        let n = self.segs.len();
        let first = rnd(n);
        for i in 0..n {
            let seg = &self.segs[(first + i) % n];
            if volatile && seg.volatile == 0 {
                continue;
            }
            if let Some(e) = seg.entries.iter().find(|e| !volatile || e.expire_at != 0) {
                f(e);
                return;
            }
        }
    }

    /// A uniformly chosen segment slot, then a random entry of it.
    pub fn random_entry(&self, mut rnd: impl FnMut(usize) -> usize) -> Option<&Entry> {
        if self.len == 0 {
            return None;
        }
        for _ in 0..64 {
            let seg = &self.segs[self.dir[rnd(self.dir.len())] as usize];
            if seg.is_empty() {
                continue;
            }
            return Some(&seg.entries[rnd(seg.len())]);
        }
        // Sparse table: pick among non-empty segments.
        let nonempty: Vec<&Segment> = self.segs.iter().filter(|s| !s.is_empty()).collect();
        let seg = nonempty[rnd(nonempty.len())];
        Some(&seg.entries[rnd(seg.len())])
    }

    /// Remove every entry for which `pred` is true in segment `s`.
    pub fn retain_segment(&mut self, s: usize, mut pred: impl FnMut(&mut Entry) -> bool) {
        let seg = &mut self.segs[s];
        let before = seg.len();
        let mut vol_removed = 0;
        let mut i = 0;
        while i < seg.entries.len() {
            let e = &mut seg.entries[i];
            if pred(e) {
                i += 1;
                continue;
            }
            if let Some((c, db)) = &self.cow {
                before_write(c, *db, seg.snap_epoch, e);
            }
            if e.expire_at != 0 {
                vol_removed += 1;
            }
            let h = self.hasher.hash_one(e.key.as_slice());
            // The last entry moves to `i`: look at `i` again.
            seg.remove_at(i, h, &self.hasher);
        }
        seg.volatile = seg.volatile.saturating_sub(vol_removed);
        self.len -= before - seg.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::entry::Value;
    use std::collections::HashSet;

    fn entry(k: &str) -> Entry {
        Entry::new(k.as_bytes(), Value::Int(1))
    }

    #[test]
    fn insert_get_remove_across_splits() {
        let mut t = Table::new();
        for i in 0..20_000 {
            t.insert_new(entry(&format!("k{i}")));
        }
        assert_eq!(t.len(), 20_000);
        assert!(t.segments().len() > 16);
        for i in 0..20_000 {
            assert!(t.get(format!("k{i}").as_bytes()).is_some());
        }
        for i in 0..10_000 {
            assert!(t.remove(format!("k{i}").as_bytes()).is_some());
        }
        assert_eq!(t.len(), 10_000);
        assert_eq!(t.iter().count(), 10_000);
    }

    #[test]
    fn load_halves_fill_their_own_segments_and_give_back_the_rest() {
        // Not sized yet: no halves.
        let mut t = Table::new();
        assert!(t.load_halves().is_none());
        t.reserve_empty(20_000);
        assert!(t.segs.len() >= 16);
        let keys: Vec<String> = (0..20_000).map(|i| format!("k{i}")).collect();
        let mut back = Vec::new();
        let mut dups = 0;
        let hash = t.hash_builder();
        let t_hash = |k: &str| hash.hash_one(k.as_bytes());
        {
            let [mut lo, mut hi] = t.load_halves().expect("a sized table splits");
            for (i, k) in keys.iter().enumerate() {
                let h = t_hash(k);
                let mut e = entry(k);
                if i % 7 == 0 {
                    e.expire_at = 1;
                }
                // Every key goes to the low half: the high half's keys come
                // back as belonging elsewhere.
                match lo.insert(h, e) {
                    Ok(()) => {}
                    Err(NotLoaded::Elsewhere(e)) => {
                        assert_eq!(h >> 63, 1, "a low hash was given back");
                        back.push((h, e));
                    }
                    Err(NotLoaded::Duplicate(_)) => panic!("no duplicate yet"),
                }
            }
            // The same keys again: present in the low half, refused there.
            for k in keys.iter().take(200) {
                let h = t_hash(k);
                if h >> 63 == 0 {
                    assert!(matches!(
                        lo.insert(h, entry(k)),
                        Err(NotLoaded::Duplicate(_))
                    ));
                    dups += 1;
                }
            }
            for (h, e) in back.drain(..) {
                assert!(hi.insert(h, e).is_ok());
            }
            assert_eq!(
                lo.volatile + hi.volatile,
                (0..20_000).filter(|i| i % 7 == 0).count()
            );
            t.load_halves_done();
        }
        assert!(dups > 50);
        assert_eq!(t.len(), 20_000);
        for k in &keys {
            assert!(t.get(k.as_bytes()).is_some(), "{k} missing");
        }
        let volatile: u32 = t.segs.iter().map(|s| s.volatile).sum();
        assert_eq!(
            volatile as usize,
            (0..20_000).filter(|i| i % 7 == 0).count()
        );
        check(&t);
        // A full segment gives entries back too (its split needs the table).
        let mut t = Table::new();
        t.reserve_empty(5_000);
        let hash = t.hash_builder();
        let [mut lo, _hi] = t.load_halves().unwrap();
        let mut full = 0;
        for i in 0..200_000 {
            let k = format!("f{i}");
            let h = hash.hash_one(k.as_bytes());
            if (h >> (64 - lo.gd)) != 0 {
                continue;
            }
            match lo.insert(h, entry(&k)) {
                Ok(()) => {}
                Err(NotLoaded::Elsewhere(_)) => full += 1,
                Err(NotLoaded::Duplicate(_)) => unreachable!(),
            }
        }
        assert_eq!(lo.segs[0].len(), SEG_MAX);
        assert!(full > 0);
    }

    /// The segment invariant: the index holds each position exactly
    /// once, under its entry's key hash.
    fn check(t: &Table) {
        for seg in &t.segs {
            assert_eq!(seg.index.len(), seg.entries.len());
            let mut seen = vec![false; seg.entries.len()];
            for &i in seg.index.iter() {
                assert!(!std::mem::replace(&mut seen[i as usize], true));
            }
            for (i, e) in seg.entries.iter().enumerate() {
                assert_eq!(seg.find(t.hash(&e.key), &e.key), Some(i));
            }
        }
    }

    #[test]
    fn random_inserts_removes_and_retains_match_a_model() {
        let mut t = Table::new();
        let mut model = std::collections::HashMap::new();
        let mut rng = crate::util::XorShift64(0x5eed);
        for round in 0..80_000u64 {
            let k = format!("k{}", rng.next() % 20_000);
            match rng.next() % 64 {
                0..=31 => {
                    if let std::collections::hash_map::Entry::Vacant(v) = model.entry(k) {
                        let mut e = entry(v.key());
                        e.expire_at = round % 3;
                        t.insert_new(e);
                        v.insert(round % 3);
                    }
                }
                32..=47 => {
                    let got = t.remove(k.as_bytes()).map(|e| e.expire_at);
                    assert_eq!(got, model.remove(&k), "{k}");
                }
                48..=62 => {
                    let (e, _) = match t.get_mut_hashed(t.hash(k.as_bytes()), k.as_bytes()) {
                        Some(x) => x,
                        None => {
                            assert!(!model.contains_key(&k));
                            continue;
                        }
                    };
                    assert_eq!(Some(&e.expire_at), model.get(&k));
                }
                _ => {
                    // Drop the keys of one segment whose number is r mod 97.
                    let s = (rng.next() as usize) % t.segs.len();
                    let r = rng.next() % 97;
                    let hit = |e: &Entry| {
                        let n: u64 = std::str::from_utf8(&e.key.as_slice()[1..])
                            .unwrap()
                            .parse()
                            .unwrap();
                        n % 97 == r
                    };
                    let gone: Vec<String> = t.segs[s]
                        .iter()
                        .filter(|e| hit(e))
                        .map(|e| String::from_utf8(e.key.as_slice().to_vec()).unwrap())
                        .collect();
                    t.retain_segment(s, |e| !hit(e));
                    for g in gone {
                        model.remove(&g);
                    }
                }
            }
            if round % 5000 == 0 {
                check(&t);
            }
        }
        check(&t);
        assert_eq!(t.len(), model.len());
        assert_eq!(t.iter().count(), model.len());
        let vol: u32 = t.segs.iter().map(|s| s.volatile).sum();
        assert_eq!(vol as usize, model.values().filter(|&&x| x != 0).count());
        for (k, x) in &model {
            assert_eq!(t.get(k.as_bytes()).map(|e| e.expire_at), Some(*x), "{k}");
        }
        assert!(
            t.segments().len() >= 8,
            "splits happened: {} segments, {} keys",
            t.segments().len(),
            t.len()
        );
    }

    #[test]
    fn scan_sees_every_stable_key_while_table_grows() {
        let mut t = Table::new();
        for i in 0..3000 {
            t.insert_new(entry(&format!("s{i}")));
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut extra = 0;
        loop {
            cursor = t.scan(cursor, 10, |e| {
                seen.insert(e.key.as_slice().to_vec());
            });
            // Grow the table between calls (forces splits).
            for _ in 0..50 {
                t.insert_new(entry(&format!("x{extra}")));
                extra += 1;
            }
            if cursor == 0 {
                break;
            }
        }
        for i in 0..3000 {
            assert!(seen.contains(format!("s{i}").as_bytes()), "missed s{i}");
        }
    }
}
