//! Stream consumer groups against a real redis-server, and through
//! restarts.
//!
//! * A table of XGROUP, XREADGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM and
//!   XINFO cases (errors and their order, NOACK, history reads, deleted
//!   entries, lag and entries-read) answers as Redis does, in RESP2 and
//!   RESP3. Times (idle, delivery and seen times) are masked: the two
//!   servers' clocks are read at different instants.
//! * Random command streams over two streams, two groups and three
//!   consumers, compared after every command (`CAIRN_GROUP_SEEDS` seeds,
//!   default 4).
//! * Groups survive a clean restart, kill -9 (log replay) and a log
//!   rewrite (snapshot load): XINFO STREAM FULL shows the same groups,
//!   PELs, delivery times and counts, read counters and lag.
//! * DUMP payloads with groups restore across Cairn and Redis both ways,
//!   byte for byte.
//! * A blocked XREADGROUP is served by XADD, and ends with Redis's errors
//!   when its group or its key goes.

mod common;
use cairn::util::XorShift64;
use common::*;
use std::time::Duration;

/// Integers that are times: Unix ms (delivery and seen times) anywhere,
/// and the idle fields of XPENDING's rows and XINFO CONSUMERS.
fn mask(r: Resp, cmd: &str) -> Resp {
    match r {
        Resp::Int(n) if n > 1_000_000_000_000 => Resp::Int(0),
        Resp::Array(Some(v)) => {
            let pending_row = cmd.starts_with("XPENDING") && v.len() == 4;
            Resp::Array(Some(
                v.into_iter()
                    .enumerate()
                    .map(|(i, x)| {
                        if pending_row && i == 2 && matches!(x, Resp::Int(_)) {
                            Resp::Int(0)
                        } else {
                            mask(x, cmd)
                        }
                    })
                    .collect(),
            ))
        }
        Resp::Map(v) => Resp::Map(
            v.into_iter()
                .map(|(k, x)| {
                    if k == bulk("idle") {
                        (k, Resp::Int(0))
                    } else {
                        (k, mask(x, cmd))
                    }
                })
                .collect(),
        ),
        other => other,
    }
}

/// RESP2 maps are flat arrays: mask the value after an "idle" name too.
fn mask_idle_pairs(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(v)) => {
            let mut out = Vec::with_capacity(v.len());
            let mut after_idle = false;
            for x in v {
                if after_idle && matches!(x, Resp::Int(_)) {
                    out.push(Resp::Int(0));
                } else {
                    out.push(mask_idle_pairs(x));
                }
                after_idle = false;
                if let Resp::Bulk(Some(b)) = out.last().unwrap() {
                    after_idle = b == b"idle";
                }
            }
            Resp::Array(Some(out))
        }
        other => other,
    }
}

fn both(d: &mut Duo, args: &[&str]) -> Resp {
    let line = args.join(" ");
    let c = mask_idle_pairs(mask(d.cairn.cmds(args), &line));
    let r = mask_idle_pairs(mask(d.redis.cmds(args), &line));
    assert_eq!(c, r, "{args:?}\ncairn: {}\nredis: {}", show(&c), show(&r));
    c
}

