//! Streams against a real redis-server, and through restarts.
//!
//! * A table of XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM, XREAD,
//!   XSETID and XINFO cases (errors, ID forms, exclusive ranges, trimming by MAXLEN
//!   and MINID, exact and approximate) must answer byte for byte as Redis
//!   does, in RESP2 and RESP3.
//! * Random streams of those commands, with small node limits so that
//!   approximate trimming meets many node boundaries, compared after every
//!   command (`CAIRN_STREAM_SEEDS` seeds, default 6).
//! * What was written survives a clean restart, kill -9 (log replay) and
//!   a log rewrite (snapshot load): same entries, same last ID, and the
//!   same node layout, seen through what approximate trimming removes.
//! * XREAD BLOCK wakes on XADD from another client, times out with a null
//!   reply, and does not block inside MULTI.

mod common;
use cairn::util::XorShift64;
use common::*;

fn both(d: &mut Duo, args: &[&str]) -> Resp {
    let c = d.cairn.cmds(args);
    let r = d.redis.cmds(args);
    assert_eq!(c, r, "{args:?}");
    c
}

const TABLE: &[&str] = &[
    "XADD s 5 a 1",
    "XADD s 5 a 1",
    "XADD s 6-* a 1",
    "XADD s 6-* a 1 b 2",
    "XADD s 0-0 a 1",
    "XADD s 0 a 1",
    "XADD s abc a 1",
    "XADD s 7-x a 1",
    "XADD s 7 a",
    "XADD s 7 a 1 b",
    "XADD s2 0-0 a 1",
    "XADD s2 0-* a 1",
    "XADD s NOMKSTREAM 8 a 1",
    "XADD s3 NOMKSTREAM 8 a 1",
    "EXISTS s3",
    "XADD s MAXLEN 2 9 a 1",
    "XRANGE s - +",
    "XADD s MAXLEN = 2 10 a 1",
    "XADD s MAXLEN -1 11 a 1",
    "XADD s MAXLEN x 11 a 1",
    "XADD s MINID x 11 a 1",
    "XADD s LIMIT 5 11 a 1",
    "XADD s MAXLEN = 1 LIMIT 1 11 a 1",
    "XADD s MAXLEN 5 MINID 3 11 a 1",
    "XADD s MAXLEN 5 MAXLEN 6 11 a 1",
    "XTRIM s MINID 1 MINID 2",
    "XSETID s 1-0 ENTRIESADDED 0",
    "XADD s MAXLEN ~ 1 LIMIT -1 11 a 1",
    "XADD s 18446744073709551615-18446744073709551615 a 1",
    "XADD s * a 1",
    "XLEN s",
    "TYPE s",
    "OBJECT ENCODING s",
    "DEL s",
    "XADD s 1-1 a 1",
    "XADD s 1-2 a 1 b 2",
    "XADD s 2-0 b 2 a 1",
    "XADD s 3-0 a 100",
    "XRANGE s - + COUNT -1",
    "XRANGE s - + COUNT 0",
    "XRANGE nokey - + COUNT 0",
    "XRANGE s - + COUNT 2",
    "XRANGE s abc +",
    "XRANGE s (1-1 +",
    "XRANGE s (- +",
    "XRANGE s - (+",
    "XRANGE s - + COUNT",
    "XRANGE s - + foo 1",
    "XRANGE s 1 1",
    "XRANGE s 2 3",
    "XRANGE s (18446744073709551615-18446744073709551615 +",
    "XRANGE s - (0-0",
    "XRANGE s 3 1",
    "XREVRANGE s + -",
    "XREVRANGE s + - COUNT 1",
    "XREVRANGE s - +",
    "XREVRANGE s (3 (1-1",
    "XREAD STREAMS s",
    "XREAD STREAMS s 0 1",
    "XREAD COUNT -1 STREAMS s 0",
    "XREAD BLOCK -1 STREAMS s 0",
    "XREAD BLOCK abc STREAMS s 0",
    "XREAD foo STREAMS s 0",
    "XREAD STREAMS s $",
    "XREAD STREAMS s >",
    "XREAD STREAMS s +",
    "XREAD COUNT 0 STREAMS s 0-0",
    "XREAD COUNT 2 STREAMS s 1-1",
    "XREAD STREAMS s nokey 0 0",
    "XREAD STREAMS nokey s 0 2",
    "XREAD STREAMS s s 1-2 2",
    "XTRIM s MAXLEN -1",
    "XTRIM s foo 1",
    "XTRIM s",
    "XTRIM s LIMIT 5",
    "XTRIM s MAXLEN 0 LIMIT 5",
    "XTRIM s MAXLEN 0 extra",
    "XDEL s abc",
    "XDEL s 1-1 1-1 2-2 1-2 abc",
    "XDEL s 1-1 1-1 9-9",
    "XLEN s",
    "XSETID s 0-1",
    "XSETID s 5-5 ENTRIESADDED 0",
    "XSETID s 5-5 ENTRIESADDED -1",
    "XSETID s 5-5 ENTRIESADDED 9 MAXDELETEDID 6-0",
    "XSETID s 5-5 ENTRIESADDED 9 MAXDELETEDID 2-0",
    "XSETID s 5-5 foo",
    "XSETID nokey 1-1",
    "XADD s 5-5 a 1",
    "XADD s 5-* a 1",
    "XDEL s 3-0 5-6",
    "XLEN s",
    "EXISTS s",
    "XADD s 6 a 1",
    "XLEN nokey",
    "XDEL nokey 1-1",
    "XTRIM nokey MAXLEN 0",
    "SET str v",
    "XLEN str",
    "XADD str * a 1",
    "XRANGE str - +",
    "XREAD STREAMS str 0",
    "XDEL str 1-1",
    "XTRIM str MAXLEN 0",
    "XSETID str 1-1",
    "LPUSH l x",
    "XRANGE l - +",
    "COMMAND GETKEYS XREAD COUNT 2 STREAMS a b 0 0",
    "XINFO STREAM s",
    "XINFO STREAM s FULL",
    "XINFO STREAM s FULL COUNT 1",
    "XINFO STREAM s FULL COUNT 0",
    "XINFO STREAM s FULL COUNT x",
    "XINFO STREAM s foo",
    "XINFO STREAM nokey",
    "XINFO STREAM str",
    "XINFO GROUPS s",
    "XINFO GROUPS nokey",
    "XINFO CONSUMERS s g",
    "XINFO CONSUMERS nokey g",
    "XINFO HELP",
    "XINFO foo",
    "XINFO",
    "COMMAND GETKEYS XADD s * a 1",
];

