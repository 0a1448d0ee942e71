//! Pub/sub: delivery through a real client library, the subscribed
//! context, cleanup, slow subscribers, and random multi-client streams
//! compared with a real redis-server.
//!
//! Fence: to know that every message published so far has reached a
//! client, the tests send it `PING <unique>` and read up to that reply.
//! Both servers put a message into a subscriber's output before they run
//! the subscriber's next command (a message published before the PING
//! was sent comes before its reply).

mod common;
use cairn::util::XorShift64;
use common::*;
use std::time::{Duration, Instant};

// ------------------------------------------------------------------ plumbing

/// Send a command and read its reply frames (everything up to a fence).
fn run(c: &mut Raw, args: &[&str], tag: &str) -> Vec<Resp> {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.send(&encode(&a));
    c.until_fence(tag)
}

fn push3(verb: &str, name: Option<&str>, n: i64) -> Resp {
    let name = name.map_or(Resp::Bulk(None), bulk);
    Resp::Array(Some(vec![bulk(verb), name, Resp::Int(n)]))
}

fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out: {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ------------------------------------------------------------------ Cairn

#[test]
fn messages_reach_a_redis_rs_subscriber() {
    let s = Server::start(&[]);
    let mut sub_conn = s.client();
    let mut publisher = s.client();
    let mut sub = sub_conn.as_pubsub();
    sub.subscribe("news").unwrap();
    sub.psubscribe("n*").unwrap();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("hello")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 2, "one channel and one pattern subscription");
    sub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let m = sub.get_message().unwrap();
    assert_eq!(m.get_channel_name(), "news");
    assert!(!m.from_pattern());
    assert_eq!(m.get_payload::<String>().unwrap(), "hello");
    let m = sub.get_message().unwrap();
    assert!(m.from_pattern());
    assert_eq!(m.get_pattern::<String>().unwrap(), "n*");
    assert_eq!(m.get_payload::<String>().unwrap(), "hello");
    let n: i64 = redis::cmd("PUBLISH")
        .arg("other")
        .arg("x")
        .query(&mut publisher)
        .unwrap();
    assert_eq!(n, 0);
}

