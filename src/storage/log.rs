//! The log writer: a thread that appends framed records to the current
//! segment, syncs them according to `appendfsync`, rolls segments, and
//! publishes the durable LSN that connections wait on before replying.
//! Under `always`, a lone client's records are written and synced by the
//! runtime worker that ran its command, as it goes idle
//! (`LogShared::sync_deferred`): the same `Writer`, behind a lock.
//!
//! Invariants:
//! * Bytes reach the file in the order they were submitted, which is LSN
//!   order (submissions happen under the state lock).
//! * `durable` only grows, and only after `fdatasync` returned Ok for every
//!   byte up to that LSN.
//! * After a failed write or sync nothing is acknowledged until a retry
//!   has rewritten every unsynced byte from memory and synced it
//!   (FORMAT.md, write path step 5).
//! * A segment is completely synced before the manifest names its
//!   successor.
//! * Deferred records (`LogShared::deferred`) are taken by an idle worker
//!   (`sync_deferred`) or by the log thread once a worker with other work
//!   hands them over (`kick`) or it wakes by itself; a worker parks only
//!   after its park hook ran `sync_deferred`, so none wait unboundedly.

use super::format::{KIND_SYNC_MARK, encode_record, segment_header};
use super::fs::{Fs, FsFile};
use super::manifest::{Manifest, segment_name};
use crate::config::FsyncPolicy;
use parking_lot::{Condvar, Mutex};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// Unsynced bytes after which even `appendfsync no` syncs (in the
/// background, never on the reply path).
///
/// The writer keeps a copy of every unsynced byte (a failed fsync must be
/// retried from memory), so this also bounds that copy, under `everysec`
/// too: syncing earlier than the policy requires only makes it safer.
const UNSYNCED_LIMIT: usize = 8 << 20;
/// Under `always` the writer keeps the segment file this much longer than
/// its records, in zeros written ahead (`FsFile::preallocate`), so that a
/// sync after a write has no file size change to commit: fdatasync of
/// 144-byte records appended to a file took 184-214 µs here, written over
/// preallocated zeros 120-131 µs (ext4, 2000 syncs, 3 runs each). The
/// sync that first covers a new stretch pays for its zeros and the size
/// change, once per this many bytes. (Anything that stats the file makes
/// the next sync commit a journal transaction again: ext4's change
/// cookie.) Rolls, shutdown and failure retries cut the zeros off;
/// recovery cuts a zero tail silently (FORMAT.md).
const PREALLOC_STEP: u64 = 64 << 10;
/// How often the writer looks for new records under `everysec`/`no`
/// (fewer wake-ups and larger writes; nothing waits on these writes).
///
/// The writes stay on this thread: an idle worker that wrote 16 KB of
/// pending records itself before parking (as Redis writes its AOF buffer
/// on its one thread) gained 4% HSET -P1 in one A/B of 6 runs but nothing
/// visible in compare.sh (hset_p1 1.010, 1.011 against 0.990, 1.016), and a
/// `write` into the page cache blocks when the kernel throttles dirty
/// pages: there it would stall every client, here only the log.
const POLL: Duration = Duration::from_millis(5);

fn policy_code(p: FsyncPolicy) -> u8 {
    match p {
        FsyncPolicy::Always => 0,
        FsyncPolicy::EverySec => 1,
        FsyncPolicy::No => 2,
    }
}

fn policy_of(c: u8) -> FsyncPolicy {
    match c {
        0 => FsyncPolicy::Always,
        1 => FsyncPolicy::EverySec,
        _ => FsyncPolicy::No,
    }
}

#[derive(Default)]
struct Pending {
    buf: Vec<u8>,
    last_lsn: u64,
    stop: bool,
    /// Start a new segment after the records pending now (log rewrite).
    roll: bool,
    /// Under `always`, a submission wakes the writer only once `last_lsn`
    /// reaches this: 0 while the writer waits for any record, the LSN it
    /// gathers up to while it gathers (`Writer::gather`). Waking it on
    /// every submission while it gathered cost a context switch per
    /// request, 50 per sync with 50 clients.
    wake_at: u64,
}

