//! Keyspace notifications against a real redis-server: both servers get
//! `notify-keyspace-events KEAnm` (every class, new-key and key-miss
//! events included) and a subscriber to every key event; a
//! random stream of write commands over every type (a small key space, so
//! commands meet keys of every type, missing keys and empties) goes to
//! both, and after each command the events it caused must be the same, in
//! the same order, as well as its reply.
//!
//! `expired` events are compared per seed as a multiset: lazy expiry is
//! deterministic, but each server's active expiry runs on its own clock.
//! Commands with random effects (SPOP with a small count, SRANDMEMBER) are
//! left out or used so that the result is deterministic (SPOP with a count
//! larger than any set here pops everything; its reply is compared as a
//! set). A key given an expiry in the past is read at once (EXISTS), as
//! in the main differential test: Redis keeps such a key until something
//! touches it, and what touches it first decides between `expired` and
//! `del`. ZREMRANGEBYLEX is left out: lex ranges over different scores are
//! undefined.

mod common;
use cairn::util::XorShift64;
use common::*;

/// Command templates: `K` a key, `V` a value, `F` a hash field, `M` a set
/// or sorted set member, `S` a score, `N` a small integer.
const TEMPLATES: &[&str] = &[
    // strings
    "SET K V",
    "SET K V EX 100",
    "SET K V NX",
    "SET K V XX GET",
    "SET K V KEEPTTL",
    "SETNX K V",
    "SETEX K 100 V",
    "SET K V PXAT 1",
    "GETEX K PXAT 1",
    "MSET K V K V",
    "MSETNX K V K V",
    "GETSET K V",
    "GETDEL K",
    "GETEX K EX 100",
    "GETEX K PERSIST",
    "APPEND K V",
    "INCR K",
    "DECRBY K N",
    "INCRBYFLOAT K 1.5",
    "SETRANGE K N V",
    "SETBIT K N 1",
    "SETBIT K N 0",
    "BITOP OR K K K",
    "BITOP AND K K",
    "BITFIELD K SET u8 0 N",
    "BITFIELD K INCRBY u2 0 N OVERFLOW FAIL INCRBY u2 0 3",
    "PFADD K V V",
    "PFMERGE K K",
    // keys
    "DEL K K",
    "UNLINK K",
    "EXPIRE K 100",
    "EXPIRE K 100 NX",
    "EXPIRE K -1",
    "PEXPIREAT K 1",
    "PERSIST K",
    "RENAME K K",
    "RENAMENX K K",
    "COPY K K",
    "COPY K K REPLACE",
    "MOVE K 1",
    "SORT K STORE K",
    "SORT K ALPHA STORE K",
    "EXISTS K",
    "GET K",
    // lists
    "LPUSH K V V",
    "RPUSH K V",
    "LPUSHX K V",
    "RPUSHX K V",
    "LPOP K",
    "RPOP K 2",
    "LINSERT K BEFORE V V",
    "LSET K 0 V",
    "LSET K 5 V",
    "LTRIM K 1 -1",
    "LTRIM K 5 2",
    "LREM K 0 V",
    "LMOVE K K LEFT RIGHT",
    "RPOPLPUSH K K",
    "LMPOP 2 K K LEFT COUNT 2",
    "BLPOP K K 0.01",
    "BLMOVE K K RIGHT LEFT 0.01",
    // hashes
    "HSET K F V F V",
    "HSETNX K F V",
    "HMSET K F V",
    "HDEL K F F",
    "HINCRBY K F N",
    "HINCRBYFLOAT K F 1.5",
    // sets
    "SADD K M M",
    "SREM K M M",
    "SPOP K 20",
    "SMOVE K K M",
    "SINTERSTORE K K K",
    "SUNIONSTORE K K K",
    "SDIFFSTORE K K K",
    // sorted sets
    "ZADD K S M S M",
    "ZADD K INCR S M",
    "ZADD K XX CH S M",
    "ZADD K NX S M",
    "ZADD K GT S M",
    "ZINCRBY K S M",
    "ZREM K M M",
    "ZREMRANGEBYSCORE K 0 5",
    "ZREMRANGEBYRANK K 0 1",
    "ZPOPMIN K",
    "ZPOPMAX K 2",
    "ZMPOP 2 K K MIN COUNT 2",
    "BZPOPMIN K 0.01",
    "ZUNIONSTORE K 2 K K",
    "ZINTERSTORE K 2 K K WEIGHTS 1 2",
    "ZDIFFSTORE K 2 K K",
    "ZRANGESTORE K K 0 -1",
    // reads (key-miss events) and copies (new-key events)
    "GET K",
    "MGET K K",
    "STRLEN K",
    "GETRANGE K 0 2",
    "GETBIT K N",
    "BITCOUNT K",
    "PFCOUNT K",
    "EXISTS K K",
    "TYPE K",
    "TTL nokey",
    "PTTL nokey",
    "OBJECT ENCODING K",
    "LLEN K",
    "LRANGE K 0 -1",
    "LINDEX K 0",
    "HGET K F",
    "HGETALL K",
    "HEXISTS K F",
    "SMEMBERS K",
    "SISMEMBER K M",
    "SCARD K",
    "SINTER K K",
    "ZSCORE K M",
    "ZRANGE K 0 -1",
    "ZCARD K",
    "ZRANK K M",
    "SORT K",
    "COPY K K",
    "COPY K K REPLACE",
    "RENAME K K",
    // geo (sorted sets)
    "GEOADD K 13.3 38.1 M 15 37.5 M",
    "GEOADD K XX CH 14 37 M",
    "GEORADIUS K 14 37 500 km STORE K",
    "GEORADIUSBYMEMBER K M 500 km STOREDIST K",
    "GEOSEARCHSTORE K K FROMLONLAT 14 37 BYRADIUS 500 km",
    // streams (explicit IDs: the servers' clocks differ)
    "XADD K I* F V",
    "XADD K I F V F V",
    "XADD K NOMKSTREAM I* F V",
    "XADD K MAXLEN ~ N I* F V",
    "XADD K MAXLEN N I* F V",
    "XTRIM K MAXLEN N",
    "XTRIM K MINID I",
    "XDEL K I I",
    "XSETID K I",
    "XGROUP CREATE K F 0 MKSTREAM",
    "XGROUP CREATE K F $",
    "XGROUP SETID K F I",
    "XGROUP DESTROY K F",
    "XGROUP CREATECONSUMER K F M",
    "XGROUP DELCONSUMER K F M",
    "XREADGROUP GROUP F M COUNT N STREAMS K >",
    "XREADGROUP GROUP F M NOACK STREAMS K >",
    "XREADGROUP GROUP F M STREAMS K 0",
    "XACK K F I",
    "XCLAIM K F M 0 I",
    "XAUTOCLAIM K F M 0 0 COUNT N",
    "XLEN K",
    "XRANGE K - +",
    "XREAD STREAMS K 0",
];

