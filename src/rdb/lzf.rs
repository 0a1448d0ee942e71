//! LZF, the compression of RDB strings (format of liblzf 3.6, which Redis
//! vendors, in its "very fast" configuration with a 2^16-slot hash table).
//!
//! Compressed stream: a control byte `000LLLLL` is followed by L+1 literal
//! bytes; `LLLooooo oooooooo` copies L+2 bytes from `o+1` bytes back;
//! `111ooooo LLLLLLLL oooooooo` copies L+9 bytes.
//!
//! `compress` makes the same choices as Redis's `lzf_compress` (liblzf
//! 3.6: a match may start up to 3 bytes before the end) with a cleared
//! hash table, so the output, and whether a string is worth compressing
//! under a size limit, is the same. Redis leaves its table uninitialized;
//! a stale slot can only ever add a valid match, and both outputs
//! decompress to the same bytes.

use super::{RdbError, Result};
use std::cell::RefCell;

const HLOG: u32 = 16;
const HSIZE: usize = 1 << HLOG;
const MAX_LIT: usize = 1 << 5;
const MAX_OFF: usize = 1 << 13;
const MAX_REF: usize = (1 << 8) + (1 << 3);

/// The most output one input byte can produce (a 3-byte back reference
/// copies at most 264 bytes): the bound for declared lengths.
pub const MAX_RATIO: u64 = 88;

#[inline]
fn idx(h: u32) -> usize {
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) as usize) & (HSIZE - 1)
}

thread_local! {
    /// Hash table of input positions (0 = empty), and the slots a call
    /// set, so the next call starts from a cleared table cheaply.
    static TABLE: RefCell<(Vec<u32>, Vec<u32>)> = RefCell::new((vec![0; HSIZE], Vec::new()));
}

/// Compress `input` into at most `out_limit` bytes; `None` if it does not
/// fit (Redis then stores the string as is).
pub fn compress(input: &[u8], out_limit: usize) -> Option<Vec<u8>> {
    if input.len() < 3 || out_limit == 0 || input.len() > u32::MAX as usize {
        return None;
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let (htab, touched) = &mut *t;
        let r = compress_with(input, out_limit, htab, touched);
        for &s in touched.iter() {
            htab[s as usize] = 0;
        }
        touched.clear();
        r
    })
}

fn compress_with(
    inp: &[u8],
    out_end: usize,
    htab: &mut [u32],
    touched: &mut Vec<u32>,
) -> Option<Vec<u8>> {
    let in_end = inp.len();
    // Slack past `out_end`: the checks below keep real output within it.
    let mut out = vec![0u8; out_end + 4];
    let mut set = |htab: &mut [u32], slot: usize, pos: usize| {
        if htab[slot] == 0 {
            touched.push(slot as u32);
        }
        htab[slot] = pos as u32;
    };
    let frst = |p: usize| ((inp[p] as u32) << 8) | inp[p + 1] as u32;
    let next = |v: u32, p: usize| (v << 8) | inp[p + 2] as u32;
    let mut lit = 0usize;
    let mut op = 1usize; // out[op - lit - 1] is the open run's control byte
    let mut ip = 0usize;
    let mut hval = frst(ip);
    while ip + 2 < in_end {
        hval = next(hval, ip);
        let slot = idx(hval);
        let r = htab[slot] as usize;
        set(htab, slot, ip);
        // A position 0 never matches (Redis: `ref > in_data`).
        let is_match = r > 0 && r < ip && ip - r - 1 < MAX_OFF && inp[r..r + 3] == inp[ip..ip + 3];
        if is_match {
            let off = ip - r - 1;
            let mut len = 2usize;
            let maxlen = (in_end - ip - len).min(MAX_REF);
            // Close the literal run (drop it if empty).
            out[op - lit - 1] = (lit as u8).wrapping_sub(1);
            if lit == 0 {
                op -= 1;
            }
            if op + 3 + 1 >= out_end {
                return None;
            }
            // Extend the match: 16 unchecked steps when far from the
            // limit, then step by step (liblzf's exact loop shape).
            'ext: {
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if inp[r + len] != inp[ip + len] {
                            break 'ext;
                        }
                    }
                }
                loop {
                    len += 1;
                    if !(len < maxlen && inp[r + len] == inp[ip + len]) {
                        break;
                    }
                }
            }
            len -= 2; // the copy length minus 2, as the format stores it
            ip += 1;
            if len < 7 {
                out[op] = ((off >> 8) + (len << 5)) as u8;
                op += 1;
            } else {
                out[op] = ((off >> 8) + (7 << 5)) as u8;
                out[op + 1] = (len - 7) as u8;
                op += 2;
            }
            out[op] = off as u8;
            op += 1;
            lit = 0;
            op += 1; // open a new run
            ip += len + 1;
            if ip + 2 >= in_end {
                break;
            }
            // Hash the two positions before the new `ip`.
            ip -= 2;
            hval = frst(ip);
            hval = next(hval, ip);
            set(htab, idx(hval), ip);
            ip += 1;
            hval = next(hval, ip);
            set(htab, idx(hval), ip);
            ip += 1;
        } else {
            if op >= out_end {
                return None;
            }
            lit += 1;
            out[op] = inp[ip];
            op += 1;
            ip += 1;
            if lit == MAX_LIT {
                out[op - lit - 1] = (lit - 1) as u8;
                lit = 0;
                op += 1;
            }
        }
    }
    if op + 3 > out_end {
        return None;
    }
    while ip < in_end {
        lit += 1;
        out[op] = inp[ip];
        op += 1;
        ip += 1;
        if lit == MAX_LIT {
            out[op - lit - 1] = (lit - 1) as u8;
            lit = 0;
            op += 1;
        }
    }
    out[op - lit - 1] = (lit as u8).wrapping_sub(1);
    if lit == 0 {
        op -= 1;
    }
    out.truncate(op);
    Some(out)
}

