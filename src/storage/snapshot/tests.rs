//! Format tests: round trip of every type, every flipped bit and every
//! truncation refused, expired keys skipped, garbage never panics.

use super::*;
use crate::keyspace::types::List;
use crate::storage::fs::SimFs;

fn sample() -> Vec<(u32, Entry)> {
    let mut v = vec![
        (0, Entry::new(b"s", Value::string(b"hello"))),
        (0, Entry::new(b"i", Value::Int(-42))),
        (0, Entry::new(b"imax", Value::Int(i64::MIN))),
        (
            1,
            Entry::new(b"raw", Value::raw(CompactBytes::new(b"appended"))),
        ),
    ];
    let mut big = Entry::new(b"long-key-longer-than-22-bytes", Value::string(&[7u8; 300]));
    big.expire_at = u64::MAX - 1;
    v.push((2, big));
    let mut l = List::default();
    for i in 0..50 {
        l.push(format!("e{i}").as_bytes(), i % 2 == 0);
    }
    v.push((0, Entry::new(b"list", Value::List(Box::new(l)))));
    let mut h = Hash::new();
    h.insert(b"f1", b"v1");
    h.insert(b"f2", b"");
    v.push((0, Entry::new(b"hash", Value::Hash(Box::new(h.clone())))));
    h.convert_if_needed(0, usize::MAX, &[]);
    v.push((3, Entry::new(b"hashbig", Value::Hash(Box::new(h)))));
    let mut s = Set::new();
    s.insert(b"1", 512);
    s.insert(b"2", 512);
    v.push((0, Entry::new(b"intset", Value::Set(Box::new(s)))));
    let mut s = Set::new();
    s.insert(b"a", 512);
    s.insert(b"b", 512);
    v.push((0, Entry::new(b"set", Value::Set(Box::new(s)))));
    let mut z = ZSet::new();
    z.insert(b"m1", 1.5);
    z.insert(b"m2", f64::NEG_INFINITY);
    z.insert(b"m0", -0.0);
    v.push((0, Entry::new(b"zset", Value::ZSet(Box::new(z)))));
    let mut z = ZSet::new();
    for i in 0..200 {
        z.insert(format!("member-{i}").as_bytes(), i as f64 / 3.0);
    }
    assert!(!z.is_compact());
    v.push((0, Entry::new(b"zbig", Value::ZSet(Box::new(z)))));
    v
}

fn write(entries: &[(u32, Entry)], compress: bool, per_block: usize) -> Vec<u8> {
    let fs = SimFs::new();
    let p = Path::new("/sim/snap");
    let mut w = SnapWriter::new(fs.create(p).unwrap(), compress).unwrap();
    for chunk in entries.chunks(per_block) {
        let mut b = BlockBuf::default();
        for (db, e) in chunk {
            b.push(*db, e);
        }
        b.flush(&mut w).unwrap();
    }
    w.finish(77, 1234).unwrap();
    fs.get(p).unwrap()
}

fn read(bytes: &[u8], now: u64) -> Result<(Summary, Vec<(u32, Entry)>), SnapshotError> {
    let mut out = Vec::new();
    let s = load(Path::new("snap"), bytes, now, |d| {
        out.push((d.db, d.entry));
        Ok(())
    })?;
    Ok((s, out))
}

fn same(a: &[(u32, Entry)], b: &[(u32, Entry)]) {
    assert_eq!(a.len(), b.len());
    for ((da, ea), (db, eb)) in a.iter().zip(b) {
        assert_eq!(da, db);
        assert_eq!(ea.key, eb.key);
        assert_eq!(ea.value, eb.value, "key {:?}", ea.key);
        assert_eq!(ea.value.encoding(), eb.value.encoding(), "key {:?}", ea.key);
        assert_eq!(ea.expire_at(), eb.expire_at());
    }
}

#[test]
fn round_trip_every_type() {
    let v = sample();
    for compress in [false, true] {
        for per_block in [1, 3, 100] {
            let bytes = write(&v, compress, per_block);
            let (s, got) = read(&bytes, 0).unwrap();
            assert_eq!(s.cut_lsn, 77);
            assert_eq!(s.created_ms, 1234);
            assert_eq!(s.keys, v.len() as u64);
            assert_eq!(s.blocks, v.len().div_ceil(per_block) as u64);
            same(&v, &got);
            assert_eq!(check(Path::new("x"), &bytes, |_| {}).unwrap(), s);
        }
    }
}

