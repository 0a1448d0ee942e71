//! HyperLogLog, byte for byte as Redis 7.0 stores it (`hyperloglog.c`), so
//! that `GET` of an HLL key, `PFCOUNT` and `PFDEBUG` match Redis exactly.
//!
//! Layout (a plain string value):
//!
//! ```text
//! offset 0  "HYLL"            magic
//!        4  encoding          0 = dense, 1 = sparse
//!        5  3 unused bytes    always 0
//!        8  cached card       u64 little endian; bit 7 of byte 15 set =
//!                             cache invalid (registers changed since)
//!       16  registers         dense: 16384 6-bit registers packed from the
//!                             LSB of each byte (12288 bytes, total 12304);
//!                             sparse: run-length opcodes (below)
//! ```
//!
//! Sparse opcodes: `00xxxxxx` ZERO, x+1 zero registers (1..=64);
//! `01xxxxxx yyyyyyyy` XZERO, (x<<8|y)+1 zero registers (1..=16384);
//! `1vvvvvxx` VAL, x+1 registers (1..=4) of value v+1 (1..=32). A sparse
//! HLL is promoted to dense when a register needs a value above 32 or the
//! string would grow beyond `hll-sparse-max-bytes`.
//!
//! Invariant: no function here panics or reads out of bounds on any input
//! that passed `is_valid` (header checks only); corrupted opcode streams
//! give `Corrupt`, as Redis's "INVALIDOBJ" paths do. A byte read past the
//! end of the string counts as 0 (Redis reads the sds NUL terminator).

/// Header size.
pub const HDR: usize = 16;
/// Number of registers (P = 14).
pub const REGISTERS: usize = 1 << P;
const P: u32 = 14;
/// Hash bits left for the run length (64 - P).
const Q: usize = 64 - P as usize;
/// Size of a dense HLL string.
pub const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
pub const DENSE: u8 = 0;
pub const SPARSE: u8 = 1;
const VAL_MAX_VALUE: u8 = 32;
const VAL_MAX_LEN: usize = 4;
const ZERO_MAX_LEN: usize = 64;
const XZERO_MAX_LEN: usize = 16384;
/// 0.5 / ln(2), the asymptotic alpha of Ertl's estimator.
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;
const SEED: u64 = 0xadc8_3b19;

/// A sparse opcode stream (or a dense string) that does not describe
/// exactly 16384 registers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Corrupt;

/// Redis's `isHLLObjectOrReply` checks: magic, a known encoding, and the
/// exact size for dense. Sparse opcodes are checked only when walked.
pub fn is_valid(s: &[u8]) -> bool {
    s.len() >= HDR
        && &s[..4] == b"HYLL"
        && s[4] <= SPARSE
        && (s[4] != DENSE || s.len() == DENSE_SIZE)
}

/// A new empty HLL: sparse, one XZERO opcode, cached cardinality 0 (valid).
pub fn new_sparse() -> Vec<u8> {
    let mut v = vec![0u8; HDR];
    v[..4].copy_from_slice(b"HYLL");
    v[4] = SPARSE;
    let mut left = REGISTERS;
    while left > 0 {
        let n = left.min(XZERO_MAX_LEN);
        push_xzero(&mut v, n);
        left -= n;
    }
    v
}

