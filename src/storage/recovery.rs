//! Start-up: open (or create) the log, replay every record in order, repair
//! a torn tail, refuse real corruption (FORMAT.md, "Recovery rules").

use super::format::{
    HeaderError, KIND_EFFECTS, RecordHeader, SEG_HEADER_LEN, SegmentEnd, parse_segment_header,
    scan_segment, segment_header,
};
use super::fs::Fs;
use super::log::OpenSegment;
use super::manifest::{MANIFEST, Manifest, ManifestError, segment_name};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to do with a damaged record that later records show was synced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorruptPolicy {
    /// Refuse to start (default).
    Refuse,
    /// Cut the log at the damage (keeping the cut bytes aside) and start.
    Truncate,
}

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Manifest {
        path: PathBuf,
        source: ManifestError,
    },
    #[error(
        "{path}: log segments exist but the MANIFEST is missing; refusing to guess which files make up the dataset"
    )]
    MissingManifest { path: PathBuf },
    #[error("{path}: {source}")]
    Header { path: PathBuf, source: HeaderError },
    #[error(
        "{path}: segment header says seq {found_seq} / first LSN {found_lsn}, manifest expects seq {seq} / first LSN {lsn}"
    )]
    Mismatch {
        path: PathBuf,
        seq: u64,
        lsn: u64,
        found_seq: u64,
        found_lsn: u64,
    },
    #[error(
        "{path}: corrupt record at offset {offset} (LSN {lsn}): {detail}. Records after it show it had been synced, so \
         acknowledged writes are damaged. Refusing to start. To start anyway, losing every write from this record on \
         (the cut bytes are kept in a .corrupt-tail file), set `aof-load-corrupt truncate`."
    )]
    Corrupt {
        path: PathBuf,
        offset: usize,
        lsn: u64,
        detail: String,
    },
    #[error("{path}: base snapshot: {msg}")]
    Base { path: PathBuf, msg: String },
    #[error("{path}: record LSN {lsn} could not be applied: {msg}")]
    Apply {
        path: PathBuf,
        lsn: u64,
        msg: String,
    },
}

