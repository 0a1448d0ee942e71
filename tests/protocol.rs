//! Raw-socket protocol edge cases: framing, pipelining, inline commands,
//! protocol errors (Redis's exact texts), limits, RESP3, AUTH, QUIT,
//! CLIENT REPLY, MONITOR.

mod common;
use common::*;
use std::io::Write;
use std::time::{Duration, Instant};

const CLOSE_WAIT: Duration = Duration::from_secs(10);

fn int(n: i64) -> Resp {
    Resp::Int(n)
}

fn nil() -> Resp {
    Resp::Bulk(None)
}

/// The server still answers a fresh client.
fn assert_alive(s: &Server) {
    let mut r = s.raw();
    let reply = r.cmds(&["PING"]);
    assert!(
        reply == simple("PONG") || reply == err("NOAUTH Authentication required."),
        "server stopped serving: {reply:?}"
    );
}

/// Send `input` on a fresh connection: the server must reply exactly
/// `-ERR <msg>` and close the connection, and keep serving others.
fn expect_protocol_error(s: &Server, input: &[u8], msg: &str) {
    let mut r = s.raw();
    r.send(input);
    let (bytes, closed) = r.read_until_closed(CLOSE_WAIT);
    let want = format!("-ERR {msg}\r\n");
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        want,
        "reply to {:?}",
        String::from_utf8_lossy(&input[..input.len().min(60)])
    );
    assert!(closed, "connection left open after {msg:?}");
    assert_alive(s);
}

#[test]
fn command_split_byte_by_byte() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let cmd = encode(&[b"SET", b"split", b"hello\r\nworld"]);
    for (i, b) in cmd.iter().enumerate() {
        r.send(std::slice::from_ref(b));
        r.stream.flush().unwrap();
        if i == cmd.len() / 2 {
            // Half a command gets no reply.
            assert!(r.silent_for(Duration::from_millis(50)));
        }
    }
    assert_eq!(r.read(), simple("OK"));
    // An inline command and a pipelined pair, byte by byte.
    let mut input = b"GET split\r\n".to_vec();
    input.extend(encode(&[b"STRLEN", b"split"]));
    input.extend(encode(&[b"ECHO", b""]));
    for b in &input {
        r.send(std::slice::from_ref(b));
    }
    assert_eq!(r.read(), bulk("hello\r\nworld"));
    assert_eq!(r.read(), int(12));
    assert_eq!(r.read(), bulk(""));
}

#[test]
fn big_bulk_in_odd_sized_writes() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let value: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let cmd = encode(&[b"SET", b"big", &value]);
    let mut sizes = [1usize, 7, 4096, 13, 65536, 3].iter().cycle();
    let mut at = 0;
    while at < cmd.len() {
        let n = (*sizes.next().unwrap()).min(cmd.len() - at);
        r.send(&cmd[at..at + n]);
        at += n;
    }
    assert_eq!(r.read(), simple("OK"));
    assert_eq!(
        r.cmd(&[b"GET", b"big"]),
        Resp::Bulk(Some(value.clone())),
        "value corrupted"
    );
}

#[test]
fn pipelined_burst_replies_in_order() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let mut input = Vec::new();
    let mut want = Vec::new();
    for i in 0..1000 {
        let k = format!("k{i}");
        let v = format!("v{i}");
        match i % 4 {
            0 => {
                input.extend(encode(&[b"SET", k.as_bytes(), v.as_bytes()]));
                want.push(simple("OK"));
            }
            1 => {
                input.extend(encode(&[b"INCR", b"counter"]));
                want.push(int(i / 4 + 1));
            }
            2 => {
                // Inline commands mixed into the multibulk stream.
                input.extend(format!("GET k{}\r\n", i - 2).as_bytes());
                want.push(bulk(&format!("v{}", i - 2)));
            }
            _ => {
                input.extend(encode(&[b"ECHO", k.as_bytes()]));
                want.push(bulk(&k));
            }
        }
    }
    r.send(&input);
    for (i, w) in want.iter().enumerate() {
        assert_eq!(&r.read(), w, "reply #{i}");
    }
    assert!(r.silent_for(Duration::from_millis(50)), "extra replies");
    assert_eq!(r.cmds(&["GET", "counter"]), bulk("250"));
}

