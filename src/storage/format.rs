//! Byte layout of log segments and records; the spec is FORMAT.md.
#![doc = include_str!("FORMAT.md")]

/// Segment file magic.
pub const SEG_MAGIC: &[u8; 8] = b"CAIRNLOG";
pub const SEG_VERSION: u32 = 1;
pub const SEG_HEADER_LEN: usize = 40;
pub const REC_HEADER_LEN: usize = 32;
/// Record kinds.
pub const KIND_EFFECTS: u8 = 1;
/// Written at clean shutdown: says everything before it was synced.
pub const KIND_SYNC_MARK: u8 = 2;
/// Largest payload a record may declare (a loader never trusts more).
pub const MAX_PAYLOAD: usize = 1 << 31;

#[inline]
fn le32(b: &[u8]) -> u32 {
    u32::from_le_bytes(b[..4].try_into().expect("4 bytes"))
}

#[inline]
fn le64(b: &[u8]) -> u64 {
    u64::from_le_bytes(b[..8].try_into().expect("8 bytes"))
}

/// Padding after a payload so the next record starts 8-byte aligned.
#[inline]
pub fn pad(len: usize) -> usize {
    (8 - len % 8) % 8
}

/// Encode a segment header.
pub fn segment_header(seq: u64, first_lsn: u64) -> [u8; SEG_HEADER_LEN] {
    let mut h = [0u8; SEG_HEADER_LEN];
    h[..8].copy_from_slice(SEG_MAGIC);
    h[8..12].copy_from_slice(&SEG_VERSION.to_le_bytes());
    h[16..24].copy_from_slice(&seq.to_le_bytes());
    h[24..32].copy_from_slice(&first_lsn.to_le_bytes());
    let crc = crc32c::crc32c(&h[..32]);
    h[32..36].copy_from_slice(&crc.to_le_bytes());
    h
}

/// A decoded segment header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SegmentHeader {
    pub seq: u64,
    pub first_lsn: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    #[error("file too short for a segment header")]
    Short,
    #[error("bad magic (not a Cairn log segment)")]
    Magic,
    #[error("unsupported segment version {0}")]
    Version(u32),
    #[error("segment header checksum mismatch")]
    Checksum,
}

pub fn parse_segment_header(b: &[u8]) -> Result<SegmentHeader, HeaderError> {
    if b.len() < SEG_HEADER_LEN {
        return Err(HeaderError::Short);
    }
    if &b[..8] != SEG_MAGIC {
        return Err(HeaderError::Magic);
    }
    if crc32c::crc32c(&b[..32]) != le32(&b[32..36]) {
        return Err(HeaderError::Checksum);
    }
    let v = le32(&b[8..12]);
    if v != SEG_VERSION {
        return Err(HeaderError::Version(v));
    }
    Ok(SegmentHeader {
        seq: le64(&b[16..24]),
        first_lsn: le64(&b[24..32]),
    })
}

/// Append one framed record to `out`.
/// `db` is the database the payload's first command runs in (< 2^24).
pub fn encode_record(
    out: &mut Vec<u8>,
    kind: u8,
    db: u32,
    lsn: u64,
    synced_lsn: u64,
    payload: &[u8],
) {
    let start = out.len();
    out.extend_from_slice(&[0u8; REC_HEADER_LEN]);
    out.extend_from_slice(payload);
    frame_in_place(out, start, kind, db, lsn, synced_lsn);
}

/// Frame the record whose payload was written in place: `out[start..]` is
/// `REC_HEADER_LEN` bytes of room for the header, then the payload (to
/// the end of `out`). Fills the header and appends the padding.
pub fn frame_in_place(
    out: &mut Vec<u8>,
    start: usize,
    kind: u8,
    db: u32,
    lsn: u64,
    synced_lsn: u64,
) {
    let body = start + REC_HEADER_LEN;
    let len = out.len() - body;
    let pcrc = crc32c::crc32c(&out[body..]);
    let h = &mut out[start..body];
    h[0..4].copy_from_slice(&(len as u32).to_le_bytes());
    h[4] = kind;
    h[5..8].copy_from_slice(&db.to_le_bytes()[..3]);
    h[8..16].copy_from_slice(&lsn.to_le_bytes());
    h[16..24].copy_from_slice(&synced_lsn.to_le_bytes());
    let hcrc = crc32c::crc32c(&h[..24]);
    h[24..28].copy_from_slice(&hcrc.to_le_bytes());
    h[28..32].copy_from_slice(&pcrc.to_le_bytes());
    out.extend(std::iter::repeat_n(0u8, pad(len)));
}

