//! Fork-free, copy-on-write snapshots of the keyspace (Dragonfly's
//! scheme: the snapshot walks `Table` segments as Dragonfly walks buckets,
//! with copy-on-write per entry).
//!
//! At the *cut* (under the state lock, between two commands) the snapshot
//! gets a new epoch and every table is attached to it; each segment whose
//! `snap_epoch` is below that epoch has not been walked yet. From then on:
//! * the *walk* serializes the next segment not walked yet (at most
//!   `SEG_MAX` entries: tens of microseconds) and marks it with the epoch,
//!   one segment per step. The command threads take the steps, at the end
//!   of a batch while they hold the lock anyway (`tick`), at most a third
//!   of their time; the snapshot thread takes them itself (through
//!   `with_ks`) only when no command thread has for `SELF_STEP_AFTER`,
//!   i.e. when the server is idle. Steps go through a short queue
//!   (`WalkQueue`) to the snapshot thread, which writes them; compression
//!   and disk writes happen outside the lock, on a thread at the lowest CPU
//!   priority (`SnapWriter::piped`). A full queue pauses the walk;
//! * any change to an entry of a segment not walked yet (a write, a
//!   delete, an expiry) first serializes that entry as it is into
//!   `pending` and stamps it (`Entry::snap` = the epoch), so the walk skips
//!   it; an entry created after the cut is stamped at birth, so the walk
//!   skips it too; a segment split keeps the stamps, and a half not walked
//!   yet is pushed after the walk's cursor;
//! * a table dropped by FLUSHDB/FLUSHALL while attached is not freed but
//!   handed to the snapshot (`orphans`), which serializes the rest of it
//!   off the lock and then drops it. A table swapped by SWAPDB keeps the
//!   database number it had at the cut.
//!
//! So the image is the state at the cut, a write pays for serializing at
//! most the one entry it changes, and the extra memory is the serialized
//! form of the entries changed during the snapshot (bounded by what is
//! written, never by the dataset).
//!
//! Invariant: a table is attached to at most one snapshot; a snapshot ends
//! (`finish`/`abort`, under the lock) by detaching every table, after which
//! no hook can add to `pending` or `orphans`. Stamps hold the epoch's low
//! 32 bits: an entry untouched for exactly 2^32 snapshots would be
//! mistaken for stamped, which cannot happen in practice.

use super::{Db, Keyspace, Table};
use crate::storage::snapshot::{BLOCK_TARGET, BlockBuf, BlockError, Decoded, SnapWriter};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

static EPOCH: AtomicU64 = AtomicU64::new(1);

/// Serialized entries ready to be written as a block.
pub struct RawBlock {
    pub raw: Vec<u8>,
    pub entries: u32,
}

/// What the write paths and the snapshot thread share.
pub struct CowShared {
    pub epoch: u64,
    pending: Mutex<Vec<RawBlock>>,
    /// Big values frozen at the cut (`freeze`), encoded off the lock.
    deferred: Mutex<Vec<(u32, super::Entry)>>,
    orphans: Mutex<Vec<(u32, Table)>>,
    /// Bytes serialized by write paths (INFO rdb_last_cow_size).
    pub cow_bytes: AtomicU64,
    /// Steps of the walk taken by command threads and by the snapshot
    /// thread.
    steps_by_commands: AtomicU64,
    steps_by_snapshot: AtomicU64,
    /// Detached from outside (`abort_all`): the image is incomplete and
    /// must not be finished.
    aborted: AtomicBool,
}

impl CowShared {
    /// Serialize one entry, as it is now, into the pending blocks (the
    /// copy-on-write of a write path; `Table`'s `before_write`).
    pub(crate) fn defer(&self, db: u32, e: super::Entry) {
        self.deferred.lock().push((db, e));
    }