/// A client that writes a long pipeline before reading any reply (what
/// redis-rs and many other clients do) must not deadlock the connection:
/// Redis keeps reading and buffers the replies. 22 MB of requests and
/// 17 MB of replies are more than the loopback socket buffers hold.
#[test]
fn long_pipeline_written_before_reading() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.cmds(&["SET", "v", "0123456789"]), simple("OK"));
    let per_batch = 10_000;
    let batches = 100;
    let cmd: Vec<u8> = encode(&[b"GET", b"v"]).repeat(per_batch);
    let mut w = r.stream.try_clone().unwrap();
    w.set_write_timeout(Some(Duration::from_secs(20))).unwrap();
    let writer = std::thread::spawn(move || {
        for _ in 0..batches {
            w.write_all(&cmd).expect("server stopped reading");
        }
    });
    // Only start reading once every command is written.
    writer.join().expect("writer failed");
    let reply = b"$10\r\n0123456789\r\n";
    let mut got = vec![0u8; reply.len() * per_batch];
    for b in 0..batches {
        std::io::Read::read_exact(&mut r.stream, &mut got).unwrap();
        assert!(
            got.chunks(reply.len()).all(|c| c == reply),
            "wrong reply in batch {b}"
        );
    }
    assert_eq!(r.cmds(&["PING"]), simple("PONG"));
}

#[test]
fn inline_commands_quotes_and_escapes() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.send(b"SET k \"\\x41\\x42\\n\\t\\\\\\\"\" \r\nGET k\r\n");
    assert_eq!(r.read(), simple("OK"));
    assert_eq!(r.read(), bulk("AB\n\t\\\""));
    r.send(b"SET k2 'it\\'s \"x\"'\r\nGET k2\r\n");
    assert_eq!(r.read(), simple("OK"));
    assert_eq!(r.read(), bulk("it's \"x\""));
    // Bare \n as terminator, tabs and runs of spaces between arguments.
    r.send(b"  ECHO\t\t  \"a b\"   \nEXISTS k k2 nope\n");
    assert_eq!(r.read(), bulk("a b"));
    assert_eq!(r.read(), int(2));
    // Empty quoted argument.
    r.send(b"ECHO \"\"\r\n");
    assert_eq!(r.read(), bulk(""));
}

#[test]
fn empty_lines_and_empty_multibulks_are_skipped() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.send(b"\r\n\n   \r\n*0\r\n*-1\r\n\r\nPING\r\n*0\r\n");
    assert_eq!(r.read(), simple("PONG"));
    assert!(r.silent_for(Duration::from_millis(50)));
    // Still open and in sync.
    assert_eq!(r.cmds(&["ECHO", "after"]), bulk("after"));
}

#[test]
fn malformed_frames_get_redis_errors_and_close() {
    let s = Server::start(&[]);
    let cases: &[(&[u8], &str)] = &[
        (b"*x\r\n", "Protocol error: invalid multibulk length"),
        (b"*1\r\n+foo\r\n", "Protocol error: expected '$', got '+'"),
        (
            b"*2\r\n$3\r\nGET\r\n:1\r\n",
            "Protocol error: expected '$', got ':'",
        ),
        (b"*1\r\n$-5\r\n", "Protocol error: invalid bulk length"),
        (b"*1\r\n$abc\r\n", "Protocol error: invalid bulk length"),
        (
            b"*1\r\n$600000000\r\n",
            "Protocol error: invalid bulk length",
        ),
        (
            b"*3000000000\r\n",
            "Protocol error: invalid multibulk length",
        ),
        (
            b"*2147483648\r\n",
            "Protocol error: invalid multibulk length",
        ),
        (b"*1x\r\n", "Protocol error: invalid multibulk length"),
        (
            b"set \"a\r\n",
            "Protocol error: unbalanced quotes in request",
        ),
        (
            b"set 'a\r\n",
            "Protocol error: unbalanced quotes in request",
        ),
        (
            b"set \"a\"b c\r\n",
            "Protocol error: unbalanced quotes in request",
        ),
    ];
    for (input, msg) in cases {
        expect_protocol_error(&s, input, msg);
    }
    // Replies to commands before the bad frame are still sent, in order.
    let mut r = s.raw();
    r.send(b"PING\r\n*1\r\n$4\r\nECHO\r\n*1\r\n+x\r\n");
    let (bytes, closed) = r.read_until_closed(CLOSE_WAIT);
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "+PONG\r\n-ERR wrong number of arguments for 'echo' command\r\n-ERR Protocol error: expected '$', got '+'\r\n"
    );
    assert!(closed);
}

