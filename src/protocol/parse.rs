//! Incremental request parser: RESP multibulk (`*N\r\n$L\r\n...`) and inline
//! commands (`PING\r\n`, `set "a b" c\n`).
//!
//! The parser never copies multibulk arguments: it records `(start, end)`
//! offsets into the caller's buffer. It keeps its position between calls, so a
//! command that arrives in many reads is scanned once, not once per read
//! (Redis keeps the same state in `client->multibulklen`/`bulklen`).
//!
//! Invariants:
//! * The caller must not remove bytes from the front of the buffer while a
//!   command is partially parsed; it removes exactly `consumed` bytes after
//!   each `Parsed::Command`.
//! * Every allocation is bounded by bytes actually received: the argument
//!   vector grows as arguments arrive, never from a declared count alone.
//! * Errors carry Redis's exact text (`networking.c`); after one the
//!   connection must reply and close.

use memchr_lite::find_crlf;

/// Longest inline command or `*`/`$` header line Redis accepts (PROTO_INLINE_MAX_SIZE).
pub const INLINE_MAX: usize = 64 * 1024;
/// Bulk length and arg count allowed before AUTH (Redis: unauthenticated clients).
pub const UNAUTH_MAX_MULTIBULK: i64 = 10;
pub const UNAUTH_MAX_BULK: i64 = 16384;

/// Limits checked while parsing.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len`.
    pub max_bulk: i64,
    /// Whether the client has authenticated (stricter limits before).
    pub authenticated: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk: 512 * 1024 * 1024,
            authenticated: true,
        }
    }
}

/// A protocol error; the message is Redis's, without the `-ERR ` prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(pub &'static str);

/// Outcome of one parse step.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// A whole command; its arguments are in `RequestParser::args`. The caller
    /// executes it, then drops `consumed` bytes from the buffer front.
    Command { consumed: usize },
    /// Input that holds no command (empty line, `*0`, `*-1`): drop `consumed`.
    Skip { consumed: usize },
    /// More bytes are needed.
    Incomplete,
}

#[derive(Debug, Default)]
enum State {
    #[default]
    Idle,
    /// Inside a multibulk: `remaining` bulks still to read; `pos` is where the
    /// next `$` header starts; `bulk` is a header already read whose payload
    /// (`bulk` bytes + CRLF) is still incomplete.
    Multi {
        remaining: usize,
        pos: usize,
        bulk: Option<usize>,
    },
}

/// Where the arguments of the last command live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArgSource {
    /// Offsets into the caller's buffer.
    Buffer,
    /// Offsets into `RequestParser::inline_scratch` (inline commands are
    /// unquoted and unescaped, so they cannot point into the buffer).
    Scratch,
}

#[derive(Debug, Default)]
pub struct RequestParser {
    state: State,
    args: Vec<(usize, usize)>,
    scratch: Vec<u8>,
    source: Option<ArgSource>,
}

/// The second argument (a command's first key, for most commands) of the
/// multibulk command at the start of `buf`, if its bytes up to that
/// argument are all there; `None` otherwise (inline commands, fewer than
/// two arguments, anything malformed). With it, the third argument (a
/// field or member, for the hash and set commands) if the command has one
/// and its bytes are there. A hint only: it validates less than
/// `RequestParser::parse`, which still parses the command in full; where
/// both take a command they agree (the `resp_frame` fuzz target checks).
pub fn peek_key_member(buf: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    /// A `<prefix><length>\r\n` header at `at`, read as `parse` reads it
    /// (`find_crlf`, `parse_len`; the search is bounded, since a length
    /// has at most 20 characters): the length and the offset after it.
    fn header(buf: &[u8], at: usize, prefix: u8) -> Option<(usize, usize)> {
        if *buf.get(at)? != prefix {
            return None;
        }
        let window = &buf[..buf.len().min(at + 24)];
        let eol = find_crlf(window, at + 1)?;
        let n = usize::try_from(parse_len(&buf[at + 1..eol])?).ok()?;
        Some((n, eol + 2))
    }
    let (argc, at) = header(buf, 0, b'*')?;
    if argc < 2 {
        return None;
    }
    let (len, at) = header(buf, at, b'$')?;
    let (klen, at) = header(buf, at.checked_add(len)?.checked_add(2)?, b'$')?;
    let key = buf.get(at..at.checked_add(klen)?)?;
    let member = (argc >= 3)
        .then(|| {
            let (mlen, at) = header(buf, at.checked_add(klen)?.checked_add(2)?, b'$')?;
            buf.get(at..at.checked_add(mlen)?)
        })
        .flatten();
    Some((key, member))
}