/// Counters for INFO persistence.
#[derive(Debug, Clone, Default)]
pub struct LogStats {
    /// Bytes in all segments.
    pub current_size: u64,
    /// Bytes in all segments at start-up.
    pub base_size: u64,
    /// Uncompressed size of the base snapshot (0 if none or unknown):
    /// automatic rewrites measure the log's growth against it, as log
    /// records are not compressed. Set by `switch_base`, and at start-up
    /// from the loaded base.
    pub base_raw: u64,
    pub segments: usize,
    /// Syncs that ran late under everysec (aof_delayed_fsync).
    pub delayed_fsync: u64,
    pub fsyncs: u64,
    /// Of those, syncs an idle worker did for a lone client
    /// (`LogShared::sync_deferred`).
    pub worker_fsyncs: u64,
    pub last_error: Option<String>,
}

/// What connections and commands see of the log.
pub struct LogShared {
    pending: Mutex<Pending>,
    cv: Condvar,
    durable_tx: watch::Sender<u64>,
    /// Same value as the watch, readable without an await.
    pub durable: Arc<AtomicU64>,
    /// The last LSN handed to the writer: the same as `pending.last_lsn`
    /// (`submit_from` sets both), readable without the lock from the
    /// runtime's park hook (`sync_awaited`).
    submitted: AtomicU64,
    failed: AtomicBool,
    policy: AtomicU8,
    pub stats: Mutex<LogStats>,
    sync_in_progress: AtomicBool,
    /// The MANIFEST as on disk. Locked across every store, so the writer
    /// (segment roll) and a log rewrite (base switch) never interleave.
    manifest: Mutex<Manifest>,
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    /// A requested roll failed (cleared by the next request).
    roll_failed: AtomicBool,
    /// The writer: the log thread's, and an idle worker's for a deferred
    /// batch (`sync_deferred`). Lock order: `writer`, then `pending`.
    writer: Mutex<Writer>,
    /// Idle workers sync a lone client's records themselves
    /// (`enable_inline_sync`).
    inline: AtomicBool,
    /// The last batch held at most one record: one client writes, alone.
    /// Mirrors `Writer::last_batch_records <= 1` (set together in
    /// `Writer::process`, the only writer) for the lock-free read in
    /// `submit_from`.
    lone: AtomicBool,
    /// Records were submitted without waking the log thread: an idle
    /// worker syncs them (`sync_deferred`), or `kick` hands them over.
    /// Cleared whenever the pending records are taken.
    deferred: AtomicBool,
    /// The writer's own buffers' capacity (the spare batch buffer, the
    /// unsynced copy, a batch in flight), kept current by
    /// `Writer::publish_buffers` (`buffered_bytes`).
    buffered: AtomicU64,
}

impl LogShared {
    /// Hand framed records (ending at `last_lsn`) to the writer, moving
    /// them out of `bytes` (which keeps its capacity, so the journal does
    /// not regrow its buffer every batch). Call with the state lock held so
    /// submission order is LSN order.
    pub fn submit_from(&self, bytes: &mut Vec<u8>, last_lsn: u64) {
        if bytes.is_empty() {
            return;
        }
        let always = self.policy() == FsyncPolicy::Always;
        let mut p = self.pending.lock();
        p.buf.extend_from_slice(bytes);
        bytes.clear();
        p.last_lsn = last_lsn;
        let due = last_lsn >= p.wake_at;
        // A lone client's records (the last batch held one, none is
        // deferred yet) wait for this thread's worker to go idle, which
        // syncs them itself: no wake-up of the log thread, and none of
        // the worker when they are durable (`sync_deferred`).
        let defer = due
            && always
            && self.inline.load(Ordering::Relaxed)
            && self.lone.load(Ordering::Relaxed)
            && !self.deferred.load(Ordering::Relaxed)
            && !p.roll
            && !self.is_failed();
        if defer {
            self.deferred.store(true, Ordering::Relaxed);
        }
        drop(p);
        self.submitted.store(last_lsn, Ordering::Release);
        // Under `always` a reply waits for this batch: wake the writer now
        // (if it is gathering, once it has what it waits for). Otherwise
        // the writer polls (`POLL`), which saves a thread wake-up per
        // request.
        if due && always && !defer {
            self.cv.notify_one();
        }
    }

    /// Let idle workers sync a lone client's records themselves (call once
    /// `sync_deferred` runs whenever a worker is about to park).
    ///
    /// Why: with one client writing under `always`, each request cost two
    /// thread wake-ups (worker to log thread, and back), each an IPI to an
    /// idle vCPU on a VM; Redis writes and syncs on its one thread before
    /// it sleeps. With several clients the log thread keeps its role: the
    /// worker goes on serving requests during a sync, and the next sync
    /// takes them all (group commit).
    pub fn enable_inline_sync(&self) {
        self.inline.store(true, Ordering::Relaxed);
    }

