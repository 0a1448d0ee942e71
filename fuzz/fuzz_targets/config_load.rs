//! The redis.conf parser on arbitrary text: never panics; a text it
//! accepts renders back (CONFIG REWRITE) into text it accepts again with
//! the same result.
#![no_main]

use cairn::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut c = Config::default();
    if c.load_text(&text, "fuzz").is_ok() {
        let rendered = c.render();
        let mut again = Config::default();
        again
            .load_text(&rendered, "rendered")
            .expect("rendered config must load");
        assert_eq!(again.render(), rendered);
    }
});