    #[cold]
    pub(crate) fn save_entry(&self, db: u32, e: &super::Entry) {
        if let Some(f) = freeze(e) {
            self.deferred.lock().push((db, f));
            return;
        }
        let mut p = self.pending.lock();
        if p.last().is_none_or(|b| b.raw.len() >= BLOCK_TARGET) {
            p.push(RawBlock {
                raw: Vec::new(),
                entries: 0,
            });
        }
        let b = p.last_mut().expect("pushed");
        let before = b.raw.len();
        crate::storage::snapshot::encode_entry(&mut b.raw, db, e);
        b.entries += 1;
        self.cow_bytes
            .fetch_add((b.raw.len() - before) as u64, Ordering::Relaxed);
    }
}

/// Collections with at least this many elements are frozen, not
/// serialized, under the lock.
const FREEZE_MIN: usize = 4096;

/// A copy of `e` as it is now, for a value too big to serialize under the
/// lock, that shares the live value's memory. A big list shares its nodes
/// (`List` is copy-on-write per node): O(nodes). A big hash, set or sorted
/// set is frozen as a view of its elements alone (`frozen_view`), which
/// shares their chunks (`ChunkVec`): one reference count per 64 elements.
/// The live value keeps its hash index (and a sorted set its order tree)
/// to itself, so its later changes copy at most the chunks they touch;
/// when the freeze shared the whole table instead, the first change copied
/// the index, about 5 bytes per element into fresh memory (38-49 ms at 3M
/// members on this project's VM). The view answers only what
/// `encode_entry` asks (length and iteration). `None` for everything else.
pub(crate) fn freeze(e: &super::Entry) -> Option<super::Entry> {
    use super::Value;
    let value = match &e.value {
        Value::List(l) if l.len() >= FREEZE_MIN => Value::List(l.clone()),
        Value::Hash(h) if h.len() >= FREEZE_MIN => Value::Hash(Box::new(h.frozen_view()?)),
        Value::Set(s) if s.len() >= FREEZE_MIN => Value::Set(Box::new(s.frozen_view()?)),
        Value::ZSet(z) if z.len() >= FREEZE_MIN => Value::ZSet(Box::new(z.frozen_view()?)),
        _ => return None,
    };
    let mut f = super::Entry::new(&e.key, value);
    f.expire_at = e.expire_at;
    Some(f)
}

// Why the walk runs on the command threads: a snapshot thread that took
// the lock itself for every step could be preempted while holding it (on
// a machine whose cores are all busy, for a whole scheduler slice of
// someone else's), and every client then waited for it: 9 ms lock waits
// and 35 ms worst replies were measured that way under redis-benchmark's
// SET load. A command thread that takes a step was running anyway.

/// Steps the walk may have waiting for the snapshot thread.
const WALK_QUEUE: usize = 4;
/// A command thread steps again only after idling the walk for this many
/// times the last step's duration (counted up to `STEP_COUNTED`, so that a
/// step the scheduler interrupted does not stall the walk): the walk takes
/// at most 1/(1+N) of a busy command thread's time.
const WALK_SHARE_INV: u32 = 2;
const STEP_COUNTED: Duration = Duration::from_micros(300);
/// The snapshot thread steps itself only when no command batch ended for
/// this long (an idle server), and then only while none does.
const SELF_STEP_AFTER: Duration = Duration::from_millis(2);

/// Serialized steps on their way from the command threads to the snapshot
/// thread. `done` is set when the walk has finished or was stopped.
#[derive(Default)]
pub struct WalkQueue {
    q: Mutex<(VecDeque<RawBlock>, bool)>,
    ready: Condvar,
    /// Written buffers, handed back for the next steps (no allocation on
    /// the command thread in steady state).
    spare: Mutex<Vec<Vec<u8>>>,
}

enum Pop {
    Block(RawBlock),
    Done,
    TimedOut,
}

impl WalkQueue {
    fn len(&self) -> usize {
        self.q.lock().0.len()
    }

    fn push(&self, b: RawBlock) {
        self.q.lock().0.push_back(b);
        self.ready.notify_one();
    }

    fn buffer(&self) -> Vec<u8> {
        self.spare.lock().pop().unwrap_or_default()
    }

    fn give_back(&self, mut raw: Vec<u8>) {
        raw.clear();
        let mut s = self.spare.lock();
        if s.len() < WALK_QUEUE + 1 {
            s.push(raw);
        }
    }

