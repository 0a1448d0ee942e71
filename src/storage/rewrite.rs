//! Writing snapshot files into place, and the log rewrite (compaction)
//! that makes a snapshot the log's new base (FORMAT.md, "Log rewrite");
//! a BGSAVE with the log on makes its dump the base the same way.
//!
//! Invariant: a step that fails or is cut short by a crash leaves the
//! previous snapshot and manifest untouched: new files are written under a
//! temp name, synced, renamed, and the directory synced; the manifest
//! switch is a durable rename; old files go only after it.

use super::fs::Fs;
use super::log::LogShared;
use super::snapshot::{SnapWriter, install};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Name of the base snapshot cut at `cut_lsn` (in the log directory).
pub fn base_name(cut_lsn: u64) -> String {
    format!("base-{cut_lsn:016}.csnap")
}

fn tmp_of(dst: &Path) -> PathBuf {
    let mut s = dst.as_os_str().to_owned();
    s.push(".tmp");
    PathBuf::from(s)
}

/// A snapshot written into place.
#[derive(Debug, Clone, Copy)]
pub struct Saved {
    /// File size.
    pub bytes: u64,
    /// Its blocks' size before compression (the data's logical size).
    pub raw_bytes: u64,
}

/// Write a snapshot to `dst`: `image` writes the blocks into a temp file,
/// which is finished (trailer, sync), renamed over `dst`, and the
/// directory synced. On error the temp file is removed and `dst` is as it
/// was.
pub fn save_snapshot(
    fs: &dyn Fs,
    dst: &Path,
    compress: bool,
    cut_lsn: u64,
    created_ms: u64,
    image: impl FnOnce(&mut SnapWriter) -> std::io::Result<()>,
) -> std::io::Result<Saved> {
    let tmp = tmp_of(dst);
    let r = (|| {
        let mut w = SnapWriter::new(fs.create(&tmp)?, compress)?.piped()?;
        image(&mut w)?;
        let (bytes, raw_bytes) = w.finish_counted(cut_lsn, created_ms)?;
        install(fs, &tmp, dst)?;
        Ok(Saved { bytes, raw_bytes })
    })();
    if r.is_err() {
        let _ = fs.remove(&tmp);
    }
    r
}

/// How long a rewrite waits for the log to roll past its cut.
const ROLL_WAIT: Duration = Duration::from_secs(30);

/// Log rewrite, after the cut (at which `LogShared::request_roll` was
/// called with every record up to `cut_lsn` submitted): write the base
/// snapshot, wait for the log to be on a segment after the cut, switch the
/// manifest, delete what it no longer names.
pub fn rewrite(
    log: &LogShared,
    fs: &dyn Fs,
    dir: &Path,
    compress: bool,
    cut_lsn: u64,
    created_ms: u64,
    image: impl FnOnce(&mut SnapWriter) -> std::io::Result<()>,
) -> std::io::Result<Saved> {
    let name = base_name(cut_lsn);
    let saved = save_snapshot(fs, &dir.join(&name), compress, cut_lsn, created_ms, image)?;
    wait_roll(log, cut_lsn)?;
    log.switch_base(&name, cut_lsn + 1, saved.raw_bytes)?;
    Ok(saved)
}

