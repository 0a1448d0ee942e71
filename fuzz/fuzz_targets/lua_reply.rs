//! Replies turned into Lua values on the raw Lua stack (what `redis.call`
//! hands a script, `scripting::rawcall`) and back: on arbitrary bytes the
//! conversion never crashes, never raises a Lua error across Rust frames,
//! and never reads outside the buffer. Run it with AddressSanitizer
//! (`RUSTC_BOOTSTRAP=1 cargo fuzz run lua_reply`) to check the unsafe code.
//!
//! Input: a mode byte (odd: RESP3), then the reply bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let _ = cairn::scripting::reply_round_trip(rest, mode & 1 == 1);
});