/// A piped writer on a fresh simulated file, and the file's path.
fn piped_writer(compress: bool) -> (SimFs, &'static Path, SnapWriter) {
    let fs = SimFs::new();
    let p = Path::new("/sim/snap");
    let w = SnapWriter::new(fs.create(p).unwrap(), compress)
        .unwrap()
        .piped()
        .unwrap();
    (fs, p, w)
}

/// A piped writer given both encoded blocks and whole entries (which its
/// compressor thread encodes) writes them all, and the trailer counts
/// both, as does the raw size `finish_counted` reports.
#[test]
fn piped_writer_encodes_handed_over_entries_and_counts_them() {
    let v = sample();
    for compress in [false, true] {
        let (fs, p, mut w) = piped_writer(compress);
        let mut raw_sent = 0;
        for (i, (db, e)) in v.iter().enumerate() {
            if i % 2 == 0 {
                w.entry(*db, e.clone()).unwrap();
            } else {
                let mut b = BlockBuf::default();
                b.push(*db, e);
                raw_sent += b.raw.len() as u64;
                b.flush(&mut w).unwrap();
            }
        }
        let (_, raw) = w.finish_counted(5, 6).unwrap();
        let bytes = fs.get(p).unwrap();
        let (s, mut got) = read(&bytes, 0).unwrap();
        assert_eq!(s.keys, v.len() as u64);
        assert_eq!(s.raw_bytes, raw);
        assert!(raw > raw_sent, "{raw} raw bytes, {raw_sent} sent encoded");
        // Handed-over entries may land after blocks sent later.
        got.sort_by(|a, b| a.1.key.cmp(&b.1.key));
        let mut want = v.clone();
        want.sort_by(|a, b| a.1.key.cmp(&b.1.key));
        same(&want, &got);
    }
}

/// Write `v` through one `BlockBuf` (`add`: big values split), then the
/// trailer.
fn add_all_and_finish(mut w: SnapWriter, v: &[(u32, Entry)]) {
    let mut b = BlockBuf::default();
    for (db, e) in v {
        b.add(*db, e, &mut w).unwrap();
    }
    b.flush(&mut w).unwrap();
    w.finish(1, 2).unwrap();
}

/// One `BlockBuf` filling many blocks through a piped writer, as the
/// snapshot thread does: the buffers the compressor hands back are filled
/// again, and every block still holds exactly its own entries.
#[test]
fn piped_writer_reuses_block_buffers_without_mixing_blocks() {
    let v: Vec<(u32, Entry)> = (0..40_000u32)
        .map(|i| {
            let val = format!("value-{i}-{}", "x".repeat((i % 97) as usize));
            (
                i % 3,
                Entry::new(
                    format!("key:{i}").as_bytes(),
                    Value::Str(crate::keyspace::CompactBytes::new(val.as_bytes())),
                ),
            )
        })
        .collect();
    for compress in [false, true] {
        let (fs, p, w) = piped_writer(compress);
        add_all_and_finish(w, &v);
        let bytes = fs.get(p).unwrap();
        let (s, got) = read(&bytes, 0).unwrap();
        assert!(s.blocks >= 8, "only {} blocks", s.blocks);
        if compress {
            // The values repeat a lot: blocks that stayed raw would show.
            assert!(
                (bytes.len() as u64) < s.raw_bytes / 3,
                "{} bytes for {} raw",
                bytes.len(),
                s.raw_bytes
            );
        }
        assert_eq!(s.keys, v.len() as u64);
        same(&v, &got);
    }
}

#[test]
fn empty_snapshot_round_trips() {
    let bytes = write(&[], true, 10);
    assert_eq!(bytes.len(), HEADER_LEN + TRAILER_LEN);
    let (s, got) = read(&bytes, 0).unwrap();
    assert!(got.is_empty());
    assert_eq!(s.keys, 0);
}

#[test]
fn expired_keys_are_not_loaded() {
    let mut e = Entry::new(b"old", Value::Int(1));
    e.expire_at = 1000;
    let mut f = Entry::new(b"new", Value::Int(2));
    f.expire_at = 5000;
    let bytes = write(&[(0, e), (0, f)], true, 10);
    let (_, got) = read(&bytes, 2000).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].1.key.as_slice(), b"new");
}

