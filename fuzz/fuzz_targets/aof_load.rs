//! The log loader on arbitrary bytes: a segment file (and a manifest) made
//! of fuzz input is recovered without panicking or allocating by declared
//! lengths; whatever it accepts, a second recovery accepts identically.
#![no_main]

use cairn::storage::format::segment_header;
use cairn::storage::fs::{Fs, SimFs};
use cairn::storage::manifest::Manifest;
use cairn::storage::recovery::{CorruptPolicy, open_log};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn recover(fs: &SimFs, dir: &Path, policy: CorruptPolicy) -> Option<Vec<Vec<u8>>> {
    let mut seen = Vec::new();
    open_log(fs, dir, policy, |h, payload| {
        seen.push([&h.lsn.to_le_bytes()[..], payload].concat());
        Ok(())
    })
    .ok()
    .map(|_| seen)
}

fuzz_target!(|data: &[u8]| {
    let dir = Path::new("/fuzz/appendonlydir");
    let fs = SimFs::new();
    let _ = fs.create_dir_all(dir);
    if data.first().is_some_and(|b| b & 1 == 1) {
        // Raw bytes as the manifest.
        fs.put(&dir.join("MANIFEST"), data[1..].to_vec());
    } else {
        // A valid manifest and header, fuzz bytes as the records.
        let m = Manifest {
            base: None,
            segments: vec![(1, 1)],
        };
        fs.put(&dir.join("MANIFEST"), m.encode().into_bytes());
        let mut seg = segment_header(1, 1).to_vec();
        seg.extend_from_slice(data.get(1..).unwrap_or_default());
        fs.put(&dir.join("log-00000001.clog"), seg);
    }
    let policy = if data.get(1).is_some_and(|b| b & 1 == 1) {
        CorruptPolicy::Truncate
    } else {
        CorruptPolicy::Refuse
    };
    if let Some(first) = recover(&fs, dir, policy) {
        // Recovery repaired what it cut: recovering again sees the same.
        let again = recover(&fs, dir, CorruptPolicy::Refuse).expect("repaired log reopens");
        assert_eq!(first, again);
    }
});