const TABLE: &[&str] = &[
    "XADD s 1-1 a 1",
    "XADD s 2-1 b 2",
    "XADD s 3-1 c 3",
    "XGROUP CREATE s g 0",
    "XGROUP CREATE s g 0",
    "XGROUP CREATE s g2 $",
    "XGROUP CREATE nokey g 0",
    "XGROUP CREATE nokey g $ MKSTREAM",
    "TYPE nokey",
    "XGROUP CREATE s g3 0 ENTRIESREAD -5",
    "XGROUP CREATE s g3 0 ENTRIESREAD x",
    "XGROUP CREATE s g3 0 foo",
    "XGROUP CREATE s g3 bad",
    "XGROUP SETID s nog 0",
    "XGROUP SETID nokey2 g 0",
    "XGROUP SETID s g 0 ENTRIESREAD",
    "XGROUP CREATECONSUMER s nog c",
    "XGROUP DELCONSUMER s g nobody",
    "XGROUP DESTROY s nog",
    "XGROUP foo s g",
    "XGROUP CREATE s",
    "XGROUP HELP",
    "XINFO GROUPS s",
    "XREADGROUP GROUP g alice COUNT 1 STREAMS s >",
    "XINFO GROUPS s",
    "XREADGROUP GROUP g bob NOACK STREAMS s >",
    "XREADGROUP GROUP g carol STREAMS s >",
    "XINFO CONSUMERS s g",
    "XPENDING s g",
    "XPENDING s g - + 10",
    "XREADGROUP GROUP g alice STREAMS s 0",
    "XPENDING s g - + 10",
    "XGROUP SETID s g 0",
    "XINFO GROUPS s",
    "XREADGROUP GROUP g carol STREAMS s >",
    "XPENDING s g",
    "XPENDING s g - + 10 carol",
    "XPENDING s g - + 10 nobody",
    "XPENDING s g IDLE 100000 - + 10",
    "XPENDING s g (1-1 + 10",
    "XPENDING s g - (3-1 1",
    "XACK s g 1-1 9-9",
    "XACK s g bad",
    "XACK nokey2 g bad",
    "XACK s nog 1-1",
    "XDEL s 2-1",
    "XREADGROUP GROUP g carol STREAMS s 0",
    "XCLAIM s g dave 0 2-1 3-1 JUSTID",
    "XCLAIM s g dave 0 3-1 FORCE RETRYCOUNT 7",
    "XCLAIM s g dave 0 1-1 FORCE",
    "XCLAIM s g dave 0 1-1 FORCE JUSTID",
    "XPENDING s g - + 10",
    "XCLAIM s g erin 100000 3-1",
    "XCLAIM s g erin 0 3-1 IDLE 5000 LASTID 9-9",
    "XINFO GROUPS s",
    "XAUTOCLAIM s g eve 0 0",
    "XAUTOCLAIM s g eve 0 0 COUNT 1 JUSTID",
    "XAUTOCLAIM s g eve 0 (1-1 COUNT 1",
    "XGROUP CREATECONSUMER s g zed",
    "XGROUP CREATECONSUMER s g zed",
    "XGROUP DELCONSUMER s g eve",
    "XINFO CONSUMERS s g",
    "XCLAIM s g d x 1-1",
    "XCLAIM s g d 0 1-1 IDLE x",
    "XCLAIM s g d 0 1-1 TIME x",
    "XCLAIM s g d 0 1-1 RETRYCOUNT x",
    "XCLAIM s g d 0 1-1 foo",
    "XCLAIM s g d 0 1-1 LASTID bad",
    "XCLAIM s nog d 0 1-1",
    "XCLAIM nokey3 g d 0 1-1",
    "XCLAIM s g d 0 bad",
    "XAUTOCLAIM s g d x 0",
    "XAUTOCLAIM s g d 0 0 COUNT 0",
    "XAUTOCLAIM s g d 0 0 COUNT x",
    "XAUTOCLAIM s g d 0 0 foo",
    "XAUTOCLAIM s nog d 0 0",
    "XAUTOCLAIM s g d 0 bad",
    "XPENDING s nog",
    "XPENDING s g - +",
    "XPENDING s g IDLE 5 - +",
    "XPENDING s g IDLE x - + 10",
    "XREADGROUP GROUP g c STREAMS s $",
    "XREADGROUP GROUP g c STREAMS s +",
    "XREADGROUP GROUP nog c STREAMS s >",
    "XREADGROUP GROUP g c STREAMS nokey4 >",
    "XREAD GROUP g c STREAMS s >",
    "XREAD NOACK STREAMS s 0",
    "XREADGROUP GROUP g c STREAMS s t >",
    "XREADGROUP GROUP g c COUNT x STREAMS s >",
    "XREADGROUP GROUP g c foo STREAMS s >",
    "XREADGROUP COUNT 1 NOACK STREAMS s >",
    "XGROUP DESTROY s g2",
    "XGROUP DESTROY s g2",
    "XINFO STREAM s",
    "XINFO STREAM s FULL",
    "XINFO STREAM s FULL COUNT 1",
    "XADD s 4-1 d 4",
    "XADD s 5-1 e 5",
    "XGROUP SETID s g $",
    "XINFO GROUPS s",
    "XGROUP SETID s g 1-0 ENTRIESREAD 1",
    "XINFO GROUPS s",
    "XREADGROUP GROUP g z COUNT 2 STREAMS s >",
    "XINFO GROUPS s",
    "XTRIM s MAXLEN 1",
    "XINFO GROUPS s",
    "XREADGROUP GROUP g z STREAMS s >",
    "XINFO GROUPS s",
    "XINFO STREAM s FULL",
    "XGROUP CREATE s late 0",
    "XINFO GROUPS s",
    "SET str x",
    "XGROUP CREATE str g 0",
    "XREADGROUP GROUP g c STREAMS str >",
    "XACK str g 1-1",
    "XPENDING str g",
    "XCLAIM str g c 0 1-1",
    "XINFO GROUPS str",
    // Group changes do not break a WATCH on the key (Redis signals no
    // key modification for them); new entries do.
    "XADD w 1-1 f v",
    "XGROUP CREATE w g 0",
    "WATCH w",
    "XREADGROUP GROUP g c STREAMS w >",
    "XREADGROUP GROUP g c STREAMS w 0",
    "XACK w g 1-1",
    "XCLAIM w g d 0 1-1 FORCE",
    "XAUTOCLAIM w g e 0 0",
    "XGROUP SETID w g 0",
    "XGROUP CREATECONSUMER w g f",
    "XGROUP DELCONSUMER w g f",
    "XGROUP CREATE w g9 0",
    "XGROUP DESTROY w g9",
    "MULTI",
    "PING",
    "EXEC",
    "WATCH w",
    "XADD w 2-1 f v",
    "MULTI",
    "PING",
    "EXEC",
    "WATCH nokey9",
    "XGROUP CREATE nokey9 g 0 MKSTREAM",
    "MULTI",
    "PING",
    "EXEC",
    // Extreme counts and times wrap and clamp as Redis's C does.
    "XCLAIM w g x 0 1-1 FORCE RETRYCOUNT 9223372036854775807",
    "XREADGROUP GROUP g x STREAMS w 0",
    "XPENDING w g - + 10",
    "XCLAIM w g x 0 1-1 IDLE -9223372036854775808 JUSTID",
    "XCLAIM w g x 0 1-1 TIME -5 JUSTID",
    "XPENDING w g - + 10",
    "XPENDING w g IDLE 9223372036854775807 - + 10",
    "XAUTOCLAIM w g y 9223372036854775807 0",
    "XREADGROUP GROUP g z STREAMS w 18446744073709551615-18446744073709551615",
    "COMMAND GETKEYS XREADGROUP GROUP g c STREAMS s t > >",
    "COMMAND GETKEYS XREADGROUP GROUP g streams STREAMS s >",
    "COMMAND GETKEYS XGROUP CREATE s g 0",
];

