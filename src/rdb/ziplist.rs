//! Ziplist: the compact sequence of Redis before 7.0 (read only; Redis
//! 7.0 converts ziplists it loads to listpacks).
//!
//! Layout: total bytes (u32 LE), offset of the last entry (u32 LE), count
//! (u16 LE, 65535 = unknown), entries, 0xFF. An entry is the previous
//! entry's size (1 byte, or 0xFE + u32 LE), an encoding, and the data.
//! String lengths are 6-bit, 14-bit (big-endian) or 32-bit (big-endian);
//! integers are 8/16/24/32/64-bit little-endian or an immediate 0..12.

use super::{RdbError, Result};

const HEADER: usize = 10;
const EOF: u8 = 0xff;

/// The elements of a ziplist; an empty one is an error.
pub fn decode(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
    let v = decode_allow_empty(blob)?;
    if v.is_empty() {
        return Err(RdbError::Empty);
    }
    Ok(v)
}

/// The elements of a ziplist, validating every entry (bounds, encodings,
/// previous-entry lengths, the header's size, tail offset and count).
pub fn decode_allow_empty(blob: &[u8]) -> Result<Vec<Vec<u8>>> {
    let bad = || RdbError::Corrupt("ziplist");
    if blob.len() < HEADER + 1 || blob[blob.len() - 1] != EOF {
        return Err(bad());
    }
    let u32_at = |p: usize| u32::from_le_bytes([blob[p], blob[p + 1], blob[p + 2], blob[p + 3]]);
    if u32_at(0) as usize != blob.len() {
        return Err(bad());
    }
    let tail = u32_at(4) as usize;
    let count = u16::from_le_bytes([blob[8], blob[9]]);
    let end = blob.len() - 1;
    let mut out = Vec::with_capacity((count as usize).min(end / 2));
    let mut p = HEADER;
    let mut prev_size = 0usize;
    let mut last = HEADER;
    while p < end {
        let start = p;
        let need = |p: usize, n: usize| -> Result<&[u8]> {
            if n > end - p.min(end) || p > end {
                Err(bad())
            } else {
                Ok(&blob[p..p + n])
            }
        };
        let prevlen = if blob[p] < 254 {
            p += 1;
            blob[start] as usize
        } else if blob[p] == 254 {
            let d = need(p + 1, 4)?;
            p += 5;
            u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize
        } else {
            return Err(bad());
        };
        if prevlen != prev_size {
            return Err(bad());
        }
        let b = need(p, 1)?[0];
        let (elem, next): (Vec<u8>, usize) = match b >> 6 {
            0 => {
                let n = (b & 0x3f) as usize;
                (need(p + 1, n)?.to_vec(), p + 1 + n)
            }
            1 => {
                let lo = need(p + 1, 1)?[0] as usize;
                let n = (((b & 0x3f) as usize) << 8) | lo;
                (need(p + 2, n)?.to_vec(), p + 2 + n)
            }
            2 => {
                if b != 0x80 {
                    return Err(bad());
                }
                let l = need(p + 1, 4)?;
                let n = u32::from_be_bytes([l[0], l[1], l[2], l[3]]) as usize;
                (need(p + 5, n)?.to_vec(), p + 5 + n)
            }
            _ => {
                let (v, n): (i64, usize) = match b {
                    0xc0 => {
                        let d = need(p + 1, 2)?;
                        (i16::from_le_bytes([d[0], d[1]]) as i64, 2)
                    }
                    0xd0 => {
                        let d = need(p + 1, 4)?;
                        (i32::from_le_bytes([d[0], d[1], d[2], d[3]]) as i64, 4)
                    }
                    0xe0 => {
                        let d = need(p + 1, 8)?;
                        let mut a = [0u8; 8];
                        a.copy_from_slice(d);
                        (i64::from_le_bytes(a), 8)
                    }
                    0xf0 => {
                        let d = need(p + 1, 3)?;
                        ((i32::from_le_bytes([0, d[0], d[1], d[2]]) >> 8) as i64, 3)
                    }
                    0xfe => (need(p + 1, 1)?[0] as i8 as i64, 1),
                    0xf1..=0xfd => ((b & 0x0f) as i64 - 1, 0),
                    _ => return Err(bad()),
                };
                let s = itoa::Buffer::new().format(v).as_bytes().to_vec();
                (s, p + 1 + n)
            }
        };
        out.push(elem);
        last = start;
        prev_size = next - start;
        p = next;
    }
    if p != end || tail != last {
        return Err(bad());
    }
    if count != u16::MAX && count as usize != out.len() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_redis_6_ziplist() {
        // RPUSH l a 1 300 -5 70000 in Redis 6.2 (the quicklist node).
        let mut zl = Vec::new();
        let entries: Vec<Vec<u8>> = vec![
            vec![0x01, b'a'],
            vec![0xf2],
            vec![0xc0, 0x2c, 0x01],
            vec![0xfe, 0xfb],
            vec![0xf0, 0x70, 0x11, 0x01],
        ];
        let mut body = Vec::new();
        let mut prev = 0;
        let mut last = HEADER;
        for e in &entries {
            last = HEADER + body.len();
            body.push(prev as u8);
            body.extend_from_slice(e);
            prev = e.len() + 1;
        }
        zl.extend_from_slice(&((HEADER + body.len() + 1) as u32).to_le_bytes());
        zl.extend_from_slice(&(last as u32).to_le_bytes());
        zl.extend_from_slice(&5u16.to_le_bytes());
        zl.extend_from_slice(&body);
        zl.push(EOF);
        let got = decode(&zl).unwrap();
        let want: Vec<&[u8]> = vec![b"a", b"1", b"300", b"-5", b"70000"];
        assert_eq!(got, want);
        for cut in 0..zl.len() {
            let _ = decode(&zl[..cut]);
        }
    }
}