#[test]
fn every_flipped_bit_is_refused() {
    let v: Vec<_> = sample().into_iter().take(6).collect();
    for compress in [false, true] {
        let bytes = write(&v, compress, 2);
        for i in 0..bytes.len() {
            for bit in 0..8 {
                let mut b = bytes.clone();
                b[i] ^= 1 << bit;
                match read(&b, 0) {
                    Err(SnapshotError::Bad { path, offset, .. }) => {
                        assert_eq!(path, Path::new("snap"));
                        assert!(offset <= bytes.len() as u64);
                    }
                    Err(e) => panic!("unexpected error {e}"),
                    Ok(_) => panic!("flip of bit {bit} at {i} not detected"),
                }
            }
        }
    }
}

#[test]
fn every_truncation_is_refused() {
    let bytes = write(&sample(), true, 4);
    for len in 0..bytes.len() {
        assert!(
            read(&bytes[..len], 0).is_err(),
            "truncation at {len} accepted"
        );
    }
    // Extra bytes at the end are refused too.
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(read(&longer, 0).is_err());
}

#[test]
fn error_names_file_and_offset() {
    let mut bytes = write(&sample(), false, 4);
    let at = HEADER_LEN + BLOCK_HEADER_LEN + 3;
    bytes[at] ^= 0x10;
    let e = read(&bytes, 0).unwrap_err().to_string();
    assert_eq!(
        e,
        format!("snap: offset {HEADER_LEN}: block checksum mismatch"),
    );
    let rdb = b"REDIS0010\xfa\x09redis-ver".repeat(8);
    assert!(
        read(&rdb, 0)
            .unwrap_err()
            .to_string()
            .contains("Redis RDB file")
    );
}

#[test]
fn raw_decoder_never_panics_on_garbage() {
    let mut x = 0x9E3779B97F4A7C15u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let len = (x % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|i| (x >> (i % 8 * 8)) as u8 ^ i as u8)
            .collect();
        let _ = decode_block(&bytes, |_| {});
    }
    // Valid prefix of an encoded entry, then every truncation of it.
    let mut raw = Vec::new();
    for (db, e) in sample() {
        encode_entry(&mut raw, db, &e);
    }
    for len in 0..raw.len() {
        let _ = decode_block(&raw[..len], |_| {});
    }
}

/// `keyspace::cow::load_into` of `entries` written `per_block` to a block.
fn load_ks(
    entries: &[(u32, Entry)],
    per_block: usize,
    now: u64,
) -> Result<crate::keyspace::Keyspace, SnapshotError> {
    let fs = SimFs::new();
    let p = Path::new("/sim/snap");
    fs.put(p, write(entries, true, per_block));
    let mut ks = crate::keyspace::Keyspace::new(4);
    crate::keyspace::cow::load_into(&mut ks, &fs, p, now)?;
    Ok(ks)
}

fn numbered(db: u32, n: usize, tag: &str) -> Vec<(u32, Entry)> {
    (0..n)
        .map(|i| {
            let mut e = Entry::new(
                format!("{tag}:{i:08}").as_bytes(),
                Value::string(format!("v{i}").as_bytes()),
            );
            if i % 10 == 0 {
                e.expire_at = if i % 20 == 0 { 1_000 } else { 5_000 };
            }
            (db, e)
        })
        .collect()
}

#[test]
fn load_into_a_presized_table_in_hash_order_finds_every_key() {
    // Big enough for a table sized up front, several insert batches and
    // the pipelined decoder, all in one database.
    let v = numbered(2, 150_000, "k");
    let ks = load_ks(&v, 997, 2_000).unwrap();
    let t = &ks.dbs[2].table;
    // Keys expired at 2000 (every 20th) are skipped; those expiring at
    // 5000 are loaded and counted as volatile.
    assert_eq!(t.len(), 150_000 - 7_500);
    assert_eq!(ks.dbs[2].expires, 7_500);
    assert!(t.segments().len() >= 128, "{}", t.segments().len());
    for (i, (_, e)) in v.iter().enumerate() {
        let got = t.get(&e.key);
        if i % 20 == 0 {
            assert!(got.is_none());
        } else {
            let got = got.unwrap_or_else(|| panic!("key {i} missing"));
            assert_eq!(got.value, e.value);
            assert_eq!(got.expire_at(), e.expire_at());
        }
    }
    // SCAN relies on the directory invariants the sizing sets up: every
    // key exactly once.
    let mut seen = std::collections::HashSet::new();
    let mut cursor = 0;
    loop {
        cursor = t.scan(cursor, 1000, |e| assert!(seen.insert(e.key.to_vec())));
        if cursor == 0 {
            break;
        }
    }
    assert_eq!(seen.len(), t.len());
    for d in [0, 1, 3] {
        assert_eq!(ks.dbs[d].table.len(), 0);
    }
}