#[test]
fn group_commands_match_redis() {
    let Some(mut d) = Duo::start() else { return };
    for resp in ["2", "3"] {
        d.hello(resp);
        both(&mut d, &["FLUSHALL"]);
        d.lines(TABLE, both);
    }
}

/// A random group command over streams `s0`, `s1`, groups `g0`, `g1`,
/// consumers `c0`..`c2`.
fn random_command(rng: &mut XorShift64, next_ms: &mut u64) -> Vec<String> {
    let pick = |rng: &mut XorShift64, n: usize| rng.below(n);
    let key = format!("s{}", pick(rng, 2));
    let group = format!("g{}", pick(rng, 2));
    let consumer = format!("c{}", pick(rng, 3));
    let id = |rng: &mut XorShift64, top: u64| format!("{}-1", 1 + rng.below(top.max(1) as usize));
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    let mut c: Vec<String> = match pick(rng, 20) {
        0..=4 => {
            *next_ms += 1;
            s(&[
                "XADD",
                &key,
                &format!("{next_ms}-1"),
                "f",
                &rng.below(100).to_string(),
            ])
        }
        5 => s(&["XDEL", &key, &id(rng, *next_ms)]),
        6 => s(&["XTRIM", &key, "MAXLEN", &rng.below(8).to_string()]),
        7 => {
            let start = match pick(rng, 3) {
                0 => "0".to_string(),
                1 => "$".to_string(),
                _ => id(rng, *next_ms),
            };
            let mut v = s(&["XGROUP", "CREATE", &key, &group, &start]);
            if pick(rng, 3) == 0 {
                v.push("MKSTREAM".into());
            }
            v
        }
        8 => {
            let mut v = s(&["XGROUP", "SETID", &key, &group, &id(rng, *next_ms)]);
            if pick(rng, 2) == 0 {
                v.extend(s(&["ENTRIESREAD", &rng.below(10).to_string()]));
            }
            v
        }
        9 if pick(rng, 4) == 0 => s(&["XGROUP", "DESTROY", &key, &group]),
        10 => s(&["XGROUP", "CREATECONSUMER", &key, &group, &consumer]),
        11 if pick(rng, 2) == 0 => s(&["XGROUP", "DELCONSUMER", &key, &group, &consumer]),
        12..=14 => {
            let mut v = s(&["XREADGROUP", "GROUP", &group, &consumer]);
            if pick(rng, 2) == 0 {
                v.extend(s(&["COUNT", &(1 + rng.below(3)).to_string()]));
            }
            if pick(rng, 4) == 0 {
                v.push("NOACK".into());
            }
            let from = if pick(rng, 3) == 0 {
                "0".to_string()
            } else {
                ">".to_string()
            };
            v.extend(s(&["STREAMS", &key, &from]));
            v
        }
        15 => s(&["XACK", &key, &group, &id(rng, *next_ms), &id(rng, *next_ms)]),
        16 => {
            let mut v = s(&["XCLAIM", &key, &group, &consumer, "0", &id(rng, *next_ms)]);
            for opt in ["JUSTID", "FORCE"] {
                if pick(rng, 3) == 0 {
                    v.push(opt.into());
                }
            }
            if pick(rng, 3) == 0 {
                v.extend(s(&["RETRYCOUNT", &rng.below(5).to_string()]));
            }
            if pick(rng, 4) == 0 {
                v.extend(s(&["LASTID", &id(rng, *next_ms)]));
            }
            v
        }
        17 => {
            let mut v = s(&["XAUTOCLAIM", &key, &group, &consumer, "0", "0"]);
            v.extend(s(&["COUNT", &(1 + rng.below(3)).to_string()]));
            if pick(rng, 3) == 0 {
                v.push("JUSTID".into());
            }
            v
        }
        18 => s(&["XPENDING", &key, &group, "-", "+", "20"]),
        _ => s(&["XPENDING", &key, &group]),
    };
    if c.is_empty() {
        c = s(&["XINFO", "GROUPS", &key]);
    }
    c
}

