//! HyperLogLog operations on arbitrary bytes behind a valid header (what a
//! client can store with SET): they return a value or `Corrupt`, never
//! panic, and a successful add leaves a string that is still a valid HLL.
#![no_main]

use cairn::keyspace::types::hll;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&flags, body)) = data.split_first() else {
        return;
    };
    let mut h = b"HYLL".to_vec();
    h.push(flags & 1);
    h.extend_from_slice(&[0; 10]);
    h.push(flags & 0x80);
    h.extend_from_slice(body);
    if !hll::is_valid(&h) {
        return;
    }
    let _ = hll::count(&h);
    let _ = hll::cached(&h);
    let _ = hll::sparse_ops(&h);
    let mut m = hll::Max::default();
    if m.merge(&h).is_ok() {
        let _ = m.count();
    }
    let mut d = h.clone();
    let _ = hll::to_dense(&mut d);
    for (i, chunk) in body.chunks(3).take(16).enumerate() {
        let max = 1 + (flags as usize >> 1) * 50;
        if hll::add(&mut h, chunk, max).is_ok() {
            assert!(hll::is_valid(&h), "add {i} broke the header");
        }
    }
});
