//! Big values never stall or swamp the server: big collections are freed
//! off the executor (lazyfree), their memory goes back to the OS, and a
//! client whose pending replies pass
//! `client-output-buffer-limit` is disconnected, as in Redis.

mod common;

use common::{Raw, RedisServer, Resp, Server};
use std::time::{Duration, Instant};

fn info_field(c: &mut Raw, section: &str, field: &str) -> u64 {
    c.info(section, field)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in INFO {section}"))
}

/// Load `n` members into a set with pipelined SADDs of 1000.
fn big_set(c: &mut Raw, key: &str, n: usize) {
    let mut sent = 0;
    let mut batches = 0;
    while sent < n {
        let mut args: Vec<String> = vec!["SADD".into(), key.into()];
        for i in sent..(sent + 1000).min(n) {
            args.push(format!("member:{i:010}"));
        }
        sent += args.len() - 2;
        let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
        c.send(&common::encode(&a));
        batches += 1;
    }
    for _ in 0..batches {
        assert!(matches!(c.read(), Resp::Int(_)));
    }
}

#[test]
fn big_collections_are_freed_in_the_background() {
    let s = Server::start(&["--appendfsync", "no"]);
    let mut c = Raw::connect(s.port);
    let before = info_field(&mut c, "memory", "lazyfreed_objects");
    big_set(&mut c, "big1", 100_000);
    big_set(&mut c, "big2", 100_000);
    big_set(&mut c, "big3", 100_000);
    // DEL, UNLINK and an overwrite all hand the value to the lazyfree thread.
    assert_eq!(c.cmds(&["DEL", "big1"]), Resp::Int(1));
    assert_eq!(c.cmds(&["UNLINK", "big2"]), Resp::Int(1));
    assert_eq!(
        c.cmds(&["SET", "big3", "small"]),
        Resp::Simple(b"OK".to_vec())
    );
    // Small values are freed in place.
    c.cmds(&["SADD", "small", "a", "b"]);
    assert_eq!(c.cmds(&["DEL", "small"]), Resp::Int(1));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let freed = info_field(&mut c, "memory", "lazyfreed_objects");
        let pending = info_field(&mut c, "memory", "lazyfree_pending_objects");
        if freed == before + 3 && pending == 0 {
            break;
        }
        assert!(freed <= before + 3, "a small value went to the thread");
        assert!(Instant::now() < deadline, "lazyfree never finished");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(c.cmds(&["DBSIZE"]), Resp::Int(1));
}

/// Memory freed by a deleted value goes back to the OS even when the
/// server goes quiet right after (mimalloc purges only when called into:
/// the cron calls it once a second). Before, RSS stayed at its peak.
#[test]
fn freed_memory_goes_back_to_the_os() {
    let s = Server::start(&["--appendonly", "no"]);
    let mut c = Raw::connect(s.port);
    let base = info_field(&mut c, "memory", "used_memory_rss");
    big_set(&mut c, "big", 500_000);
    let loaded = info_field(&mut c, "memory", "used_memory_rss");
    assert!(loaded > base + (16 << 20), "{base} -> {loaded}");
    assert_eq!(c.cmds(&["DEL", "big"]), Resp::Int(1));
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let now = info_field(&mut c, "memory", "used_memory_rss");
        if now < base + (loaded - base) / 2 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "RSS {now} after the DEL (base {base}, loaded {loaded})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A reply bigger than the hard limit closes the connection before any of
/// it is sent, in Redis and in Cairn; other clients are unaffected.
#[test]
fn output_buffer_hard_limit_disconnects_like_redis() {
    let check = |port: u16| -> Vec<String> {
        let mut ctl = Raw::connect(port);
        let mut log = Vec::new();
        let big = "x".repeat(3 << 20);
        ctl.cmds(&["FLUSHALL"]);
        ctl.cmds(&["SET", "big", &big]);
        for v in ["normal 1mb 0 0", "normal 1 2", "nope 1 2 3", "normal 1 x 3"] {
            let r = ctl.cmds(&["CONFIG", "SET", "client-output-buffer-limit", v]);
            log.push(format!("{v} -> {r:?}"));
        }
        let r = ctl.cmds(&["CONFIG", "GET", "client-output-buffer-limit"]);
        log.push(format!("{r:?}"));
        let mut victim = Raw::connect(port);
        assert_eq!(victim.cmds(&["PING"]), Resp::Simple(b"PONG".to_vec()));
        victim.send(&common::encode(&[b"GET", b"big"]));
        let (bytes, closed) = victim.read_until_closed(Duration::from_secs(10));
        log.push(format!("closed={closed} got={}", bytes.len()));
        // Small replies stay under the limit.
        let mut ok = Raw::connect(port);
        let r = ok.cmds(&["STRLEN", "big"]);
        log.push(format!("{r:?}"));
        ctl.cmds(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "normal 0 0 0",
        ]);
        log
    };
    let cairn = Server::start(&["--appendfsync", "no"]);
    let got = check(cairn.port);
    assert!(got.iter().any(|l| l == "closed=true got=0"), "{got:#?}");
    if let Some(redis) = RedisServer::start() {
        assert_eq!(check(redis.port), got);
    }
}

/// `THP_enabled` of a process, from /proc (the kernel shows the
/// PR_SET_THP_DISABLE flag there).
fn thp_enabled(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("THP_enabled:"))
        .expect("THP_enabled in /proc/PID/status")
        .trim()
        .to_string()
}

#[test]
fn transparent_huge_pages_are_off_unless_asked_for() {
    // A huge page faulted in under a command stalls every client (see
    // alloc::disable_thp); Redis turns them off by default too.
    let s = Server::start(&[]);
    assert_eq!(thp_enabled(s.child.id()), "0");
    let mut c = Raw::connect(s.port);
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "disable-thp"]),
        Resp::Array(Some(vec![common::bulk("disable-thp"), common::bulk("yes")]))
    );
    // Set at start-up only, with Redis's error.
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "disable-thp", "no"]),
        common::err(
            "ERR CONFIG SET failed (possibly related to argument 'disable-thp') - can't set immutable config"
        )
    );
    let s = Server::start(&["--disable-thp", "no"]);
    assert_eq!(thp_enabled(s.child.id()), "1");
}