/// Decompress `input`, which must produce exactly `len` bytes (Redis's
/// check). `len` is bounded by `MAX_RATIO` times the input first.
pub fn decompress_exact(input: &[u8], len: u64) -> Result<Vec<u8>> {
    if len > (input.len() as u64).saturating_mul(MAX_RATIO) {
        return Err(RdbError::BadLzf);
    }
    let len = len as usize;
    let mut out: Vec<u8> = Vec::with_capacity(len);
    let mut ip = 0usize;
    // Redis compares lzf_decompress's result (0 on any error) with len, so
    // a zero declared length always "succeeds".
    let fail = |len: usize| {
        if len == 0 {
            Ok(Vec::new())
        } else {
            Err(RdbError::BadLzf)
        }
    };
    while ip < input.len() {
        let ctrl = input[ip] as usize;
        ip += 1;
        if ctrl < 32 {
            let n = ctrl + 1;
            if out.len() + n > len || ip + n > input.len() {
                return fail(len);
            }
            out.extend_from_slice(&input[ip..ip + n]);
            ip += n;
        } else {
            let mut n = ctrl >> 5;
            if ip >= input.len() {
                return fail(len);
            }
            if n == 7 {
                n += input[ip] as usize;
                ip += 1;
                if ip >= input.len() {
                    return fail(len);
                }
            }
            let back = ((ctrl & 0x1f) << 8) + input[ip] as usize + 1;
            ip += 1;
            if out.len() + n + 2 > len || back > out.len() {
                return fail(len);
            }
            let start = out.len() - back;
            // Byte by byte: the source may overlap what is being written.
            for i in 0..n + 2 {
                let b = out[start + i];
                out.push(b);
            }
        }
    }
    if out.len() == len { Ok(out) } else { fail(len) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let inputs: Vec<Vec<u8>> = vec![
            b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".to_vec(),
            b"hello world hello world hello world hello world!".to_vec(),
            (0..5000u32).map(|i| (i * 7 % 13) as u8).collect(),
            (0..300u32)
                .flat_map(|i| i.to_string().into_bytes())
                .collect(),
        ];
        for i in inputs {
            let c = compress(&i, i.len() - 4).expect("compressible");
            assert!(c.len() <= i.len() - 4);
            assert_eq!(decompress_exact(&c, i.len() as u64).unwrap(), i);
        }
    }

    #[test]
    fn incompressible_is_refused() {
        let i: Vec<u8> = (0..64u8).collect();
        assert_eq!(compress(&i, i.len() - 4), None);
    }

    #[test]
    fn matches_redis_bytes() {
        // DUMP of SET k <'a' x 30> in Redis 7.0.15: 0xc3, clen 9, len 30,
        // then these bytes.
        let i = vec![b'a'; 30];
        assert_eq!(
            compress(&i, 26).unwrap(),
            [0x01, b'a', b'a', 0xe0, 0x11, 0x00, 0x01, b'a', b'a']
        );
    }

    #[test]
    fn bad_streams_fail() {
        assert!(decompress_exact(&[0x20, 0x00], 3).is_err());
        assert!(decompress_exact(&[0x05, b'a'], 6).is_err());
        assert!(decompress_exact(&[0x00, b'a'], 2).is_err());
        assert_eq!(decompress_exact(&[0xff], 0).unwrap(), b"");
    }
}