#[test]
fn random_group_commands_match_redis() {
    let Some(mut d) = Duo::start() else { return };
    let seeds = env_count("CAIRN_GROUP_SEEDS", 4);
    for seed in 0..seeds {
        both(&mut d, &["FLUSHALL"]);
        let mut rng = XorShift64(0xC0DE_0000 + seed * 7919 + 1);
        let mut next_ms = 0;
        for i in 0..700 {
            let c = random_command(&mut rng, &mut next_ms);
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            both(&mut d, &args);
            if i % 25 == 0 {
                for k in ["s0", "s1"] {
                    both(&mut d, &["XINFO", "STREAM", k, "FULL"]);
                }
            }
        }
    }
}

/// What a restart must keep of stream `k`: everything XINFO STREAM FULL
/// shows but the consumers' seen times (a replayed log sets them anew, in
/// Redis as here).
fn groups_view(r: &mut Raw, k: &str) -> Resp {
    fn seen(v: Resp) -> Resp {
        match v {
            Resp::Array(Some(v)) => {
                let mut out: Vec<Resp> = Vec::new();
                let mut after_seen = false;
                for x in v {
                    out.push(if after_seen { Resp::Int(0) } else { seen(x) });
                    after_seen =
                        matches!(out.last(), Some(Resp::Bulk(Some(b))) if b == b"seen-time");
                }
                Resp::Array(Some(out))
            }
            other => other,
        }
    }
    seen(r.cmds(&["XINFO", "STREAM", k, "FULL", "COUNT", "0"]))
}