#[test]
fn subscribed_resp2_client_is_restricted_until_it_leaves() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(
        run(&mut c, &["SUBSCRIBE", "a", "b", "a"], "f1"),
        vec![
            push3("subscribe", Some("a"), 1),
            push3("subscribe", Some("b"), 2),
            push3("subscribe", Some("a"), 2)
        ]
    );
    let refused = "ERR Can't execute 'get': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context";
    assert_eq!(run(&mut c, &["GET", "k"], "f2"), vec![err(refused)]);
    assert_eq!(
        c.cmds(&["PING"]),
        Resp::Array(Some(vec![bulk("pong"), bulk("")]))
    );
    // Subcommands are named by their full name; an unknown one is
    // refused as unknown first.
    assert_eq!(
        c.cmds(&["PUBSUB", "NUMPAT"]),
        err(
            "ERR Can't execute 'pubsub|numpat': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context"
        )
    );
    assert_eq!(
        c.cmds(&["PUBSUB", "FOO"]),
        err("ERR unknown subcommand 'FOO'. Try PUBSUB HELP.")
    );
    let mut frames = run(&mut c, &["UNSUBSCRIBE"], "f3");
    let counts: Vec<Resp> = frames
        .iter_mut()
        .map(|f| match f {
            Resp::Array(Some(v)) => v.pop().unwrap(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(counts, vec![Resp::Int(1), Resp::Int(0)]);
    assert_eq!(c.cmds(&["GET", "k"]), Resp::Bulk(None));
    assert_eq!(c.cmds(&["PING"]), simple("PONG"));
    // RESP3 clients are not restricted; their replies are pushes.
    assert!(matches!(c.cmds(&["HELLO", "3"]), Resp::Map(_)));
    assert_eq!(
        c.cmds(&["SUBSCRIBE", "z"]),
        Resp::Push(vec![bulk("subscribe"), bulk("z"), Resp::Int(1)])
    );
    assert_eq!(c.cmds(&["GET", "k"]), Resp::Null);
    // A message to itself comes before PUBLISH's reply.
    assert_eq!(
        run(&mut c, &["PUBLISH", "z", "me"], "f4"),
        vec![
            Resp::Push(vec![bulk("message"), bulk("z"), bulk("me")]),
            Resp::Int(1)
        ]
    );
    // RESET leaves every subscription (and RESP3).
    assert_eq!(c.cmds(&["RESET"]), simple("RESET"));
    assert_eq!(
        c.cmds(&["PUBSUB", "NUMSUB", "z"]),
        Resp::Array(Some(vec![bulk("z"), Resp::Int(0)]))
    );
}

#[test]
fn disconnected_subscribers_leave_the_registry() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    {
        let mut a = s.raw();
        let mut b = s.raw();
        run(&mut a, &["SUBSCRIBE", "c1", "c2"], "f1");
        run(&mut b, &["PSUBSCRIBE", "c*"], "f2");
        run(&mut b, &["SSUBSCRIBE", "s1"], "f3");
        assert_eq!(admin.info("stats", "pubsub_channels").as_deref(), Some("2"));
        assert_eq!(admin.info("stats", "pubsub_patterns").as_deref(), Some("1"));
        assert_eq!(
            admin.info("stats", "pubsubshard_channels").as_deref(),
            Some("1")
        );
        let list = admin.cmds(&["CLIENT", "LIST", "TYPE", "pubsub"]);
        let Resp::Bulk(Some(text)) = list else {
            panic!("{list:?}")
        };
        let text = String::from_utf8(text).unwrap();
        assert_eq!(text.lines().count(), 2, "{text}");
        assert!(text.contains("flags=P db=0 sub=2 psub=0 ssub=0"), "{text}");
        assert!(text.contains("flags=P db=0 sub=0 psub=1 ssub=1"), "{text}");
        assert_eq!(admin.cmds(&["PUBLISH", "c1", "x"]), Resp::Int(2));
    }
    wait_until("subscribers gone", || {
        admin.cmds(&["PUBLISH", "c1", "x"]) == Resp::Int(0)
            && admin.cmds(&["SPUBLISH", "s1", "x"]) == Resp::Int(0)
    });
    assert_eq!(admin.info("stats", "pubsub_channels").as_deref(), Some("0"));
    assert_eq!(admin.cmds(&["PUBSUB", "NUMPAT"]), Resp::Int(0));
    // The subcommand as typed, as redis-server 7.0.15 names it.
    assert_eq!(
        admin.cmds(&["pubsub", "Channels", "a", "b"]),
        err("ERR unknown subcommand or wrong number of arguments for 'Channels'. Try PUBSUB HELP.")
    );
    assert_eq!(
        admin.cmds(&["PUBSUB", "CHANNELS"]),
        Resp::Array(Some(vec![]))
    );
}

#[test]
fn a_subscriber_that_does_not_read_is_cut_off_at_the_pubsub_limit() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmds(&[
            "CONFIG",
            "SET",
            "client-output-buffer-limit",
            "pubsub 1mb 256kb 60"
        ]),
        simple("OK")
    );
    let mut slow = s.raw();
    run(&mut slow, &["SUBSCRIBE", "firehose"], "f1");
    let mut fast = s.raw();
    run(&mut fast, &["SUBSCRIBE", "firehose"], "f2");
    // 32 MB published while `slow` reads nothing; `fast` keeps reading.
    let payload = "x".repeat(16 * 1024);
    let mut publisher = s.raw();
    let mut received = 0usize;
    for i in 0..2048 {
        publisher.send(&encode(&[b"PUBLISH", b"firehose", payload.as_bytes()]));
        let n = publisher.read();
        assert!(matches!(n, Resp::Int(1) | Resp::Int(2)), "{n:?}");
        if i % 8 == 7 {
            received += fast.until_fence(&format!("p{i}")).len();
        }
    }
    received += fast.until_fence("end").len();
    assert_eq!(received, 2048, "the reading subscriber got every message");
    wait_until("slow subscriber dropped", || {
        admin.cmds(&["PUBSUB", "NUMSUB", "firehose"])
            == Resp::Array(Some(vec![bulk("firehose"), Resp::Int(1)]))
    });
    let (_, closed) = slow.read_until_closed(Duration::from_secs(10));
    assert!(closed, "the slow subscriber's connection was closed");
    // The server's memory did not keep the 32 MB.
    let rss: u64 = admin
        .info("memory", "used_memory_rss")
        .unwrap()
        .parse()
        .unwrap();
    assert!(rss < 200 << 20, "rss {rss}");
}

