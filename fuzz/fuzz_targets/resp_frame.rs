//! The RESP request parser on arbitrary bytes, fed in arbitrary chunk
//! sizes: it never panics, never reports more bytes consumed than it was
//! given, and chunked parsing yields exactly the commands (or the error)
//! that parsing the whole input at once yields. `peek_key_member`, the
//! pipeline's prefetch hint, never panics, and when it and the parser both
//! take a command, it names the command's second argument and, if it
//! names one, the third.
#![no_main]

use cairn::protocol::{Limits, Parsed, RequestParser, peek_key_member};
use libfuzzer_sys::fuzz_target;

type Cmds = Vec<Vec<Vec<u8>>>;

/// Parse `input` delivered `chunk` bytes at a time. Returns the commands
/// and whether a protocol error ended the stream.
fn run(input: &[u8], chunk: usize, limits: Limits) -> (Cmds, bool) {
    let mut p = RequestParser::new();
    let mut buf = Vec::new();
    let mut cmds = Vec::new();
    let mut pos = 0;
    while pos < input.len() {
        let end = (pos + chunk).min(input.len());
        buf.extend_from_slice(&input[pos..end]);
        pos = end;
        loop {
            let peek = (!p.in_progress())
                .then(|| peek_key_member(&buf).map(|(k, m)| (k.to_vec(), m.map(<[u8]>::to_vec))));
            match p.parse(&buf, limits) {
                Ok(Parsed::Command { consumed }) => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    let args: Vec<Vec<u8>> = p.args(&buf).map(|a| a.to_vec()).collect();
                    if let Some(Some((k, m))) = &peek
                        && args.len() >= 2
                    {
                        assert_eq!(k, &args[1], "peek_key disagrees with the parser");
                        if let Some(m) = m {
                            assert_eq!(Some(m), args.get(2), "the member disagrees");
                        }
                    }
                    assert!(!args.is_empty());
                    assert_eq!(args.len(), p.argc());
                    cmds.push(args);
                    buf.drain(..consumed);
                }
                Ok(Parsed::Skip { consumed }) => {
                    assert!(consumed > 0 && consumed <= buf.len());
                    buf.drain(..consumed);
                }
                Ok(Parsed::Incomplete) => break,
                Err(_) => return (cmds, true),
            }
        }
    }
    (cmds, false)
}

fuzz_target!(|data: &[u8]| {
    let Some((&ctl, input)) = data.split_first() else {
        return;
    };
    let chunk = (ctl as usize % 7) + 1;
    let limits = Limits {
        max_bulk: 1 << 16,
        authenticated: ctl & 0x80 == 0,
    };
    let (a, a_err) = run(input, chunk, limits);
    let (b, b_err) = run(input, input.len().max(1), limits);
    assert_eq!(a_err, b_err, "error depends on chunking");
    assert_eq!(a, b, "commands depend on chunking");
});