fn fill(t: &str, r: &mut XorShift64) -> Vec<String> {
    t.split_whitespace()
        .map(|w| match w {
            "K" => format!("k{}", r.below(5)),
            "V" => ["a", "b", "1", "xyz", "7"][r.below(5)].to_string(),
            "F" => format!("f{}", r.below(3)),
            "M" => ["a", "b", "c", "1", "2"][r.below(5)].to_string(),
            "S" => ["1", "2.5", "-1", "3"][r.below(4)].to_string(),
            "N" => r.below(9).to_string(),
            "I" => format!("{}-{}", r.below(9), r.below(3)),
            "I*" => format!("{}-*", r.below(9)),
            w => w.to_string(),
        })
        .collect()
}

/// Read a subscriber's frames up to the reply of `PING <tag>`, as
/// `channel message` lines; `expired` events go to `expired`.
fn events(sub: &mut Raw, tag: &str, expired: &mut Vec<String>) -> Vec<String> {
    let mut out = Vec::new();
    for r in sub.until_fence(tag) {
        let text = match &r {
            Resp::Array(Some(v)) if v.len() == 4 => format!("{} {}", txt(&v[2]), txt(&v[3])),
            other => txt(other),
        };
        if text.contains("expired") {
            expired.push(text);
        } else {
            out.push(text);
        }
    }
    out
}

/// A reply in readable form.
fn txt(r: &Resp) -> String {
    match r {
        Resp::Bulk(Some(b)) | Resp::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        Resp::Error(b) => format!("-{}", String::from_utf8_lossy(b)),
        Resp::Array(Some(v)) => format!("[{}]", v.iter().map(txt).collect::<Vec<_>>().join(", ")),
        other => format!("{other:?}"),
    }
}

/// An array reply with its elements in a fixed order.
fn sorted(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(mut v)) => {
            v.sort_by_key(txt);
            Resp::Array(Some(v))
        }
        other => other,
    }
}

fn send(c: &mut Raw, args: &[String]) -> Resp {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    c.cmd(&a)
}

