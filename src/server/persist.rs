//! Snapshots and log rewrites as server features: SAVE, BGSAVE,
//! BGREWRITEAOF, `save` rules, automatic rewrite, the shutdown save, the
//! start-up load of the dump file, and their INFO fields.
//!
//! A background job is fork-free (`keyspace::cow`): the cut happens in the
//! command (or cron) that starts it, under the state lock, so the image is
//! the state at that point of the command order; a thread then writes it,
//! taking the lock for one segment at a time.
//!
//! Invariants:
//! * At most one job (save or rewrite) runs; the other kind is scheduled
//!   behind it, as Redis does with its single child. Exception: with the
//!   log on, a BGSAVE cancels a running *automatic* rewrite (its dump
//!   becomes the log's base anyway) instead of being refused
//!   (`preempt_auto_rewrite`).
//! * With the log on, a BGSAVE's dump also becomes the log's base
//!   (`storage::rewrite::adopt_as_base`), as a rewrite's snapshot does, so
//!   a restart after it loads the snapshot and replays only the log after
//!   its cut. The dump file itself is written and loaded as without a log.
//! * A failed job leaves the previous files untouched (`storage::rewrite`);
//!   it is reported in INFO and the log and retried with backoff; with
//!   `stop-writes-on-bgsave-error yes` and save rules configured, writes
//!   are refused (`-MISCONF`) until a save succeeds.

use super::Shared;
use super::state::State;
use super::statelock::StateLock;
use crate::keyspace::Keyspace;
use crate::keyspace::cow::{CowSnapshot, load_into, write_all, write_cow};
use crate::storage::fs::Fs;
use crate::storage::rewrite::{Adopted, adopt_as_base, rewrite, save_snapshot};
use std::path::PathBuf;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

/// Redis's CONFIG_BGSAVE_RETRY_DELAY: first retry after a failed save.
const RETRY_DELAY: Duration = Duration::from_secs(5);
/// Longest retry interval (the delay doubles per consecutive failure).
const RETRY_MAX: Duration = Duration::from_secs(60);

pub const MISCONF_BGSAVE: &str = "MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum JobKind {
    /// BGSAVE: the dump file (`dir`/`dbfilename`).
    Save,
    /// BGREWRITEAOF: a new base snapshot for the log.
    Rewrite,
}

/// Persistence state (INFO persistence), inside `State`.
pub struct Persist {
    pub fs: Arc<dyn Fs>,
    /// The server's own `Shared`, for starting job threads from commands.
    pub me: Weak<Shared>,
    pub job: Option<(JobKind, Instant)>,
    /// The running rewrite was started by the cron (`auto-aof-rewrite-*`),
    /// not by a client.
    pub job_auto: bool,
    /// A BGSAVE cancelled the running automatic rewrite and starts as soon
    /// as that job has wound down (INFO shows it in progress meanwhile).
    pub save_preempting: bool,
    pub bgsave_scheduled: bool,
    pub rewrite_scheduled: bool,
    pub last_bgsave_ok: bool,
    pub last_bgsave_secs: i64,
    pub last_bgsave_error: Option<String>,
    /// Consecutive failed saves (retry backoff).
    pub bgsave_failures: u32,
    pub last_bgsave_try: Option<Instant>,
    pub saves: u64,
    pub last_rewrite_ok: bool,
    pub last_rewrite_secs: i64,
    pub rewrites: u64,
    /// BGSAVEs whose dump became the log's base (not counted as rewrites).
    pub bgsave_bases: u64,
    pub rewrite_failures: u32,
    pub last_rewrite_try: Option<Instant>,
    pub last_cow_size: u64,
    pub last_rewrite_cow_size: u64,
    /// `dirty` when the running save started.
    pub dirty_at_start: u64,
    /// Keys loaded / skipped as expired from the dump file at start-up.
    pub load_keys_loaded: u64,
    pub load_keys_expired: u64,
}

impl Default for Persist {
    fn default() -> Self {
        Persist {
            fs: Arc::new(crate::storage::fs::RealFs),
            me: Weak::new(),
            job: None,
            job_auto: false,
            save_preempting: false,
            bgsave_scheduled: false,
            rewrite_scheduled: false,
            last_bgsave_ok: true,
            last_bgsave_secs: -1,
            last_bgsave_error: None,
            bgsave_failures: 0,
            last_bgsave_try: None,
            saves: 0,
            last_rewrite_ok: true,
            last_rewrite_secs: -1,
            rewrites: 0,
            bgsave_bases: 0,
            rewrite_failures: 0,
            last_rewrite_try: None,
            last_cow_size: 0,
            last_rewrite_cow_size: 0,
            dirty_at_start: 0,
            load_keys_loaded: 0,
            load_keys_expired: 0,
        }
    }
}