fn fill(r: &mut Raw) {
    let mut rng = XorShift64(0x5EED_00C6);
    let mut next_ms = 0;
    for _ in 0..1500 {
        let c = random_command(&mut rng, &mut next_ms);
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        r.cmds(&args);
    }
    // Something pending in each stream at the end.
    for k in ["s0", "s1"] {
        r.cmds(&["XGROUP", "CREATE", k, "last", "0", "MKSTREAM"]);
        r.cmds(&[
            "XREADGROUP",
            "GROUP",
            "last",
            "c9",
            "COUNT",
            "3",
            "STREAMS",
            k,
            ">",
        ]);
    }
}

#[test]
fn groups_survive_restart_kill_and_rewrite() {
    for how in ["clean", "kill", "rewrite"] {
        let s = Server::start(&["--appendfsync", "always"]);
        let mut c = s.raw();
        fill(&mut c);
        let want: Vec<Resp> = ["s0", "s1"]
            .iter()
            .map(|k| groups_view(&mut c, k))
            .collect();
        let pending = c.cmds(&["XPENDING", "s0", "last"]);
        assert!(
            matches!(&pending, Resp::Array(Some(v)) if matches!(v[0], Resp::Int(n) if n > 0)),
            "{pending:?}"
        );
        let s = s.end_and_restart(how, &[]);
        let mut c = s.raw();
        for (i, k) in ["s0", "s1"].iter().enumerate() {
            assert_eq!(groups_view(&mut c, k), want[i], "{how}: {k}");
        }
    }
}

fn payload(r: Resp) -> Vec<u8> {
    match r {
        Resp::Bulk(Some(b)) => b,
        other => panic!("DUMP: {other:?}"),
    }
}

#[test]
fn dump_payloads_with_groups_cross_restore_byte_for_byte() {
    let Some(mut d) = Duo::start() else { return };
    d.lines(
        &[
            "XADD st 1-1 f v",
            "XADD st 2-1 f w g x",
            "XADD st 3-1 f y",
            "XGROUP CREATE st g1 0",
            "XGROUP CREATE st g2 $",
            "XREADGROUP GROUP g1 alice COUNT 2 STREAMS st >",
            "XREADGROUP GROUP g1 bob STREAMS st >",
            "XGROUP CREATECONSUMER st g2 idle",
            "XCLAIM st g1 bob 0 1-1 TIME 1700000000000 RETRYCOUNT 4",
            "XDEL st 2-1",
        ],
        both,
    );
    // Redis's payload into Cairn: the same groups, and DUMPed again the
    // same bytes (times included: they were restored).
    let theirs = payload(d.redis.cmds(&["DUMP", "st"]));
    assert_eq!(
        d.cairn.cmd(&[b"RESTORE", b"copy", b"0", &theirs]),
        simple("OK")
    );
    assert_eq!(payload(d.cairn.cmds(&["DUMP", "copy"])), theirs);
    assert_eq!(
        d.cairn.cmds(&["XINFO", "STREAM", "copy", "FULL"]),
        d.redis.cmds(&["XINFO", "STREAM", "st", "FULL"])
    );
    // Cairn's own payload into Redis.
    let ours = payload(d.cairn.cmds(&["DUMP", "st"]));
    assert_eq!(
        d.redis.cmd(&[b"RESTORE", b"mine", b"0", &ours]),
        simple("OK")
    );
    assert_eq!(
        d.redis.cmds(&["XINFO", "STREAM", "mine", "FULL"]),
        d.cairn.cmds(&["XINFO", "STREAM", "st", "FULL"])
    );
}