/// MurmurHash2, 64-bit version (MurmurHash64A), as Redis uses it: the
/// length and blocks are read little-endian on every platform.
pub fn murmur64a(key: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    // C computes `seed ^ (len * m)` with `len` an int: the product wraps.
    let mut h = seed ^ (key.len() as i32 as i64 as u64).wrapping_mul(M);
    let mut chunks = key.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes(c.try_into().expect("8 bytes"));
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let tail = chunks.remainder();
    if !tail.is_empty() {
        for (i, &b) in tail.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the length of its "000..1" run
/// (1..=Q+1), Redis's `hllPatLen`.
pub fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, SEED);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

// ---- dense registers ----

/// Register `i` of the packed 6-bit array `r`.
#[inline]
pub fn dense_get(r: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = r[byte] as u32;
    let b1 = r.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

#[inline]
fn dense_put(r: &mut [u8], i: usize, v: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = v as u32;
    r[byte] &= !((63u32 << fb) as u8);
    r[byte] |= (v << fb) as u8;
    if let Some(b1) = r.get_mut(byte + 1) {
        *b1 &= !((63u32 >> (8 - fb)) as u8);
        *b1 |= (v >> (8 - fb)) as u8;
    }
}

/// Raise register `i` to `v` if lower; true if it changed.
#[inline]
fn dense_set(r: &mut [u8], i: usize, v: u8) -> bool {
    if v > dense_get(r, i) {
        dense_put(r, i, v);
        true
    } else {
        false
    }
}

// ---- sparse opcodes ----

#[inline]
fn is_zero(b: u8) -> bool {
    b & 0xc0 == 0
}
#[inline]
fn is_xzero(b: u8) -> bool {
    b & 0xc0 == 0x40
}
#[inline]
fn zero_len(b: u8) -> usize {
    (b & 0x3f) as usize + 1
}
#[inline]
fn xzero_len(b0: u8, b1: u8) -> usize {
    (((b0 & 0x3f) as usize) << 8 | b1 as usize) + 1
}
#[inline]
fn val_value(b: u8) -> u8 {
    ((b >> 2) & 0x1f) + 1
}
#[inline]
fn val_len(b: u8) -> usize {
    (b & 3) as usize + 1
}
#[inline]
fn val_op(v: u8, len: usize) -> u8 {
    0x80 | ((v - 1) << 2) | (len as u8 - 1)
}
fn push_xzero(v: &mut Vec<u8>, len: usize) {
    let l = len - 1;
    v.push(0x40 | (l >> 8) as u8);
    v.push((l & 0xff) as u8);
}
fn push_zeros(v: &mut Vec<u8>, len: usize) {
    if len > ZERO_MAX_LEN {
        push_xzero(v, len);
    } else {
        v.push(len as u8 - 1);
    }
}

/// One decoded opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// A run of zero registers; `long` for the 2-byte XZERO form.
    Zeros {
        len: usize,
        long: bool,
    },
    Val {
        value: u8,
        len: usize,
    },
}

impl Op {
    fn width(self) -> usize {
        match self {
            Op::Zeros { long: true, .. } => 2,
            _ => 1,
        }
    }
    fn span(self) -> usize {
        match self {
            Op::Zeros { len, .. } | Op::Val { len, .. } => len,
        }
    }
}

/// The opcode at `p` of a sparse string (`p < s.len()`).
#[inline]
fn op_at(s: &[u8], p: usize) -> Op {
    let b = s[p];
    if is_zero(b) {
        Op::Zeros {
            len: zero_len(b),
            long: false,
        }
    } else if is_xzero(b) {
        let b1 = s.get(p + 1).copied().unwrap_or(0);
        Op::Zeros {
            len: xzero_len(b, b1),
            long: true,
        }
    } else {
        Op::Val {
            value: val_value(b),
            len: val_len(b),
        }
    }
}

/// The opcodes of a sparse HLL, in order (PFDEBUG DECODE).
pub fn sparse_ops(s: &[u8]) -> Vec<Op> {
    let mut out = Vec::new();
    let mut p = HDR;
    while p < s.len() {
        let op = op_at(s, p);
        out.push(op);
        p += op.width();
    }
    out
}

/// Rewrite a sparse HLL as dense (header and cached cardinality kept).
/// Already dense: unchanged.
pub fn to_dense(h: &mut Vec<u8>) -> Result<(), Corrupt> {
    if h[4] == DENSE {
        return Ok(());
    }
    let mut d = vec![0u8; DENSE_SIZE];
    d[..HDR].copy_from_slice(&h[..HDR]);
    d[4] = DENSE;
    let regs = &mut d[HDR..];
    let mut idx = 0usize;
    let mut p = HDR;
    while p < h.len() {
        let op = op_at(h, p);
        p += op.width();
        match op {
            Op::Zeros { len, .. } => idx += len,
            Op::Val { value, len } => {
                // A run past the last register: corrupt (Redis stops there
                // and finds the stream unconsumed).
                if idx + len > REGISTERS {
                    return Err(Corrupt);
                }
                for i in idx..idx + len {
                    dense_put(regs, i, value);
                }
                idx += len;
            }
        }
    }
    if idx != REGISTERS {
        return Err(Corrupt);
    }
    *h = d;
    Ok(())
}

/// Raise register `index` to `count` in a sparse HLL, in place, promoting
/// it to dense when needed (Redis's `hllSparseSet`). Ok(true) if a
/// register changed. The cached cardinality is invalidated on change
/// (except after a promotion, which the caller invalidates).
fn sparse_set(h: &mut Vec<u8>, index: usize, count: u8, max_bytes: usize) -> Result<bool, Corrupt> {
    if count > VAL_MAX_VALUE {
        return promote(h, index, count);
    }
    // Step 1: find the opcode covering `index`.
    let end = h.len();
    let mut p = HDR;
    let mut first = 0usize;
    let mut prev: Option<usize> = None;
    let mut span = 0usize;
    while p < end {
        let op = op_at(h, p);
        span = op.span();
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += op.width();
        first += span;
    }
    if span == 0 || p >= end {
        return Err(Corrupt);
    }
    let op = op_at(h, p);
    // Step 2: the trivial in-place updates.
    let mut updated = false;
    match op {
        Op::Val { value, .. } if value >= count => return Ok(false),
        Op::Val { len: 1, .. }
        | Op::Zeros {
            len: 1,
            long: false,
        } => {
            h[p] = val_op(count, 1);
            updated = true;
        }
        _ => {}
    }
    if !updated {
        // General case: split the opcode into up to three.
        let last = first + span - 1;
        let mut seq: Vec<u8> = Vec::with_capacity(5);
        match op {
            Op::Zeros { .. } => {
                if index != first {
                    push_zeros(&mut seq, index - first);
                }
                seq.push(val_op(count, 1));
                if index != last {
                    push_zeros(&mut seq, last - index);
                }
            }
            Op::Val { value, .. } => {
                if index != first {
                    seq.push(val_op(value, index - first));
                }
                seq.push(val_op(count, 1));
                if index != last {
                    seq.push(val_op(value, last - index));
                }
            }
        }
        // Step 3: substitute the sequence for the opcode.
        let oldlen = op.width();
        let newlen = (end + seq.len()).saturating_sub(oldlen);
        if seq.len() > oldlen && newlen > max_bytes {
            return promote(h, index, count);
        }
        let tail = (p + oldlen).min(end);
        h.splice(p..tail, seq);
        // A 2-byte opcode cut by the end of the string: keep Redis's length.
        h.truncate(newlen);
    }
    // Step 4: merge adjacent VAL opcodes of equal value, near the change.
    let mut p = prev.unwrap_or(HDR);
    let mut scan = 5;
    while p < h.len() && scan > 0 {
        scan -= 1;
        let b = h[p];
        if is_xzero(b) {
            p += 2;
            continue;
        } else if is_zero(b) {
            p += 1;
            continue;
        }
        if p + 1 < h.len() && !is_zero(h[p + 1]) && !is_xzero(h[p + 1]) {
            let (v1, v2) = (val_value(b), val_value(h[p + 1]));
            let len = val_len(b) + val_len(h[p + 1]);
            if v1 == v2 && len <= VAL_MAX_LEN {
                h[p + 1] = val_op(v1, len);
                h.remove(p);
                continue;
            }
        }
        p += 1;
    }
    invalidate(h);
    Ok(true)
}

fn promote(h: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, Corrupt> {
    to_dense(h)?;
    dense_set(&mut h[HDR..], index, count);
    Ok(true)
}

/// Mark the cached cardinality stale.
#[inline]
pub fn invalidate(h: &mut [u8]) {
    h[15] |= 0x80;
}

/// Add one element. `h` must pass `is_valid`. Ok(true) if a register
/// changed (the cache is then invalidated).
pub fn add(h: &mut Vec<u8>, ele: &[u8], sparse_max: usize) -> Result<bool, Corrupt> {
    let (index, count) = pat_len(ele);
    set_register(h, index, count, sparse_max)
}

/// Raise one register to `count` (PFADD, PFMERGE).
pub fn set_register(
    h: &mut Vec<u8>,
    index: usize,
    count: u8,
    sparse_max: usize,
) -> Result<bool, Corrupt> {
    let changed = if h[4] == DENSE {
        dense_set(&mut h[HDR..], index, count)
    } else {
        sparse_set(h, index, count, sparse_max)?
    };
    if changed {
        invalidate(h);
    }
    Ok(changed)
}

/// The cached cardinality, if valid.
pub fn cached(h: &[u8]) -> Option<u64> {
    (h[15] & 0x80 == 0).then(|| u64::from_le_bytes(h[8..16].try_into().expect("8 bytes")))
}

/// Store a freshly computed cardinality in the cache.
pub fn set_cache(h: &mut [u8], card: u64) {
    h[8..16].copy_from_slice(&card.to_le_bytes());
}

/// Register histogram of an HLL (`h` valid).
fn histogram(h: &[u8]) -> Result<[i64; 64], Corrupt> {
    let mut hist = [0i64; 64];
    if h[4] == DENSE {
        let r = &h[HDR..];
        for i in 0..REGISTERS {
            hist[dense_get(r, i) as usize] += 1;
        }
    } else {
        let mut idx = 0usize;
        let mut p = HDR;
        while p < h.len() {
            let op = op_at(h, p);
            p += op.width();
            match op {
                Op::Zeros { len, .. } => hist[0] += len as i64,
                Op::Val { value, len } => hist[value as usize] += len as i64,
            }
            idx = idx.saturating_add(op.span());
        }
        if idx != REGISTERS {
            return Err(Corrupt);
        }
    }
    Ok(hist)
}

/// Cardinality of one HLL, ignoring the cache (Redis's `hllCount`).
pub fn count(h: &[u8]) -> Result<u64, Corrupt> {
    Ok(estimate(&histogram(h)?))
}

/// Ertl's sigma (arXiv:1702.01284).
fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

/// Ertl's tau (arXiv:1702.01284).
fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        let d = 1.0 - x;
        z -= d * d * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// The improved estimator of Redis 4+ over a register histogram. The
/// floating-point steps are Redis's, in Redis's order, so results agree to
/// the last bit.
fn estimate(hist: &[i64; 64]) -> u64 {
    let m = REGISTERS as f64;
    let mut z = m * tau((m - hist[Q + 1] as f64) / m);
    for j in (1..=Q).rev() {
        z += hist[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(hist[0] as f64 / m);
    // llroundl: half away from zero, as f64::round.
    (ALPHA_INF * m * m / z).round() as i64 as u64
}

/// Registers merged by taking maxima, one byte per register (PFCOUNT of
/// several keys, PFMERGE).
pub struct Max(pub Box<[u8; REGISTERS]>);

impl Default for Max {
    fn default() -> Self {
        Max(Box::new([0u8; REGISTERS]))
    }
}

impl Max {
    /// Fold a valid HLL in.
    pub fn merge(&mut self, h: &[u8]) -> Result<(), Corrupt> {
        let max = &mut self.0;
        if h[4] == DENSE {
            let r = &h[HDR..];
            for (i, m) in max.iter_mut().enumerate() {
                *m = (*m).max(dense_get(r, i));
            }
            return Ok(());
        }
        let mut i = 0usize;
        let mut p = HDR;
        while p < h.len() {
            let op = op_at(h, p);
            p += op.width();
            match op {
                Op::Zeros { len, .. } => i += len,
                Op::Val { value, len } => {
                    if i + len > REGISTERS {
                        return Err(Corrupt);
                    }
                    for m in &mut max[i..i + len] {
                        *m = (*m).max(value);
                    }
                    i += len;
                }
            }
        }
        if i != REGISTERS {
            return Err(Corrupt);
        }
        Ok(())
    }

    pub fn count(&self) -> u64 {
        let mut hist = [0i64; 64];
        for &v in self.0.iter() {
            hist[v as usize] += 1;
        }
        estimate(&hist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::util::XorShift64 as Rng;

    #[test]
    fn new_is_redis_empty_hll() {
        let h = new_sparse();
        assert_eq!(h, b"HYLL\x01\0\0\0\0\0\0\0\0\0\0\0\x7f\xff");
        assert!(is_valid(&h));
        assert_eq!(count(&h), Ok(0));
    }

    #[test]
    fn dense_registers_roundtrip() {
        let mut r = vec![0u8; DENSE_SIZE - HDR];
        let mut g = Rng(7);
        let mut model = vec![0u8; REGISTERS];
        for _ in 0..100_000 {
            let i = (g.next() % REGISTERS as u64) as usize;
            let v = (g.next() % 64) as u8;
            dense_put(&mut r, i, v);
            model[i] = v;
        }
        for (i, &v) in model.iter().enumerate() {
            assert_eq!(dense_get(&r, i), v, "register {i}");
        }
    }

    #[test]
    fn sparse_matches_dense_and_promotes() {
        let mut s = new_sparse();
        let mut d = new_sparse();
        to_dense(&mut d).unwrap();
        for i in 0..5000u32 {
            let e = format!("ele:{i}");
            let a = add(&mut s, e.as_bytes(), 3000).unwrap();
            let b = add(&mut d, e.as_bytes(), 3000).unwrap();
            assert_eq!(a, b, "element {i}");
            assert!(is_valid(&s));
            if s[4] == SPARSE {
                assert!(s.len() <= 3000);
                let mut c = s.clone();
                to_dense(&mut c).unwrap();
                assert_eq!(c[HDR..], d[HDR..], "after {i}");
            }
        }
        assert_eq!(s[4], DENSE);
        assert_eq!(s[HDR..], d[HDR..]);
        let n = count(&s).unwrap();
        assert!((4800..5200).contains(&n), "{n}");
    }

    /// A register value above 32 cannot be sparse: the HLL turns dense,
    /// keeping the other registers.
    #[test]
    fn big_register_promotes() {
        let mut h = new_sparse();
        assert_eq!(set_register(&mut h, 7, 3, 3000), Ok(true));
        assert_eq!(set_register(&mut h, 9000, 32, 3000), Ok(true));
        assert_eq!(h[4], SPARSE);
        assert_eq!(set_register(&mut h, 5, 40, 3000), Ok(true));
        assert_eq!(h[4], DENSE);
        assert_eq!(h.len(), DENSE_SIZE);
        let r = &h[HDR..];
        assert_eq!(
            (dense_get(r, 5), dense_get(r, 7), dense_get(r, 9000)),
            (40, 3, 32)
        );
        assert_eq!(set_register(&mut h, 5, 39, 3000), Ok(false));
    }

    /// Random bytes behind a valid header: every operation returns, with a
    /// result or `Corrupt`, and never panics.
    #[test]
    fn fuzz_corrupt_sparse_never_panics() {
        let mut g = Rng(0x5EED);
        for round in 0..3000 {
            let n = (g.next() % 64) as usize;
            let mut h = new_sparse();
            h.truncate(HDR);
            h[15] = (g.next() & 0x80) as u8;
            for _ in 0..n {
                h.push(g.next() as u8);
            }
            if round % 3 == 0 {
                // Mostly-valid streams: a valid prefix and random tail.
                h = new_sparse();
                for k in 0..(g.next() % 50) {
                    let _ = add(&mut h, &k.to_le_bytes(), 3000);
                }
                let at = HDR + (g.next() as usize % (h.len() - HDR + 1));
                h.truncate(at);
                for _ in 0..(g.next() % 6) {
                    h.push(g.next() as u8);
                }
            }
            assert!(is_valid(&h));
            let _ = count(&h);
            let _ = cached(&h);
            let mut m = Max::default();
            let _ = m.merge(&h);
            let _ = sparse_ops(&h);
            let mut c = h.clone();
            let _ = to_dense(&mut c);
            for k in 0..20u64 {
                let mut x = h.clone();
                if add(&mut x, &(g.next() ^ k).to_le_bytes(), 3000).is_ok() {
                    assert!(x.len() >= HDR);
                }
            }
        }
        // Dense strings of random bytes are always structurally valid.
        for _ in 0..20 {
            let mut h = vec![0u8; DENSE_SIZE];
            for b in h.iter_mut() {
                *b = g.next() as u8;
            }
            h[..4].copy_from_slice(b"HYLL");
            h[4] = DENSE;
            assert!(count(&h).is_ok());
            let _ = add(&mut h, b"x", 3000).unwrap();
            assert_eq!(h.len(), DENSE_SIZE);
        }
    }
}