impl Persist {
    pub fn running(&self, k: JobKind) -> bool {
        self.job.is_some_and(|(j, _)| j == k)
    }

    /// INFO rdb_bgsave_in_progress: a save runs, or one that cancelled an
    /// automatic rewrite waits for it to wind down (milliseconds).
    pub fn save_in_progress(&self) -> bool {
        self.running(JobKind::Save) || self.save_preempting
    }

    pub fn current_secs(&self, k: JobKind) -> i64 {
        match self.job {
            Some((j, t)) if j == k => t.elapsed().as_secs() as i64,
            _ => -1,
        }
    }
}

/// Writes are refused: the last background save failed, save rules are
/// configured, and `stop-writes-on-bgsave-error` is on.
pub fn refuses_writes(st: &State) -> bool {
    !st.persist.last_bgsave_ok
        && st.config.s.stop_writes_on_bgsave_error
        && !st.config.s.save.is_empty()
}

pub fn dump_path(st: &State) -> PathBuf {
    st.config.s.dir.join(&st.config.s.dbfilename)
}

/// SAVE (and the shutdown save): write the dump file now, under the lock.
pub fn save_sync(st: &mut State) -> std::io::Result<()> {
    let fs = st.persist.fs.clone();
    let path = dump_path(st);
    st.ks.journal.seal();
    let cut = st.ks.journal.last_lsn();
    let now = crate::util::now_ms();
    let t0 = Instant::now();
    let ks = &st.ks;
    let r = save_snapshot(&*fs, &path, st.config.s.rdbcompression, cut, now, |w| {
        write_all(ks, w)
    });
    match &r {
        Ok(saved) => {
            st.dirty = 0;
            st.lastsave = now / 1000;
            st.persist.saves += 1;
            st.persist.last_bgsave_ok = true;
            st.persist.bgsave_failures = 0;
            st.persist.last_bgsave_error = None;
            tracing::info!(
                "DB saved on disk: {} ({} bytes, {:.3} seconds)",
                path.display(),
                saved.bytes,
                t0.elapsed().as_secs_f64()
            );
        }
        Err(e) => tracing::error!("Error saving DB on disk ({}): {e}", path.display()),
    }
    r.map(|_| ())
}

/// BGSAVE while an automatic log rewrite runs, with the log on: the save
/// makes the log's base too (`adopt_as_base`), so the rewrite is cancelled
/// rather than the client refused, and the save starts as soon as the
/// rewrite's thread has wound down (`finish`). The rewrite's files go as a
/// failed rewrite's do (the manifest is untouched). True if it did so;
/// false if the caller must answer as Redis does.
pub fn preempt_auto_rewrite(st: &mut State) -> bool {
    if !st.persist.running(JobKind::Rewrite) || !st.persist.job_auto || st.log.is_none() {
        return false;
    }
    // Detaches the snapshot: its thread stops at its next step and fails
    // without touching the manifest (or, if it is already past writing,
    // completes normally).
    crate::keyspace::cow::abort_all(&mut st.ks);
    st.persist.save_preempting = true;
    tracing::info!(
        "BGSAVE cancels the running automatic log rewrite (the snapshot becomes the log's base instead)"
    );
    true
}