    /// On an idle worker, before it parks: write and sync the deferred
    /// records (unless the log thread has the writer, or something only
    /// the log thread does is pending: a roll, a stop, a failure retry).
    /// Blocks the worker for the sync, as Redis's one thread does.
    pub fn sync_deferred(&self) {
        if !self.deferred.load(Ordering::Relaxed) {
            return;
        }
        let Some(mut w) = self.writer.try_lock() else {
            return;
        };
        let mut p = self.pending.lock();
        if p.buf.is_empty() || p.stop || p.roll || self.is_failed() {
            drop(p);
            drop(w);
            self.kick();
            return;
        }
        let batch = w.take(self, &mut p);
        drop(p);
        w.process(self, batch, false);
        drop(w);
        if self.is_failed() {
            // The log thread retries.
            self.cv.notify_one();
        } else {
            self.stats.lock().worker_fsyncs += 1;
        }
    }

    /// Hand deferred records to the log thread: a worker about to run
    /// other work calls this, so they never wait for that work.
    pub fn kick(&self) {
        if self.deferred.load(Ordering::Relaxed) && self.deferred.swap(false, Ordering::Relaxed) {
            self.cv.notify_one();
        }
    }

    /// Bytes the log's buffers hold (Redis leaves its AOF buffer out of
    /// the memory it compares with `maxmemory`; so does eviction here):
    /// the pending records' buffer, and the writer's as it last published
    /// them (`Writer::publish_buffers`, before each write and sync).
    pub fn buffered_bytes(&self) -> usize {
        self.buffered.load(Ordering::Relaxed) as usize + self.pending.lock().buf.capacity()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.durable_tx.subscribe()
    }

    pub fn durable_lsn(&self) -> u64 {
        self.durable.load(Ordering::Acquire)
    }

    /// Replies are waiting for the writer: under `always`, records were
    /// handed over that are not durable yet, and the log has not failed
    /// (a failed log makes no more progress). An idle worker does not spin
    /// then (`server::idle_spin::dont_spin_while`).
    pub fn sync_awaited(&self) -> bool {
        self.policy() == FsyncPolicy::Always
            && self.submitted.load(Ordering::Acquire) > self.durable.load(Ordering::Acquire)
            && !self.is_failed()
    }

    /// Writes must be refused while this is set (fsync error, disk full).
    pub fn is_failed(&self) -> bool {
        self.failed.load(Ordering::Acquire)
    }

    pub fn last_error(&self) -> Option<String> {
        self.stats.lock().last_error.clone()
    }

    pub fn policy(&self) -> FsyncPolicy {
        policy_of(self.policy.load(Ordering::Relaxed))
    }

    pub fn set_policy(&self, p: FsyncPolicy) {
        self.policy.store(policy_code(p), Ordering::Relaxed);
        self.cv.notify_one();
    }

    /// Ask the writer to start a new segment once the records submitted
    /// so far are written and synced (call under the state lock, after
    /// `submit_from`, at a log rewrite's cut).
    pub fn request_roll(&self) {
        self.roll_failed.store(false, Ordering::Release);
        self.pending.lock().roll = true;
        self.cv.notify_one();
    }

    /// The roll asked for by the last `request_roll` failed.
    pub fn roll_failed(&self) -> bool {
        self.roll_failed.load(Ordering::Acquire)
    }

    /// The manifest as last stored.
    pub fn manifest(&self) -> Manifest {
        self.manifest.lock().clone()
    }

    /// First LSN of the segment being appended to.
    pub fn current_segment_first_lsn(&self) -> u64 {
        self.manifest
            .lock()
            .segments
            .last()
            .map(|s| s.1)
            .unwrap_or(1)
    }

