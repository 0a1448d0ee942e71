//! Writing snapshot files into place, and the log rewrite (compaction)
//! that makes a snapshot the log's new base (FORMAT.md, "Log rewrite").
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

/// Write a snapshot to `dst`: `image` writes the blocks into a temp file,
/// which is finished (trailer, sync), renamed over `dst`, and the
/// directory synced. Returns the file size. On error the temp file is
/// removed and `dst` is as it was.
pub fn save_snapshot(
    fs: &dyn Fs,
    dst: &Path,
    compress: bool,
    cut_lsn: u64,
    created_ms: u64,
    image: impl FnOnce(&mut SnapWriter) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let tmp = tmp_of(dst);
    let r = (|| {
        let mut w = SnapWriter::new(fs.create(&tmp)?, compress)?.piped()?;
        image(&mut w)?;
        let size = w.finish(cut_lsn, created_ms)?;
        install(fs, &tmp, dst)?;
        Ok(size)
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
/// manifest, delete what it no longer names. Returns the snapshot size.
pub fn rewrite(
    log: &LogShared,
    fs: &dyn Fs,
    dir: &Path,
    compress: bool,
    cut_lsn: u64,
    created_ms: u64,
    image: impl FnOnce(&mut SnapWriter) -> std::io::Result<()>,
) -> std::io::Result<u64> {
    let name = base_name(cut_lsn);
    let size = save_snapshot(fs, &dir.join(&name), compress, cut_lsn, created_ms, image)?;
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
    log.switch_base(&name, cut_lsn + 1)?;
    Ok(size)
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