/// Start a background job: the cut happens here, under the lock.
pub fn start(st: &mut State, kind: JobKind) -> Result<(), String> {
    // The cut must fall between transactions (BGSAVE/BGREWRITEAOF inside
    // EXEC are scheduled instead).
    debug_assert!(!st.in_exec, "a snapshot cut inside EXEC");
    if st.persist.job.is_some() {
        return Err("a background job is already running".into());
    }
    let shared = st
        .persist
        .me
        .upgrade()
        .ok_or("no server to run a background job in")?;
    if kind == JobKind::Rewrite && st.log.is_none() {
        // Nothing to compact: without a log there is nothing to rewrite.
        st.persist.rewrites += 1;
        st.persist.last_rewrite_ok = true;
        st.persist.last_rewrite_secs = 0;
        return Ok(());
    }
    // Every sealed record reaches the writer before the roll request, so
    // the roll comes after the cut. Both kinds roll: a rewrite's snapshot
    // and (with the log on) a BGSAVE's dump become the log's base, which
    // needs every record up to the cut in synced segments.
    st.flush_journal();
    let now = crate::util::now_ms();
    let snap = CowSnapshot::begin(&mut st.ks, now);
    let log = st.log.clone();
    if let Some(l) = &log {
        l.request_roll();
    }
    st.persist.job = Some((kind, Instant::now()));
    st.persist.job_auto = false;
    if kind == JobKind::Save {
        st.persist.save_preempting = false;
    }
    match kind {
        JobKind::Save => {
            st.persist.dirty_at_start = st.dirty;
            st.persist.last_bgsave_try = Some(Instant::now());
            tracing::info!("Background saving started (cut at LSN {})", snap.cut_lsn);
        }
        JobKind::Rewrite => {
            st.persist.last_rewrite_try = Some(Instant::now());
            tracing::info!(
                "Background append only file rewriting started (cut at LSN {})",
                snap.cut_lsn
            );
        }
    }
    let fs = st.persist.fs.clone();
    let compress = st.config.s.rdbcompression;
    let dump = dump_path(st);
    let logdir = st.config.s.dir.join(&st.config.s.appenddirname);
    let spawned = std::thread::Builder::new()
        .name(match kind {
            JobKind::Save => "cairn-bgsave".into(),
            JobKind::Rewrite => "cairn-rewrite".into(),
        })
        .spawn(move || {
            let mut snap = snap;
            let t0 = Instant::now();
            let cut = snap.cut_lsn;
            let ms = snap.cut_ms;
            let with_ks = |f: &mut dyn FnMut(&mut Keyspace)| {
                let mut g = shared.state.lock_background();
                f(&mut g.ks);
                StateLock::unlock_background(g);
            };
            let image =
                |w: &mut crate::storage::snapshot::SnapWriter| write_cow(&mut snap, with_ks, w);
            let mut adopted = None;
            // A panic must not leave the job marked as running forever.
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match (kind, &log) {
                (JobKind::Rewrite, Some(l)) => rewrite(l, &*fs, &logdir, compress, cut, ms, image),
                (JobKind::Save, Some(l)) => {
                    let saved = save_snapshot(&*fs, &dump, compress, cut, ms, image)?;
                    adopted = Some(adopt_as_base(l, &*fs, &dump, saved, &logdir, cut));
                    Ok(saved)
                }
                _ => save_snapshot(&*fs, &dump, compress, cut, ms, image),
            }))
            .unwrap_or_else(|_| Err(std::io::Error::other("the snapshot thread panicked")));
            let took = t0.elapsed();
            let mut st = shared.state.lock();
            snap.detach(&mut st.ks);
            match adopted {
                Some(Ok(Adopted::Switched)) => {
                    st.persist.bgsave_bases += 1;
                    tracing::info!(
                        "The snapshot is the log's base now (cut at LSN {cut}): a restart replays only the log after it"
                    );
                }
                Some(Ok(Adopted::AlreadyCovered)) | None => {}
                Some(Err(e)) => tracing::warn!(
                    "The snapshot could not become the log's base ({e}); the log is unchanged and complete"
                ),
            }
            finish(&mut st, kind, r.map(|s| s.bytes), took, snap.cow_bytes());
        });
    if let Err(e) = spawned {
        // The closure (and the snapshot in it) is gone; detach by hand.
        crate::keyspace::cow::abort_all(&mut st.ks);
        st.persist.job = None;
        return Err(format!("cannot start a thread: {e}"));
    }
    Ok(())
}

fn finish(st: &mut State, kind: JobKind, r: std::io::Result<u64>, took: Duration, cow_bytes: u64) {
    st.persist.job = None;
    let p = &mut st.persist;
    match (kind, r) {
        (JobKind::Save, Ok(size)) => {
            st.dirty = st.dirty.saturating_sub(p.dirty_at_start);
            st.lastsave = crate::util::now_ms() / 1000;
            p.saves += 1;
            p.last_bgsave_ok = true;
            p.bgsave_failures = 0;
            p.last_bgsave_error = None;
            p.last_bgsave_secs = took.as_secs() as i64;
            p.last_cow_size = cow_bytes;
            tracing::info!(
                "Background saving terminated with success ({size} bytes, {:.3} seconds, {cow_bytes} bytes copied on write)",
                took.as_secs_f64()
            );
        }
        (JobKind::Save, Err(e)) => {
            p.last_bgsave_ok = false;
            p.bgsave_failures += 1;
            p.last_bgsave_error = Some(e.to_string());
            p.last_bgsave_secs = took.as_secs() as i64;
            tracing::error!(
                "Background saving error: {e} (attempt {}; retrying in {:?})",
                p.bgsave_failures,
                backoff(p.bgsave_failures)
            );
        }
        (JobKind::Rewrite, Ok(size)) => {
            p.rewrites += 1;
            p.last_rewrite_ok = true;
            p.rewrite_failures = 0;
            p.last_rewrite_secs = took.as_secs() as i64;
            p.last_rewrite_cow_size = cow_bytes;
            tracing::info!(
                "Background append only file rewriting terminated with success (base snapshot {size} bytes, {:.3} seconds)",
                took.as_secs_f64()
            );
        }
        (JobKind::Rewrite, Err(e)) if p.save_preempting => {
            // Cancelled for a BGSAVE: not a failure of the rewrite.
            tracing::info!("Automatic log rewrite cancelled ({e}); the BGSAVE starts now");
        }
        (JobKind::Rewrite, Err(e)) => {
            p.last_rewrite_ok = false;
            p.rewrite_failures += 1;
            p.last_rewrite_secs = took.as_secs() as i64;
            tracing::error!("Background append only file rewriting error: {e}");
        }
    }
    start_scheduled(st);
}