#[test]
fn blocked_xreadgroup_is_served_or_told_why_it_ends() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmds(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    let block = |r: &mut Raw| {
        r.send(&encode(&[
            b"XREADGROUP",
            b"GROUP",
            b"g",
            b"w",
            b"BLOCK",
            b"0",
            b"STREAMS",
            b"s",
            b">",
        ]));
        assert!(r.silent_for(Duration::from_millis(100)), "served at once");
    };
    // Served by an XADD from another client, and pending for it.
    let mut w = s.raw();
    block(&mut w);
    c.cmds(&["XADD", "s", "5-1", "f", "v"]);
    let got = show(&w.read());
    assert!(got.contains("5-1"), "{got}");
    let pending = format!("{:?}", c.cmds(&["XPENDING", "s", "g"]));
    assert!(pending.contains("Int(1)"), "{pending}");
    // A SETID or a new consumer does not end the wait (not even a SETID
    // back to the start: as in Redis, the next XADD serves it); the
    // group's end does.
    block(&mut w);
    c.cmds(&["XGROUP", "CREATECONSUMER", "s", "g", "other"]);
    c.cmds(&["XGROUP", "SETID", "s", "g", "0"]);
    assert!(w.silent_for(Duration::from_millis(100)));
    c.cmds(&["XADD", "s", "6-1", "f", "v"]);
    let got = show(&w.read());
    assert!(got.contains("5-1") && got.contains("6-1"), "{got}");
    block(&mut w);
    c.cmds(&["XGROUP", "DESTROY", "s", "g"]);
    assert_eq!(
        w.read(),
        err("NOGROUP the consumer group this client was blocked on no longer exists")
    );
    // The key's end does too, whether deleted or overwritten.
    for end in [&["DEL", "s"][..], &["SET", "s", "x"][..]] {
        c.cmds(&["DEL", "s"]);
        c.cmds(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        block(&mut w);
        c.cmds(end);
        assert_eq!(
            w.read(),
            err("UNBLOCKED the stream key no longer exists"),
            "{end:?}"
        );
    }
    // A timeout answers a null array; MULTI does not block.
    c.cmds(&["DEL", "s"]);
    c.cmds(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
    assert_eq!(
        c.cmds(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "w",
            "BLOCK",
            "50",
            "STREAMS",
            "s",
            ">"
        ]),
        Resp::Array(None)
    );
}

/// Counters past i64's range (they wrap, as in Redis) are logged in a form
/// the replay takes back: the server restarts after kill -9 with the same
/// groups.
#[test]
fn extreme_counters_survive_log_replay() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    for line in [
        "XADD k 1-1 f v",
        "XADD k 2-1 f v",
        "XGROUP CREATE k g 0",
        "XGROUP SETID k g 0 ENTRIESREAD 9223372036854775807",
        "XREADGROUP GROUP g c COUNT 1 STREAMS k >",
        "XCLAIM k g c 0 1-1 RETRYCOUNT 9223372036854775807",
        "XCLAIM k g c 0 1-1",
        "XREADGROUP GROUP g c STREAMS k 0",
    ] {
        let r = c.line(line);
        assert!(!matches!(r, Resp::Error(_)), "{line}: {}", show(&r));
    }
    let want = groups_view(&mut c, "k");
    let got = show(&want);
    assert!(got.contains("-9223372036854775807"), "{got}");
    s.kill9();
    let s = s.restart(&[]);
    let mut c = s.raw();
    assert_eq!(show(&groups_view(&mut c, "k")), got);
}