impl RequestParser {
    pub fn new() -> Self {
        Self::default()
    }

    /// True while a multibulk command is partially received.
    pub fn in_progress(&self) -> bool {
        matches!(self.state, State::Multi { .. })
    }

    /// Arguments of the command returned by the last `Parsed::Command`.
    pub fn args<'a>(&'a self, buf: &'a [u8]) -> impl ExactSizeIterator<Item = &'a [u8]> + 'a {
        let base: &'a [u8] = match self.source {
            Some(ArgSource::Scratch) => &self.scratch,
            _ => buf,
        };
        self.args.iter().map(move |&(s, e)| &base[s..e])
    }

    pub fn argc(&self) -> usize {
        self.args.len()
    }

    /// Parse the next command from `buf` (the unconsumed input).
    pub fn parse(&mut self, buf: &[u8], limits: Limits) -> Result<Parsed, ProtocolError> {
        if let State::Idle = self.state {
            if buf.is_empty() {
                return Ok(Parsed::Incomplete);
            }
            if buf[0] != b'*' {
                return self.parse_inline(buf);
            }
            // Multibulk header.
            let Some(eol) = find_crlf(buf, 1) else {
                if buf.len() > INLINE_MAX {
                    return Err(ProtocolError("Protocol error: too big mbulk count string"));
                }
                return Ok(Parsed::Incomplete);
            };
            if eol > INLINE_MAX {
                return Err(ProtocolError("Protocol error: too big mbulk count string"));
            }
            let n = parse_len(&buf[1..eol])
                .filter(|&n| n <= i32::MAX as i64)
                .ok_or(ProtocolError("Protocol error: invalid multibulk length"))?;
            if !limits.authenticated && n > UNAUTH_MAX_MULTIBULK {
                return Err(ProtocolError(
                    "Protocol error: unauthenticated multibulk length",
                ));
            }
            if n <= 0 {
                return Ok(Parsed::Skip { consumed: eol + 2 });
            }
            self.args.clear();
            self.source = Some(ArgSource::Buffer);
            self.state = State::Multi {
                remaining: n as usize,
                pos: eol + 2,
                bulk: None,
            };
        }
        self.parse_multibulk(buf, limits)
    }

    fn parse_multibulk(&mut self, buf: &[u8], limits: Limits) -> Result<Parsed, ProtocolError> {
        let State::Multi {
            mut remaining,
            mut pos,
            mut bulk,
        } = self.state
        else {
            unreachable!("parse_multibulk outside a multibulk");
        };
        let result = loop {
            if remaining == 0 {
                self.state = State::Idle;
                return Ok(Parsed::Command { consumed: pos });
            }
            let len = match bulk {
                Some(len) => len,
                None => {
                    let Some(eol) = find_crlf(buf, pos) else {
                        if buf.len() - pos > INLINE_MAX {
                            break Err(ProtocolError("Protocol error: too big bulk count string"));
                        }
                        break Ok(Parsed::Incomplete);
                    };
                    if eol - pos > INLINE_MAX {
                        break Err(ProtocolError("Protocol error: too big bulk count string"));
                    }
                    if buf[pos] != b'$' {
                        break Err(expected_dollar(buf[pos]));
                    }
                    let Some(len) =
                        parse_len(&buf[pos + 1..eol]).filter(|&l| l >= 0 && l <= limits.max_bulk)
                    else {
                        break Err(ProtocolError("Protocol error: invalid bulk length"));
                    };
                    if !limits.authenticated && len > UNAUTH_MAX_BULK {
                        break Err(ProtocolError("Protocol error: unauthenticated bulk length"));
                    }
                    pos = eol + 2;
                    bulk = Some(len as usize);
                    len as usize
                }
            };
            // Payload plus CRLF.
            if buf.len() < pos + len + 2 {
                break Ok(Parsed::Incomplete);
            }
            // Redis does not check the trailing CRLF bytes; it skips them.
            self.args.push((pos, pos + len));
            pos += len + 2;
            bulk = None;
            remaining -= 1;
        };
        self.state = State::Multi {
            remaining,
            pos,
            bulk,
        };
        result
    }

    /// Minimum total buffer length needed before another parse can progress
    /// (lets the reader size its buffer for a big bulk in one reservation).
    pub fn bytes_wanted(&self) -> Option<usize> {
        match self.state {
            State::Multi {
                pos,
                bulk: Some(len),
                ..
            } => Some(pos + len + 2),
            _ => None,
        }
    }

    fn parse_inline(&mut self, buf: &[u8]) -> Result<Parsed, ProtocolError> {
        let Some(nl) = buf.iter().position(|&b| b == b'\n') else {
            if buf.len() > INLINE_MAX {
                return Err(ProtocolError("Protocol error: too big inline request"));
            }
            return Ok(Parsed::Incomplete);
        };
        if nl > INLINE_MAX {
            return Err(ProtocolError("Protocol error: too big inline request"));
        }
        let mut line = &buf[..nl];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        self.scratch.clear();
        self.args.clear();
        split_args(line, &mut self.scratch, &mut self.args)
            .map_err(|_| ProtocolError("Protocol error: unbalanced quotes in request"))?;
        self.source = Some(ArgSource::Scratch);
        if self.args.is_empty() {
            return Ok(Parsed::Skip { consumed: nl + 1 });
        }
        Ok(Parsed::Command { consumed: nl + 1 })
    }
}