/// A record header whose own checksum verified.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    pub len: usize,
    pub kind: u8,
    pub db: u32,
    pub lsn: u64,
    pub synced_lsn: u64,
    pub payload_crc: u32,
}

/// Decode a record header at the start of `b`; None if it is short or its
/// checksum fails (a torn or garbage header is never trusted).
pub fn parse_record_header(b: &[u8]) -> Option<RecordHeader> {
    if b.len() < REC_HEADER_LEN {
        return None;
    }
    if crc32c::crc32c(&b[..24]) != le32(&b[24..28]) {
        return None;
    }
    let len = le32(&b[..4]) as usize;
    if len > MAX_PAYLOAD {
        return None;
    }
    Some(RecordHeader {
        len,
        kind: b[4],
        db: u32::from_le_bytes([b[5], b[6], b[7], 0]),
        lsn: le64(&b[8..16]),
        synced_lsn: le64(&b[16..24]),
        payload_crc: le32(&b[28..32]),
    })
}

/// A whole, verified record at the start of `b`: header, payload, total
/// length including padding.
pub fn parse_record(b: &[u8]) -> Option<(RecordHeader, &[u8], usize)> {
    let h = parse_record_header(b)?;
    let total = REC_HEADER_LEN + h.len + pad(h.len);
    if b.len() < REC_HEADER_LEN + h.len {
        return None;
    }
    let payload = &b[REC_HEADER_LEN..REC_HEADER_LEN + h.len];
    if crc32c::crc32c(payload) != h.payload_crc {
        return None;
    }
    if h.kind != KIND_EFFECTS && h.kind != KIND_SYNC_MARK {
        return None;
    }
    Some((h, payload, total.min(b.len())))
}

/// Where a segment's valid records end and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SegmentEnd {
    /// Every byte after the header is a valid record.
    Clean,
    /// Bytes from `offset` on are not valid records, and no valid record
    /// after them claims they were ever synced: what a power cut or crash
    /// leaves. Safe to cut off.
    TornTail { offset: usize },
    /// A bad record at `offset` is followed by a valid record (at
    /// `valid_at`) whose `synced_lsn` says the bad one had been synced:
    /// real corruption of acknowledged data.
    Corrupt {
        offset: usize,
        lsn: u64,
        valid_at: usize,
    },
    /// A valid record carries an LSN out of sequence.
    LsnGap {
        offset: usize,
        expected: u64,
        found: u64,
    },
}

/// Scan the records of a segment (`data` = the whole file) starting with
/// `first_lsn`, calling `apply(header, payload)` for every valid record
/// in order until the first bad one. Returns the LSN after the last valid
/// record and how the segment ends.
pub fn scan_segment<E>(
    data: &[u8],
    first_lsn: u64,
    mut apply: impl FnMut(&RecordHeader, &[u8]) -> Result<(), E>,
) -> Result<(u64, SegmentEnd), E> {
    let mut off = SEG_HEADER_LEN.min(data.len());
    let mut next = first_lsn;
    while off < data.len() {
        match parse_record(&data[off..]) {
            Some((h, payload, total)) => {
                if h.lsn != next {
                    return Ok((
                        next,
                        SegmentEnd::LsnGap {
                            offset: off,
                            expected: next,
                            found: h.lsn,
                        },
                    ));
                }
                apply(&h, payload)?;
                next += 1;
                off += total;
            }
            None => return Ok((next, classify_damage(data, off, next))),
        }
    }
    Ok((next, SegmentEnd::Clean))
}