#[test]
fn load_into_several_databases_and_refuse_a_duplicate_key() {
    let mut v = numbered(0, 3_000, "a");
    v.extend(numbered(3, 5_000, "b"));
    v.extend(numbered(1, 2_000, "c"));
    let ks = load_ks(&v, 500, 0).unwrap();
    assert_eq!(ks.dbs[0].table.len(), 3_000);
    assert_eq!(ks.dbs[3].table.len(), 5_000);
    assert_eq!(ks.dbs[1].table.len(), 2_000);
    assert_eq!(ks.dbs[3].expires, 500);
    // The same key twice (in different blocks) in one database is refused;
    // in two databases it is two keys.
    let mut dup = numbered(0, 2_000, "a");
    dup.push((0, Entry::new(b"a:00000007", Value::Int(1))));
    let e = load_ks(&dup, 300, 0).err().expect("duplicate accepted");
    assert!(e.to_string().contains("appears twice"), "{e}");
    // Also in one big database, which two threads load half each.
    let mut dup = numbered(0, 100_000, "a");
    dup.push((0, Entry::new(b"a:00099999", Value::Int(1))));
    let e = load_ks(&dup, 300, 0).err().expect("duplicate accepted");
    assert!(e.to_string().contains("appears twice"), "{e}");
    let mut two = numbered(0, 2_000, "a");
    two.push((1, Entry::new(b"a:00000007", Value::Int(1))));
    assert!(load_ks(&two, 300, 0).is_ok());
    // A database the server does not have is refused.
    let far = numbered(9, 10, "z");
    let e = load_ks(&far, 300, 0).err().expect("db 9 accepted");
    assert!(e.to_string().contains("database 9"), "{e}");
}

#[test]
fn tables_are_never_sized_beyond_what_the_file_can_hold() {
    let summary = |keys, raw_bytes| Summary {
        keys,
        blocks: 1,
        cut_lsn: 0,
        created_ms: 0,
        raw_bytes,
    };
    let hint = |keys, raw, file| LoadHint {
        summary: summary(keys, raw),
        single_db: Some(0),
        file_bytes: file,
    };
    // A real snapshot: the trailer's count.
    assert_eq!(
        hint(2_000_000, 160_000_000, 107_000_000).keys_to_reserve(),
        2_000_000
    );
    // Counts the bytes cannot hold are capped (a crafted file whose
    // checksums match).
    assert_eq!(hint(u64::MAX, 1_000, 1 << 30).keys_to_reserve(), 200);
    assert_eq!(hint(u64::MAX, u64::MAX, 1_000).keys_to_reserve(), 500);
    // A sized empty table is a table like any other.
    let mut t = crate::keyspace::Table::new();
    t.reserve_empty(100_000);
    assert!(t.segments().len() >= 128 && t.segments().len() <= 256);
    assert_eq!(t.len(), 0);
    t.insert_new(Entry::new(b"k", Value::Int(1)));
    assert!(t.get(b"k").is_some());
}

/// One write-behind call: offset, length, wait, bytes written at the time.
type BehindCall = (u64, u64, bool, u64);

/// An `FsFile` that records its write-behind calls.
struct Recording {
    written: u64,
    calls: std::sync::Arc<std::sync::Mutex<Vec<BehindCall>>>,
}

impl crate::storage::fs::FsFile for Recording {
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        self.written += data.len() as u64;
        Ok(())
    }
    fn sync_data(&mut self) -> std::io::Result<()> {
        Ok(())
    }
    fn truncate(&mut self, _len: u64) -> std::io::Result<()> {
        Ok(())
    }
    fn write_behind(&mut self, offset: u64, len: u64, wait: bool) -> std::io::Result<()> {
        self.calls
            .lock()
            .unwrap()
            .push((offset, len, wait, self.written));
        Ok(())
    }
}