#[test]
fn huge_multibulk_count_is_accepted_without_allocation() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    // INT_MAX is the largest count Redis accepts; nothing is allocated up
    // front, and the connection just waits for more.
    r.send(b"*2147483647\r\n$1\r\na\r\n");
    assert!(r.silent_for(Duration::from_millis(100)));
    assert_alive(&s);
    let mut c = s.client();
    let info: String = redis::cmd("INFO").arg("memory").query(&mut c).unwrap();
    let used: u64 = info
        .lines()
        .find_map(|l| l.strip_prefix("used_memory:"))
        .expect("used_memory")
        .trim()
        .parse()
        .unwrap();
    assert!(used < 1 << 30, "used_memory {used}");
}

#[test]
fn oversized_headers_and_inline_requests() {
    let s = Server::start(&[]);
    let inline = vec![b'a'; 70_000];
    expect_protocol_error(&s, &inline, "Protocol error: too big inline request");
    let mut mbulk = b"*".to_vec();
    mbulk.extend(vec![b'1'; 70_000]);
    expect_protocol_error(&s, &mbulk, "Protocol error: too big mbulk count string");
    let mut bulkhdr = b"*1\r\n$".to_vec();
    bulkhdr.extend(vec![b'1'; 70_000]);
    expect_protocol_error(&s, &bulkhdr, "Protocol error: too big bulk count string");
    // Just under the limit is fine: a 60 KB inline argument.
    let mut r = s.raw();
    let arg = "b".repeat(60_000);
    r.send(format!("ECHO {arg}\r\n").as_bytes());
    assert_eq!(r.read(), bulk(&arg));
}

#[test]
fn proto_max_bulk_len_limits_bulks() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    // 1mb is the smallest value Redis accepts for this parameter.
    assert_eq!(
        r.cmds(&["CONFIG", "SET", "proto-max-bulk-len", "1mb"]),
        simple("OK")
    );
    let at_limit = vec![b'z'; 1 << 20];
    assert_eq!(r.cmd(&[b"SET", b"k", &at_limit]), simple("OK"));
    assert_eq!(r.cmds(&["STRLEN", "k"]), int(1 << 20));
    expect_protocol_error(
        &s,
        format!("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n${}\r\n", (1 << 20) + 1).as_bytes(),
        "Protocol error: invalid bulk length",
    );
    // Raising it again lets larger bulks through on a new connection.
    assert_eq!(
        r.cmds(&["CONFIG", "SET", "proto-max-bulk-len", "2mb"]),
        simple("OK")
    );
    let mut r2 = s.raw();
    let bigger = vec![b'y'; (1 << 20) + 1];
    assert_eq!(r2.cmd(&[b"SET", b"k2", &bigger]), simple("OK"));
}

#[test]
fn proto_max_bulk_len_from_command_line() {
    let s = Server::start(&["--proto-max-bulk-len", "1048576"]);
    expect_protocol_error(
        &s,
        b"*2\r\n$4\r\nECHO\r\n$1048577\r\n",
        "Protocol error: invalid bulk length",
    );
}

