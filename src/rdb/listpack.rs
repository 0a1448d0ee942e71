//! Listpack: Redis 7's compact sequence of strings and integers.
//!
//! Layout: total bytes (u32 LE), element count (u16 LE, 65535 = unknown),
//! entries, 0xFF. An entry is an encoding byte (+ length bytes), the data,
//! and a back-length (the entry's size, 7 bits per byte, read from the
//! end) so it can be walked backwards. Integers are stored in the smallest
//! of 7-bit unsigned, 13-bit, 16, 24, 32 and 64-bit signed forms; strings
//! with a 6-bit, 12-bit or 32-bit length.

use super::{RdbError, Result};

const HEADER: usize = 6;
const EOF: u8 = 0xff;
const UNKNOWN_COUNT: u16 = u16::MAX;

/// Builds a listpack by appending at the tail (`lpAppend`).
pub struct Builder {
    buf: Vec<u8>,
    count: usize,
}

impl Default for Builder {
    fn default() -> Self {
        Builder::new()
    }
}

impl Builder {
    pub fn new() -> Builder {
        let mut buf = vec![0u8; HEADER];
        buf.reserve(64);
        Builder { buf, count: 0 }
    }

    /// Size the finished listpack will have.
    pub fn bytes(&self) -> usize {
        self.buf.len() + 1
    }

    pub fn count(&self) -> usize {
        self.count
    }

    /// Append an element; canonical integers take the integer forms.
    pub fn push(&mut self, s: &[u8]) {
        let start = self.buf.len();
        match crate::util::parse_i64(s) {
            Some(v) => put_int(&mut self.buf, v),
            None => {
                let n = s.len();
                if n < 64 {
                    self.buf.push(0x80 | n as u8);
                } else if n < 4096 {
                    self.buf.push(0xe0 | (n >> 8) as u8);
                    self.buf.push(n as u8);
                } else {
                    self.buf.push(0xf0);
                    self.buf.extend_from_slice(&(n as u32).to_le_bytes());
                }
                self.buf.extend_from_slice(s);
            }
        }
        let l = self.buf.len() - start;
        put_backlen(&mut self.buf, l as u64);
        self.count += 1;
    }

    pub fn finish(mut self) -> Vec<u8> {
        self.buf.push(EOF);
        let total = self.buf.len() as u32;
        self.buf[..4].copy_from_slice(&total.to_le_bytes());
        let count = self.count.min(UNKNOWN_COUNT as usize) as u16;
        self.buf[4..6].copy_from_slice(&count.to_le_bytes());
        self.buf
    }
}

fn put_int(buf: &mut Vec<u8>, v: i64) {
    if (0..=127).contains(&v) {
        buf.push(v as u8);
    } else if (-4096..=4095).contains(&v) {
        let u = (v as u16) & 0x1fff;
        buf.push(0xc0 | (u >> 8) as u8);
        buf.push(u as u8);
    } else if let Ok(h) = i16::try_from(v) {
        buf.push(0xf1);
        buf.extend_from_slice(&h.to_le_bytes());
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        buf.push(0xf2);
        buf.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
    } else if let Ok(w) = i32::try_from(v) {
        buf.push(0xf3);
        buf.extend_from_slice(&w.to_le_bytes());
    } else {
        buf.push(0xf4);
        buf.extend_from_slice(&v.to_le_bytes());
    }
}

/// `lpEncodeBacklen`: most significant 7-bit group first; every byte but
/// the first has the high bit set.
fn put_backlen(buf: &mut Vec<u8>, l: u64) {
    let groups = match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    };
    for g in (0..groups).rev() {
        let b = ((l >> (7 * g)) & 127) as u8;
        buf.push(if g == groups - 1 { b } else { b | 128 });
    }
}

/// Bytes `Builder::push(s)` adds for `s` (encoding, data, back-length):
/// what a listpack grows by, without building it (streams keep their
/// nodes' listpack sizes with it). `int_element_size` for an integer.
pub fn element_size(s: &[u8]) -> usize {
    match crate::util::parse_i64(s) {
        Some(v) => int_element_size(v),
        None => {
            let n = s.len();
            let enc = if n < 64 {
                1 + n
            } else if n < 4096 {
                2 + n
            } else {
                5 + n
            };
            enc + backlen_size(enc)
        }
    }
}

/// Size of one listpack element holding the integer `v`.
pub fn int_element_size(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    };
    enc + backlen_size(enc)
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The elements of a listpack; an empty one is an error.
pub fn decode(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
    let v = decode_allow_empty(blob)?;
    if v.is_empty() {
        return Err(RdbError::Empty);
    }
    Ok(v)
}