    fn finish(&self) {
        self.q.lock().1 = true;
        self.ready.notify_one();
    }

    fn pop(&self, wait: Duration) -> Pop {
        let mut g = self.q.lock();
        if g.0.is_empty() && !g.1 {
            self.ready.wait_for(&mut g, wait);
        }
        match g.0.pop_front() {
            Some(b) => Pop::Block(b),
            None if g.1 => Pop::Done,
            None => Pop::TimedOut,
        }
    }
}

/// A running walk, kept in `Keyspace::walk`.
pub struct Walk {
    shared: Arc<CowShared>,
    queue: Arc<WalkQueue>,
    /// A command thread's next step is not due before this.
    next_due: Instant,
    /// Command batches ended since the walk began (`tick` calls).
    batches: u64,
    /// The walk reached its end (every table walked).
    complete: bool,
}

/// Invariant: the queue is finished whenever the walk goes away, however
/// it goes (end, detach, abort, or its keyspace dropped), so the snapshot
/// thread never waits for steps that cannot come; and a walk that goes
/// away before its end marks the snapshot aborted, so a partial image is
/// never finished as a whole one.
impl Drop for Walk {
    fn drop(&mut self) {
        if !self.complete {
            self.shared.aborted.store(true, Ordering::Release);
        }
        self.queue.finish();
    }
}

/// `Keyspace::walk_tick`: a command thread's step, if one is due and the
/// queue has room.
pub(crate) fn tick(ks: &mut Keyspace) {
    let Some(w) = &mut ks.walk else { return };
    w.batches += 1;
    let now = Instant::now();
    if now < w.next_due || w.queue.len() >= WALK_QUEUE {
        return;
    }
    walk_step(ks, false);
    if let Some(w) = &mut ks.walk {
        let end = Instant::now();
        w.next_due = end + (end - now).min(STEP_COUNTED) * WALK_SHARE_INV;
    }
}

/// The snapshot thread's step (under the lock), if no command batch ended
/// since `*seen` (updated): returns false, without stepping, if one did.
fn self_step(ks: &mut Keyspace, seen: &mut u64) -> bool {
    let Some(w) = &ks.walk else { return true };
    if w.batches != *seen {
        *seen = w.batches;
        return false;
    }
    walk_step(ks, true);
    true
}

/// One step of the walk (under the lock): serialize the next segment into
/// the queue; at the end, detach and mark the queue done.
fn walk_step(ks: &mut Keyspace, by_snapshot: bool) {
    let Some(w) = ks.walk.take() else { return };
    if by_snapshot {
        &w.shared.steps_by_snapshot
    } else {
        &w.shared.steps_by_commands
    }
    .fetch_add(1, Ordering::Relaxed);
    let mut raw = w.queue.buffer();
    match step(&w.shared, ks, &mut raw) {
        Some(entries) => {
            if entries > 0 {
                w.queue.push(RawBlock { raw, entries });
            }
            ks.walk = Some(w);
        }
        None => {
            let mut w = w;
            w.complete = true;
        }
    }
}

/// One step: serialize the next segment not yet serialized into `out`.
/// Returns the entries added, or `None` when no attached table has
/// anything left: then every table is detached and the snapshot's keyspace
/// part is complete (drain `take_pending` and `take_orphans` one last
/// time).
fn step(sh: &Arc<CowShared>, ks: &mut Keyspace, out: &mut Vec<u8>) -> Option<u32> {
    let epoch = sh.epoch;
    for d in ks.dbs.iter_mut() {
        let Some(db) = ours(&d.table, sh) else {
            continue;
        };
        if let Some(s) = d.table.cow_next(epoch) {
            return Some(d.table.serialize_segment(s, db, epoch, out));
        }
    }
    detach_tables(ks, sh);
    None
}

/// Detach every table attached to the snapshot `sh`.
fn detach_tables(ks: &mut Keyspace, sh: &Arc<CowShared>) {
    for d in ks.dbs.iter_mut() {
        if ours(&d.table, sh).is_some() {
            d.table.cow = None;
        }
    }
}