#[test]
fn commands_match_redis() {
    let Some(mut d) = Duo::start() else { return };
    for resp in ["2", "3"] {
        d.hello(resp);
        both(&mut d, &["FLUSHALL"]);
        d.lines(TABLE, both);
        // Node boundaries: approximate trimming removes whole nodes.
        for i in 1..=250 {
            both(
                &mut d,
                &[
                    "XADD",
                    "big",
                    &format!("{i}-1"),
                    "field",
                    &format!("value{i}"),
                ],
            );
        }
        d.lines(
            &[
                "XTRIM big MAXLEN ~ 180",
                "XTRIM big MAXLEN ~ 150",
                "XRANGE big - + COUNT 2",
                "XTRIM big MAXLEN 140",
                "XRANGE big - + COUNT 2",
                "XTRIM big MINID 200",
                "XLEN big",
                "XADD big MAXLEN ~ 10 260-* f v",
                "XLEN big",
                "XDEL big 201-1 202-1",
                "XTRIM big MINID ~ 230",
                "XREVRANGE big + - COUNT 3",
                "XADD big 300-1 f v g w",
                "XADD big 300-2 g w f v",
                "XRANGE big (250-1 +",
                "XREAD COUNT 2 STREAMS big big 249-1 0",
                "XREAD STREAMS big nokey 300-2 0",
                "XINFO STREAM big",
                "XINFO STREAM big FULL COUNT 3",
                "XINFO STREAM big FULL COUNT -1",
            ],
            both,
        );
        // Big entries fill a 4096-byte node before 100 entries do.
        let value = "x".repeat(700);
        for i in 1..=30 {
            both(&mut d, &["XADD", "fat", &format!("{i}"), "f", &value]);
        }
        both(&mut d, &["XTRIM", "fat", "MAXLEN", "~", "20"]);
        both(&mut d, &["XLEN", "fat"]);
    }
}

trait Below {
    fn below64(&mut self, n: u64) -> u64;
}

