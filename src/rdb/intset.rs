//! Intset: a sorted array of distinct integers of one width.
//!
//! Layout: width in bytes (u32 LE: 2, 4 or 8), count (u32 LE), then the
//! values, little-endian, strictly ascending.

use super::{RdbError, Result};

/// Encode distinct integers (any order) in the narrowest width that holds
/// them all, as Redis's intset does when built by inserts.
pub fn encode(mut v: Vec<i64>) -> Vec<u8> {
    v.sort_unstable();
    v.dedup();
    let width: usize = if v.iter().all(|&x| i16::try_from(x).is_ok()) {
        2
    } else if v.iter().all(|&x| i32::try_from(x).is_ok()) {
        4
    } else {
        8
    };
    let mut out = Vec::with_capacity(8 + width * v.len());
    out.extend_from_slice(&(width as u32).to_le_bytes());
    out.extend_from_slice(&(v.len() as u32).to_le_bytes());
    for x in v {
        out.extend_from_slice(&x.to_le_bytes()[..width]);
    }
    out
}

/// The values of an intset, validated (width, size, strict order, not
/// empty).
pub fn decode(blob: &[u8]) -> Result<Vec<i64>> {
    let bad = || RdbError::Corrupt("intset");
    if blob.len() < 8 {
        return Err(bad());
    }
    let width = u32::from_le_bytes([blob[0], blob[1], blob[2], blob[3]]) as usize;
    let count = u32::from_le_bytes([blob[4], blob[5], blob[6], blob[7]]) as usize;
    if !matches!(width, 2 | 4 | 8)
        || (blob.len() - 8) / width != count
        || !(blob.len() - 8).is_multiple_of(width)
    {
        return Err(bad());
    }
    if count == 0 {
        return Err(RdbError::Empty);
    }
    let mut out: Vec<i64> = Vec::with_capacity(count);
    for c in blob[8..].chunks_exact(width) {
        let v = match width {
            2 => i16::from_le_bytes([c[0], c[1]]) as i64,
            4 => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as i64,
            _ => {
                let mut a = [0u8; 8];
                a.copy_from_slice(c);
                i64::from_le_bytes(a)
            }
        };
        if out.last().is_some_and(|&p| p >= v) {
            return Err(bad());
        }
        out.push(v);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_and_order() {
        let b = encode(vec![3, 1, 2]);
        assert_eq!(b, [2, 0, 0, 0, 3, 0, 0, 0, 1, 0, 2, 0, 3, 0]);
        assert_eq!(decode(&b).unwrap(), [1, 2, 3]);
        let b = encode(vec![70000, -1]);
        assert_eq!(&b[..4], &[4, 0, 0, 0]);
        assert_eq!(decode(&b).unwrap(), [-1, 70000]);
        let b = encode(vec![i64::MIN, i64::MAX]);
        assert_eq!(decode(&b).unwrap(), [i64::MIN, i64::MAX]);
        // Unsorted, wrong size, bad width, empty.
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0, 1, 0]).is_err());
        assert!(decode(&[2, 0, 0, 0, 2, 0, 0, 0, 2, 0]).is_err());
        assert!(decode(&[3, 0, 0, 0, 1, 0, 0, 0, 2, 0, 1]).is_err());
        assert!(decode(&[2, 0, 0, 0, 0, 0, 0, 0]).is_err());
    }
}