/// A running snapshot (owned by the thread that writes it).
pub struct CowSnapshot {
    shared: Arc<CowShared>,
    queue: Arc<WalkQueue>,
    /// Every log record up to this LSN is in the image.
    pub cut_lsn: u64,
    /// Unix ms of the cut.
    pub cut_ms: u64,
}

fn ours(t: &Table, sh: &Arc<CowShared>) -> Option<u32> {
    match &t.cow {
        Some((c, db)) if Arc::ptr_eq(c, sh) => Some(*db),
        _ => None,
    }
}

impl CowSnapshot {
    /// The cut: call under the state lock, between commands (the journal
    /// sealed). Attaches every database's table.
    pub fn begin(ks: &mut Keyspace, now_ms: u64) -> CowSnapshot {
        let shared = Arc::new(CowShared {
            epoch: EPOCH.fetch_add(1, Ordering::Relaxed),
            pending: Mutex::new(Vec::new()),
            deferred: Mutex::new(Vec::new()),
            orphans: Mutex::new(Vec::new()),
            cow_bytes: AtomicU64::new(0),
            steps_by_commands: AtomicU64::new(0),
            steps_by_snapshot: AtomicU64::new(0),
            aborted: AtomicBool::new(false),
        });
        for (i, d) in ks.dbs.iter_mut().enumerate() {
            d.table.cow = Some((shared.clone(), i as u32));
            d.table.cow_cursor = 0;
        }
        let queue = Arc::new(WalkQueue::default());
        ks.walk = Some(Walk {
            shared: shared.clone(),
            queue: queue.clone(),
            next_due: Instant::now(),
            batches: 0,
            complete: false,
        });
        // The cut covers every effect executed: a batch's open record is
        // sealed here. (`persist::start` has flushed the journal already,
        // so that the records reach the writer before its roll request;
        // this seals only where the caller did not.)
        ks.journal.seal();
        CowSnapshot {
            shared,
            queue,
            cut_lsn: ks.journal.last_lsn(),
            cut_ms: now_ms,
        }
    }

    pub fn cow_bytes(&self) -> u64 {
        self.shared.cow_bytes.load(Ordering::Relaxed)
    }

    /// Steps of the walk taken so far by (command threads, the snapshot
    /// thread).
    pub fn steps(&self) -> (u64, u64) {
        (
            self.shared.steps_by_commands.load(Ordering::Relaxed),
            self.shared.steps_by_snapshot.load(Ordering::Relaxed),
        )
    }

    /// Stop (on error or when done): detach every table and end the walk.
    pub fn detach(&self, ks: &mut Keyspace) {
        detach_tables(ks, &self.shared);
        // Dropping the walk finishes the queue (`Drop for Walk`); a walk
        // already gone finished it then.
        if ks
            .walk
            .as_ref()
            .is_some_and(|w| Arc::ptr_eq(&w.shared, &self.shared))
        {
            ks.walk = None;
        }
    }

    /// Big values frozen since the last call (by write paths or the walk).
    pub fn take_deferred(&self) -> Vec<(u32, super::Entry)> {
        std::mem::take(&mut *self.shared.deferred.lock())
    }

    /// Blocks serialized by write paths since the last call.
    pub fn take_pending(&self) -> Vec<RawBlock> {
        std::mem::take(&mut *self.shared.pending.lock())
    }

    /// Tables flushed during the snapshot (database at the cut, table).
    pub fn take_orphans(&self) -> Vec<(u32, Table)> {
        std::mem::take(&mut *self.shared.orphans.lock())
    }

    /// Serialize what is left of an orphaned table (off the lock: nobody
    /// else can reach it any more), calling `emit` per segment.
    pub fn drain_orphan(&self, db: u32, mut t: Table, mut emit: impl FnMut(RawBlock)) {
        let epoch = self.shared.epoch;
        while let Some(s) = t.cow_next(epoch) {
            let mut raw = Vec::new();
            let entries = t.serialize_segment(s, db, epoch, &mut raw);
            if entries > 0 {
                emit(RawBlock { raw, entries });
            }
        }
        t.cow = None;
        super::lazyfree::free_db(Db {
            table: t,
            ..Default::default()
        });
    }
}