fn backoff(failures: u32) -> Duration {
    let d = RETRY_DELAY * 2u32.saturating_pow(failures.saturating_sub(1).min(8));
    d.min(RETRY_MAX)
}

fn start_scheduled(st: &mut State) {
    if st.persist.job.is_some() {
        return;
    }
    if st.persist.save_preempting {
        if let Err(e) = start(st, JobKind::Save) {
            st.persist.save_preempting = false;
            tracing::error!("BGSAVE not started after cancelling the log rewrite: {e}");
        }
    } else if st.persist.rewrite_scheduled {
        st.persist.rewrite_scheduled = false;
        if let Err(e) = start(st, JobKind::Rewrite) {
            tracing::error!("Scheduled log rewrite not started: {e}");
        }
    } else if st.persist.bgsave_scheduled {
        st.persist.bgsave_scheduled = false;
        if let Err(e) = start(st, JobKind::Save) {
            tracing::error!("Scheduled BGSAVE not started: {e}");
        }
    }
}

/// Cron: scheduled jobs, `save` rules (with retry backoff after a
/// failure), automatic log rewrite.
pub fn cron(st: &mut State) {
    start_scheduled(st);
    if st.persist.job.is_some() {
        return;
    }
    let now_s = crate::util::now_ms() / 1000;
    let p = &st.persist;
    let may_retry = |ok: bool, failures: u32, last: Option<Instant>| {
        ok || last.is_none_or(|t| t.elapsed() >= backoff(failures))
    };
    let save_due =
        st.config.s.save.iter().any(|&(secs, changes)| {
            st.dirty >= changes && now_s.saturating_sub(st.lastsave) >= secs
        });
    if save_due && may_retry(p.last_bgsave_ok, p.bgsave_failures, p.last_bgsave_try) {
        if let Err(e) = start(st, JobKind::Save) {
            tracing::error!("BGSAVE by save rule not started: {e}");
        }
        return;
    }
    let pct = st.config.s.auto_aof_rewrite_percentage;
    if pct > 0
        && let Some(log) = &st.log
        && may_retry(p.last_rewrite_ok, p.rewrite_failures, p.last_rewrite_try)
    {
        // Growth is the log written since the last rewrite, measured
        // against the data's uncompressed size when known: log records are
        // not compressed, so comparing them with a zstd-compressed base
        // would rewrite many times more often than the same data in Redis.
        let (cur, growth) = {
            let s = log.stats.lock();
            let grown = s.current_size.saturating_sub(s.base_size);
            let data = s.base_size.max(s.base_raw).max(1);
            (s.current_size, grown * 100 / data)
        };
        if cur >= st.config.s.auto_aof_rewrite_min_size && growth >= pct {
            tracing::info!("Starting automatic rewriting of the log on {growth}% growth");
            match start(st, JobKind::Rewrite) {
                Ok(()) => st.persist.job_auto = true,
                Err(e) => tracing::error!("Automatic log rewrite not started: {e}"),
            }
        }
    }
}

/// Start-up without the log: load the dump file if there is one.
pub fn load_dump(st: &mut State) -> Result<(), crate::error::ServerError> {
    let path = dump_path(st);
    let fs = st.persist.fs.clone();
    if !fs.exists(&path) {
        return Ok(());
    }
    let t0 = Instant::now();
    let now = crate::util::now_ms();
    let s = load_into(&mut st.ks, &*fs, &path, now)?;
    let loaded = st.ks.total_keys() as u64;
    st.persist.load_keys_loaded = loaded;
    st.persist.load_keys_expired = s.keys.saturating_sub(loaded);
    tracing::info!(
        "DB loaded from disk: {} keys ({} expired skipped) in {:.3} seconds",
        loaded,
        st.persist.load_keys_expired,
        t0.elapsed().as_secs_f64()
    );
    Ok(())
}