impl Below for XorShift64 {
    fn below64(&mut self, n: u64) -> u64 {
        self.below(n as usize) as u64
    }
}

const FIELDS: &[&str] = &["a", "b", "c", "123", "-5"];

/// A random command over streams `s0`..`s2`; `next_ms` keeps explicit IDs
/// mostly increasing.
fn random_command(rng: &mut XorShift64, next_ms: &mut u64) -> Vec<String> {
    let key = format!("s{}", rng.below64(3));
    let id = |rng: &mut XorShift64, base: u64| {
        format!("{}-{}", base.saturating_sub(rng.below64(4)), rng.below64(3))
    };
    let pairs = |rng: &mut XorShift64| {
        let n = 1 + rng.below64(3) as usize;
        let start = rng.below64(2) as usize;
        let mut v = Vec::new();
        for i in 0..n {
            v.push(FIELDS[(start + i) % FIELDS.len()].to_string());
            v.push(if rng.below64(4) == 0 {
                "v".repeat(rng.below64(300) as usize + 1)
            } else {
                rng.below64(1000).to_string()
            });
        }
        v
    };
    let mut c: Vec<String> = Vec::new();
    match rng.below64(14) {
        0..=4 => {
            *next_ms += rng.below64(3);
            c.extend(["XADD".into(), key]);
            match rng.below64(5) {
                0 => c.extend(["MAXLEN".into(), "~".into(), rng.below64(30).to_string()]),
                1 => c.extend(["MAXLEN".into(), rng.below64(30).to_string()]),
                2 => c.extend(["MINID".into(), "~".into(), id(rng, *next_ms)]),
                _ => {}
            }
            c.push(if rng.below64(3) == 0 {
                format!("{next_ms}-*")
            } else {
                id(rng, *next_ms)
            });
            c.extend(pairs(rng));
        }
        5 => c.extend(["XDEL".into(), key, id(rng, *next_ms), id(rng, *next_ms)]),
        6 => {
            c.extend(["XTRIM".into(), key]);
            if rng.below64(2) == 0 {
                c.extend([
                    "MAXLEN".into(),
                    if rng.below64(2) == 0 { "~" } else { "=" }.into(),
                ]);
                c.push(rng.below64(40).to_string());
            } else {
                c.extend([
                    "MINID".into(),
                    if rng.below64(2) == 0 { "~" } else { "=" }.into(),
                ]);
                c.push(id(rng, *next_ms));
            }
            if rng.below64(4) == 0 && c[3] == "~" {
                c.extend(["LIMIT".into(), rng.below64(20).to_string()]);
            }
        }
        7 => c.extend(["XLEN".into(), key]),
        8 | 9 => {
            let rev = rng.below64(2) == 0;
            let (a, b) = (id(rng, *next_ms), id(rng, *next_ms));
            c.push(if rev { "XREVRANGE" } else { "XRANGE" }.into());
            c.push(key);
            c.push(if rng.below64(4) == 0 {
                if rev { "+".into() } else { "-".into() }
            } else {
                a
            });
            c.push(if rng.below64(4) == 0 {
                if rev { "-".into() } else { "+".into() }
            } else {
                format!("({b}")
            });
            if rng.below64(2) == 0 {
                c.extend(["COUNT".into(), rng.below64(6).to_string()]);
            }
        }
        10 => c.extend([
            "XREAD".into(),
            "COUNT".into(),
            (1 + rng.below64(5)).to_string(),
            "STREAMS".into(),
            key,
            "s1".into(),
            id(rng, *next_ms),
            "$".into(),
        ]),
        11 => c.extend(["XSETID".into(), key, id(rng, *next_ms + 5)]),
        12 => c.extend(["XINFO".into(), "STREAM".into(), key]),
        _ => c.extend([
            "XINFO".into(),
            "STREAM".into(),
            key,
            "FULL".into(),
            "COUNT".into(),
            rng.below64(4).to_string(),
        ]),
    }
    c
}