/// Stop any running snapshot (shutdown): detach every table and mark the
/// snapshot aborted, so its writer fails instead of finishing a partial
/// image. Call under the state lock.
pub fn abort_all(ks: &mut Keyspace) {
    for d in ks.dbs.iter_mut() {
        if let Some((c, _)) = d.table.cow.take() {
            c.aborted.store(true, Ordering::Release);
        }
    }
    // Dropping the walk marks it aborted and wakes its thread.
    ks.walk = None;
}

/// FLUSHDB/FLUSHALL hook: a table still attached to a running snapshot is
/// handed to it instead of being freed; returns what the caller may free.
pub(crate) fn release(mut d: Db) -> Db {
    if let Some((c, db)) = d.table.cow.clone()
        && d.table.cow_next(c.epoch).is_some()
    {
        c.orphans.lock().push((db, std::mem::take(&mut d.table)));
    }
    d.table.cow = None;
    d
}

/// Write the whole image of `snap` through `w`: write the steps the
/// command threads queue, and step under the lock itself (via `with_ks`,
/// which locks, runs the closure and unlocks) when none came for
/// `SELF_STEP_AFTER`. On error the caller detaches
/// (`CowSnapshot::detach`) under the lock.
pub fn write_cow(
    snap: &mut CowSnapshot,
    mut with_ks: impl FnMut(&mut dyn FnMut(&mut Keyspace)),
    w: &mut SnapWriter,
) -> std::io::Result<()> {
    let mut buf = BlockBuf::default();
    // Command batches seen at the last look; while none ends, the server
    // is idle and this thread steps without waiting.
    let mut seen = u64::MAX;
    let mut idle = false;
    loop {
        let wait = if idle {
            Duration::ZERO
        } else {
            SELF_STEP_AFTER
        };
        match snap.queue.pop(wait) {
            Pop::Block(b) => {
                buf.add_raw(&b.raw, b.entries, w)?;
                snap.queue.give_back(b.raw);
            }
            Pop::TimedOut => with_ks(&mut |ks| idle = self_step(ks, &mut seen)),
            Pop::Done => break,
        }
        drain(snap, &mut buf, w)?;
    }
    if snap.shared.aborted.load(Ordering::Acquire) {
        return Err(std::io::Error::other("snapshot aborted (shutdown)"));
    }
    // Detached: nothing can add to pending or orphans any more.
    drain(snap, &mut buf, w)?;
    for (db, t) in snap.take_orphans() {
        let mut err = None;
        snap.drain_orphan(db, t, |b| {
            if err.is_none() {
                err = buf.add_raw(&b.raw, b.entries, w).err();
            }
        });
        if let Some(e) = err {
            return Err(e);
        }
    }
    // Orphans may have frozen big values too.
    drain(snap, &mut buf, w)?;
    buf.flush(w)
}

/// Move what write paths serialized since the last call into `buf`, and
/// hand what they froze to the writer, whose compressor thread encodes it
/// at idle priority (`SnapWriter::entry`): encoding a big value is as
/// much CPU as building it was, and at normal priority it took a core
/// from the command threads.
fn drain(snap: &CowSnapshot, buf: &mut BlockBuf, w: &mut SnapWriter) -> std::io::Result<()> {
    for b in snap.take_pending() {
        buf.add_raw(&b.raw, b.entries, w)?;
    }
    for (db, e) in snap.take_deferred() {
        w.entry(db, e)?;
    }
    Ok(())
}

/// Write every entry of `ks` (a synchronous save: the caller holds the
/// lock, or owns the keyspace).
pub fn write_all(ks: &Keyspace, w: &mut SnapWriter) -> std::io::Result<()> {
    let mut buf = BlockBuf::default();
    for (i, d) in ks.dbs.iter().enumerate() {
        for e in d.table.iter() {
            buf.add(i as u32, e, w)?;
        }
    }
    buf.flush(w)
}

/// Entries a load gathers before inserting them in hash order.
const LOAD_BATCH: usize = 1 << 16;
/// The first pass of a load's radix sort splits a batch this many ways
/// (the hash's top 4 bits).
const LOAD_PARTS: usize = 16;

