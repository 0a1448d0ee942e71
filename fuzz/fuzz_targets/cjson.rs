//! The scripts' JSON decoder (`cjson.decode`) on arbitrary bytes: it
//! returns a value or an error, never panics; what it decodes encodes, and
//! that encoding decodes again (`json_round_trip`).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Err(e) = cairn::scripting::libs::json_round_trip(data) {
        panic!("{e}");
    }
});
