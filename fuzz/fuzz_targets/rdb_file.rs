//! The Redis RDB file reader (`rdb-import`) on arbitrary bytes: it never
//! panics and never allocates by declared lengths, and every key it
//! hands over converts to a keyspace value.
//!
//! Input: a mode byte, then either a whole file (even mode: the checksum
//! is checked, so nearly every input stops there) or a body after which
//! a valid checksum is appended (odd mode: the reader proper).
#![no_main]

use cairn::rdb::file::read;
use cairn::rdb::payload::crc64;
use cairn::rdb::value::{Limits, into_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut file = rest.to_vec();
    if mode & 1 == 1 {
        let crc = crc64(&file);
        file.extend_from_slice(&crc.to_le_bytes());
    }
    let limits = Limits::default();
    let _ = read(&file, |item| {
        let _ = into_value(item.value, &limits);
        Ok(())
    });
});