/// One inserting thread's scratch for the second pass of a load's sort.
#[derive(Default)]
struct PartSort {
    part: Vec<Option<(Decoded, u64)>>,
    order: Vec<u32>,
    counts: Vec<u32>,
}

impl PartSort {
    /// Hand `p`'s entries (which share the hash's top 4 bits) to `f` in
    /// hash order: a counting sort on the next 8 bits. A part is a
    /// sixteenth of a batch and fits in cache, so the sort's random reads
    /// do not miss (sorting a whole batch at once read 5-10 MB at random:
    /// a third of the inserting thread's time).
    fn drain(
        &mut self,
        p: &mut Vec<(Decoded, u64)>,
        mut f: impl FnMut(Decoded, u64) -> Result<(), BlockError>,
    ) -> Result<(), BlockError> {
        let digit = |d: &Decoded| ((d.hash >> 52) & 0xff) as usize;
        self.part.clear();
        self.part.extend(p.drain(..).map(Some));
        self.counts.clear();
        self.counts.resize(1 << 8, 0);
        for (d, _) in self.part.iter().flatten() {
            self.counts[digit(d)] += 1;
        }
        let mut sum = 0u32;
        for c in self.counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        self.order.clear();
        self.order.resize(self.part.len(), 0);
        for (i, (d, _)) in self.part.iter().flatten().enumerate() {
            let c = &mut self.counts[digit(d)];
            self.order[*c as usize] = i as u32;
            *c += 1;
        }
        for &i in self.order.iter() {
            let (d, block) = self.part[i as usize].take().expect("each index once");
            f(d, block)?;
        }
        Ok(())
    }
}

/// A loaded key found twice (in block `block`).
fn twice(block: u64, key: &[u8]) -> BlockError {
    BlockError {
        block,
        msg: format!("key {:?} appears twice", String::from_utf8_lossy(key)),
    }
}

/// Insert one loaded entry through its database's table.
fn insert_loaded(
    dbs: &mut [super::Db],
    d: Decoded,
    block: u64,
    lru: u32,
) -> Result<(), BlockError> {
    let ndb = dbs.len();
    let Some(db) = dbs.get_mut(d.db as usize) else {
        return Err(BlockError {
            block,
            msg: format!(
                "entry for database {} but the server has {ndb} (databases directive)",
                d.db
            ),
        });
    };
    let mut e = d.entry;
    e.lru = lru;
    let volatile = e.expire_at != 0;
    if let Err(e) = db.table.insert_if_absent_hashed(d.hash, e) {
        return Err(twice(block, &e.key));
    }
    if volatile {
        db.expires += 1;
    }
    Ok(())
}

/// Insert the entries of `parts` (database `db`'s) into one half of its
/// table. Returns the entries the half gave back (another database's,
/// another half's, or a full segment's), to insert through the table
/// afterwards.
fn load_half(
    half: &mut super::table::LoadHalf<'_>,
    parts: &mut [Vec<(Decoded, u64)>],
    sort: &mut PartSort,
    db: u32,
    lru: u32,
) -> Result<Vec<(Decoded, u64)>, BlockError> {
    use super::table::NotLoaded;
    let mut left = Vec::new();
    for p in parts {
        sort.drain(p, |d, block| {
            if d.db != db {
                left.push((d, block));
                return Ok(());
            }
            let hash = d.hash;
            let mut e = d.entry;
            e.lru = lru;
            match half.insert(hash, e) {
                Ok(()) => Ok(()),
                Err(NotLoaded::Duplicate(e)) => Err(twice(block, &e.key)),
                Err(NotLoaded::Elsewhere(entry)) => {
                    left.push((Decoded { db, entry, hash }, block));
                    Ok(())
                }
            }
        })?;
    }
    Ok(left)
}