#[test]
fn random_streams_match_redis() {
    let Some(mut d) = Duo::start() else { return };
    for args in [
        ["CONFIG", "SET", "stream-node-max-entries", "5"],
        ["CONFIG", "SET", "stream-node-max-bytes", "600"],
    ] {
        both(&mut d, &args);
    }
    for seed in 1..=env_count("CAIRN_STREAM_SEEDS", 6) {
        both(&mut d, &["FLUSHALL"]);
        let mut rng = XorShift64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut next_ms = 1;
        for n in 0..1500 {
            let c = random_command(&mut rng, &mut next_ms);
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            let a = d.cairn.cmds(&args);
            let b = d.redis.cmds(&args);
            assert_eq!(a, b, "seed {seed}, command {n}: {args:?}");
        }
        for k in ["s0", "s1", "s2"] {
            both(&mut d, &["XRANGE", k, "-", "+"]);
        }
    }
}

/// Everything a client can see of stream `k`: its entries, length, and
/// what the next `XADD k <ms>-*` and approximate trims do.
fn snapshot_of(r: &mut Raw, k: &str) -> Vec<Resp> {
    vec![r.cmds(&["XRANGE", k, "-", "+"]), r.cmds(&["XLEN", k])]
}

fn probe(r: &mut Raw, k: &str) -> Vec<Resp> {
    // Mutating checks, run once on each side being compared: the next
    // generated ID and which whole nodes an approximate trim removes.
    vec![
        r.cmds(&["XADD", k, "1-*", "p", "q"]),
        r.cmds(&["XTRIM", k, "MAXLEN", "~", "37"]),
        r.cmds(&["XRANGE", k, "-", "+", "COUNT", "3"]),
    ]
}

fn fill_streams(r: &mut Raw) {
    let mut rng = XorShift64(0x5EED_0099);
    let mut next_ms = 1;
    for _ in 0..3000 {
        let c = random_command(&mut rng, &mut next_ms);
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        r.cmds(&args);
    }
}

#[test]
fn streams_survive_restart_kill_and_rewrite() {
    let node = [
        "--stream-node-max-entries",
        "5",
        "--stream-node-max-bytes",
        "600",
    ];
    let always: Vec<&str> = ["--appendfsync", "always"]
        .iter()
        .chain(&node)
        .copied()
        .collect();
    // A reference that never restarts: what every restarted one must
    // show.
    let reference = Server::start(&always);
    let mut r = reference.raw();
    fill_streams(&mut r);
    let keys = ["s0", "s1", "s2"];
    let want: Vec<Vec<Resp>> = keys.iter().map(|k| snapshot_of(&mut r, k)).collect();
    assert!(
        matches!(&want[0][1], Resp::Int(n) if *n > 0),
        "{:?}",
        want[0][1]
    );
    let want_probe: Vec<Vec<Resp>> = keys.iter().map(|k| probe(&mut r, k)).collect();

    for how in ["clean", "kill", "rewrite"] {
        let s = Server::start(&always);
        fill_streams(&mut s.raw());
        let s = s.end_and_restart(how, &node);
        let mut c = s.raw();
        for (i, k) in keys.iter().enumerate() {
            assert_eq!(snapshot_of(&mut c, k), want[i], "{how}: {k}");
            assert_eq!(
                probe(&mut c, k),
                want_probe[i],
                "{how}: {k} (next ID, layout)"
            );
        }
    }
}