    /// Log rewrite, last step (FORMAT.md, "Log rewrite"): make the base
    /// snapshot `file` (in the log directory, holding every record below
    /// `base_lsn`, `raw_bytes` before compression) the new base. The
    /// manifest keeps the segment holding `base_lsn` and every later one;
    /// it is stored durably first, and only then are the segments before
    /// it and the old base deleted. Needs a
    /// segment starting after the cut (`request_roll`), so every record of
    /// the dropped segments was synced.
    pub fn switch_base(&self, file: &str, base_lsn: u64, raw_bytes: u64) -> std::io::Result<()> {
        let mut m = self.manifest.lock();
        if m.segments.last().is_none_or(|s| s.1 < base_lsn) {
            return Err(std::io::Error::other(
                "the log has not rolled past the snapshot's cut",
            ));
        }
        let keep = m
            .segments
            .iter()
            .rposition(|&(_, first)| first <= base_lsn)
            .unwrap_or(0);
        let new = Manifest {
            base: Some((file.to_string(), base_lsn)),
            segments: m.segments[keep..].to_vec(),
        };
        new.store(&*self.fs, &self.dir)?;
        let nseg = new.segments.len();
        let old = std::mem::replace(&mut *m, new);
        drop(m);
        // The switch is durable: the old files are garbage now. (A crash
        // before they are gone leaves unnamed files, removed at start-up.)
        let size = |name: &str| self.fs.len(&self.dir.join(name)).unwrap_or(0);
        let mut removed = 0u64;
        let mut garbage = Vec::new();
        for &(seq, _) in &old.segments[..keep] {
            let name = segment_name(seq);
            removed += size(&name);
            garbage.push(self.dir.join(name));
        }
        if let Some((f, _)) = &old.base
            && f != file
        {
            removed += size(f);
            garbage.push(self.dir.join(f));
        }
        remove_at_idle_priority(&*self.fs, &garbage);
        let _ = self.fs.sync_dir(&self.dir);
        let added = size(file);
        let mut st = self.stats.lock();
        st.current_size = (st.current_size + added).saturating_sub(removed);
        st.base_size = st.current_size;
        st.base_raw = raw_bytes;
        st.segments = nseg;
        Ok(())
    }

    pub fn sync_in_progress(&self) -> bool {
        self.sync_in_progress.load(Ordering::Relaxed)
    }

    fn publish(&self, lsn: u64) {
        if lsn > self.durable.load(Ordering::Acquire) {
            self.durable.store(lsn, Ordering::Release);
            self.durable_tx.send_replace(lsn);
        }
    }
}

/// The writer's own state (lives on its thread).
struct Writer {
    fs: Arc<dyn Fs>,
    dir: PathBuf,
    file: Box<dyn FsFile>,
    seq: u64,
    /// Bytes in the current segment.
    seg_len: u64,
    /// Bytes of the current segment known synced.
    synced_len: u64,
    /// The segment file's length: `seg_len` plus preallocated zeros.
    alloc_len: u64,
    /// Bytes written since the last successful sync (kept for retries).
    /// A copy: keeping the batch buffers themselves instead saved the log
    /// thread the copy (1.3% of the server's samples at HSET -P1) but
    /// rotated the pending side through up to 8 MB of cold buffers, and
    /// LPUSH -P16 cost the server about 5% more CPU a request.
    unsynced: Vec<u8>,
    /// LSN of the last byte written.
    written_lsn: u64,
    segment_size: u64,
    last_sync: Instant,
    /// Records in the last batch written (group-commit target).
    last_batch_records: u64,
    /// Moving average of fdatasync time.
    avg_sync: Duration,
    /// The buffer of the previous batch, reused as the next pending buffer.
    spare: Vec<u8>,
    spare_trim: BufTrim,
}

