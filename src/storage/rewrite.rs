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
        let mut w = SnapWriter::new(fs.create(&tmp)?, compress)?;
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