/// A record at `bad` (which should carry LSN `bad_lsn`) is damaged: decide
/// between a torn tail and real corruption by looking for a later valid
/// record that claims `bad_lsn` had been synced.
///
/// Records start 8-byte aligned, so the search steps by 8. It hops over a
/// record whose header verifies (its length can be trusted), so client
/// bytes inside payloads are not mistaken for records.
fn classify_damage(data: &[u8], bad: usize, bad_lsn: u64) -> SegmentEnd {
    let hop = |at: usize| match parse_record_header(&data[at..]) {
        Some(h) => at + REC_HEADER_LEN + h.len + pad(h.len),
        None => at + 8,
    };
    let mut at = hop(bad);
    while at + REC_HEADER_LEN <= data.len() {
        if let Some((h, _, total)) = parse_record(&data[at..]) {
            if h.lsn > bad_lsn && h.synced_lsn >= bad_lsn {
                return SegmentEnd::Corrupt {
                    offset: bad,
                    lsn: bad_lsn,
                    valid_at: at,
                };
            }
            at += total.max(8);
        } else {
            at = hop(at);
        }
    }
    SegmentEnd::TornTail { offset: bad }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(n: u64, synced: impl Fn(u64) -> u64) -> (Vec<u8>, Vec<usize>) {
        let mut v = segment_header(1, 1).to_vec();
        let mut offs = vec![];
        for lsn in 1..=n {
            offs.push(v.len());
            let payload = format!("*1\r\n$4\r\nPING\r\n{lsn}");
            encode_record(
                &mut v,
                KIND_EFFECTS,
                0,
                lsn,
                synced(lsn),
                payload.as_bytes(),
            );
        }
        (v, offs)
    }

    fn count(data: &[u8]) -> (u64, SegmentEnd) {
        scan_segment::<()>(data, 1, |_, _| Ok(())).unwrap()
    }

    #[test]
    fn clean_segment_scans_fully() {
        let (v, _) = segment(50, |l| l - 1);
        assert_eq!(count(&v), (51, SegmentEnd::Clean));
        assert_eq!(
            parse_segment_header(&v).unwrap(),
            SegmentHeader {
                seq: 1,
                first_lsn: 1
            }
        );
    }

    #[test]
    fn torn_tail_at_every_byte_of_the_last_record() {
        let (v, offs) = segment(10, |l| l - 1);
        let last = offs[9];
        for cut in last..v.len() {
            let (next, end) = count(&v[..cut]);
            assert_eq!(next, 10, "cut at {cut}");
            if cut == last {
                assert_eq!(end, SegmentEnd::Clean);
            } else {
                assert_eq!(end, SegmentEnd::TornTail { offset: last }, "cut at {cut}");
            }
        }
    }

    #[test]
    fn zero_and_garbage_tails_are_torn_tails() {
        let (mut v, _) = segment(10, |l| l - 1);
        let end = v.len();
        v.extend(std::iter::repeat_n(0u8, 4096));
        assert_eq!(count(&v), (11, SegmentEnd::TornTail { offset: end }));
        v.truncate(end);
        v.extend((0..4096u32).map(|i| (i.wrapping_mul(2654435761u32) >> 13) as u8));
        assert_eq!(count(&v), (11, SegmentEnd::TornTail { offset: end }));
    }

    #[test]
    fn bit_flip_before_a_record_that_claims_it_synced_is_corruption() {
        // Each record claims everything before it was synced (always).
        let (v, offs) = segment(10, |l| l - 1);
        for (i, &at) in offs.iter().enumerate().take(9) {
            for byte in [at, at + 3, at + 20, at + 33] {
                let mut d = v.clone();
                d[byte] ^= 0x10;
                let (next, end) = count(&d);
                assert_eq!(next, i as u64 + 1);
                assert!(
                    matches!(end, SegmentEnd::Corrupt { offset, lsn, .. } if offset == at && lsn == i as u64 + 1),
                    "flip at {byte}: {end:?}"
                );
            }
        }
        // The last record has nobody after it: indistinguishable from a
        // torn write, treated as a tail.
        let mut d = v.clone();
        d[offs[9] + 40] ^= 1;
        assert_eq!(count(&d).1, SegmentEnd::TornTail { offset: offs[9] });
    }

    #[test]
    fn damage_followed_only_by_unsynced_records_is_a_tail() {
        // everysec-like: nothing was synced after record 3.
        let (v, offs) = segment(10, |l| (l - 1).min(3));
        let mut d = v.clone();
        d[offs[5] + 1] ^= 0xff;
        assert_eq!(count(&d), (6, SegmentEnd::TornTail { offset: offs[5] }));
        // But damage to a synced record (lsn 2) is corruption.
        let mut d = v.clone();
        d[offs[1] + 1] ^= 0xff;
        assert!(matches!(count(&d).1, SegmentEnd::Corrupt { lsn: 2, .. }));
    }

    #[test]
    fn headers_are_checked() {
        let h = segment_header(7, 99);
        let mut b = h.to_vec();
        b[0] = b'X';
        assert_eq!(parse_segment_header(&b), Err(HeaderError::Magic));
        let mut b = h.to_vec();
        b[20] ^= 1;
        assert_eq!(parse_segment_header(&b), Err(HeaderError::Checksum));
        assert_eq!(parse_segment_header(&h[..10]), Err(HeaderError::Short));
    }

    #[test]
    fn huge_declared_length_is_not_trusted() {
        let mut v = segment_header(1, 1).to_vec();
        let mut rec = Vec::new();
        encode_record(&mut rec, KIND_EFFECTS, 0, 1, 0, b"abc");
        rec[..4].copy_from_slice(&u32::MAX.to_le_bytes());
        v.extend_from_slice(&rec);
        assert!(matches!(count(&v).1, SegmentEnd::TornTail { .. }));
    }
}