/// Handle owned by the server.
pub struct LogHandle {
    pub shared: Arc<LogShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// Where the writer starts: an open segment and its state.
pub struct OpenSegment {
    pub manifest: Manifest,
    pub file: Box<dyn FsFile>,
    pub seq: u64,
    pub len: u64,
    /// LSN of the last record already in the log.
    pub last_lsn: u64,
    pub total_size: u64,
    /// Uncompressed size of the base snapshot loaded (0 if none).
    pub base_raw: u64,
}

impl LogHandle {
    /// Start the writer thread on an open segment.
    pub fn start(
        fs: Arc<dyn Fs>,
        dir: PathBuf,
        seg: OpenSegment,
        policy: FsyncPolicy,
        segment_size: u64,
        durable: Arc<AtomicU64>,
    ) -> LogHandle {
        durable.store(seg.last_lsn, Ordering::Release);
        let (durable_tx, _) = watch::channel(seg.last_lsn);
        let writer = Writer {
            fs: fs.clone(),
            dir: dir.clone(),
            file: seg.file,
            seq: seg.seq,
            seg_len: seg.len,
            synced_len: seg.len,
            alloc_len: seg.len,
            unsynced: Vec::new(),
            written_lsn: seg.last_lsn,
            segment_size: segment_size.max(64),
            last_sync: Instant::now(),
            last_batch_records: 0,
            avg_sync: Duration::from_millis(1),
            spare: Vec::new(),
            spare_trim: BufTrim::default(),
        };
        let shared = Arc::new(LogShared {
            pending: Mutex::new(Pending {
                last_lsn: seg.last_lsn,
                ..Default::default()
            }),
            cv: Condvar::new(),
            durable_tx,
            durable,
            submitted: AtomicU64::new(seg.last_lsn),
            failed: AtomicBool::new(false),
            policy: AtomicU8::new(policy_code(policy)),
            stats: Mutex::new(LogStats {
                current_size: seg.total_size,
                base_size: seg.total_size,
                base_raw: seg.base_raw,
                segments: seg.manifest.segments.len(),
                ..Default::default()
            }),
            sync_in_progress: AtomicBool::new(false),
            manifest: Mutex::new(seg.manifest),
            fs,
            dir,
            roll_failed: AtomicBool::new(false),
            writer: Mutex::new(writer),
            inline: AtomicBool::new(false),
            lone: AtomicBool::new(true),
            deferred: AtomicBool::new(false),
            buffered: AtomicU64::new(0),
        });
        let thread = std::thread::Builder::new()
            .name("cairn-log".into())
            .spawn({
                let shared = shared.clone();
                move || run(&shared)
            })
            .expect("spawn log writer");
        LogHandle {
            shared,
            thread: Some(thread),
        }
    }