/// Load a verified snapshot into an empty keyspace: entries go straight
/// into the tables (not journaled). A database number past `ks.dbs` or a
/// key present twice is refused. Keys are hashed on the decode threads
/// (with each table's own hash function); a table that will very likely
/// receive every entry is sized for them up front; entries are inserted
/// in batches ordered by hash, so consecutive inserts land in the same
/// segment while it is in the cache (in file order they would hit a
/// random segment each).
pub fn load_into(
    ks: &mut Keyspace,
    fs: &dyn crate::storage::fs::Fs,
    path: &std::path::Path,
    now: u64,
) -> Result<crate::storage::snapshot::Summary, crate::storage::snapshot::SnapshotError> {
    use std::hash::BuildHasher;
    // Loaded keys start as new ones (Redis's objects made by its loader).
    let lru = ks.access.fresh(now);
    let hashers: Vec<foldhash::fast::RandomState> =
        ks.dbs.iter().map(|d| d.table.hash_builder()).collect();
    let hash = |db: u32, key: &[u8]| {
        hashers
            .get(db as usize)
            .map(|h| h.hash_one(key))
            .unwrap_or(0)
    };
    let dbs = &mut ks.dbs;
    // (db, keys) to size for, from `prepare`, applied before the first entry.
    let reserve = std::cell::Cell::new(None);
    // Entries waiting (with their block's number, for errors), already
    // split by the hash's top 4 bits as they arrive.
    let mut parts: Vec<Vec<(Decoded, u64)>> = (0..LOAD_PARTS).map(|_| Vec::new()).collect();
    let mut sorts = [PartSort::default(), PartSort::default()];
    // The database `reserve` sized a table for (every entry, very likely).
    let mut sized: Option<u32> = None;
    let mut insert_batch = |dbs: &mut Vec<super::Db>,
                            parts: &mut Vec<Vec<(Decoded, u64)>>,
                            sized: Option<u32>|
     -> Result<(), BlockError> {
        let [s0, s1] = &mut sorts;
        let mut left = Vec::new();
        if let Some(db) = sized
            && let Some(d) = dbs.get_mut(db as usize)
            && let Some([mut h0, mut h1]) = d.table.load_halves()
        {
            // Two threads, one per half of the table (see `load_halves`).
            let (lo, hi) = parts.split_at_mut(LOAD_PARTS / 2);
            let (r0, r1) = std::thread::scope(|sc| {
                let other = std::thread::Builder::new()
                    .name("cairn-load".into())
                    .spawn_scoped(sc, || load_half(&mut h1, hi, s1, db, lru));
                let r0 = load_half(&mut h0, lo, s0, db, lru);
                let r1 = other
                    .ok()
                    .map(|t| t.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
                (r0, r1)
            });
            // No thread to be had: this one does both halves.
            let r1 = r1.unwrap_or_else(|| load_half(&mut h1, hi, s1, db, lru));
            let volatile = h0.volatile + h1.volatile;
            d.table.load_halves_done();
            d.expires += volatile;
            left = r0?;
            left.extend(r1?);
        } else {
            for p in parts.iter_mut() {
                s0.drain(p, |d, block| insert_loaded(dbs, d, block, lru))?;
            }
        }
        for (d, block) in left {
            insert_loaded(dbs, d, block, lru)?;
        }
        Ok(())
    };
    let s = crate::storage::snapshot::load_file_hashed(
        fs,
        path,
        now,
        &hash,
        |hint| reserve.set(hint.single_db.map(|d| (d, hint.keys_to_reserve()))),
        |entries, block| {
            if let Some((rdb, keys)) = reserve.take()
                && let Some(t) = dbs.get_mut(rdb as usize)
            {
                t.table.reserve_empty(keys as usize);
                sized = Some(rdb);
            }
            for d in entries {
                parts[(d.hash >> 60) as usize].push((d, block));
            }
            if parts.iter().map(Vec::len).sum::<usize>() >= LOAD_BATCH {
                insert_batch(dbs, &mut parts, sized)?;
            }
            Ok(())
        },
    )?;
    insert_batch(dbs, &mut parts, sized).map_err(|e| {
        crate::storage::snapshot::SnapshotError::Bad {
            path: path.to_path_buf(),
            offset: e.block,
            msg: e.msg,
        }
    })?;
    Ok(s)
}