#[test]
fn client_query_buffer_limit_closes_connection() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "client-query-buffer-limit", "1mb"]),
        simple("OK")
    );
    assert_eq!(
        admin.cmds(&["CONFIG", "GET", "client-query-buffer-limit"]),
        Resp::Array(Some(vec![
            bulk("client-query-buffer-limit"),
            bulk("1048576")
        ]))
    );
    // Under the limit: fine.
    let mut ok = s.raw();
    let small = vec![b's'; 500_000];
    assert_eq!(ok.cmd(&[b"SET", b"small", &small]), simple("OK"));
    // A 3 MB argument overflows the 1 MB query buffer: no reply, closed.
    let mut r = s.raw();
    let big = vec![b'b'; 3_000_000];
    let _ = r.stream.write_all(&encode(&[b"SET", b"big", &big]));
    let (bytes, closed) = r.read_until_closed(CLOSE_WAIT);
    assert!(closed, "connection not closed");
    assert!(bytes.is_empty(), "unexpected reply {:?}", bytes);
    assert_alive(&s);
    assert_eq!(admin.cmds(&["EXISTS", "big"]), int(0));
    assert_eq!(admin.cmds(&["STRLEN", "small"]), int(500_000));
}

#[test]
fn resp3_hello_and_types() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let Resp::Map(m) = r.cmds(&["HELLO", "3"]) else {
        panic!("HELLO 3 must reply with a map");
    };
    let get = |k: &str| {
        m.iter()
            .find(|(a, _)| *a == bulk(k))
            .map(|(_, v)| v.clone())
            .unwrap_or_else(|| panic!("HELLO reply lacks {k}"))
    };
    assert_eq!(get("server"), bulk("redis"));
    assert_eq!(get("proto"), int(3));
    assert_eq!(get("mode"), bulk("standalone"));
    assert_eq!(get("role"), bulk("master"));
    assert!(matches!(get("id"), Resp::Int(n) if n > 0));
    assert_eq!(get("modules"), Resp::Array(Some(vec![])));
    assert_eq!(m.len(), 7);
    // Null is `_` in RESP3.
    assert_eq!(r.cmds(&["GET", "missing"]), Resp::Null);
    assert_eq!(
        r.cmds(&["MGET", "missing", "x"]),
        Resp::Array(Some(vec![Resp::Null, Resp::Null]))
    );
    // CONFIG GET is a map.
    assert_eq!(
        r.cmds(&["CONFIG", "GET", "maxmemory-policy"]),
        Resp::Map(vec![(bulk("maxmemory-policy"), bulk("noeviction"))])
    );
    // CLIENT INFO is a verbatim string.
    match r.cmds(&["CLIENT", "INFO"]) {
        Resp::Verbatim(v) => {
            let t = String::from_utf8(v).unwrap();
            assert!(t.starts_with("txt:id="), "{t}");
            assert!(t.contains(" resp=3"), "{t}");
        }
        other => panic!("CLIENT INFO in RESP3: {other:?}"),
    }
    // Back to RESP2: HELLO's map becomes a flat array.
    match r.cmds(&["HELLO", "2"]) {
        Resp::Array(Some(v)) => {
            assert_eq!(v.len(), 14);
            assert_eq!(v[4], bulk("proto"));
            assert_eq!(v[5], int(2));
        }
        other => panic!("HELLO 2: {other:?}"),
    }
    assert_eq!(r.cmds(&["GET", "missing"]), nil());
    // HELLO without a version keeps the protocol and just reports.
    match r.cmds(&["HELLO"]) {
        Resp::Array(Some(v)) => assert_eq!(v[5], int(2)),
        other => panic!("HELLO: {other:?}"),
    }
}

