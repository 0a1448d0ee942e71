//! Test harness: start the real `cairn-server` binary (or a real
//! `redis-server` for differential tests) on a free loopback port with a
//! temp dir, and talk to it.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_ready(child: &mut Child, port: u16) -> bool {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return false;
        }
        if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
            if s.write_all(b"PING\r\n").is_ok() {
                let mut b = [0u8; 64];
                if let Ok(n) = s.read(&mut b)
                    && b[..n].starts_with(b"+PONG")
                {
                    return true;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Server {
    /// Start cairn-server with extra `--name value` args.
    pub fn start(extra: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        Self::start_in(dir, extra)
    }

    pub fn start_in(dir: tempfile::TempDir, extra: &[&str]) -> Server {
        Self::spawn(None, dir, extra)
    }

    /// `cairn-server [conf] --port P --bind 127.0.0.1 --dir D <extra...>` on
    /// a free port, retried if the port was taken meanwhile.
    fn spawn(conf: Option<&Path>, dir: tempfile::TempDir, extra: &[&str]) -> Server {
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(env!("CARGO_BIN_EXE_cairn-server"))
                .args(conf)
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .arg("--dir")
                .arg(dir.path())
                .args(extra)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn cairn-server");
            if wait_ready(&mut child, port) {
                return Server { child, port, dir };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("cairn-server did not start");
    }

    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap()
    }

    pub fn raw(&self) -> Raw {
        Raw::connect(self.port)
    }

    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// End this server as a durability test does, then start it again on
    /// its data dir with `extra`: "clean" is SHUTDOWN, "kill" is kill -9,
    /// "rewrite" is a finished log rewrite and then kill -9 (the restart
    /// loads the snapshot the rewrite wrote).
    pub fn end_and_restart(mut self, how: &str, extra: &[&str]) -> Server {
        let mut c = self.raw();
        match how {
            "clean" => {
                c.send(&encode(&[b"SHUTDOWN"]));
                let _ = self.wait_exit(Duration::from_secs(10));
            }
            "kill" => self.kill9(),
            "rewrite" => {
                c.rewrite_log();
                self.kill9();
            }
            other => panic!("no ending {other}"),
        }
        self.restart(extra)
    }

    /// A new server on this one's data dir, with `extra` arguments. This
    /// process is gone first (SIGKILL if it still runs: call `kill9` or
    /// wait for its exit before, to say which it was).
    pub fn restart(mut self, extra: &[&str]) -> Server {
        self.kill9();
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().unwrap());
        drop(self);
        Server::start_in(dir, extra)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A real redis-server, for differential tests. None if not installed
/// (CI sets CAIRN_REQUIRE_REDIS=1, which turns absence into a failure).
pub struct RedisServer {
    pub child: Child,
    pub port: u16,
    _dir: tempfile::TempDir,
}

pub fn redis_server_path() -> Option<PathBuf> {
    let p = std::env::var("REDIS_SERVER").unwrap_or_else(|_| "redis-server".into());
    let ok = Command::new(&p)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    ok.then(|| PathBuf::from(p))
}

impl RedisServer {
    pub fn start() -> Option<RedisServer> {
        let Some(bin) = redis_server_path() else {
            if std::env::var("CAIRN_REQUIRE_REDIS").is_ok_and(|v| v == "1") {
                panic!("redis-server not found but CAIRN_REQUIRE_REDIS=1");
            }
            eprintln!(
                "\n*** SKIPPED: redis-server not installed; differential test did not run ***\n"
            );
            return None;
        };
        let dir = tempfile::tempdir().unwrap();
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(&bin)
                .args([
                    "--port",
                    &port.to_string(),
                    "--bind",
                    "127.0.0.1",
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    // DEBUG RELOAD (tests/rdb_import.rs).
                    "--enable-debug-command",
                    "local",
                ])
                .arg("--dir")
                .arg(dir.path())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn redis-server");
            if wait_ready(&mut child, port) {
                return Some(RedisServer {
                    child,
                    port,
                    _dir: dir,
                });
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("redis-server did not start");
    }
}

impl RedisServer {
    /// Its data dir (where SAVE writes `dump.rdb`).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A parsed RESP reply (RESP2 and RESP3), for byte-exact comparisons.
#[derive(Debug, Clone, PartialEq)]
pub enum Resp {
    Simple(Vec<u8>),
    Error(Vec<u8>),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Resp>>),
    /// RESP3 types: tag byte and children / payload.
    Null,
    Double(Vec<u8>),
    Bool(bool),
    Map(Vec<(Resp, Resp)>),
    Set(Vec<Resp>),
    Verbatim(Vec<u8>),
    Push(Vec<Resp>),
    BigNum(Vec<u8>),
}

/// A raw socket client: send bytes, read whole RESP replies.
pub struct Raw {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Raw {
    pub fn connect(port: u16) -> Raw {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Raw {
            stream,
            buf: Vec::new(),
        }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    /// Send a command as a RESP multibulk.
    pub fn cmd(&mut self, args: &[&[u8]]) -> Resp {
        self.send(&encode(args));
        self.read()
    }

    /// Send a command given as strings.
    pub fn cmds(&mut self, args: &[&str]) -> Resp {
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        self.cmd(&a)
    }

    fn fill(&mut self) -> bool {
        let mut tmp = [0u8; 65536];
        match self.stream.read(&mut tmp) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                true
            }
            Err(_) => false,
        }
    }

    /// Read one reply. Panics if the connection closes first.
    pub fn read(&mut self) -> Resp {
        self.try_read()
            .expect("connection closed before a full reply")
    }

    /// Read one reply, None if the connection closed.
    pub fn try_read(&mut self) -> Option<Resp> {
        loop {
            if let Some((r, n)) = parse_resp(&self.buf) {
                self.buf.drain(..n);
                return Some(r);
            }
            if !self.fill() {
                return None;
            }
        }
    }

    /// Read raw bytes until the peer closes (or timeout).
    pub fn read_to_close(&mut self) -> Vec<u8> {
        while self.fill() {}
        std::mem::take(&mut self.buf)
    }

    /// True if the server closed the connection.
    pub fn is_closed(&mut self) -> bool {
        !self.fill() && self.buf.is_empty()
    }
}

pub fn encode(args: &[&[u8]]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
    out
}

fn line(buf: &[u8]) -> Option<(&[u8], usize)> {
    let p = buf.windows(2).position(|w| w == b"\r\n")?;
    Some((&buf[..p], p + 2))
}

/// Parse one RESP value; returns it and the bytes used.
pub fn parse_resp(buf: &[u8]) -> Option<(Resp, usize)> {
    if buf.is_empty() {
        return None;
    }
    let (l, mut used) = line(&buf[1..])?;
    used += 1;
    let s = std::str::from_utf8(l).ok()?;
    let agg = |n: i64, buf: &[u8], mut used: usize| -> Option<(Vec<Resp>, usize)> {
        let mut v = Vec::new();
        for _ in 0..n {
            let (r, k) = parse_resp(&buf[used..])?;
            v.push(r);
            used += k;
        }
        Some((v, used))
    };
    match buf[0] {
        b'+' => Some((Resp::Simple(l.to_vec()), used)),
        b'-' => Some((Resp::Error(l.to_vec()), used)),
        b':' => Some((Resp::Int(s.parse().ok()?), used)),
        b'_' => Some((Resp::Null, used)),
        b',' => Some((Resp::Double(l.to_vec()), used)),
        b'#' => Some((Resp::Bool(l == b"t"), used)),
        b'(' => Some((Resp::BigNum(l.to_vec()), used)),
        b'$' | b'=' | b'!' => {
            let n: i64 = s.parse().ok()?;
            if n < 0 {
                return Some((Resp::Bulk(None), used));
            }
            let n = n as usize;
            if buf.len() < used + n + 2 {
                return None;
            }
            let data = buf[used..used + n].to_vec();
            let r = match buf[0] {
                b'=' => Resp::Verbatim(data),
                b'!' => Resp::Error(data),
                _ => Resp::Bulk(Some(data)),
            };
            Some((r, used + n + 2))
        }
        b'*' | b'~' | b'>' => {
            let n: i64 = s.parse().ok()?;
            if n < 0 {
                return Some((Resp::Array(None), used));
            }
            let (v, used) = agg(n, buf, used)?;
            let r = match buf[0] {
                b'~' => Resp::Set(v),
                b'>' => Resp::Push(v),
                _ => Resp::Array(Some(v)),
            };
            Some((r, used))
        }
        b'%' => {
            let n: i64 = s.parse().ok()?;
            let (v, used) = agg(2 * n, buf, used)?;
            let mut m = Vec::new();
            let mut it = v.into_iter();
            while let (Some(k), Some(x)) = (it.next(), it.next()) {
                m.push((k, x));
            }
            Some((Resp::Map(m), used))
        }
        _ => Some((Resp::Error(b"<unparseable>".to_vec()), buf.len())),
    }
}

pub fn bulk(s: &str) -> Resp {
    Resp::Bulk(Some(s.as_bytes().to_vec()))
}

pub fn simple(s: &str) -> Resp {
    Resp::Simple(s.as_bytes().to_vec())
}

pub fn err(s: &str) -> Resp {
    Resp::Error(s.as_bytes().to_vec())
}

impl Raw {
    /// Read until the peer closes the connection, for at most `limit`.
    /// Returns every byte received and whether the peer really closed
    /// (EOF or reset) rather than the wait timing out.
    pub fn read_until_closed(&mut self, limit: Duration) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + limit;
        let _ = self
            .stream
            .set_read_timeout(Some(Duration::from_millis(200)));
        let mut tmp = [0u8; 65536];
        let closed = loop {
            match self.stream.read(&mut tmp) {
                Ok(0) => break true,
                Ok(n) => self.buf.extend_from_slice(&tmp[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    if Instant::now() >= deadline {
                        break false;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => break true,
            }
        };
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(10)));
        (std::mem::take(&mut self.buf), closed)
    }

    /// True if no byte arrives within `wait` (and the connection stays open).
    pub fn silent_for(&mut self, wait: Duration) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let _ = self.stream.set_read_timeout(Some(wait));
        let mut tmp = [0u8; 4096];
        let silent = match self.stream.read(&mut tmp) {
            Ok(0) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&tmp[..n]);
                false
            }
            Err(e) => matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        let _ = self.stream.set_read_timeout(Some(Duration::from_secs(10)));
        silent
    }
}

impl Server {
    /// Start cairn-server with a config file as the first argument:
    /// `cairn-server <conf> --port P --bind 127.0.0.1 --dir D <extra...>`.
    pub fn start_with_config(conf: &Path, extra: &[&str]) -> Server {
        Self::spawn(Some(conf), tempfile::tempdir().unwrap(), extra)
    }

    /// Wait for the process to exit, at most `limit`; None on timeout.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Raw {
    /// Send `bytes` and read one reply; None if the connection closed
    /// (or the write failed) first.
    pub fn try_read_after(&mut self, bytes: &[u8]) -> Option<Resp> {
        if self.stream.write_all(bytes).is_err() {
            return None;
        }
        self.try_read()
    }
}

/// The seeded generator for the random command streams (a seed names a
/// stream; the same seed replays it).
#[allow(unused_imports)] // not every test binary draws random streams
pub use cairn::util::XorShift64 as Rng;

/// The value of field `name` (its `name:value` line) in an INFO reply's
/// text, if there is one.
pub fn info_value<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(':'))
        .map(str::trim)
}

