//! Fork-free, copy-on-write snapshots of the keyspace (Dragonfly's
//! scheme: the snapshot walks `Table` segments as Dragonfly walks buckets,
//! with copy-on-write per entry).
//!
//! At the *cut* (under the state lock, between two commands) the snapshot
//! gets a new epoch and every table is attached to it; each segment whose
//! `snap_epoch` is below that epoch has not been walked yet. From then on:
//! * the snapshot thread repeatedly takes the lock, serializes the next
//!   segment not walked yet (at most `SEG_MAX` entries: tens of
//!   microseconds), marks it with the epoch and releases the lock;
//!   compression and disk writes happen outside the lock, on a thread at
//!   the lowest CPU priority (`SnapWriter::piped`);
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
use crate::storage::snapshot::{BLOCK_TARGET, BlockBuf, SnapWriter};
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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
    /// Big values frozen at the cut (`freeze`), serialized off the lock.
    deferred: Mutex<Vec<(u32, super::Entry)>>,
    orphans: Mutex<Vec<(u32, Table)>>,
    /// Bytes serialized by write paths (INFO rdb_last_cow_size).
    pub cow_bytes: AtomicU64,
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

/// Lists with at least this many elements are frozen, not serialized,
/// under the lock.
const FREEZE_LIST: usize = 4096;

/// A copy of `e` as it is now that costs O(nodes), for a value too big to
/// serialize under the lock: a big list shares its nodes with the live one
/// (`List` is copy-on-write per node). `None` for everything else.
pub(crate) fn freeze(e: &super::Entry) -> Option<super::Entry> {
    match &e.value {
        super::Value::List(l) if l.len() >= FREEZE_LIST => {
            let mut f = super::Entry::new(&e.key, super::Value::List(l.clone()));
            f.expire_at = e.expire_at;
            Some(f)
        }
        _ => None,
    }
}

/// A running snapshot (owned by the thread that writes it).
pub struct CowSnapshot {
    shared: Arc<CowShared>,
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
            aborted: AtomicBool::new(false),
        });
        for (i, d) in ks.dbs.iter_mut().enumerate() {
            d.table.cow = Some((shared.clone(), i as u32));
            d.table.cow_cursor = 0;
        }
        CowSnapshot {
            shared,
            cut_lsn: ks.journal.last_lsn(),
            cut_ms: now_ms,
        }
    }

    pub fn cow_bytes(&self) -> u64 {
        self.shared.cow_bytes.load(Ordering::Relaxed)
    }

    /// One step, under the state lock: serialize the next segment not yet
    /// serialized into `out`. Returns the entries added, or `None` when no
    /// attached table has anything left: then every table is detached and
    /// the snapshot's keyspace part is complete (drain `take_pending` and
    /// `take_orphans` one last time).
    pub fn step(&mut self, ks: &mut Keyspace, out: &mut Vec<u8>) -> Option<u32> {
        let epoch = self.shared.epoch;
        for d in ks.dbs.iter_mut() {
            let Some(db) = ours(&d.table, &self.shared) else {
                continue;
            };
            if let Some(s) = d.table.cow_next(epoch) {
                return Some(d.table.serialize_segment(s, db, epoch, out));
            }
        }
        self.detach(ks);
        None
    }

    /// Stop (on error or when done): detach every table.
    pub fn detach(&self, ks: &mut Keyspace) {
        for d in ks.dbs.iter_mut() {
            if ours(&d.table, &self.shared).is_some() {
                d.table.cow = None;
            }
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

/// Write the whole image of `snap` through `w`: step under the lock (via
/// `with_ks`, which locks, runs the closure and unlocks), write outside
/// it. On error the caller detaches (`CowSnapshot::detach`) under the lock.
pub fn write_cow(
    snap: &mut CowSnapshot,
    mut with_ks: impl FnMut(&mut dyn FnMut(&mut Keyspace)),
    w: &mut SnapWriter,
) -> std::io::Result<()> {
    let mut buf = BlockBuf::default();
    loop {
        let mut done = false;
        with_ks(&mut |ks| match snap.step(ks, &mut buf.raw) {
            Some(n) => buf.entries += n,
            None => done = true,
        });
        drain(snap, &mut buf, w)?;
        if done {
            break;
        }
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

/// Move what write paths serialized or froze since the last call into
/// `buf` (big values are serialized here, off the lock).
fn drain(snap: &CowSnapshot, buf: &mut BlockBuf, w: &mut SnapWriter) -> std::io::Result<()> {
    for b in snap.take_pending() {
        buf.add_raw(&b.raw, b.entries, w)?;
    }
    for (db, e) in snap.take_deferred() {
        buf.add(db, &e, w)?;
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
    use crate::storage::snapshot::{BlockError, Decoded};
    use std::hash::BuildHasher;
    let lru = super::lru_clock(now);
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
    // Entries waiting (with their block's number, for errors).
    let mut batch: Vec<Option<(Decoded, u64)>> = Vec::new();
    let mut order: Vec<u32> = Vec::new();
    let mut counts = vec![0u32; 1 << 12];
    let mut insert_batch = |dbs: &mut Vec<super::Db>, batch: &mut Vec<Option<(Decoded, u64)>>| {
        // Counting sort on the hash's top 12 bits (the directory bits).
        counts.iter_mut().for_each(|c| *c = 0);
        for (d, _) in batch.iter().flatten() {
            counts[(d.hash >> 52) as usize] += 1;
        }
        let mut sum = 0u32;
        for c in counts.iter_mut() {
            let n = *c;
            *c = sum;
            sum += n;
        }
        order.clear();
        order.resize(batch.len(), 0);
        for (i, (d, _)) in batch.iter().flatten().enumerate() {
            let c = &mut counts[(d.hash >> 52) as usize];
            order[*c as usize] = i as u32;
            *c += 1;
        }
        for &i in order.iter() {
            let (d, block) = batch[i as usize].take().expect("each index once");
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
                return Err(BlockError {
                    block,
                    msg: format!("key {:?} appears twice", String::from_utf8_lossy(&e.key)),
                });
            }
            if volatile {
                db.expires += 1;
            }
        }
        batch.clear();
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
            }
            batch.extend(entries.into_iter().map(|d| Some((d, block))));
            if batch.len() >= LOAD_BATCH {
                insert_batch(dbs, &mut batch)?;
            }
            Ok(())
        },
    )?;
    insert_batch(dbs, &mut batch).map_err(|e| crate::storage::snapshot::SnapshotError::Bad {
        path: path.to_path_buf(),
        offset: e.block,
        msg: e.msg,
    })?;
    Ok(s)
}