#[test]
fn hello_errors() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(
        r.cmds(&["HELLO", "4"]),
        err("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        r.cmds(&["HELLO", "1"]),
        err("NOPROTO unsupported protocol version")
    );
    assert_eq!(
        r.cmds(&["HELLO", "x"]),
        err("ERR Protocol version is not an integer or out of range")
    );
    assert_eq!(
        r.cmds(&["HELLO", "3", "foo"]),
        err("ERR Syntax error in HELLO option 'foo'")
    );
    assert_eq!(
        r.cmds(&["HELLO", "3", "AUTH", "a"]),
        err("ERR Syntax error in HELLO option 'AUTH'")
    );
    assert_eq!(
        r.cmds(&["HELLO", "3", "SETNAME"]),
        err("ERR Syntax error in HELLO option 'SETNAME'")
    );
    // A failed HELLO changes nothing.
    assert_eq!(r.cmds(&["GET", "nope"]), nil());
    // SETNAME through HELLO.
    assert!(matches!(
        r.cmds(&["HELLO", "3", "SETNAME", "conn1"]),
        Resp::Map(_)
    ));
    assert_eq!(r.cmds(&["CLIENT", "GETNAME"]), bulk("conn1"));
}

#[test]
fn noauth_flow_with_requirepass() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "requirepass", "s3cret"]),
        simple("OK")
    );
    let mut r = s.raw();
    assert_eq!(
        r.cmds(&["GET", "k"]),
        err("NOAUTH Authentication required.")
    );
    assert_eq!(r.cmds(&["PING"]), err("NOAUTH Authentication required."));
    assert_eq!(
        r.cmds(&["AUTH", "wrong"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        r.cmds(&["AUTH", "default", "wrong"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(
        r.cmds(&["AUTH", "other", "s3cret"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert_eq!(r.cmds(&["AUTH", "a", "b", "c"]), err("ERR syntax error"));
    match r.cmds(&["HELLO", "3"]) {
        Resp::Error(e) => assert!(
            e.starts_with(b"NOAUTH HELLO must be called with the client already authenticated"),
            "{}",
            String::from_utf8_lossy(&e)
        ),
        other => panic!("HELLO before AUTH: {other:?}"),
    }
    assert_eq!(r.cmds(&["AUTH", "s3cret"]), simple("OK"));
    assert_eq!(r.cmds(&["GET", "k"]), nil());
    // After AUTH, more than 10 arguments are fine.
    let mut mset = vec!["MSET"];
    for _ in 0..10 {
        mset.extend(["k", "v"]);
    }
    assert_eq!(r.cmds(&mset), simple("OK"));

    // Before AUTH: at most 10 arguments and 16 KiB bulks.
    expect_protocol_error(
        &s,
        b"*11\r\n",
        "Protocol error: unauthenticated multibulk length",
    );
    expect_protocol_error(
        &s,
        b"*1\r\n$16385\r\n",
        "Protocol error: unauthenticated bulk length",
    );
    let mut r2 = s.raw();
    r2.send(b"*10\r\n$16384\r\n");
    assert!(r2.silent_for(Duration::from_millis(50)));

    // HELLO with AUTH authenticates and switches protocol at once.
    let mut r3 = s.raw();
    assert_eq!(
        r3.cmds(&["HELLO", "3", "AUTH", "default", "wrong"]),
        err("WRONGPASS invalid username-password pair or user is disabled.")
    );
    assert!(matches!(
        r3.cmds(&["HELLO", "3", "AUTH", "default", "s3cret"]),
        Resp::Map(_)
    ));
    assert_eq!(r3.cmds(&["GET", "missing"]), Resp::Null);
    // QUIT works unauthenticated.
    let mut r4 = s.raw();
    assert_eq!(r4.cmds(&["QUIT"]), simple("OK"));
}

#[test]
fn auth_without_requirepass() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(
        r.cmds(&["AUTH", "x"]),
        err(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"
        )
    );
}

#[test]
fn quit_replies_ok_and_closes() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    // Pipelined commands after QUIT are not executed.
    r.send(b"SET q 1\r\nQUIT\r\nSET q 2\r\n");
    let (bytes, closed) = r.read_until_closed(CLOSE_WAIT);
    assert_eq!(String::from_utf8_lossy(&bytes), "+OK\r\n+OK\r\n");
    assert!(closed);
    let mut r2 = s.raw();
    assert_eq!(r2.cmds(&["GET", "q"]), bulk("1"));
    let mut r3 = s.raw();
    r3.send(&encode(&[b"QUIT"]));
    let (bytes, closed) = r3.read_until_closed(CLOSE_WAIT);
    assert_eq!(bytes, b"+OK\r\n");
    assert!(closed);
}

#[test]
fn client_reply_off_skip_on() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    r.send(b"CLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nINCR a\r\nCLIENT REPLY ON\r\nGET a\r\n");
    assert_eq!(r.read(), simple("OK"));
    assert_eq!(r.read(), bulk("2"));
    assert!(r.silent_for(Duration::from_millis(50)));
    r.send(b"CLIENT REPLY SKIP\r\nECHO skipped\r\nECHO shown\r\nECHO again\r\n");
    assert_eq!(r.read(), bulk("shown"));
    assert_eq!(r.read(), bulk("again"));
    // Errors are suppressed too while OFF.
    r.send(b"CLIENT REPLY OFF\r\nNOSUCHCMD\r\nINCR a b c\r\nCLIENT REPLY ON\r\n");
    assert_eq!(r.read(), simple("OK"));
    assert_eq!(
        r.cmds(&["CLIENT", "REPLY", "MAYBE"]),
        err("ERR syntax error")
    );
    assert_eq!(r.cmds(&["GET", "a"]), bulk("2"));
}

#[test]
fn monitor_sees_other_clients() {
    let s = Server::start(&[]);
    assert_eq!(
        s.raw().cmds(&["CONFIG", "SET", "requirepass", "pw"]),
        simple("OK")
    );
    let mut m = s.raw();
    assert_eq!(m.cmds(&["AUTH", "pw"]), simple("OK"));
    assert_eq!(m.cmds(&["MONITOR"]), simple("OK"));
    let mut c = s.raw();
    let port = c.stream.local_addr().unwrap().port();
    assert_eq!(c.cmds(&["AUTH", "pw"]), simple("OK"));
    assert_eq!(c.cmds(&["SET", "foo", "b\"a\nr"]), simple("OK"));
    assert_eq!(c.cmds(&["SELECT", "3"]), simple("OK"));
    assert_eq!(c.cmds(&["GET", "x"]), nil());
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "requirepass"]),
        Resp::Array(Some(vec![bulk("requirepass"), bulk("pw")]))
    );
    assert!(matches!(
        c.cmds(&["HELLO", "2", "AUTH", "default", "pw"]),
        Resp::Array(_)
    ));
    assert_eq!(c.cmds(&["PING"]), simple("PONG"));

    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while lines.len() < 6 && Instant::now() < deadline {
        match m.read() {
            Resp::Simple(l) => lines.push(String::from_utf8(l).unwrap()),
            other => panic!("monitor got {other:?}"),
        }
    }
    let addr = format!("127.0.0.1:{port}]");
    for l in &lines {
        // "+<sec>.<usec> [<db> <addr>] ..."
        let (ts, rest) = l.split_once(' ').unwrap();
        let (sec, usec) = ts.split_once('.').unwrap();
        assert!(sec.parse::<u64>().is_ok() && usec.len() == 6, "{l}");
        assert!(rest.contains(&addr), "{l}");
    }
    // Passwords are redacted; admin commands are not shown; SELECT is
    // shown in the database it switched to.
    assert_eq!(
        lines
            .iter()
            .map(|l| l.split_once(' ').unwrap().1)
            .collect::<Vec<_>>(),
        vec![
            format!("[0 127.0.0.1:{port}] \"AUTH\" \"(redacted)\""),
            format!("[0 127.0.0.1:{port}] \"SET\" \"foo\" \"b\\\"a\\nr\""),
            format!("[3 127.0.0.1:{port}] \"SELECT\" \"3\""),
            format!("[3 127.0.0.1:{port}] \"GET\" \"x\""),
            format!("[3 127.0.0.1:{port}] \"HELLO\" \"2\" \"AUTH\" \"(redacted)\" \"(redacted)\""),
            format!("[3 127.0.0.1:{port}] \"PING\""),
        ]
    );
    // Timestamps never go backwards.
    let ts: Vec<f64> = lines
        .iter()
        .map(|l| l.split_once(' ').unwrap().0.parse().unwrap())
        .collect();
    assert!(ts.windows(2).all(|w| w[0] <= w[1]), "{ts:?}");
    // Closing the monitor does not disturb the other client.
    drop(m);
    assert_eq!(c.cmds(&["PING"]), simple("PONG"));
}

#[test]
fn server_keeps_serving_during_protocol_errors() {
    let s = Server::start(&[]);
    let mut steady = s.raw();
    for i in 0..50 {
        let mut bad = s.raw();
        bad.send(b"*1\r\n$x\r\n");
        assert_eq!(bad.read(), err("ERR Protocol error: invalid bulk length"));
        let v = i.to_string();
        assert_eq!(steady.cmds(&["SET", "n", &v]), simple("OK"));
        assert_eq!(steady.cmds(&["GET", "n"]), bulk(&v));
    }
}

fn connected_clients(r: &mut Raw) -> i64 {
    match r.cmds(&["INFO", "clients"]) {
        Resp::Bulk(Some(b)) => String::from_utf8(b)
            .unwrap()
            .lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .expect("connected_clients")
            .trim()
            .parse()
            .unwrap(),
        other => panic!("INFO: {other:?}"),
    }
}

/// Wait until `r` is the only client (the harness's readiness probe may
/// still be registered right after start).
fn wait_alone(r: &mut Raw) {
    let deadline = Instant::now() + CLOSE_WAIT;
    while connected_clients(r) != 1 {
        assert!(Instant::now() < deadline, "other clients never left");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn maxclients_rejects_extra_connections() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    wait_alone(&mut admin);
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "maxclients", "3"]),
        simple("OK")
    );
    let mut c2 = s.raw();
    assert_eq!(c2.cmds(&["PING"]), simple("PONG"));
    let mut c3 = s.raw();
    assert_eq!(c3.cmds(&["PING"]), simple("PONG"));
    let mut c4 = s.raw();
    let (bytes, closed) = c4.read_until_closed(CLOSE_WAIT);
    assert_eq!(
        String::from_utf8_lossy(&bytes),
        "-ERR max number of clients reached\r\n"
    );
    assert!(closed);
    // A slot frees up when a client leaves.
    drop(c3);
    let deadline = Instant::now() + CLOSE_WAIT;
    loop {
        let mut c = s.raw();
        if let Some(r) = c.try_read_after(&encode(&[b"PING"]))
            && r == simple("PONG")
        {
            break;
        }
        assert!(Instant::now() < deadline, "no slot after a client left");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c2.cmds(&["PING"]), simple("PONG"));
}