/// Wait until the log appends to a segment that starts after `cut_lsn`
/// (requested by `LogShared::request_roll` at the cut): then every record
/// up to the cut is in synced segments.
fn wait_roll(log: &LogShared, cut_lsn: u64) -> std::io::Result<()> {
    let start = Instant::now();
    while log.current_segment_first_lsn() <= cut_lsn {
        if log.roll_failed() {
            return Err(std::io::Error::other(
                "the log could not start a new segment at the cut",
            ));
        }
        if log.is_failed() {
            return Err(std::io::Error::other(format!(
                "the log is failing: {}",
                log.last_error().unwrap_or_default()
            )));
        }
        if start.elapsed() > ROLL_WAIT {
            return Err(std::io::Error::other(
                "timed out waiting for the log to start a new segment",
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    Ok(())
}

/// What `adopt_as_base` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adopted {
    /// The snapshot is the log's base now (a second name in the log dir).
    Switched,
    /// The log's base already covers the cut: nothing to do.
    AlreadyCovered,
}

/// A BGSAVE with the log on (FORMAT.md, "A BGSAVE becomes the log's
/// base"): the dump file `snap` (`saved`), already durable under its name
/// and cut at `cut_lsn` (at which `LogShared::request_roll` was called with every
/// record up to the cut submitted), is exactly what a log rewrite would
/// write. Give it a second name `base-<cut>.csnap` in the log directory (a
/// hard link, so no bytes are copied and a later save that renames a new
/// dump over `snap` never touches it), sync the directory, wait for the
/// log to roll past the cut, and switch the manifest (`switch_base`: the
/// old segments and base go only after the switch is durable). A crash
/// before the switch leaves the old manifest and an unnamed base (deleted
/// at start-up); after it, the new one. An error before the switch
/// removes the link; the log is as it was.
pub fn adopt_as_base(
    log: &LogShared,
    fs: &dyn Fs,
    snap: &Path,
    saved: Saved,
    dir: &Path,
    cut_lsn: u64,
) -> std::io::Result<Adopted> {
    if log.manifest().base.is_some_and(|(_, lsn)| lsn > cut_lsn) {
        return Ok(Adopted::AlreadyCovered);
    }
    let name = base_name(cut_lsn);
    let path = dir.join(&name);
    let r = (|| {
        // Not named by the manifest (its base is older than the cut): a
        // leftover of an interrupted step.
        if fs.exists(&path) {
            fs.remove(&path)?;
        }
        fs.link(snap, &path)?;
        fs.sync_dir(dir)?;
        wait_roll(log, cut_lsn)
    })();
    if let Err(e) = r {
        let _ = fs.remove(&path);
        return Err(e);
    }
    // From here on the new MANIFEST may be on disk even if the switch
    // reports an error, so the base stays (start-up deletes it if unnamed).
    log.switch_base(&name, cut_lsn + 1, saved.raw_bytes)?;
    Ok(Adopted::Switched)
}

/// Offline compaction (`aof-rewrite`): the data dir's state is loaded and
/// no server runs on it. Writes the image as the base at `last_lsn`,
/// starts an empty segment after it, switches the manifest, deletes what
/// it no longer names. A crash at any step leaves the old manifest (the
/// new files are unnamed leftovers, removed at start-up) or the new one.
pub fn compact_offline(
    fs: &dyn Fs,
    dir: &Path,
    old: &super::manifest::Manifest,
    last_lsn: u64,
    compress: bool,
    image: impl FnOnce(&mut SnapWriter) -> std::io::Result<()>,
) -> std::io::Result<super::manifest::Manifest> {
    use super::format::segment_header;
    use super::manifest::{Manifest, segment_name};
    let name = base_name(last_lsn);
    save_snapshot(
        fs,
        &dir.join(&name),
        compress,
        last_lsn,
        crate::util::now_ms(),
        image,
    )?;
    let seq = old.segments.iter().map(|s| s.0).max().unwrap_or(0) + 1;
    let seg = dir.join(segment_name(seq));
    let mut f = fs.create(&seg)?;
    f.write_all(&segment_header(seq, last_lsn + 1))?;
    f.sync_data()?;
    drop(f);
    fs.sync_dir(dir)?;
    let new = Manifest {
        base: Some((name.clone(), last_lsn + 1)),
        segments: vec![(seq, last_lsn + 1)],
    };
    new.store(fs, dir)?;
    for &(s, _) in &old.segments {
        let _ = fs.remove(&dir.join(segment_name(s)));
    }
    if let Some((f, _)) = &old.base
        && *f != name
    {
        let _ = fs.remove(&dir.join(f));
    }
    fs.sync_dir(dir)?;
    Ok(new)
}