#[test]
fn keyspace_events_match_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&[]);
    let seeds: u64 = env_count("CAIRN_NOTIFY_SEEDS", 4);
    let (mut r, mut c) = (Raw::connect(redis.port), Raw::connect(cairn.port));
    let (mut rs, mut cs) = (Raw::connect(redis.port), Raw::connect(cairn.port));
    for (cmd, sub) in [(&mut r, &mut rs), (&mut c, &mut cs)] {
        let on = cmd.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KEAnm"]);
        assert_eq!(on, simple("OK"));
        // Shown as Redis shows it: no `n` next to `A`.
        assert_eq!(
            cmd.cmds(&["CONFIG", "GET", "notify-keyspace-events"]),
            Resp::Array(Some(vec![bulk("notify-keyspace-events"), bulk("AKEm")]))
        );
        sub.cmds(&["PSUBSCRIBE", "__key*__:*"]);
    }
    let mut mismatches = Vec::new();
    let mut compared = 0usize;
    for seed in 1..=seeds {
        let mut rng = XorShift64(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        assert_eq!(
            send(&mut r, &["FLUSHALL".into()]),
            send(&mut c, &["FLUSHALL".into()])
        );
        let (mut rx, mut cx) = (Vec::new(), Vec::new());
        for step in 0..1500 {
            let args = fill(TEMPLATES[rng.below(TEMPLATES.len())], &mut rng);
            let mut cmds = vec![args.clone()];
            if args.iter().any(|a| a == "PXAT") {
                cmds.push(vec!["EXISTS".into(), args[1].clone()]);
            }
            for args in cmds {
                let (mut a, mut b) = (send(&mut r, &args), send(&mut c, &args));
                // Set replies: a hashtable set's order is its hash
                // function's (Redis seeds it at random).
                if ["SPOP", "SMEMBERS", "SINTER"].contains(&args[0].as_str()) {
                    (a, b) = (sorted(a), sorted(b));
                }
                let tag = format!("f{seed}-{step}");
                let ea = events(&mut rs, &tag, &mut rx);
                let eb = events(&mut cs, &tag, &mut cx);
                compared += ea.len();
                if a != b || ea != eb {
                    mismatches.push(format!(
                        "seed {seed} step {step} {args:?}\n  redis {} {ea:?}\n  cairn {} {eb:?}",
                        txt(&a),
                        txt(&b)
                    ));
                }
            }
        }
        rx.sort();
        cx.sort();
        if rx != cx {
            mismatches.push(format!(
                "seed {seed} expired events\n  redis {rx:?}\n  cairn {cx:?}"
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .take(40)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    eprintln!("{compared} events compared");
    assert!(compared > 2000, "only {compared} events compared");
}

#[test]
fn active_expiry_and_set_over_an_expired_key_announce_expired() {
    let s = Server::start(&[]);
    let mut admin = s.raw();
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "notify-keyspace-events", "Ex"]),
        simple("OK")
    );
    assert_eq!(
        admin.cmds(&["CONFIG", "GET", "notify-keyspace-events"]),
        Resp::Array(Some(vec![bulk("notify-keyspace-events"), bulk("xE")]))
    );
    let mut sub = s.raw();
    sub.cmds(&["SUBSCRIBE", "__keyevent@0__:expired"]);
    // Nobody touches `gone`: the active expiry cycle removes it.
    assert_eq!(admin.cmds(&["SET", "gone", "v", "PX", "50"]), simple("OK"));
    assert_eq!(
        sub.read(),
        Resp::Array(Some(vec![
            bulk("message"),
            bulk("__keyevent@0__:expired"),
            bulk("gone")
        ]))
    );
    // A SET over a key that has expired but is still stored announces
    // the expiry first (Redis's lookup in SET).
    assert_eq!(
        admin.cmds(&["DEBUG", "SET-ACTIVE-EXPIRE", "0"]),
        simple("OK")
    );
    assert_eq!(admin.cmds(&["SET", "k", "v", "PX", "1"]), simple("OK"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(admin.cmds(&["SET", "k", "w"]), simple("OK"));
    assert_eq!(
        sub.read(),
        Resp::Array(Some(vec![
            bulk("message"),
            bulk("__keyevent@0__:expired"),
            bulk("k")
        ]))
    );
    // Every class Redis has is accepted, `n` and `m` included.
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "notify-keyspace-events", "KEn"]),
        simple("OK")
    );
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "notify-keyspace-events", "Kq"]),
        err(
            "ERR CONFIG SET failed (possibly related to argument 'notify-keyspace-events') - Invalid event class character. Use 'Ag$lshzxeKEtmdn'."
        )
    );
    assert_eq!(
        admin.cmds(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        simple("OK")
    );
    assert_eq!(admin.cmds(&["SET", "k2", "v", "PX", "1"]), simple("OK"));
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(admin.cmds(&["GET", "k2"]), Resp::Bulk(None));
    assert!(sub.silent_for(std::time::Duration::from_millis(200)));
}