#[test]
fn subscribe_inside_multi_and_publish_is_not_logged() {
    let s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["MULTI"]), simple("OK"));
    assert_eq!(c.cmds(&["SUBSCRIBE", "x"]), simple("QUEUED"));
    assert_eq!(
        c.cmds(&["EXEC"]),
        Resp::Array(Some(vec![push3("subscribe", Some("x"), 1)]))
    );
    let mut p = s.raw();
    assert_eq!(p.cmds(&["PUBLISH", "x", "m"]), Resp::Int(1));
    assert_eq!(
        c.read(),
        Resp::Array(Some(vec![bulk("message"), bulk("x"), bulk("m")]))
    );
    assert_eq!(p.cmds(&["SET", "k", "v"]), simple("OK"));
    let s = s.restart(&["--appendfsync", "always"]);
    let mut p = s.raw();
    assert_eq!(p.cmds(&["GET", "k"]), bulk("v"));
    // Nothing but the SET was replayed: no subscribers, no error.
    assert_eq!(p.cmds(&["PUBSUB", "CHANNELS"]), Resp::Array(Some(vec![])));
}

// ------------------------------------------------------------------ against Redis

/// Clients per server in the random streams.
const CLIENTS: usize = 4;
const CHANNELS: &[&str] = &["c0", "c1", "c2", "news.a", "news.b", "n"];
const PATTERNS: &[&str] = &["c*", "news.*", "*", "c[01]", "n?ws.*", "x"];
const SHARDS: &[&str] = &["s0", "s1", "c0"];

/// `min` to `min + 2` names from a pool.
fn some<'a>(r: &mut XorShift64, s: &[&'a str], min: usize) -> Vec<&'a str> {
    let n = min + r.below(3);
    (0..n).map(|_| r.pick(s)).collect()
}

/// One random command (as strings).
fn random_command(r: &mut XorShift64) -> Vec<String> {
    let mut v: Vec<&str> = match r.below(20) {
        0..=2 => [vec!["SUBSCRIBE"], some(r, CHANNELS, 1)].concat(),
        3 => [vec!["UNSUBSCRIBE"], some(r, CHANNELS, 0)].concat(),
        4..=5 => [vec!["PSUBSCRIBE"], some(r, PATTERNS, 1)].concat(),
        6 => [vec!["PUNSUBSCRIBE"], some(r, PATTERNS, 0)].concat(),
        7 => [vec!["SSUBSCRIBE"], some(r, SHARDS, 1)].concat(),
        8 => [vec!["SUNSUBSCRIBE"], some(r, SHARDS, 0)].concat(),
        9..=11 => vec!["PUBLISH", r.pick(CHANNELS), r.pick(&["m1", "", "m2"])],
        12 => vec!["SPUBLISH", r.pick(SHARDS), "sm"],
        13 => match r.below(6) {
            0 => vec!["PUBSUB", "CHANNELS"],
            1 => vec!["PUBSUB", "CHANNELS", r.pick(PATTERNS)],
            2 => [vec!["PUBSUB", "NUMSUB"], some(r, CHANNELS, 0)].concat(),
            3 => vec!["PUBSUB", "NUMPAT"],
            4 => vec!["PUBSUB", "SHARDCHANNELS"],
            _ => [vec!["PUBSUB", "SHARDNUMSUB"], some(r, SHARDS, 0)].concat(),
        },
        14 => vec!["GET", "k"],
        15 => vec!["PING"],
        16 => vec!["HELLO", r.pick(&["2", "3"])],
        17 => vec!["RESET"],
        18 => vec!["PUBSUB", "NUMPAT", "extra"],
        _ => vec!["PING", "hi"],
    };
    if v.is_empty() {
        v.push("PING");
    }
    v.into_iter().map(String::from).collect()
}