    /// Flush and sync everything submitted, write a sync mark, stop.
    pub fn shutdown(&mut self) {
        self.shared.pending.lock().stop = true;
        self.shared.cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LogHandle {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Remove `paths` (best effort) from a thread at the lowest CPU priority,
/// and wait for it. Removing a file whose pages are cached frees them in
/// the `unlink` itself: for the hundreds of megabytes of log a base switch
/// drops, about 100 ms of kernel CPU in one go (measured with perf during
/// a BGSAVE under SET load, 2M keys). At normal priority that took a core
/// from the command thread on a busy machine, which then waited up to
/// 11 ms to run. (The calling thread cannot lower its own priority and
/// raise it back: leaving `SCHED_IDLE` needs a privilege.)
fn remove_at_idle_priority(fs: &dyn Fs, paths: &[PathBuf]) {
    if paths.is_empty() {
        return;
    }
    let remove = || {
        for p in paths {
            let _ = fs.remove(p);
        }
    };
    let done = std::thread::scope(|s| {
        std::thread::Builder::new()
            .name("cairn-unlink".into())
            .spawn_scoped(s, || {
                crate::util::lower_thread_priority();
                remove();
            })
            .is_ok()
    });
    if !done {
        remove();
    }
}

/// The log thread: waits for records, then writes and syncs them with
/// the writer (unless an idle worker took them first: `sync_deferred`).
fn run(sh: &LogShared) {
    loop {
        // Wait without the writer's lock, so that an idle worker can sync
        // a deferred batch meanwhile.
        {
            let mut p = sh.pending.lock();
            if p.buf.is_empty() && !p.stop && !p.roll {
                // `always` submissions wake the writer; the others it polls.
                let wait = if !sh.is_failed() && sh.policy() != FsyncPolicy::Always {
                    POLL
                } else {
                    Duration::from_secs(1)
                };
                sh.cv.wait_for(&mut p, wait);
            }
        }
        let mut w = sh.writer.lock();
        let mut p = sh.pending.lock();
        if !p.buf.is_empty() && !p.stop && sh.policy() == FsyncPolicy::Always {
            w.gather(sh, &mut p);
        }
        let batch = w.take(sh, &mut p);
        drop(p);
        if w.process(sh, batch, true) {
            return;
        }
    }
}

/// Records taken from `Pending` for one write.
struct Batch {
    bytes: Vec<u8>,
    last_lsn: u64,
    stop: bool,
    roll: bool,
}

impl Writer {
    /// Take everything pending (call with the writer's lock held).
    fn take(&mut self, sh: &LogShared, p: &mut Pending) -> Batch {
        sh.deferred.store(false, Ordering::Relaxed);
        // Double buffering: hand the pending buffer over and leave the
        // previous batch's (cleared) buffer in its place, so neither side
        // reallocates in steady state.
        let mut spare = std::mem::take(&mut self.spare);
        spare.clear();
        let bytes = std::mem::replace(&mut p.buf, spare);
        self.publish_buffers(sh, bytes.capacity());
        Batch {
            bytes,
            last_lsn: p.last_lsn,
            stop: p.stop,
            roll: std::mem::take(&mut p.roll),
        }
    }

    /// Tell `LogShared::buffered_bytes` what the writer holds now: its
    /// spare buffer, the unsynced copy, and `in_flight` (a batch taken
    /// and not handed back yet). Called whenever one of them changes
    /// size, before the write or sync that follows: eviction reads this
    /// to leave the log's memory out, and a figure that lagged by a
    /// sync's duration made it evict keys for the log's growth (an LFU
    /// test saw a thousand keys evicted where six hundred made room).
    fn publish_buffers(&self, sh: &LogShared, in_flight: usize) {
        sh.buffered.store(
            (self.spare.capacity() + self.unsynced.capacity() + in_flight) as u64,
            Ordering::Relaxed,
        );
    }

    /// Write and, as the policy says, sync one batch; roll the segment when
    /// it is full or a rewrite asked for it (only if `may_roll`: a worker
    /// leaves that to the log thread). True once stopped.
    fn process(&mut self, sh: &LogShared, b: Batch, may_roll: bool) -> bool {
        let Batch {
            bytes: batch,
            last_lsn,
            stop,
            roll,
        } = b;
        if !batch.is_empty() {
            self.last_batch_records = last_lsn.saturating_sub(self.written_lsn);
            sh.lone
                .store(self.last_batch_records <= 1, Ordering::Relaxed);
        }
        if sh.is_failed() {
            // Keep everything in memory; retry the whole unsynced run.
            self.unsynced.extend_from_slice(&batch);
            if !batch.is_empty() {
                self.written_lsn = last_lsn;
            }
            self.retry(sh);
            if stop && !sh.is_failed() {
                self.finish(sh);
                return true;
            }
            if stop {
                tracing::error!(
                    "Shutting down with an unsynced log tail: the log device keeps failing"
                );
                return true;
            }
            return false;
        }
        if !batch.is_empty() {
            self.write(sh, &batch, batch.capacity(), last_lsn);
        }
        let used = batch.len();
        self.spare = batch;
        self.spare_trim.after(&mut self.spare, used);

        if !sh.is_failed() {
            let policy = sh.policy();
            let due = match policy {
                FsyncPolicy::Always => !self.unsynced.is_empty(),
                FsyncPolicy::EverySec => {
                    (!self.unsynced.is_empty()
                        && self.last_sync.elapsed() >= Duration::from_secs(1))
                        || self.unsynced.len() >= UNSYNCED_LIMIT
                }
                FsyncPolicy::No => self.unsynced.len() >= UNSYNCED_LIMIT,
            };
            if due || (stop && !self.unsynced.is_empty()) {
                if policy == FsyncPolicy::EverySec
                    && self.last_sync.elapsed() >= Duration::from_secs(2)
                {
                    sh.stats.lock().delayed_fsync += 1;
                }
                self.sync(sh);
            }
            if !may_roll {
                if self.seg_len >= self.segment_size {
                    // The log thread starts the next segment.
                    sh.cv.notify_one();
                }
            } else if !sh.is_failed()
                && self.seg_len >= self.segment_size
                && self.unsynced.is_empty()
            {
                if !self.roll(sh) && roll {
                    sh.roll_failed.store(true, Ordering::Release);
                }
            } else if roll {
                // Requested by a log rewrite at its cut.
                if !self.unsynced.is_empty() {
                    self.sync(sh);
                }
                if sh.is_failed() || !self.roll(sh) {
                    sh.roll_failed.store(true, Ordering::Release);
                }
            }
        } else if roll {
            sh.roll_failed.store(true, Ordering::Release);
        }
        self.publish_buffers(sh, 0);
        if stop {
            if !sh.is_failed() {
                self.finish(sh);
            }
            return true;
        }
        false
    }

    /// Group commit under `always`: the clients answered by the previous
    /// sync are sending their next requests right now. Syncing the first of
    /// them alone would split the clients into two groups that take turns,
    /// each waiting two syncs per request; instead wait (at most one sync
    /// time) until as many records as last time have arrived.
    /// A lone client (last batch of one record) never waits.
    fn gather(&self, sh: &LogShared, p: &mut parking_lot::MutexGuard<'_, Pending>) {
        let target = self.last_batch_records;
        if target <= 1 {
            return;
        }
        let limit = self.avg_sync.min(Duration::from_millis(2));
        let start = Instant::now();
        p.wake_at = self.written_lsn.saturating_add(target);
        while p.last_lsn < p.wake_at && !p.stop {
            let left = limit.saturating_sub(start.elapsed());
            if left.is_zero() {
                break;
            }
            sh.cv.wait_for(p, left);
        }
        p.wake_at = 0;
    }

    fn fail(&mut self, sh: &LogShared, what: &str, e: std::io::Error) {
        let msg = format!("{what}: {e}");
        tracing::error!(
            "Log write failed, refusing writes until the disk accepts them again: {msg}"
        );
        sh.stats.lock().last_error = Some(e.to_string());
        sh.failed.store(true, Ordering::Release);
        // Wake connections: read-only replies waiting behind the failed
        // batch are released (writes are refused from now on).
        sh.durable_tx.send_modify(|_| {});
    }

    /// Write `batch`, whose buffer holds `in_flight` bytes of memory (its
    /// capacity: published as the log's until `process` takes it back as
    /// its spare; publishing its length left the rest counted as data
    /// through the write and the sync, and eviction, under load, made room
    /// for it with keys).
    fn write(&mut self, sh: &LogShared, batch: &[u8], in_flight: usize, last_lsn: u64) {
        let need = self.unsynced.len() + batch.len();
        if need > self.unsynced.capacity() {
            // While the copy grows, its old and new buffers are both
            // allocated: publish both first, or eviction takes the new one
            // (up to 16 MB) for data for as long as the copy takes.
            let grown = need.max(2 * self.unsynced.capacity());
            self.publish_buffers(sh, in_flight + grown);
            self.unsynced.reserve_exact(grown - self.unsynced.len());
        }
        self.unsynced.extend_from_slice(batch);
        self.publish_buffers(sh, in_flight);
        self.written_lsn = last_lsn;
        let end = self.seg_len + batch.len() as u64;
        if end > self.alloc_len && sh.policy() == FsyncPolicy::Always {
            let target = (end / PREALLOC_STEP + 1) * PREALLOC_STEP;
            // Without it (disk full, say) the write extends the file.
            if self
                .file
                .preallocate(self.alloc_len, target - self.alloc_len)
                .is_ok()
            {
                self.alloc_len = target;
            }
        }
        match self.file.write_all(batch) {
            Ok(()) => {
                self.seg_len = end;
                self.alloc_len = self.alloc_len.max(end);
                sh.stats.lock().current_size += batch.len() as u64;
            }
            Err(e) => self.fail(sh, "write", e),
        }
    }

    /// Cut preallocated zeros off the current segment and sync that (before
    /// a roll or at shutdown: a closed segment ends with its last record).
    fn trim(&mut self) -> std::io::Result<()> {
        if self.alloc_len > self.seg_len {
            self.file.truncate(self.seg_len)?;
            self.alloc_len = self.seg_len;
            self.file.sync_data()?;
        }
        Ok(())
    }

    fn sync(&mut self, sh: &LogShared) {
        sh.sync_in_progress.store(true, Ordering::Relaxed);
        let t0 = Instant::now();
        let r = self.file.sync_data();
        // Moving average of the sync time (for `gather`).
        self.avg_sync = (self.avg_sync * 7 + t0.elapsed()) / 8;
        sh.sync_in_progress.store(false, Ordering::Relaxed);
        match r {
            Ok(()) => {
                self.synced_len = self.seg_len;
                self.unsynced.clear();
                // Keep the capacity (at most ~UNSYNCED_LIMIT plus a batch
                // in steady state): regrowing it from nothing after every
                // sync copied up to 8 MB and faulted in fresh pages each
                // time, CPU the command thread lost on a busy machine.
                if self.unsynced.capacity() > 2 * UNSYNCED_LIMIT {
                    self.unsynced.shrink_to(UNSYNCED_LIMIT);
                }
                self.last_sync = Instant::now();
                sh.stats.lock().fsyncs += 1;
                sh.publish(self.written_lsn);
            }
            Err(e) => self.fail(sh, "fdatasync", e),
        }
    }

    /// After a failure: cut the segment back to its synced length, rewrite
    /// every unsynced byte, sync. Clears the failure on success.
    fn retry(&mut self, sh: &LogShared) {
        // The cut drops any preallocated zeros too; nothing is preallocated
        // again before a write succeeds (`write` is not called while the
        // log is failed).
        self.alloc_len = self.synced_len;
        let r = self
            .file
            .truncate(self.synced_len)
            .and_then(|_| self.file.write_all(&self.unsynced))
            .and_then(|_| self.file.sync_data());
        match r {
            Ok(()) => {
                let n = self.unsynced.len() as u64;
                self.seg_len = self.synced_len + n;
                self.synced_len = self.seg_len;
                self.alloc_len = self.seg_len;
                self.unsynced.clear();
                self.last_sync = Instant::now();
                {
                    let mut st = sh.stats.lock();
                    st.last_error = None;
                    st.current_size = st.current_size.max(self.seg_len);
                }
                sh.failed.store(false, Ordering::Release);
                sh.publish(self.written_lsn);
                tracing::warn!("Log writes succeed again; accepting writes");
            }
            Err(e) => {
                sh.stats.lock().last_error = Some(e.to_string());
            }
        }
    }

    /// Start the next segment (FORMAT.md, write path step 4). False if it
    /// could not (the current segment stays).
    fn roll(&mut self, sh: &LogShared) -> bool {
        let seq = self.seq + 1;
        let first = self.written_lsn + 1;
        let path = self.dir.join(segment_name(seq));
        // The old segment ends with its last record (no preallocated zeros).
        let r = self.trim().and_then(|()| {
            let mut f = self.fs.create(&path)?;
            f.write_all(&segment_header(seq, first))?;
            f.sync_data()?;
            self.fs.sync_dir(&self.dir)?;
            let mut cur = sh.manifest.lock();
            let mut m = cur.clone();
            m.segments.push((seq, first));
            m.store(&*self.fs, &self.dir)?;
            *cur = m;
            Ok(f)
        });
        match r {
            Ok(f) => {
                self.file = f;
                self.seq = seq;
                self.seg_len = super::format::SEG_HEADER_LEN as u64;
                self.synced_len = self.seg_len;
                self.alloc_len = self.seg_len;
                let segments = sh.manifest.lock().segments.len();
                let mut st = sh.stats.lock();
                st.segments = segments;
                st.current_size += self.seg_len;
                true
            }
            Err(e) => {
                // The old segment stays current; try again after the next batch.
                tracing::error!("Cannot start log segment {}: {e}", path.display());
                false
            }
        }
    }

    /// Clean shutdown: a sync mark records that everything is on disk.
    fn finish(&mut self, sh: &LogShared) {
        let mut mark = Vec::new();
        let lsn = self.written_lsn + 1;
        encode_record(&mut mark, KIND_SYNC_MARK, 0, lsn, self.written_lsn, &[]);
        // The mark takes an LSN; recovery continues numbering after it.
        let last = lsn;
        self.write(sh, &mark, mark.capacity(), last);
        self.sync(sh);
        if !sh.is_failed()
            && let Err(e) = self.trim()
        {
            // The zeros stay; recovery cuts them.
            tracing::warn!("Cannot cut preallocated space off the log: {e}");
        }
    }
}

/// Gives back a reused buffer's memory after a burst (a big pipeline, a
/// bulk load), so a burst's capacity does not inflate `used_memory` for
/// good (Redis frees its AOF buffer the same way), but keeps it while the
/// load that needs it goes on. The first version shrank any buffer over
/// 256 KB holding little at that moment: under a steady -P16 write load
/// the log writer's batches passed 256 KB every 5 ms poll, so each
/// hand-over shrank the buffer and the command thread regrew it by
/// doubling, copying and faulting in pages (perf, LPUSH -P16: 4% of all
/// samples in that copy).
#[derive(Debug, Default)]
pub(crate) struct BufTrim {
    /// Bytes recent uses needed: the last use's, or a decaying maximum.
    recent: usize,
}

impl BufTrim {
    const BIG: usize = 256 << 10;

    /// `buf` (emptied) served a use of `used` bytes: shrink it if it is
    /// big and recent uses stayed far below its capacity.
    pub(crate) fn after(&mut self, buf: &mut Vec<u8>, used: usize) {
        // Halves in about 44 uses: a buffer 8 times bigger than what some
        // 130 uses in a row needed is shrunk (0.65 s of the log writer's
        // 5 ms polls once a burst is over). Under a steady load the batch
        // sizes vary, but never stay that far below the peak for so long.
        self.recent = used.max(self.recent - self.recent / 64);
        if buf.capacity() > Self::BIG && buf.capacity() > 8 * self.recent {
            buf.shrink_to((2 * self.recent).max(Self::BIG / 16));
        }
    }
}
