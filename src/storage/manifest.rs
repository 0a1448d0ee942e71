//! MANIFEST: the list of files that make up the dataset (FORMAT.md).
//!
//! Invariant: the manifest on disk is replaced only by writing a temp file,
//! syncing it, renaming it over the old one, and syncing the directory, so
//! after any crash it is either the old or the new one, whole.

use super::fs::Fs;
use std::path::Path;

pub const MANIFEST: &str = "MANIFEST";
const MAGIC: &str = "cairn-manifest";
/// Version written for a manifest without a base snapshot (readable by
/// every Cairn); with a base the manifest is version 2, which readers that
/// cannot load a base refuse instead of replaying the log without it.
const VERSION: u32 = 1;
const VERSION_BASE: u32 = 2;

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Manifest {
    /// Base snapshot file and the first LSN not in it.
    pub base: Option<(String, u64)>,
    /// Log segments in replay order: (sequence number, first LSN).
    pub segments: Vec<(u64, u64)>,
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("manifest is not valid UTF-8")]
    Utf8,
    #[error("manifest line {0}: {1}")]
    Line(usize, String),
    #[error("manifest checksum mismatch (file damaged)")]
    Checksum,
    #[error("manifest has no checksum line (truncated)")]
    NoChecksum,
    #[error("unsupported manifest version {0}")]
    Version(u32),
    #[error("manifest names no log segment")]
    NoSegments,
}

pub fn segment_name(seq: u64) -> String {
    format!("log-{seq:08}.clog")
}

impl Manifest {
    pub fn encode(&self) -> String {
        let v = if self.base.is_some() {
            VERSION_BASE
        } else {
            VERSION
        };
        let mut s = format!("{MAGIC} {v}\n");
        match &self.base {
            None => s.push_str("base none\n"),
            Some((f, lsn)) => s.push_str(&format!("base {f} {lsn}\n")),
        }
        for (seq, lsn) in &self.segments {
            s.push_str(&format!("segment {seq} {lsn}\n"));
        }
        let crc = crc32c::crc32c(s.as_bytes());
        s.push_str(&format!("crc32c {crc:08x}\n"));
        s
    }

    pub fn decode(bytes: &[u8]) -> Result<Manifest, ManifestError> {
        let text = std::str::from_utf8(bytes).map_err(|_| ManifestError::Utf8)?;
        let Some(pos) = text.rfind("crc32c ") else {
            return Err(ManifestError::NoChecksum);
        };
        let body = &text[..pos];
        let want = text[pos + 7..].trim();
        let got = format!("{:08x}", crc32c::crc32c(body.as_bytes()));
        if want != got {
            return Err(ManifestError::Checksum);
        }
        let mut m = Manifest::default();
        for (i, line) in body.lines().enumerate() {
            let n = i + 1;
            let w: Vec<&str> = line.split(' ').collect();
            let bad = || ManifestError::Line(n, line.to_string());
            let num = |s: &str| s.parse::<u64>().map_err(|_| bad());
            match w.as_slice() {
                [MAGIC, v] if n == 1 => {
                    let v: u32 = v.parse().map_err(|_| bad())?;
                    if v != VERSION && v != VERSION_BASE {
                        return Err(ManifestError::Version(v));
                    }
                }
                _ if n == 1 => return Err(bad()),
                ["base", "none"] => m.base = None,
                ["base", f, lsn] => m.base = Some((f.to_string(), num(lsn)?)),
                ["segment", seq, lsn] => m.segments.push((num(seq)?, num(lsn)?)),
                _ => return Err(bad()),
            }
        }
        if m.segments.is_empty() {
            return Err(ManifestError::NoSegments);
        }
        Ok(m)
    }

    /// Durably replace the manifest in `dir` (temp, sync, rename, sync dir).
    pub fn store(&self, fs: &dyn Fs, dir: &Path) -> std::io::Result<()> {
        super::fs::replace_file(fs, &dir.join(MANIFEST), self.encode().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_damage() {
        let m = Manifest {
            base: Some(("dump.cdb".into(), 7)),
            segments: vec![(1, 1), (2, 100)],
        };
        let text = m.encode();
        assert_eq!(Manifest::decode(text.as_bytes()).unwrap(), m);
        let mut bad = text.clone().into_bytes();
        bad[20] ^= 1;
        assert!(Manifest::decode(&bad).is_err());
        assert!(matches!(
            Manifest::decode(&text.as_bytes()[..text.len() - 20]),
            Err(ManifestError::NoChecksum | ManifestError::Checksum)
        ));
    }
}