/// A numeric field of an INFO reply (panics if it is missing).
pub fn info_field(info: &[u8], name: &str) -> u64 {
    info_value(&String::from_utf8_lossy(info), name)
        .unwrap_or_else(|| panic!("INFO has no {name}"))
        .parse()
        .unwrap()
}

impl Raw {
    /// Wait (up to 30 s) until `INFO persistence` shows `name` as `want`.
    pub fn wait_persistence(&mut self, name: &str, want: &str) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let v = self
                .info("persistence", name)
                .unwrap_or_else(|| panic!("no {name} in INFO"));
            if v == want {
                return;
            }
            assert!(Instant::now() < deadline, "{name} stays {v}, want {want}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// BGREWRITEAOF, and wait until the rewrite is over.
    pub fn rewrite_log(&mut self) {
        assert_eq!(
            self.cmds(&["BGREWRITEAOF"]),
            simple("Background append only file rewriting started")
        );
        self.wait_persistence("aof_rewrite_in_progress", "0");
    }

    /// A command written as one line of space-separated words.
    pub fn line(&mut self, line: &str) -> Resp {
        let args: Vec<&str> = line.split(' ').collect();
        self.cmds(&args)
    }

    /// Field `name` of `INFO section`, as text (None if INFO has no such
    /// field; panics if INFO does not answer with its text).
    pub fn info(&mut self, section: &str, name: &str) -> Option<String> {
        match self.cmds(&["INFO", section]) {
            Resp::Bulk(Some(b)) => {
                info_value(&String::from_utf8_lossy(&b), name).map(str::to_string)
            }
            other => panic!("INFO {section}: {other:?}"),
        }
    }
}

impl Raw {
    /// Send `PING <tag>` and read every frame that comes before its
    /// answer (pushed messages, replies of commands sent before). Both
    /// servers queue a message published before the PING ahead of its
    /// reply, so this is a fence for pub/sub tests. The answer is the tag
    /// as a bulk, or `["pong", tag]` from a subscribed RESP2 client.
    pub fn until_fence(&mut self, tag: &str) -> Vec<Resp> {
        self.send(&encode(&[b"PING", tag.as_bytes()]));
        let mut frames = Vec::new();
        loop {
            let r = self.read();
            let is_fence = match &r {
                Resp::Bulk(Some(b)) => b == tag.as_bytes(),
                Resp::Array(Some(v)) | Resp::Push(v) => {
                    v.len() == 2 && v[0] == bulk("pong") && v[1] == bulk(tag)
                }
                _ => false,
            };
            if is_fence {
                return frames;
            }
            frames.push(r);
        }
    }
}

/// A count from the environment (`CAIRN_*_SEEDS` and the like), or
/// `default` when unset or not a number.
pub fn env_count(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Cut the tail of the server's last log segment at many points through
/// its last records (1..400 bytes, step 9), restart on each cut and let
/// `check` read the state; kill -9 after each. The server comes back
/// killed, with the set of `check`'s answers (how many distinct states
/// the cuts reached). `s` must be killed already.
pub fn at_log_cuts(
    mut s: Server,
    extra: &[&str],
    mut check: impl FnMut(&mut Raw, usize) -> String,
) -> (Server, std::collections::BTreeSet<String>) {
    let logdir = s.dir().join("appendonlydir");
    let mut segs: Vec<_> = std::fs::read_dir(&logdir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "clog"))
        .collect();
    segs.sort();
    let seg = segs.last().unwrap().clone();
    let mut whole = std::fs::read(&seg).unwrap();
    // Drop the zeros the writer preallocates after the last record (records
    // are padded to 8 bytes, so the last one ends on a multiple of 8).
    let end = whole.iter().rposition(|&b| b != 0).unwrap() + 1;
    whole.truncate(end.div_ceil(8) * 8);
    let mut seen = std::collections::BTreeSet::new();
    for cut in (1..400).step_by(9) {
        std::fs::write(&seg, &whole[..whole.len() - cut]).unwrap();
        s = s.restart(extra);
        let mut r = s.raw();
        seen.insert(check(&mut r, cut));
        s.kill9();
    }
    (s, seen)
}

/// A Cairn server and a redis-server side by side, one connection to
/// each, for differential tests (`start` is `None` without redis-server).
/// Test files add their own comparison methods.
pub struct Duo {
    pub cairn: Raw,
    pub redis: Raw,
    _c: Server,
    _r: RedisServer,
}

impl Duo {
    /// HELLO on both sides (their replies differ in the client id).
    pub fn hello(&mut self, resp: &str) {
        self.cairn.cmds(&["HELLO", resp]);
        self.redis.cmds(&["HELLO", resp]);
    }