#[test]
fn a_big_snapshot_is_written_behind_in_bounded_windows() {
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let file = Recording {
        written: 0,
        calls: calls.clone(),
    };
    let mut w = SnapWriter::new(Box::new(file), false).unwrap();
    let block = vec![0x5au8; 300_000];
    let total = 40u64 << 20;
    for _ in 0..total / block.len() as u64 {
        w.block(&block, 1).unwrap();
    }
    w.finish(1, 1).unwrap();
    let calls = calls.lock().unwrap();
    assert!(
        calls.len() >= 2 * (total / WRITE_BEHIND) as usize - 2,
        "{calls:?}"
    );
    // Pairs: wait for the window started last time, then start the next
    // one right after it; so the windows tile the file from its start.
    let (mut waited, mut started) = (0u64, 0u64);
    for pair in calls.chunks(2) {
        let [(wo, wl, true, _), (so, sl, false, at)] = pair else {
            panic!("{pair:?}")
        };
        assert_eq!((*wo, wo + wl), (waited, started), "{calls:?}");
        assert_eq!(*so, started, "{calls:?}");
        assert!(*sl >= WRITE_BEHIND && so + sl == *at, "{pair:?}");
        // What is not yet known written stays within two windows and a block.
        assert!(at - started <= 2 * WRITE_BEHIND + block.len() as u64);
        (waited, started) = (started, so + sl);
    }
    assert!(total - started <= WRITE_BEHIND + block.len() as u64);
}

/// Big values of every collection type, one with an expiry time, between
/// small entries.
fn big_values() -> Vec<(u32, Entry)> {
    let mut v = vec![(0, Entry::new(b"before", Value::string(b"1")))];
    let mut l = List::default();
    for i in 0..60_000 {
        l.push(format!("list-element-{i}").as_bytes(), false);
    }
    v.push((0, Entry::new(b"biglist", Value::List(Box::new(l)))));
    let mut h = Hash::new();
    for i in 0..30_000 {
        h.insert(
            format!("field-{i}").as_bytes(),
            format!("value-{i}").as_bytes(),
        );
    }
    h.convert_if_needed(0, usize::MAX, &[]);
    let mut e = Entry::new(b"bighash", Value::Hash(Box::new(h)));
    e.expire_at = 5_000;
    v.push((1, e));
    let mut s = Set::new();
    for i in 0..40_000 {
        s.insert(format!("member-{i}").as_bytes(), 0);
    }
    v.push((1, Entry::new(b"bigset", Value::Set(Box::new(s)))));
    let mut z = ZSet::new_full();
    for i in 0..30_000 {
        z.insert(format!("zmember-{i}").as_bytes(), i as f64 * 0.5);
    }
    v.push((2, Entry::new(b"bigzset", Value::ZSet(Box::new(z)))));
    v.push((2, Entry::new(b"after", Value::string(b"2"))));
    v
}

/// A big value is written in parts, a block at a time (no block of a
/// value's whole size), by the direct and the piped writer, with encoded
/// blocks sent between the values; it loads whole, with its encoding, and
/// an expired one is skipped with all its parts.
#[test]
fn big_values_are_split_into_parts_and_load_whole() {
    let v = big_values();
    for (compress, piped) in [(false, false), (true, false), (true, true)] {
        let fs = SimFs::new();
        let p = Path::new("/sim/snap");
        let mut w = SnapWriter::new(fs.create(p).unwrap(), compress).unwrap();
        if piped {
            w = w.piped().unwrap();
        }
        for (db, e) in &v {
            if !matches!(e.value, Value::Str(_)) {
                w.entry(*db, e.clone()).unwrap();
            } else {
                let mut b = BlockBuf::default();
                b.push(*db, e);
                b.flush(&mut w).unwrap();
            }
        }
        w.finish(9, 10).unwrap();
        let bytes = fs.get(p).unwrap();
        let (s, blocks) = verify(Path::new("x"), &bytes).unwrap();
        assert_eq!(s.keys, v.len() as u64);
        let biggest = blocks.iter().map(|b| b.raw).max().unwrap();
        assert!(
            biggest < BLOCK_TARGET + PART_BYTES + 4096,
            "a block of {biggest} bytes"
        );
        assert!(
            blocks.iter().filter(|b| b.entries == 0).count() >= 2,
            "no block holds only parts"
        );
        let (_, got) = read(&bytes, 0).unwrap();
        same(&v, &got);
        assert_eq!(check(Path::new("x"), &bytes, |_| {}).unwrap(), s);
        // Past the hash's expiry: it is gone, parts and all.
        let (_, got) = read(&bytes, 6_000).unwrap();
        let want: Vec<_> = v
            .iter()
            .filter(|(_, e)| &e.key[..] != b"bighash")
            .cloned()
            .collect();
        same(&want, &got);
    }
}

