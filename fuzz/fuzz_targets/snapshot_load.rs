//! The snapshot loader on arbitrary bytes, two ways:
//! * first byte even: the bytes are a whole snapshot file (almost always
//!   refused by a checksum; must never panic or allocate by a declared
//!   length);
//! * first byte odd: the bytes are the raw contents of one block, wrapped
//!   in a file with valid checksums (compressed or not), so the entry
//!   decoder itself meets arbitrary input (parts of split values
//!   included). Whatever loads must write back (splitting big values)
//!   and load again to the same entries.
#![no_main]

use cairn::keyspace::Entry;
use cairn::storage::fs::{Fs, SimFs};
use cairn::storage::snapshot::{BlockBuf, SnapWriter, load};
use libfuzzer_sys::fuzz_target;
use std::path::Path;

fn load_all(bytes: &[u8]) -> Option<Vec<(u32, Entry)>> {
    let mut out = Vec::new();
    load(Path::new("fuzz"), bytes, 0, |d| {
        out.push((d.db, d.entry));
        Ok(())
    })
    .ok()
    .map(|_| out)
}

fn file_with_block(raw: &[u8], entries: u32, compress: bool) -> Vec<u8> {
    let fs = SimFs::new();
    let p = Path::new("/fuzz/snap");
    let mut w = SnapWriter::new(fs.create(p).unwrap(), compress).unwrap();
    w.block(raw, entries).unwrap();
    w.finish(1, 0).unwrap();
    fs.get(p).unwrap()
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        let _ = load_all(rest);
        return;
    }
    let Some((&n, raw)) = rest.split_first() else {
        return;
    };
    // (0 entries: a block of parts only.)
    let file = file_with_block(raw, n as u32 % 9, mode & 2 == 2);
    if let Some(got) = load_all(&file) {
        let fs = SimFs::new();
        let p = Path::new("/fuzz/again");
        let mut w = SnapWriter::new(fs.create(p).unwrap(), false).unwrap();
        let mut b = BlockBuf::default();
        for (db, e) in &got {
            // `add` splits big values into parts, which must join again.
            b.add(*db, e, &mut w).unwrap();
        }
        b.flush(&mut w).unwrap();
        w.finish(1, 0).unwrap();
        let again = load_all(&fs.get(p).unwrap()).expect("a re-written snapshot loads");
        assert_eq!(got.len(), again.len());
        for ((d1, e1), (d2, e2)) in got.iter().zip(&again) {
            assert_eq!(d1, d2);
            assert_eq!(e1.key, e2.key);
            assert_eq!(e1.value, e2.value);
            assert_eq!(e1.expire_at(), e2.expire_at());
        }
    }
});