/// Frames normalized where the servers may legitimately differ: the order
/// of names in an unsubscribe-all and in PUBSUB CHANNELS (dict order),
/// the order of one publish's deliveries to a client (pattern dict
/// order), the connection id in HELLO.
fn normalize(cmd: &[String], mut frames: Vec<Resp>) -> Vec<String> {
    let up = cmd[0].to_ascii_uppercase();
    let sort_all = (up.ends_with("UNSUBSCRIBE") && cmd.len() == 1)
        || up == "PUBLISH"
        || up == "SPUBLISH"
        || (up == "PUBSUB" && cmd[1].ends_with("CHANNELS"));
    for f in frames.iter_mut() {
        match f {
            Resp::Map(m) => {
                for (k, v) in m.iter_mut() {
                    if *k == bulk("id") {
                        *v = Resp::Int(0);
                    }
                }
            }
            Resp::Array(Some(v)) if up == "HELLO" => {
                if let Some(i) = v.iter().position(|x| *x == bulk("id")) {
                    v[i + 1] = Resp::Int(0);
                }
            }
            Resp::Array(Some(v)) | Resp::Set(v) if up == "PUBSUB" => {
                v.sort_by_key(|x| format!("{x:?}"))
            }
            _ => {}
        }
    }
    let mut out: Vec<String> = frames.iter().map(|f| format!("{f:?}")).collect();
    if sort_all && up.ends_with("UNSUBSCRIBE") {
        // Names as a set; the counts fall one by one in either order.
        let counts: Vec<String> = frames
            .iter()
            .map(|f| match f {
                Resp::Array(Some(v)) | Resp::Push(v) => format!("{:?}", v.last()),
                other => format!("{other:?}"),
            })
            .collect();
        let mut names: Vec<String> = frames
            .iter()
            .map(|f| match f {
                Resp::Array(Some(v)) | Resp::Push(v) => format!("{:?}{:?}", v[0], v[1]),
                other => format!("{other:?}"),
            })
            .collect();
        names.sort();
        out = [names, counts].concat();
    } else if sort_all {
        out.sort();
    }
    out
}

#[test]
fn random_multi_client_streams_match_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&[]);
    let seeds: u64 = env_count("CAIRN_PUBSUB_SEEDS", 6);
    let mut mismatches = Vec::new();
    let mut deliveries = 0usize;
    for seed in 1..=seeds {
        let mut r = XorShift64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut ours: Vec<Raw> = (0..CLIENTS).map(|_| cairn.raw()).collect();
        let mut theirs: Vec<Raw> = (0..CLIENTS).map(|_| Raw::connect(redis.port)).collect();
        for step in 0..300 {
            let who = r.below(CLIENTS);
            let cmd = random_command(&mut r);
            let args: Vec<&str> = cmd.iter().map(|s| s.as_str()).collect();
            let tag = format!("t{seed}-{step}");
            let a = normalize(&cmd, run(&mut ours[who], &args, &tag));
            let b = normalize(&cmd, run(&mut theirs[who], &args, &tag));
            if a != b {
                mismatches.push(format!(
                    "seed {seed} step {step} client {who} {cmd:?}\n  cairn {a:?}\n  redis {b:?}"
                ));
            }
            // Every client's deliveries so far, one publish's worth.
            for c in 0..CLIENTS {
                let tag = format!("d{seed}-{step}-{c}");
                let a = normalize(&cmd, ours[c].until_fence(&tag));
                let b = normalize(&cmd, theirs[c].until_fence(&tag));
                deliveries += b.len();
                if a != b {
                    mismatches.push(format!(
                        "seed {seed} step {step} deliveries to client {c} after {cmd:?}\n  cairn {a:?}\n  redis {b:?}"
                    ));
                }
            }
        }
        // The next seed starts from nothing on both servers.
        for c in ours.iter_mut().chain(theirs.iter_mut()) {
            assert_eq!(c.cmds(&["RESET"]), simple("RESET"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        deliveries > 100,
        "the streams delivered only {deliveries} messages"
    );
}