/// The elements of a listpack, validating every entry (bounds, encodings,
/// back-lengths, the header's size and count).
pub fn decode_allow_empty(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
    let bad = || RdbError::Corrupt("listpack");
    if blob.len() < HEADER + 1 || blob[blob.len() - 1] != EOF {
        return Err(bad());
    }
    let total = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let count = u16::from_le_bytes([blob[4], blob[5]]);
    if total != blob.len() {
        return Err(bad());
    }
    let end = blob.len() - 1;
    // Every entry takes at least two bytes.
    let mut out = Vec::with_capacity((count as usize).min(end / 2));
    let mut p = HEADER;
    let mut backlen = Vec::with_capacity(5);
    while p < end {
        let start = p;
        let b = blob[p];
        let need = |p: usize, n: usize| -> Result<&[u8]> {
            if n > end - p {
                Err(bad())
            } else {
                Ok(&blob[p..p + n])
            }
        };
        let (value, size) = match b {
            0x00..=0x7f => (Elem::Int(b as i64), 1),
            0x80..=0xbf => {
                let n = (b & 0x3f) as usize;
                (Elem::Str(need(p + 1, n)?), 1 + n)
            }
            0xc0..=0xdf => {
                let lo = need(p + 1, 1)?[0];
                let u = (((b & 0x1f) as i64) << 8) | lo as i64;
                (Elem::Int(if u >= 4096 { u - 8192 } else { u }), 2)
            }
            0xe0..=0xef => {
                let lo = need(p + 1, 1)?[0] as usize;
                let n = (((b & 0x0f) as usize) << 8) | lo;
                (Elem::Str(need(p + 2, n)?), 2 + n)
            }
            0xf0 => {
                let l = need(p + 1, 4)?;
                let n = u32::from_le_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (Elem::Str(need(p + 5, n)?), 5 + n)
            }
            0xf1 => {
                let d = need(p + 1, 2)?;
                (Elem::Int(i16::from_le_bytes([d[0], d[1]]) as i64), 3)
            }
            0xf2 => {
                let d = need(p + 1, 3)?;
                let v = i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8;
                (Elem::Int(v as i64), 4)
            }
            0xf3 => {
                let d = need(p + 1, 4)?;
                (
                    Elem::Int(i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64),
                    5,
                )
            }
            0xf4 => {
                let d = need(p + 1, 8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(d);
                (Elem::Int(i64::from_le_bytes(a)), 9)
            }
            _ => return Err(bad()),
        };
        backlen.clear();
        put_backlen(&mut backlen, size as u64);
        p = start + size;
        if need(p, backlen.len())? != backlen.as_slice() {
            return Err(bad());
        }
        p += backlen.len();
        out.push(match value {
            Elem::Int(v) => itoa::Buffer::new().format(v).as_bytes().to_vec(),
            Elem::Str(s) => s.to_vec(),
        });
    }
    if count != UNKNOWN_COUNT && count as usize != out.len() {
        return Err(bad());
    }
    Ok(out)
}

enum Elem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_bytes() {
        // RPUSH l a b 1 2 300 -5 70000 helloworld, the node Redis 7.0.15
        // DUMPs.
        let mut b = Builder::new();
        for s in ["a", "b", "1", "2", "300", "-5", "70000", "helloworld"] {
            b.push(s.as_bytes());
        }
        let lp = b.finish();
        let want: &[u8] = b"(\x00\x00\x00\x08\x00\x81a\x02\x81b\x02\x01\x01\x02\x01\xc1,\x02\xdf\xfb\x02\xf2p\x11\x01\x04\x8ahelloworld\x0b\xff";
        assert_eq!(lp, want);
    }

    #[test]
    fn round_trip_all_widths() {
        let items: Vec<Vec<u8>> = [
            "0",
            "127",
            "128",
            "-4096",
            "4095",
            "-32768",
            "32767",
            "8388607",
            "-8388608",
            "2147483647",
            "-2147483648",
            "9223372036854775807",
            "-9223372036854775808",
            "007",
            "",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .chain([
            vec![b'x'; 63],
            vec![b'y'; 64],
            vec![b'z'; 4095],
            vec![b'w'; 70000],
        ])
        .collect();
        let mut b = Builder::new();
        for i in &items {
            b.push(i);
        }
        let lp = b.finish();
        assert_eq!(decode(&lp).unwrap(), items);
        // Any truncation or flipped byte is an error or a different value,
        // never a panic.
        for cut in 0..lp.len().min(200) {
            let _ = decode(&lp[..cut]);
        }
    }

    #[test]
    fn element_sizes_match_the_encoder() {
        for s in [
            &b"0"[..],
            b"127",
            b"128",
            b"-4096",
            b"70000",
            b"x",
            &[b'y'; 100],
            &[b'z'; 5000],
        ] {
            let mut b = Builder::new();
            let before = b.bytes();
            b.push(s);
            assert_eq!(
                b.bytes() - before,
                element_size(s),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }
}