#[test]
fn xread_block_waits_for_xadd() {
    let s = Server::start(&[]);
    let mut a = s.raw();
    let mut b = s.raw();
    a.cmds(&["XADD", "s", "1-1", "f", "v"]);
    a.send(&encode(&[b"XREAD", b"BLOCK", b"0", b"STREAMS", b"s", b"$"]));
    assert!(a.silent_for(std::time::Duration::from_millis(100)));
    assert_eq!(b.cmds(&["XADD", "s", "2-1", "f", "w"]), bulk("2-1"));
    let want = Resp::Array(Some(vec![Resp::Array(Some(vec![
        bulk("s"),
        Resp::Array(Some(vec![Resp::Array(Some(vec![
            bulk("2-1"),
            Resp::Array(Some(vec![bulk("f"), bulk("w")])),
        ]))])),
    ]))]));
    assert_eq!(a.read(), want);
    // A timeout answers a null array.
    assert_eq!(
        a.cmds(&["XREAD", "BLOCK", "50", "STREAMS", "s", "$"]),
        Resp::Array(None)
    );
    // A missing key is waited on too.
    a.send(&encode(&[
        b"XREAD", b"BLOCK", b"5000", b"STREAMS", b"new", b"0",
    ]));
    assert!(a.silent_for(std::time::Duration::from_millis(100)));
    b.cmds(&["XADD", "new", "5-5", "k", "v"]);
    assert!(matches!(a.read(), Resp::Array(Some(v)) if v.len() == 1));
    // Inside MULTI it does not block.
    a.cmds(&["MULTI"]);
    a.cmds(&["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]);
    assert_eq!(
        a.cmds(&["EXEC"]),
        Resp::Array(Some(vec![Resp::Array(None)]))
    );
}

#[test]
fn dump_payloads_are_redis_byte_for_byte() {
    let Some(mut d) = Duo::start() else { return };
    for i in 1..=260u64 {
        let (f, v) = if i % 7 == 0 {
            ("other", "v")
        } else {
            ("field", "1000")
        };
        both(
            &mut d,
            &[
                "XADD",
                "s",
                &format!("{i}-1"),
                f,
                v,
                "pad",
                &"x".repeat((i % 50) as usize),
            ],
        );
    }
    both(&mut d, &["XDEL", "s", "5-1", "6-1", "200-1"]);
    both(&mut d, &["XTRIM", "s", "MAXLEN", "230"]);
    both(&mut d, &["XADD", "e", "1-1", "a", "b"]);
    both(&mut d, &["XDEL", "e", "1-1"]);
    for k in ["s", "e"] {
        let Resp::Bulk(Some(p)) = both(&mut d, &["DUMP", k]) else {
            panic!("DUMP {k}")
        };
        // Each side restores the other's payload (the same bytes), and the
        // layout comes along: the same approximate trim removes the same.
        let copy = format!("{k}-copy");
        for side in [&mut d.cairn, &mut d.redis] {
            assert_eq!(
                side.cmd(&[b"RESTORE", copy.as_bytes(), b"0", &p]),
                simple("OK")
            );
        }
        both(&mut d, &["XRANGE", &copy, "-", "+"]);
        both(&mut d, &["XTRIM", &copy, "MAXLEN", "~", "100"]);
        both(&mut d, &["XADD", &copy, "300-*", "a", "b"]);
        both(&mut d, &["XLEN", &copy]);
    }
}

#[test]
fn xsetid_below_a_stored_deleted_entry_is_refused_and_restarts_stay_loadable() {
    // Redis 7.0 accepts this XSETID and then stores a smaller ID after a
    // deleted greater one in the same node; Cairn keeps entries in ID order
    // and refuses it (README). What it accepts replays and reloads.
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut r = s.raw();
    for id in ["1-0", "2-0", "3-0"] {
        r.cmds(&["XADD", "s", id, "f", "v"]);
    }
    r.cmds(&["XDEL", "s", "3-0"]);
    assert_eq!(
        r.cmds(&["XSETID", "s", "2-0"]),
        err("ERR The ID specified in XSETID is smaller than the target stream top item")
    );
    assert_eq!(r.cmds(&["XSETID", "s", "3-0"]), simple("OK"));
    assert_eq!(
        r.cmds(&["XADD", "s", "2-1", "f", "v"]),
        err("ERR The ID specified in XADD is equal or smaller than the target stream top item")
    );
    assert_eq!(r.cmds(&["XADD", "s", "3-1", "f", "v"]), bulk("3-1"));
    let info = |r: &mut Raw| {
        (
            r.cmds(&["XINFO", "STREAM", "s"]),
            r.cmds(&["XINFO", "STREAM", "t"]),
        )
    };
    let before = info(&mut r);
    r.rewrite_log();
    r.cmds(&["XADD", "s", "3-2", "g", "w"]);
    // (After the rewrite, so replay runs it.) Exact MINID trims replay
    // exactly: a node whose entries are all
    // deleted by the trim stays, as it did live.
    for id in ["4-0", "5-0", "6-0"] {
        r.cmds(&["XADD", "t", id, "f", "v"]);
    }
    r.cmds(&["XDEL", "t", "6-0"]);
    assert_eq!(r.cmds(&["XTRIM", "t", "MINID", "6"]), Resp::Int(2));
    let before2 = info(&mut r);
    s.kill9();
    let s = s.restart(&[]);
    let mut r = s.raw();
    assert_eq!(info(&mut r), before2);
    assert_ne!(before, before2);
}