/// Outcome of recovery besides the open segment.
#[derive(Debug, Default, Clone)]
pub struct RecoveryReport {
    pub records: u64,
    pub bytes: u64,
    pub segments: usize,
    /// Bytes cut off a torn tail or by `truncate`.
    pub cut_bytes: u64,
    pub millis: u128,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RecoveryError + '_ {
    move |source| RecoveryError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Open the log in `dir`, calling `apply(header, payload)` for every effects
/// record in LSN order. Returns the segment to append to. A data dir with
/// a base snapshot is refused (use `open_log_with_base`).
pub fn open_log(
    fs: &dyn Fs,
    dir: &Path,
    policy: CorruptPolicy,
    apply: impl FnMut(&RecordHeader, &[u8]) -> Result<(), String>,
) -> Result<(OpenSegment, RecoveryReport), RecoveryError> {
    open_log_with_base(
        fs,
        dir,
        policy,
        |_| Err("this caller cannot load base snapshots".into()),
        apply,
    )
}

/// `open_log` for a data dir that may have a base snapshot: first
/// `load_base(path)` loads the snapshot the MANIFEST names and returns its
/// summary (cut LSN, uncompressed size), then only records after the cut
/// are applied.
pub fn open_log_with_base(
    fs: &dyn Fs,
    dir: &Path,
    policy: CorruptPolicy,
    load_base: impl FnOnce(&Path) -> Result<crate::storage::snapshot::Summary, String>,
    mut apply: impl FnMut(&RecordHeader, &[u8]) -> Result<(), String>,
) -> Result<(OpenSegment, RecoveryReport), RecoveryError> {
    let start = Instant::now();
    fs.create_dir_all(dir).map_err(io(dir))?;
    let mpath = dir.join(MANIFEST);
    let mut report = RecoveryReport::default();
    if !fs.exists(&mpath) {
        let names = fs.list(dir).map_err(io(dir))?;
        if names
            .iter()
            .any(|n| n.starts_with("log-") && n.ends_with(".clog"))
        {
            return Err(RecoveryError::MissingManifest { path: mpath });
        }
        // Fresh data dir: segment 1, then the manifest that names it.
        let seg = dir.join(segment_name(1));
        let mut f = fs.create(&seg).map_err(io(&seg))?;
        f.write_all(&segment_header(1, 1)).map_err(io(&seg))?;
        f.sync_data().map_err(io(&seg))?;
        fs.sync_dir(dir).map_err(io(dir))?;
        let m = Manifest {
            base: None,
            segments: vec![(1, 1)],
        };
        m.store(fs, dir).map_err(io(&mpath))?;
        report.segments = 1;
        report.millis = start.elapsed().as_millis();
        return Ok((
            OpenSegment {
                manifest: m,
                file: f,
                seq: 1,
                len: SEG_HEADER_LEN as u64,
                last_lsn: 0,
                total_size: SEG_HEADER_LEN as u64,
                base_raw: 0,
            },
            report,
        ));
    }
    let bytes = fs.read(&mpath).map_err(io(&mpath))?;
    let mut manifest = Manifest::decode(&bytes).map_err(|source| RecoveryError::Manifest {
        path: mpath.clone(),
        source,
    })?;
    drop(bytes);
    remove_leftovers(fs, dir, &manifest);

    // Records below this LSN are in the base snapshot.
    let base_lsn = manifest.base.as_ref().map(|b| b.1).unwrap_or(1);
    let mut base_raw = 0;
    if let Some((file, lsn)) = &manifest.base {
        let path = dir.join(file);
        let summary = load_base(&path).map_err(|msg| RecoveryError::Base {
            path: path.clone(),
            msg,
        })?;
        base_raw = summary.raw_bytes;
        let cut = summary.cut_lsn;
        if cut + 1 != *lsn {
            return Err(RecoveryError::Base {
                path,
                msg: format!(
                    "snapshot is cut at LSN {cut}, the MANIFEST expects the log to continue at {lsn}"
                ),
            });
        }
    }
    let mut next_lsn = base_lsn;
    // INFO aof_current_size counts the base snapshot too (as after a
    // rewrite), so automatic rewrites compare like with like.
    let mut total_size = manifest
        .base
        .as_ref()
        .and_then(|(f, _)| fs.len(&dir.join(f)).ok())
        .unwrap_or(0);
    let mut last_progress = Instant::now();
    let nseg = manifest.segments.len();
    let mut keep_segments = nseg;
    let mut last_len = 0u64;
    for (i, &(seq, first_lsn)) in manifest.segments.clone().iter().enumerate() {
        let path = dir.join(segment_name(seq));
        let data = fs.read(&path).map_err(io(&path))?;
        let h = parse_segment_header(&data).map_err(|source| RecoveryError::Header {
            path: path.clone(),
            source,
        })?;
        if h.seq != seq
            || h.first_lsn != first_lsn
            || (i > 0 && first_lsn != next_lsn)
            || (i == 0 && first_lsn > base_lsn)
        {
            // (For the first segment, `next_lsn` is the base snapshot's.)
            return Err(RecoveryError::Mismatch {
                path,
                seq,
                lsn: next_lsn.max(first_lsn),
                found_seq: h.seq,
                found_lsn: h.first_lsn,
            });
        }
        let (next, end) = scan_segment(&data, first_lsn, |rh, payload| {
            report.records += 1;
            report.bytes += payload.len() as u64;
            if last_progress.elapsed().as_secs() >= 2 {
                tracing::info!(
                    "Loading the log: {} records, {} MB so far",
                    report.records,
                    report.bytes >> 20
                );
                last_progress = Instant::now();
            }
            if rh.kind == KIND_EFFECTS && rh.lsn >= base_lsn {
                apply(rh, payload).map_err(|msg| RecoveryError::Apply {
                    path: path.clone(),
                    lsn: rh.lsn,
                    msg,
                })
            } else {
                Ok(())
            }
        })?;
        next_lsn = next;
        let is_last = i + 1 == nseg;
        if next_lsn < base_lsn && (is_last || !matches!(end, SegmentEnd::Clean)) {
            // The segment holding the cut was synced before the base
            // switch: damage before the cut is never a torn tail.
            return Err(RecoveryError::Corrupt {
                path,
                offset: 0,
                lsn: next_lsn,
                detail: format!("the log ends before the base snapshot's cut (LSN {base_lsn})"),
            });
        }
        let damage = match end {
            SegmentEnd::Clean => None,
            SegmentEnd::TornTail { offset }
                if is_last && data[offset..].iter().all(|&b| b == 0) =>
            {
                // Zeros after the last record: space the writer
                // preallocated (storage/log.rs, `PREALLOC_STEP`), or
                // blocks a power cut left unwritten. Not damage.
                fs.set_len(&path, offset as u64).map_err(io(&path))?;
                Some(offset)
            }
            SegmentEnd::TornTail { offset } if is_last => {
                cut_tail(fs, &path, &data, offset, "torn tail", &mut report)?;
                Some(offset)
            }
            SegmentEnd::TornTail { offset } => Some(corrupt_or_cut(
                fs,
                &path,
                &data,
                offset,
                next,
                "damaged record in a closed segment".into(),
                policy,
                &mut report,
            )?),
            SegmentEnd::Corrupt {
                offset,
                lsn,
                valid_at,
            } => Some(corrupt_or_cut(
                fs,
                &path,
                &data,
                offset,
                lsn,
                format!("checksum mismatch; a valid record follows at offset {valid_at}"),
                policy,
                &mut report,
            )?),
            SegmentEnd::LsnGap {
                offset,
                expected,
                found,
            } => Some(corrupt_or_cut(
                fs,
                &path,
                &data,
                offset,
                expected,
                format!("LSN {found} where {expected} was expected"),
                policy,
                &mut report,
            )?),
        };
        let len = damage.map(|o| o as u64).unwrap_or(data.len() as u64);
        total_size += len;
        last_len = len;
        report.segments += 1;
        if damage.is_some() && !is_last {
            // Truncate policy cut a closed segment: later segments go.
            keep_segments = i + 1;
            break;
        }
    }
    if keep_segments < nseg {
        for &(seq, _) in &manifest.segments[keep_segments..] {
            let p = dir.join(segment_name(seq));
            tracing::warn!("Dropping log segment {} (after the cut)", p.display());
            let _ = fs.rename(
                &p,
                &p.with_extension(format!("clog.dropped.{}", crate::util::now_ms())),
            );
        }
        manifest.segments.truncate(keep_segments);
        manifest.store(fs, dir).map_err(io(&mpath))?;
    }
    let &(seq, _) = manifest.segments.last().expect("manifest names a segment");
    let path = dir.join(segment_name(seq));
    let file = fs.open_append(&path).map_err(io(&path))?;
    report.millis = start.elapsed().as_millis();
    Ok((
        OpenSegment {
            manifest,
            file,
            seq,
            len: last_len,
            last_lsn: next_lsn - 1,
            total_size,
            base_raw,
        },
        report,
    ))
}

/// Real corruption: refuse, or (truncate policy) cut like a torn tail.
#[allow(clippy::too_many_arguments)]
fn corrupt_or_cut(
    fs: &dyn Fs,
    path: &Path,
    data: &[u8],
    offset: usize,
    lsn: u64,
    detail: String,
    policy: CorruptPolicy,
    report: &mut RecoveryReport,
) -> Result<usize, RecoveryError> {
    match policy {
        CorruptPolicy::Refuse => Err(RecoveryError::Corrupt {
            path: path.to_path_buf(),
            offset,
            lsn,
            detail,
        }),
        CorruptPolicy::Truncate => {
            tracing::warn!(
                "aof-load-corrupt truncate: cutting {} at offset {offset} (LSN {lsn}): {detail}",
                path.display()
            );
            cut_tail(fs, path, data, offset, "corruption", report)?;
            Ok(offset)
        }
    }
}

/// Save `data[offset..]` beside the segment, then cut the segment there.
fn cut_tail(
    fs: &dyn Fs,
    path: &Path,
    data: &[u8],
    offset: usize,
    why: &str,
    report: &mut RecoveryReport,
) -> Result<(), RecoveryError> {
    let tail = &data[offset..];
    let saved = PathBuf::from(format!(
        "{}.corrupt-tail.{}",
        path.display(),
        crate::util::now_ms()
    ));
    let mut f = fs.create(&saved).map_err(io(&saved))?;
    f.write_all(tail).map_err(io(&saved))?;
    f.sync_data().map_err(io(&saved))?;
    drop(f);
    if let Some(d) = path.parent() {
        fs.sync_dir(d).map_err(io(d))?;
    }
    fs.set_len(path, offset as u64).map_err(io(path))?;
    report.cut_bytes += tail.len() as u64;
    tracing::warn!(
        "Log {why} repaired: cut {} bytes from {} at offset {offset}; the cut bytes are saved in {}",
        tail.len(),
        path.display(),
        saved.display()
    );
    Ok(())
}

/// Delete files an interrupted step left behind: segments the manifest does
/// not name, and a temp manifest.
fn remove_leftovers(fs: &dyn Fs, dir: &Path, m: &Manifest) {
    let Ok(names) = fs.list(dir) else { return };
    for n in names {
        let orphan_seg = n.starts_with("log-")
            && n.ends_with(".clog")
            && !m.segments.iter().any(|(s, _)| segment_name(*s) == n);
        let orphan_base = n.starts_with("base-")
            && (n.ends_with(".tmp") || m.base.as_ref().is_none_or(|(f, _)| *f != n));
        if orphan_seg || orphan_base || n == format!("{MANIFEST}.tmp") {
            let p = dir.join(&n);
            tracing::warn!("Removing leftover {} (not in the manifest)", p.display());
            let _ = fs.remove(&p);
        }
    }
}