fn expected_dollar(got: u8) -> ProtocolError {
    // Redis formats "Protocol error: expected '$', got '%c'". The message must
    // be 'static for the error type, so map the byte through a table.
    static MSGS: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let msgs = MSGS.get_or_init(|| {
        (0u8..=255)
            .map(|c| {
                let s = format!("Protocol error: expected '$', got '{}'", c as char);
                &*Box::leak(s.into_boxed_str())
            })
            .collect()
    });
    ProtocolError(msgs[got as usize])
}

/// Parse a RESP length: optional '-', decimal digits, nothing else (Redis
/// `string2ll` on the header). Returns None on anything else.
fn parse_len(s: &[u8]) -> Option<i64> {
    crate::util::parse_i64(s)
}

/// Split an inline command line like Redis's `sdssplitargs`: whitespace
/// separated, with "double quotes" (C escapes, \xHH) and 'single quotes'
/// (only \' escaped). A closing quote must be followed by a space or the end.
pub fn split_args(
    line: &[u8],
    out: &mut Vec<u8>,
    args: &mut Vec<(usize, usize)>,
) -> Result<(), UnbalancedQuotes> {
    // C strings end at NUL: Redis never sees what follows one.
    let line = &line[..line.iter().position(|&b| b == 0).unwrap_or(line.len())];
    let mut i = 0;
    let n = line.len();
    loop {
        while i < n && c_isspace(line[i]) {
            i += 1;
        }
        if i >= n {
            return Ok(());
        }
        let start = out.len();
        let mut inq = false;
        let mut insq = false;
        loop {
            if inq {
                if i >= n {
                    return Err(UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\'
                    && i + 3 < n
                    && line[i + 1] == b'x'
                    && line[i + 2].is_ascii_hexdigit()
                    && line[i + 3].is_ascii_hexdigit()
                {
                    out.push(hex(line[i + 2]) * 16 + hex(line[i + 3]));
                    i += 3;
                } else if c == b'\\' && i + 1 < n {
                    i += 1;
                    out.push(match line[i] {
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'b' => 8,
                        b'a' => 7,
                        other => other,
                    });
                } else if c == b'"' {
                    if i + 1 < n && !c_isspace(line[i + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else if insq {
                if i >= n {
                    return Err(UnbalancedQuotes);
                }
                let c = line[i];
                if c == b'\\' && i + 1 < n && line[i + 1] == b'\'' {
                    i += 1;
                    out.push(b'\'');
                } else if c == b'\'' {
                    if i + 1 < n && !c_isspace(line[i + 1]) {
                        return Err(UnbalancedQuotes);
                    }
                    i += 1;
                    break;
                } else {
                    out.push(c);
                }
            } else {
                if i >= n {
                    break;
                }
                match line[i] {
                    b' ' | b'\n' | b'\r' | b'\t' | 0 => break,
                    b'"' => inq = true,
                    b'\'' => insq = true,
                    c => out.push(c),
                }
            }
            i += 1;
        }
        args.push((start, out.len()));
    }
}

/// C `isspace` in the "C" locale.
fn c_isspace(c: u8) -> bool {
    matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// `split_args` found an unterminated quote, or a closing quote not
/// followed by a space.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnbalancedQuotes;

fn hex(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

mod memchr_lite {
    /// Index of the first "\r\n" at or after `from` (returns the '\r' index).
    #[inline]
    pub fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
        let mut i = from;
        while i < buf.len() {
            match buf[i..].iter().position(|&b| b == b'\r') {
                Some(p) => {
                    let at = i + p;
                    if at + 1 < buf.len() {
                        if buf[at + 1] == b'\n' {
                            return Some(at);
                        }
                        i = at + 1;
                    } else {
                        return None;
                    }
                }
                None => return None,
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_all(input: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, ProtocolError> {
        let mut p = RequestParser::new();
        let mut buf = input.to_vec();
        let mut cmds = vec![];
        loop {
            match p.parse(&buf, Limits::default())? {
                Parsed::Command { consumed } => {
                    cmds.push(p.args(&buf).map(|a| a.to_vec()).collect());
                    buf.drain(..consumed);
                }
                Parsed::Skip { consumed } => {
                    buf.drain(..consumed);
                }
                Parsed::Incomplete => return Ok(cmds),
            }
        }
    }

    proptest::proptest! {
        /// `peek_key_member` names a whole multibulk command's second argument,
        /// and on any prefix of it (a command still arriving) either that
        /// same argument or nothing.
        #[test]
        fn peek_key_names_the_second_argument(
            args in proptest::collection::vec(
                proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40), 1..5),
            tail in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..8),
        ) {
            let mut enc = format!("*{}\r\n", args.len()).into_bytes();
            for a in &args {
                enc.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
                enc.extend_from_slice(a);
                enc.extend_from_slice(b"\r\n");
            }
            fn peek_key(b: &[u8]) -> Option<&[u8]> {
                peek_key_member(b).map(|(k, _)| k)
            }
            let whole = enc.len();
            enc.extend_from_slice(&tail);
            let want = args.get(1).map(|a| a.as_slice());
            proptest::prop_assert_eq!(peek_key(&enc), want);
            proptest::prop_assert_eq!(peek_key(&enc[..whole]), want);
            for end in 0..whole {
                let got = peek_key(&enc[..end]);
                proptest::prop_assert!(got.is_none() || got == want, "prefix {}", end);
            }
            let inline = b"GET key\r\n";
            proptest::prop_assert_eq!(peek_key(inline), None);
            // The third argument, when there is one, the same way; never
            // without the key.
            let want3 = args.get(2).map(|a| a.as_slice());
            proptest::prop_assert_eq!(peek_key_member(&enc[..whole]), want.map(|k| (k, want3)));
            for end in 0..whole {
                if let Some((k, m)) = peek_key_member(&enc[..end]) {
                    proptest::prop_assert_eq!(Some(k), want, "prefix {}", end);
                    proptest::prop_assert!(m.is_none() || m == want3, "prefix {}", end);
                }
            }
        }
    }

    #[test]
    fn multibulk_and_inline() {
        let cmds =
            parse_all(b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nPING\r\n set \"a b\" 'c\\'d'\r\n").unwrap();
        assert_eq!(cmds[0], vec![b"GET".to_vec(), b"k".to_vec()]);
        assert_eq!(cmds[1], vec![b"PING".to_vec()]);
        assert_eq!(
            cmds[2],
            vec![b"set".to_vec(), b"a b".to_vec(), b"c'd".to_vec()]
        );
    }

    #[test]
    fn byte_at_a_time_equals_whole() {
        let input = b"*3\r\n$3\r\nSET\r\n$5\r\nhello\r\n$10\r\n0123456789\r\n*1\r\n$4\r\nPING\r\n";
        let whole = parse_all(input).unwrap();
        let mut p = RequestParser::new();
        let mut buf = Vec::new();
        let mut got = vec![];
        for &b in input.iter() {
            buf.push(b);
            loop {
                match p.parse(&buf, Limits::default()).unwrap() {
                    Parsed::Command { consumed } => {
                        got.push(p.args(&buf).map(|a| a.to_vec()).collect::<Vec<_>>());
                        buf.drain(..consumed);
                    }
                    Parsed::Skip { consumed } => {
                        buf.drain(..consumed);
                    }
                    Parsed::Incomplete => break,
                }
            }
        }
        assert_eq!(got, whole);
        assert_eq!(got.len(), 2);
    }

    #[test]
    fn errors_match_redis() {
        assert_eq!(
            parse_all(b"*x\r\n").unwrap_err().0,
            "Protocol error: invalid multibulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n+foo\r\n").unwrap_err().0,
            "Protocol error: expected '$', got '+'"
        );
        assert_eq!(
            parse_all(b"*1\r\n$-5\r\n").unwrap_err().0,
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            parse_all(b"*1\r\n$999999999999\r\n").unwrap_err().0,
            "Protocol error: invalid bulk length"
        );
        assert_eq!(
            parse_all(b"set \"a\r\n").unwrap_err().0,
            "Protocol error: unbalanced quotes in request"
        );
        assert_eq!(
            parse_all(&[b'a'; INLINE_MAX + 10]).unwrap_err().0,
            "Protocol error: too big inline request"
        );
    }

    #[test]
    fn inline_nul_ends_the_line_like_c() {
        // Found by the resp_frame fuzzer: a NUL in an inline line looped
        // forever pushing empty arguments.
        let cmds = parse_all(b"*3\r\n$3\r\nS\n$\rT\0\0E1\r\nk\r\n").unwrap_err();
        assert_eq!(cmds.0, "Protocol error: expected '$', got '\0'");
        let cmds = parse_all(b"set a\0 b c\r\nget x\0\r\n").unwrap();
        assert_eq!(
            cmds,
            vec![
                vec![b"set".to_vec(), b"a".to_vec()],
                vec![b"get".to_vec(), b"x".to_vec()]
            ]
        );
        assert!(parse_all(b"set \"a\0\"\r\n").is_err());
    }

    #[test]
    fn empty_commands_are_skipped() {
        assert!(parse_all(b"*0\r\n\r\n*-1\r\n").unwrap().is_empty());
    }

    #[test]
    fn huge_declared_count_allocates_nothing_up_front() {
        let mut p = RequestParser::new();
        let r = p
            .parse(b"*2147483647\r\n$1\r\na\r\n", Limits::default())
            .unwrap();
        assert_eq!(r, Parsed::Incomplete);
        assert!(p.args.capacity() < 1024);
    }
}
