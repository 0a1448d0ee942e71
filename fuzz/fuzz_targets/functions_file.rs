//! The function libraries' two loaders on arbitrary bytes: the
//! `functions.cfn` file (start-up) and FUNCTION RESTORE payloads. Neither
//! panics nor allocates by a declared length; what the file decoder
//! accepts encodes back to the same bytes, and a payload's libraries
//! dump to a payload with the same libraries.
//!
//! Input: a mode byte (even: the file, odd: a payload body that gets a
//! valid footer, so the opcode walk is reached).
#![no_main]

use cairn::rdb::payload::seal;
use cairn::scripting::functions::{decode_file, dump_payload, encode_file, parse_payload};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        if let Ok(codes) = decode_file(rest) {
            assert_eq!(encode_file(&codes), rest);
        }
    } else if let Ok(codes) = parse_payload(&seal(rest.to_vec())) {
        for compress in [false, true] {
            assert_eq!(parse_payload(&dump_payload(&codes, compress)).unwrap(), codes);
        }
    }
});
