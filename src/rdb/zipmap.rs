//! Zipmap: the compact hash of Redis before 2.6 (read only).
//!
//! Layout: a count byte (254+ = unknown), then entries of key length,
//! key, value length, a "free" byte, value and `free` unused bytes, and a
//! final 0xFF. A length is one byte below 254, or 254 and a u32 LE.

use super::{RdbError, Result};

const END: u8 = 0xff;

/// The field/value pairs of a zipmap, validated.
pub fn decode(blob: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let bad = || RdbError::Corrupt("zipmap");
    let mut p = 1usize;
    let take = |p: &mut usize, n: usize| -> Result<&[u8]> {
        if n > blob.len().saturating_sub(*p) {
            return Err(bad());
        }
        let s = &blob[*p..*p + n];
        *p += n;
        Ok(s)
    };
    let len = |p: &mut usize| -> Result<Option<usize>> {
        let b = take(p, 1)?[0];
        Ok(match b {
            0..=253 => Some(b as usize),
            254 => {
                let d = take(p, 4)?;
                Some(u32::from_le_bytes([d[0], d[1], d[2], d[3]]) as usize)
            }
            _ => None,
        })
    };
    if blob.is_empty() {
        return Err(bad());
    }
    let mut out = Vec::new();
    while let Some(kl) = len(&mut p)? {
        let k = take(&mut p, kl)?.to_vec();
        let vl = len(&mut p)?.ok_or_else(bad)?;
        let free = take(&mut p, 1)?[0] as usize;
        let v = take(&mut p, vl)?.to_vec();
        take(&mut p, free)?;
        out.push((k, v));
    }
    if p != blob.len() || blob[p - 1] != END {
        return Err(bad());
    }
    if blob[0] < 254 && blob[0] as usize != out.len() {
        return Err(bad());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let zm = [2, 1, b'a', 1, 0, b'x', 1, b'b', 2, 1, b'y', b'z', 0, END];
        let got = decode(&zm).unwrap();
        assert_eq!(
            got,
            vec![
                (b"a".to_vec(), b"x".to_vec()),
                (b"b".to_vec(), b"yz".to_vec())
            ]
        );
        for cut in 0..zm.len() {
            assert!(decode(&zm[..cut]).is_err());
        }
    }
}
