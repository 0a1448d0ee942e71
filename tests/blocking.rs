//! Blocking list commands (BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP, CLIENT
//! UNBLOCK): scripted multi-client scenarios run against Cairn and a real
//! redis-server, every reply compared byte for byte; and durability of
//! served pops across kill -9.
//!
//! A step that must block waits until INFO reports the expected number of
//! blocked clients (no sleeps guessing at timing).

mod common;

use common::{Duo, Raw, RedisServer, Resp, Server, encode, err};
use std::time::{Duration, Instant};

/// One step of a scenario.
enum Step {
    /// Client i sends the command and reads its reply now.
    Call(usize, &'static str),
    /// Client i sends the command, which must block.
    Block(usize, &'static str),
    /// Client i sends raw bytes (a pipeline).
    Send(usize, &'static str),
    /// Read one reply of client i (it was unblocked).
    Read(usize),
    /// CLIENT UNBLOCK <id of client i> [reason] from the control client.
    Unblock(usize, &'static str),
    /// Client i disconnects.
    Close(usize),
    /// Wait until this many clients are blocked.
    WaitBlocked(usize),
}

use Step::*;

fn blocked_clients(ctl: &mut Raw) -> usize {
    match ctl.cmds(&["INFO", "clients"]) {
        Resp::Bulk(Some(b)) => String::from_utf8_lossy(&b)
            .lines()
            .find_map(|l| l.strip_prefix("blocked_clients:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap(),
        other => panic!("INFO: {other:?}"),
    }
}

fn wait_blocked(ctl: &mut Raw, n: usize) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while blocked_clients(ctl) != n {
        assert!(
            Instant::now() < deadline,
            "never reached {n} blocked clients"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// Run a scenario on the server at `port`; the transcript of every reply.
fn run(port: u16, steps: &[Step]) -> Vec<String> {
    let mut ctl = Raw::connect(port);
    assert_eq!(ctl.cmds(&["FLUSHALL"]), Resp::Simple(b"OK".to_vec()));
    let mut clients: Vec<Option<Raw>> = (0..4).map(|_| Some(Raw::connect(port))).collect();
    let ids: Vec<i64> = clients
        .iter_mut()
        .map(|c| match c.as_mut().unwrap().cmds(&["CLIENT", "ID"]) {
            Resp::Int(n) => n,
            other => panic!("CLIENT ID: {other:?}"),
        })
        .collect();
    let mut blocked = 0;
    let mut out = Vec::new();
    for (n, step) in steps.iter().enumerate() {
        match step {
            Call(i, c) => {
                let r = clients[*i].as_mut().unwrap().cmds(&words(c));
                if c.starts_with("HELLO") {
                    // Its reply holds the client id, which differs.
                    assert!(matches!(r, Resp::Map(_)), "{r:?}");
                    continue;
                }
                out.push(format!("{n} c{i} {c} -> {r:?}"));
            }
            Block(i, c) => {
                let a = words(c);
                let a: Vec<&[u8]> = a.iter().map(|s| s.as_bytes()).collect();
                clients[*i].as_mut().unwrap().send(&common::encode(&a));
                blocked += 1;
                wait_blocked(&mut ctl, blocked);
            }
            Send(i, raw) => clients[*i].as_mut().unwrap().send(raw.as_bytes()),
            WaitBlocked(k) => {
                blocked = *k;
                wait_blocked(&mut ctl, blocked);
            }
            Read(i) => {
                let r = clients[*i].as_mut().unwrap().read();
                out.push(format!("{n} c{i} read -> {r:?}"));
            }
            Unblock(i, reason) => {
                let id = ids[*i].to_string();
                let mut a = vec!["CLIENT", "UNBLOCK", id.as_str()];
                if !reason.is_empty() {
                    a.push(reason);
                }
                let r = ctl.cmds(&a);
                if r == Resp::Int(1) {
                    blocked -= 1;
                }
                out.push(format!("{n} unblock c{i} {reason} -> {r:?}"));
            }
            Close(i) => {
                clients[*i] = None;
            }
        }
    }
    // The data each scenario leaves behind.
    for k in ["k", "k1", "k2", "a", "b", "dst"] {
        let r = ctl.cmds(&["LRANGE", k, "0", "-1"]);
        out.push(format!("{k} = {r:?}"));
    }
    for k in ["z", "z2"] {
        let r = ctl.cmds(&["ZRANGE", k, "0", "-1", "WITHSCORES"]);
        out.push(format!("{k} = {r:?}"));
    }
    out
}

fn words(c: &str) -> Vec<&str> {
    c.split_whitespace().collect()
}

fn scenarios() -> Vec<(&'static str, Vec<Step>)> {
    vec![
        (
            "fifo over three kinds of waiter",
            vec![
                Block(0, "BLPOP k1 k 0"),
                Block(1, "BRPOP k 0"),
                Block(2, "BLMOVE k dst LEFT RIGHT 0"),
                Call(3, "RPUSH k x y z w"),
                Read(0),
                Read(1),
                Read(2),
                WaitBlocked(0),
            ],
        ),
        (
            "one element for two waiters",
            vec![
                Block(0, "BLPOP k 0"),
                Block(1, "BLPOP k 0"),
                Call(3, "LPUSH k only"),
                Read(0),
                WaitBlocked(1),
                Call(3, "LPUSH k second"),
                Read(1),
            ],
        ),
        (
            "BLMOVE cascades into a waiter on the destination",
            vec![
                Block(0, "BLMOVE a b RIGHT LEFT 0"),
                Block(1, "BLPOP b 0"),
                Call(3, "RPUSH a x"),
                Read(0),
                Read(1),
            ],
        ),
        (
            "BRPOPLPUSH and a non-blocking LMOVE into a waited key",
            vec![
                Block(0, "BRPOPLPUSH k dst 0"),
                Call(3, "RPUSH a 1 2 3"),
                Call(3, "LMOVE a k LEFT LEFT"),
                Read(0),
                Call(3, "LRANGE dst 0 -1"),
            ],
        ),
        (
            "BLMPOP with COUNT and several keys",
            vec![
                Block(0, "BLMPOP 0 2 k1 k2 RIGHT COUNT 2"),
                Block(1, "BLMPOP 0 1 k2 LEFT"),
                Call(3, "RPUSH k2 a b c"),
                Read(0),
                Read(1),
            ],
        ),
        (
            "timeouts",
            vec![
                Call(0, "BLPOP k 0.05"),
                Call(0, "BRPOP k 0.01"),
                Call(0, "BLMOVE k dst LEFT LEFT 0.02"),
                Call(0, "BRPOPLPUSH k dst 0.02"),
                Call(0, "BLMPOP 0.02 1 k LEFT COUNT 3"),
                Call(1, "HELLO 3"),
                Call(1, "BLPOP k 0.02"),
                Call(1, "BLMOVE k dst LEFT LEFT 0.02"),
            ],
        ),
        (
            "argument errors",
            vec![
                Call(0, "BLPOP k -1"),
                Call(0, "BLPOP k abc"),
                Call(0, "BLPOP k 1e20"),
                Call(0, "BLPOP k inf"),
                Call(0, "BLPOP k nan"),
                Call(0, "BLMPOP 0 0 k LEFT"),
                Call(0, "BLMPOP 0 2 k LEFT"),
                Call(0, "BLMPOP 0 1 k MIDDLE"),
                Call(0, "BLMPOP 0 1 k LEFT COUNT 0"),
                Call(0, "BLMPOP x 1 k LEFT"),
                Call(0, "BLMOVE a b UP LEFT 0"),
                Call(0, "BLPOP k"),
                Call(0, "SET s str"),
                Call(0, "BLPOP s 0"),
                Call(0, "BLPOP k s 0"),
                Call(0, "BLMOVE s dst LEFT LEFT 0"),
                Call(0, "RPUSH a 1"),
                Call(0, "BLMOVE a s LEFT LEFT 0"),
                Call(0, "BLMPOP 0 1 s LEFT"),
            ],
        ),
        (
            "commands pipelined behind a blocked one wait for it",
            vec![
                Send(0, "BLPOP k 0\r\nPING\r\nLLEN k\r\n"),
                WaitBlocked(1),
                Call(3, "RPUSH k v1 v2"),
                Read(0),
                Read(0),
                Read(0),
            ],
        ),
        (
            "a key of another type does not serve; the list later does",
            vec![
                Block(0, "BLPOP k 0"),
                Call(3, "SET k str"),
                WaitBlocked(1),
                Call(3, "DEL k"),
                Call(3, "RPUSH k v"),
                Read(0),
            ],
        ),
        (
            "CLIENT UNBLOCK",
            vec![
                Block(0, "BLPOP k 0"),
                Unblock(0, ""),
                Read(0),
                Block(1, "BLMOVE k dst LEFT LEFT 0"),
                Unblock(1, "ERROR"),
                Read(1),
                Block(2, "BLMPOP 0 1 k LEFT"),
                Unblock(2, "TIMEOUT"),
                Read(2),
                Unblock(2, ""),
                Unblock(2, "MAYBE"),
            ],
        ),
        (
            "a waiter that disconnected takes nothing",
            vec![
                Block(0, "BLPOP k 0"),
                Close(0),
                WaitBlocked(0),
                Call(3, "RPUSH k kept"),
            ],
        ),
        (
            "sorted sets: BZPOPMIN, BZPOPMAX and BZMPOP in the order they blocked",
            vec![
                Block(0, "BZPOPMIN z 0"),
                Block(1, "BZPOPMAX z2 z 0"),
                Block(2, "BZMPOP 0 2 z2 z MAX COUNT 2"),
                Call(3, "ZADD z 1 a 2 b 3 c 4 d 5 e"),
                Read(0),
                Read(1),
                Read(2),
                Call(3, "ZADD z2 1.5 x"),
                Call(3, "BZPOPMIN z2 z 0"),
                Call(3, "BZPOPMAX z2 z 0.01"),
            ],
        ),
        (
            "sorted sets: timeouts, errors, RESP3",
            vec![
                Call(0, "BZPOPMIN z 0.01"),
                Call(0, "BZMPOP 0.01 1 z MIN"),
                Call(0, "BZPOPMIN z -1"),
                Call(0, "BZMPOP 0 0 z MIN"),
                Call(0, "BZMPOP 0 1 z MIDDLE"),
                Call(0, "BZMPOP 0 1 z MIN COUNT 0"),
                Call(0, "SET s str"),
                Call(0, "BZPOPMIN s 0"),
                Call(1, "HELLO 3"),
                Call(1, "BZPOPMAX z 0.01"),
                Block(1, "BZPOPMAX z 0"),
                Block(2, "BZMPOP 0 1 z MIN COUNT 5"),
                Call(3, "ZADD z 1 a 2 b 3 c"),
                Read(1),
                Read(2),
            ],
        ),
        (
            "a list push does not serve a sorted-set waiter",
            vec![
                Block(0, "BZPOPMIN z 0"),
                Call(3, "RPUSH z notazset"),
                WaitBlocked(1),
                Call(3, "DEL z"),
                Call(3, "ZADD z 7 seven"),
                Read(0),
            ],
        ),
        (
            "pushing in the same command to several waited keys",
            vec![
                Block(0, "BLPOP k1 0"),
                Block(1, "BLPOP k2 0"),
                Call(3, "RPUSH k1 a"),
                Read(0),
                Call(3, "RPUSH k2 b"),
                Read(1),
            ],
        ),
    ]
}

#[test]
fn scenarios_match_real_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    // With the log on (the default) and off: wake-ups must not depend on it.
    let cairn = Server::start(&[]);
    let cairn_nolog = Server::start(&["--appendonly", "no"]);
    let mut failures = Vec::new();
    for (name, steps) in scenarios() {
        let want = run(redis.port, &steps);
        for (mode, port) in [("log", cairn.port), ("no log", cairn_nolog.port)] {
            let got = run(port, &steps);
            if want != got {
                failures.push(format!(
                    "scenario {name:?} ({mode}):\n  redis: {want:#?}\n  cairn: {got:#?}"
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A served pop is logged as the pop it did: after kill -9 the element is
/// gone from the source and (BLMOVE) present in the destination, exactly
/// as the waiters were told.
#[test]
fn served_pops_survive_kill9() {
    let mut s = Server::start(&[]);
    let mut ctl = Raw::connect(s.port);
    let mut a = Raw::connect(s.port);
    let mut b = Raw::connect(s.port);
    a.send(&common::encode(&[b"BLPOP", b"q", b"0"]));
    wait_blocked(&mut ctl, 1);
    b.send(&common::encode(&[
        b"BLMOVE", b"q", b"moved", b"RIGHT", b"LEFT", b"0",
    ]));
    wait_blocked(&mut ctl, 2);
    assert_eq!(
        ctl.cmds(&["RPUSH", "q", "one", "two", "three"]),
        Resp::Int(3)
    );
    assert_eq!(
        a.read(),
        Resp::Array(Some(vec![common::bulk("q"), common::bulk("one")]))
    );
    assert_eq!(b.read(), common::bulk("three"));
    s.kill9();
    let s = s.restart(&[]);
    let mut c = Raw::connect(s.port);
    assert_eq!(
        c.cmds(&["LRANGE", "q", "0", "-1"]),
        Resp::Array(Some(vec![common::bulk("two")]))
    );
    assert_eq!(
        c.cmds(&["LRANGE", "moved", "0", "-1"]),
        Resp::Array(Some(vec![common::bulk("three")]))
    );
}

/// Many waiters, many pushers: every element pushed is received exactly
/// once, by someone, and nothing is left or lost.
#[test]
fn every_element_delivered_once() {
    let s = Server::start(&[]);
    let port = s.port;
    let waiters: Vec<_> = (0..6)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let mut got = Vec::new();
                loop {
                    match c.cmds(&["BLPOP", "w1", "w2", "1"]) {
                        Resp::Array(Some(v)) => match &v[1] {
                            Resp::Bulk(Some(b)) => {
                                got.push(String::from_utf8_lossy(b).into_owned())
                            }
                            other => panic!("{other:?}"),
                        },
                        Resp::Array(None) => return got,
                        other => panic!("{other:?}"),
                    }
                }
            })
        })
        .collect();
    let pushers: Vec<_> = (0..2)
        .map(|p| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                for i in 0..300 {
                    let key = if i % 3 == 0 { "w1" } else { "w2" };
                    let v = format!("{p}-{i}");
                    c.cmds(&["RPUSH", key, &v]);
                }
            })
        })
        .collect();
    for p in pushers {
        p.join().unwrap();
    }
    let mut all: Vec<String> = waiters
        .into_iter()
        .flat_map(|w| w.join().unwrap())
        .collect();
    all.sort();
    let mut want: Vec<String> = (0..2)
        .flat_map(|p| (0..300).map(move |i| format!("{p}-{i}")))
        .collect();
    want.sort();
    assert_eq!(all, want);
    let mut c = Raw::connect(port);
    assert_eq!(c.cmds(&["EXISTS", "w1", "w2"]), Resp::Int(0));
}

#[test]
fn wait_answers_that_no_replica_acknowledged() {
    // Cairn has no replicas: WAIT answers 0, at once when it asks for none
    // or may not block (MULTI), else when its timeout passes or CLIENT
    // UNBLOCK ends it; as redis-server without replicas.
    let Some(mut d) = Duo::start() else { return };
    for args in [
        &["WAIT", "0", "0"][..],
        &["WAIT", "-1", "0"],
        &["WAIT", "1", "-1"],
        &["WAIT", "a", "0"],
        &["WAIT", "1", "a"],
        &["WAIT", "1", "1.5"],
        &["WAIT", "1", "30"],
        &["EVAL", "return redis.call('wait', 0, 0)", "0"],
        &["MULTI"],
        &["WAIT", "1", "0"],
        &["EXEC"],
    ] {
        assert_eq!(d.cairn.cmds(args), d.redis.cmds(args), "{args:?}");
    }
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    let Resp::Int(id) = a.cmds(&["CLIENT", "ID"]) else {
        panic!()
    };
    a.send(&encode(&[b"WAIT", b"1", b"0"]));
    assert!(a.silent_for(Duration::from_millis(100)));
    assert_eq!(
        b.cmds(&["CLIENT", "UNBLOCK", &id.to_string()]),
        Resp::Int(1)
    );
    assert_eq!(a.read(), Resp::Int(0));
    a.send(&encode(&[b"WAIT", b"1", b"0"]));
    assert!(a.silent_for(Duration::from_millis(50)));
    b.cmds(&["CLIENT", "UNBLOCK", &id.to_string(), "ERROR"]);
    assert_eq!(
        a.read(),
        err("UNBLOCKED client unblocked via CLIENT UNBLOCK")
    );
}