/// One connection per command (space-separated), each sent and left
/// blocked.
fn blocked_readers(port: u16, cmds: &[&str]) -> Vec<Raw> {
    cmds.iter()
        .map(|cmd| {
            let mut w = Raw::connect(port);
            let a: Vec<&[u8]> = cmd.split(' ').map(|x| x.as_bytes()).collect();
            w.send(&encode(&a));
            assert!(w.silent_for(Duration::from_millis(100)), "{cmd:?}");
            w
        })
        .collect()
}

/// A blocked XREAD or XREADGROUP without COUNT that is served takes at
/// most 1000 entries, as in Redis.
#[test]
fn a_served_blocked_read_takes_at_most_1000_entries() {
    let Some(r) = RedisServer::start() else {
        return;
    };
    let s = Server::start(&[]);
    for port in [s.port, r.port] {
        let mut c = Raw::connect(port);
        c.cmds(&["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"]);
        let mut readers = blocked_readers(
            port,
            &[
                "XREAD BLOCK 0 STREAMS s $",
                "XREADGROUP GROUP g c BLOCK 0 STREAMS s >",
            ],
        );
        let mut batch = encode(&[b"MULTI"]);
        for i in 1..=1500 {
            let id = format!("{i}-1");
            batch.extend(encode(&[b"XADD", b"s", id.as_bytes(), b"f", b"v"]));
        }
        batch.extend(encode(&[b"EXEC"]));
        c.send(&batch);
        for _ in 0..1502 {
            c.read();
        }
        for w in &mut readers {
            let got = w.read();
            let n = match &got {
                Resp::Array(Some(v)) => match &v[0] {
                    Resp::Array(Some(kv)) => match &kv[1] {
                        Resp::Array(Some(e)) => e.len(),
                        other => panic!("{other:?}"),
                    },
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            };
            assert_eq!(n, 1000, "port {port}");
        }
    }
}

/// A blocked read on two streams that both get entries in one EXEC is
/// answered with the first one only, as Redis serves one key at a time
/// (the other's entries stay undelivered for the group).
#[test]
fn a_blocked_read_is_served_one_key_at_a_time() {
    let Some(r) = RedisServer::start() else {
        return;
    };
    let s = Server::start(&[]);
    let mut seen = Vec::new();
    for port in [s.port, r.port] {
        let mut c = Raw::connect(port);
        for k in ["a", "b"] {
            c.cmds(&["XGROUP", "CREATE", k, "g", "$", "MKSTREAM"]);
        }
        let mut readers = blocked_readers(
            port,
            &[
                "XREAD BLOCK 0 STREAMS a b $ $",
                "XREADGROUP GROUP g c BLOCK 0 STREAMS a b > >",
            ],
        );
        for line in ["MULTI", "XADD a 1-1 f v", "XADD b 1-1 f v", "EXEC"] {
            c.line(line);
        }
        let replies: Vec<Resp> = readers.iter_mut().map(|w| w.read()).collect();
        for r in &replies {
            // [[key, entries]]: one stream served, `a`.
            let Resp::Array(Some(streams)) = r else {
                panic!("{}", show(r))
            };
            let keys: Vec<&Resp> = streams
                .iter()
                .filter_map(|x| match x {
                    Resp::Array(Some(pair)) => pair.first(),
                    _ => None,
                })
                .collect();
            assert_eq!(keys, [&bulk("a")], "port {port}: {}", show(r));
        }
        let mut got: Vec<String> = replies.iter().map(show).collect();
        got.push(show(&c.cmds(&["XPENDING", "b", "g"])));
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
}