    /// Send each line (space-separated words) through `both`, the test's
    /// comparison of the two servers' replies.
    pub fn lines(&mut self, lines: &[&str], mut both: impl FnMut(&mut Duo, &[&str]) -> Resp) {
        for line in lines {
            let args: Vec<&str> = line.split(' ').collect();
            both(self, &args);
        }
    }

    pub fn start() -> Option<Duo> {
        let r = RedisServer::start()?;
        let c = Server::start(&[]);
        Some(Duo {
            cairn: c.raw(),
            redis: Raw::connect(r.port),
            _c: c,
            _r: r,
        })
    }
}

/// A bulk's bytes quoted and escaped for failure messages (long ones cut).
pub fn esc(b: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::from("\"");
    let shown = if b.len() > 160 { &b[..120] } else { b };
    for &c in shown {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{c:02x}");
            }
        }
    }
    s.push('"');
    if shown.len() < b.len() {
        let _ = write!(s, "...({} bytes)", b.len());
    }
    s
}

/// Compact, readable rendering of a reply for failure messages.
pub fn show(r: &Resp) -> String {
    let list = |v: &[Resp]| v.iter().map(show).collect::<Vec<_>>().join(", ");
    match r {
        Resp::Simple(s) => format!("+{}", esc(s)),
        Resp::Error(s) => format!("-{}", esc(s)),
        Resp::Int(n) => format!(":{n}"),
        Resp::Bulk(None) => "$nil".into(),
        Resp::Bulk(Some(b)) => esc(b),
        Resp::Array(None) => "*nil".into(),
        Resp::Array(Some(v)) => format!("[{}]", list(v)),
        Resp::Null => "_null".into(),
        Resp::Double(d) => format!(",{}", d.escape_ascii()),
        Resp::Bool(b) => format!("#{b}"),
        Resp::Map(m) => format!(
            "%{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}: {}", show(k), show(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Resp::Set(v) => format!("~{{{}}}", list(v)),
        Resp::Verbatim(b) => format!("={}", esc(b)),
        Resp::Push(v) => format!(">[{}]", list(v)),
        Resp::BigNum(b) => format!("({}", b.escape_ascii()),
    }
}
