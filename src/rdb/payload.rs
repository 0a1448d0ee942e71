//! DUMP payloads: an RDB object (type byte + value), the RDB version as a
//! u16 LE, and the CRC-64 (Jones, Redis's `crc64`) of everything before
//! it as a u64 LE.

use super::{RdbError, RdbValue, Reader, decode_object, is_object_type};

/// The RDB version Redis 7.0 writes; payloads of a later version are
/// refused as Redis 7.0 refuses them.
pub const RDB_VERSION: u16 = 10;

const CRC64: crc::Crc<u64> = crc::Crc::<u64>::new(&crc::CRC_64_REDIS);

/// Why RESTORE refuses a payload.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayloadError {
    /// Too short, version too new, or checksum mismatch.
    #[error("DUMP payload version or checksum are wrong")]
    VersionOrChecksum,
    #[error("bad data format: {0}")]
    Bad(#[from] RdbError),
}

pub fn crc64(data: &[u8]) -> u64 {
    CRC64.checksum(data)
}

/// Append the footer to an encoded object.
pub fn seal(mut body: Vec<u8>) -> Vec<u8> {
    body.extend_from_slice(&RDB_VERSION.to_le_bytes());
    let crc = crc64(&body);
    body.extend_from_slice(&crc.to_le_bytes());
    body
}

/// `verifyDumpPayload`: at least the footer, a known version, a matching
/// checksum.
pub fn verify(p: &[u8]) -> bool {
    if p.len() < 10 {
        return false;
    }
    let footer = &p[p.len() - 10..];
    let version = u16::from_le_bytes([footer[0], footer[1]]);
    if version > RDB_VERSION {
        return false;
    }
    let mut want = [0u8; 8];
    want.copy_from_slice(&footer[2..]);
    crc64(&p[..p.len() - 8]) == u64::from_le_bytes(want)
}

/// Verify and decode a payload. As in Redis, the object is read from the
/// start of the whole payload (footer included) and bytes after it are
/// ignored.
pub fn decode(p: &[u8]) -> Result<RdbValue, PayloadError> {
    if !verify(p) {
        return Err(PayloadError::VersionOrChecksum);
    }
    let mut r = Reader::new(p);
    let t = r.u8()?;
    if !is_object_type(t) {
        return Err(RdbError::UnknownType(t).into());
    }
    Ok(decode_object(t, &mut r)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_string_payload() {
        // DUMP of SET k <'a' x 30> from Redis 7.0.15.
        let p = b"\x00\xc3\t\x1e\x01aa\xe0\x11\x00\x01aa\n\x00Es|\xbb+d{\xbb";
        assert!(verify(p));
        assert_eq!(decode(p).unwrap(), RdbValue::String(vec![b'a'; 30]));
        let mut body = vec![0u8];
        super::super::put_string(&mut body, &[b'a'; 30], true);
        assert_eq!(seal(body), p);
        let mut bad = p.to_vec();
        bad[3] ^= 1;
        assert_eq!(decode(&bad), Err(PayloadError::VersionOrChecksum));
    }
}