/// A version 1 file (written before values were split) still loads.
#[test]
fn version_1_files_still_load() {
    let v = sample();
    let bytes = with_version(write(&v, true, 3), 1);
    let (_, got) = read(&bytes, 0).unwrap();
    same(&v, &got);
}

/// A raw block of parts with a wrong or missing head is refused by name.
#[test]
fn a_part_without_its_head_is_refused() {
    let mut s = Set::new();
    for i in 0..40_000 {
        s.insert(format!("member-{i}").as_bytes(), 0);
    }
    let set = Entry::new(b"k", Value::Set(Box::new(s)));
    struct Blocks(Vec<Vec<u8>>);
    impl BlockSink for Blocks {
        fn block(&mut self, raw: &[u8], _: u32) -> std::io::Result<()> {
            self.0.push(raw.to_vec());
            Ok(())
        }
    }
    let mut blocks = Blocks(Vec::new());
    let mut b = BlockBuf::default();
    b.add(0, &set, &mut blocks).unwrap();
    b.flush(&mut blocks).unwrap();
    assert!(blocks.0.len() >= 2);
    // The parts alone, after another key, or after a string.
    let parts: Vec<u8> = blocks.0[1..].concat();
    let mut small = Set::new();
    small.insert(b"x", 0);
    let mut other = Vec::new();
    encode_entry(
        &mut other,
        0,
        &Entry::new(b"other", Value::Set(Box::new(small))),
    );
    let mut string = Vec::new();
    encode_entry(&mut string, 0, &Entry::new(b"k", Value::string(b"v")));
    for (prefix, what) in [
        (Vec::new(), "did not begin"),
        (other, "another key"),
        (string, "did not begin"),
    ] {
        let raw = [prefix, parts.clone()].concat();
        let err = decode_block(&raw, |_| {}).expect_err("refused");
        assert!(err.1.contains(what), "{err:?}");
    }
    // Parts of the same key with another expiry than their head.
    let mut timed = set.clone();
    timed.expire_at = 5_000;
    let mut other_blocks = Blocks(Vec::new());
    let mut b = BlockBuf::default();
    b.add(0, &timed, &mut other_blocks).unwrap();
    b.flush(&mut other_blocks).unwrap();
    let raw = [other_blocks.0[0].clone(), parts.clone()].concat();
    let err = decode_block(&raw, |_| {}).expect_err("refused");
    assert!(err.1.contains("expiry"), "{err:?}");
    // And whole, they decode to the set.
    let mut got = Vec::new();
    decode_block(&blocks.0.concat(), |d| got.push(d.entry)).unwrap();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].value, set.value);
}

/// Set a file's header version and fix the checksums that cover it.
fn with_version(mut bytes: Vec<u8>, v: u32) -> Vec<u8> {
    bytes[8..12].copy_from_slice(&v.to_le_bytes());
    let crc = crc32c::crc32c(&bytes[..16]);
    bytes[16..20].copy_from_slice(&crc.to_le_bytes());
    let end = bytes.len() - TRAILER_LEN;
    let crc = crc32c::crc32c(&bytes[..end + 44]);
    bytes[end + 44..end + 48].copy_from_slice(&crc.to_le_bytes());
    bytes
}

/// Version 1 never split a value: a version 1 file with parts is damaged.
#[test]
fn parts_in_a_version_1_file_are_refused() {
    let fs = SimFs::new();
    let p = Path::new("/sim/snap");
    add_all_and_finish(
        SnapWriter::new(fs.create(p).unwrap(), false).unwrap(),
        &big_values(),
    );
    let bytes = fs.get(p).unwrap();
    assert!(read(&bytes, 0).is_ok());
    let err = read(&with_version(bytes, 1), 0).expect_err("refused");
    assert!(err.to_string().contains("version 1"), "{err}");
}
