//! The DUMP payload decoder on arbitrary bytes: it never panics and never
//! allocates by declared lengths; whatever it accepts re-encodes (as Cairn
//! DUMPs it) to a payload that decodes to the same value.
//!
//! Input: a mode byte, then either a whole payload (even mode: the
//! checksum is checked, as RESTORE does) or an object body that gets a
//! valid footer (odd mode: the decoder proper, past the checksum).
#![no_main]

use cairn::rdb::payload::{decode, seal};
use cairn::rdb::value::{Limits, encode, into_value};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let payload = if mode & 1 == 1 {
        seal(rest.to_vec())
    } else {
        rest.to_vec()
    };
    let Ok(v) = decode(&payload) else { return };
    let limits = Limits::default();
    let value = into_value(v, &limits);
    let again = seal(encode(&value, &limits));
    let back = into_value(decode(&again).expect("own payload decodes"), &limits);
    assert_eq!(back, value);
});