#[test]
fn connected_clients_follows_disconnects() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    wait_alone(&mut admin);
    let base = 1;
    let mut extra: Vec<Raw> = (0..5).map(|_| s.raw()).collect();
    for r in &mut extra {
        assert_eq!(r.cmds(&["PING"]), simple("PONG"));
    }
    assert_eq!(connected_clients(&mut admin), base + 5);
    // Closed in different states: idle, mid-command, after QUIT.
    extra[1].send(b"*2\r\n$3\r\nGET\r\n");
    extra[2].send(b"QUIT\r\n");
    drop(extra);
    let deadline = Instant::now() + CLOSE_WAIT;
    while connected_clients(&mut admin) != base {
        assert!(Instant::now() < deadline, "closed clients still counted");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn idle_timeout_closes_clients() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(admin.cmds(&["CONFIG", "SET", "timeout", "1"]), simple("OK"));
    let mut idle = s.raw();
    assert_eq!(idle.cmds(&["PING"]), simple("PONG"));
    let (bytes, closed) = idle.read_until_closed(CLOSE_WAIT);
    assert!(closed, "idle client not closed");
    assert!(bytes.is_empty());
    // A MONITOR client is exempt.
    let mut m = s.raw();
    assert_eq!(m.cmds(&["MONITOR"]), simple("OK"));
    assert!(m.silent_for(Duration::from_millis(2500)));
    // The idle admin connection was closed meanwhile; the server was not.
    assert!(admin.read_until_closed(CLOSE_WAIT).1);
    assert_alive(&s);
}
