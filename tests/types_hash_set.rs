//! Hash and set commands: differential tests against a real redis-server
//! (deterministic table + seeded random streams, RESP2 and RESP3) and a
//! replay test (journal restart keeps hash/set contents exactly).
//!
//! OBJECT ENCODING is not compared in the random streams (SPOP resyncs
//! rebuild keys, which may change Redis's encoding history).

mod common;

use common::Rng;

use common::{Duo, Resp, Server};

const ORDER_FREE: &[&str] = &[
    "smembers", "sinter", "sunion", "sdiff", "hkeys", "hvals", "hgetall", "hscan", "sscan",
];
const RANDOM: &[&str] = &["spop", "srandmember", "hrandfield"];

fn sort_items(v: &mut [Resp]) {
    v.sort_by_key(|r| format!("{r:?}"));
}

/// Normalize an order-free reply.
fn norm(cmd: &str, r: Resp) -> Resp {
    match (cmd, r) {
        ("hgetall", Resp::Array(Some(v))) => {
            let mut pairs: Vec<Resp> = v.chunks(2).map(|c| Resp::Array(Some(c.to_vec()))).collect();
            sort_items(&mut pairs);
            Resp::Array(Some(pairs))
        }
        ("hgetall", Resp::Map(mut m)) => {
            m.sort_by_key(|p| format!("{p:?}"));
            Resp::Map(m)
        }
        ("hscan" | "sscan", Resp::Array(Some(mut v))) if v.len() == 2 => {
            if let Resp::Array(Some(items)) = &mut v[1] {
                if cmd == "hscan" {
                    let mut pairs: Vec<Resp> = items
                        .chunks(2)
                        .map(|c| Resp::Array(Some(c.to_vec())))
                        .collect();
                    sort_items(&mut pairs);
                    *items = pairs;
                } else {
                    sort_items(items);
                }
            }
            Resp::Array(Some(v))
        }
        (_, Resp::Array(Some(mut v))) => {
            sort_items(&mut v);
            Resp::Array(Some(v))
        }
        (_, Resp::Set(mut v)) => {
            sort_items(&mut v);
            Resp::Set(v)
        }
        (_, r) => r,
    }
}

/// Shape of a random reply: type and length.
fn shape(r: &Resp) -> String {
    match r {
        Resp::Array(Some(v)) => format!("array{}", v.len()),
        Resp::Set(v) => format!("set{}", v.len()),
        Resp::Bulk(Some(_)) => "bulk".into(),
        other => format!("{other:?}"),
    }
}

fn flat(r: &Resp, out: &mut Vec<Vec<u8>>) {
    match r {
        Resp::Bulk(Some(b)) => out.push(b.clone()),
        Resp::Array(Some(v)) | Resp::Set(v) => v.iter().for_each(|x| flat(x, out)),
        Resp::Map(m) => m.iter().for_each(|(k, v)| {
            flat(k, out);
            flat(v, out);
        }),
        _ => {}
    }
}

impl Duo {
    fn run(&mut self, origin: &str, args: &[&str]) {
        let cmd = args[0].to_ascii_lowercase();
        let key = args.get(1).copied().unwrap_or("");
        // Contents before, for membership checks of random replies.
        let a = self.cairn.cmds(args);
        let b = self.redis.cmds(args);
        let ctx = format!("{origin}: {args:?}\n cairn: {a:?}\n redis: {b:?}");
        if matches!(a, Resp::Error(_)) || matches!(b, Resp::Error(_)) {
            assert_eq!(a, b, "{ctx}");
            return;
        }
        if RANDOM.contains(&cmd.as_str()) {
            assert_eq!(shape(&a), shape(&b), "{ctx}");
            if cmd == "spop" {
                self.resync(key, "set");
            } else {
                let all = if cmd == "hrandfield" {
                    self.cairn.cmds(&["HGETALL", key])
                } else {
                    self.cairn.cmds(&["SMEMBERS", key])
                };
                let mut have = Vec::new();
                flat(&all, &mut have);
                let mut got = Vec::new();
                flat(&a, &mut got);
                for g in &got {
                    assert!(have.contains(g), "{ctx}: {g:?} not in {all:?}");
                }
            }
            return;
        }
        if ORDER_FREE.contains(&cmd.as_str()) {
            assert_eq!(norm(&cmd, a), norm(&cmd, b), "{ctx}");
        } else {
            assert_eq!(a, b, "{ctx}");
        }
    }

    /// After SPOP: make Redis hold Cairn's contents of `key`.
    fn resync(&mut self, key: &str, _t: &str) {
        let a = self.cairn.cmds(&["SMEMBERS", key]);
        let mut m = Vec::new();
        flat(&a, &mut m);
        self.redis.cmds(&["DEL", key]);
        if !m.is_empty() {
            let mut args: Vec<&[u8]> = vec![b"SADD", key.as_bytes()];
            args.extend(m.iter().map(Vec::as_slice));
            self.redis.cmd(&args);
        }
        let b = self.redis.cmds(&["SMEMBERS", key]);
        assert_eq!(norm("smembers", a), norm("smembers", b), "resync {key}");
    }
}

const TABLE: &[&[&str]] = &[
    &["SET", "str", "x"],
    &["HSET", "h", "a", "1", "b", "2"],
    &["HSET", "h", "a", "3"],
    &["HSET", "h", "a"],
    &["HMSET", "h", "c", "x"],
    &["HMSET", "h", "c"],
    &["HSET", "str", "a", "1"],
    &["HSETNX", "h", "a", "9"],
    &["HSETNX", "h", "n", "9"],
    &["HSETNX", "str", "n", "9"],
    &["HGET", "h", "a"],
    &["HGET", "h", "zz"],
    &["HGET", "nokey", "zz"],
    &["HGET", "str", "a"],
    &["HMGET", "h", "a", "zz", "b"],
    &["HMGET", "nokey", "a"],
    &["HMGET", "str", "a"],
    &["HLEN", "h"],
    &["HLEN", "nokey"],
    &["HLEN", "str"],
    &["HSTRLEN", "h", "c"],
    &["HSTRLEN", "h", "zz"],
    &["HSTRLEN", "str", "zz"],
    &["HEXISTS", "h", "a"],
    &["HEXISTS", "h", "zz"],
    &["HEXISTS", "str", "zz"],
    &["HKEYS", "h"],
    &["HVALS", "h"],
    &["HGETALL", "h"],
    &["HGETALL", "nokey"],
    &["HKEYS", "str"],
    &["HGETALL", "str"],
    &["HINCRBY", "h", "a", "10"],
    &["HINCRBY", "h", "new", "-5"],
    &["HINCRBY", "h", "c", "1"],
    &["HINCRBY", "h", "a", "x"],
    &["HINCRBY", "h", "a", "9223372036854775807"],
    &["HINCRBY", "str", "a", "1"],
    &["HINCRBY", "nk2", "a", "1"],
    &["HINCRBYFLOAT", "h", "a", "1.5"],
    &["HINCRBYFLOAT", "h", "f", "10.5e3"],
    &["HINCRBYFLOAT", "h", "c", "1"],
    &["HINCRBYFLOAT", "h", "a", "abc"],
    &["HINCRBYFLOAT", "h", "a", "inf"],
    &["HINCRBYFLOAT", "str", "a", "1"],
    &["HINCRBYFLOAT", "h", "a", "0.1"],
    &["HRANDFIELD", "nokey"],
    &["HRANDFIELD", "nokey", "3"],
    &["HRANDFIELD", "nokey", "-3", "WITHVALUES"],
    &["HRANDFIELD", "h", "0"],
    &["HRANDFIELD", "h", "x"],
    &["HRANDFIELD", "h", "-9223372036854775808"],
    &["HRANDFIELD", "h", "4611686018427387904", "WITHVALUES"],
    &["HRANDFIELD", "h", "-4611686018427387904", "WITHVALUES"],
    &["HRANDFIELD", "h", "1", "WITHVALUES", "x"],
    &["HRANDFIELD", "h", "1", "x"],
    &["HRANDFIELD", "str"],
    &["HRANDFIELD", "str", "1"],
    &["HSCAN", "h", "0"],
    &["HSCAN", "h", "0", "MATCH", "a*"],
    &["HSCAN", "h", "0", "COUNT", "0"],
    &["HSCAN", "h", "0", "COUNT"],
    &["HSCAN", "h", "0", "FOO", "bar"],
    &["HSCAN", "h", "abc"],
    &["HSCAN", "nokey", "0", "FOO"],
    &["HSCAN", "str", "0"],
    &["HDEL", "h", "a", "zz"],
    &["HDEL", "str", "a"],
    &["HDEL", "nk2", "a"],
    &["EXISTS", "nk2"],
    &["OBJECT", "ENCODING", "h"],
    &["SADD", "s", "1", "2", "3"],
    &["OBJECT", "ENCODING", "s"],
    &["SADD", "s", "3", "a", "b"],
    &["OBJECT", "ENCODING", "s"],
    &["SADD", "str", "a"],
    &["SADD", "t", "a", "c", "3"],
    &["SREM", "s", "1", "zz"],
    &["SREM", "str", "1"],
    &["SMEMBERS", "s"],
    &["SMEMBERS", "nokey"],
    &["SMEMBERS", "str"],
    &["SISMEMBER", "s", "a"],
    &["SISMEMBER", "s", "zz"],
    &["SISMEMBER", "str", "zz"],
    &["SMISMEMBER", "s", "a", "zz"],
    &["SMISMEMBER", "nokey", "a"],
    &["SMISMEMBER", "str", "a"],
    &["SCARD", "s"],
    &["SCARD", "nokey"],
    &["SCARD", "str"],
    &["SINTER", "s", "t"],
    &["SINTER", "s", "nokey"],
    &["SINTER", "s", "nokey", "str"],
    &["SINTER", "nokey"],
    &["SUNION", "s", "t", "nokey"],
    &["SUNION", "s", "str"],
    &["SDIFF", "s", "t"],
    &["SDIFF", "nokey", "t"],
    &["SDIFF", "s", "str"],
    &["SINTERCARD", "2", "s", "t"],
    &["SINTERCARD", "2", "s", "t", "LIMIT", "1"],
    &["SINTERCARD", "2", "s", "t", "LIMIT", "0"],
    &["SINTERCARD", "2", "s", "t", "LIMIT", "-1"],
    &["SINTERCARD", "2", "s", "t", "LIMIT"],
    &["SINTERCARD", "2", "s", "t", "FOO", "1"],
    &["SINTERCARD", "0", "s"],
    &["SINTERCARD", "x", "s"],
    &["SINTERCARD", "3", "s", "t"],
    &["SINTERCARD", "2", "s", "str"],
    &["SINTERSTORE", "d", "s", "t"],
    &["SMEMBERS", "d"],
    &["SINTERSTORE", "d", "s", "nokey"],
    &["EXISTS", "d"],
    &["SUNIONSTORE", "d", "s", "t"],
    &["SCARD", "d"],
    &["SDIFFSTORE", "d", "s", "t"],
    &["SMEMBERS", "d"],
    &["SDIFFSTORE", "str", "s", "t"],
    &["TYPE", "str"],
    &["SET", "str", "x"],
    &["SUNIONSTORE", "d", "s", "str"],
    &["SMOVE", "s", "t", "b"],
    &["SMOVE", "s", "t", "zz"],
    &["SMOVE", "nokey", "str", "zz"],
    &["SMOVE", "s", "str", "a"],
    &["SMOVE", "s", "s", "a"],
    &["SMOVE", "s", "new", "a"],
    &["SMEMBERS", "new"],
    &["SPOP", "nokey"],
    &["SPOP", "nokey", "2"],
    &["SPOP", "s", "-1"],
    &["SPOP", "s", "x"],
    &["SPOP", "s", "0"],
    &["SPOP", "str"],
    &["SPOP", "str", "0"],
    &["SPOP", "s", "1", "2"],
    &["SRANDMEMBER", "nokey"],
    &["SRANDMEMBER", "nokey", "5"],
    &["SRANDMEMBER", "s", "0"],
    &["SRANDMEMBER", "s", "x"],
    &["SRANDMEMBER", "s", "-9223372036854775808"],
    &["SRANDMEMBER", "str"],
    &["SRANDMEMBER", "s", "1", "2"],
    &["SSCAN", "t", "0"],
    &["SSCAN", "t", "0", "MATCH", "a*", "COUNT", "5"],
    &["SSCAN", "t", "x"],
    &["SSCAN", "nokey", "0"],
    &["SSCAN", "str", "0", "COUNT", "0"],
    &["SSCAN", "t", "0", "COUNT", "0"],
];

fn random_stream(d: &mut Duo, seed: u64, n: usize) {
    let mut r = Rng(seed);
    let hkeys = ["h1", "h2", "str"];
    let skeys = ["s1", "s2", "s3", "str"];
    let fields = ["f1", "f2", "f3", "f4", "1", "2", "-3", "x"];
    let vals = ["1", "2", "-7", "1.5", "abc", "", "10"];
    let nums = ["-3", "-1", "0", "1", "2", "5", "x"];
    for i in 0..n {
        let origin = format!("seed {seed} step {i}");
        let h = r.pick(&hkeys);
        let s = r.pick(&skeys);
        let s2 = r.pick(&skeys);
        let f = r.pick(&fields);
        let f2 = r.pick(&fields);
        let v = r.pick(&vals);
        let k = r.pick(&nums);
        let cmd: Vec<&str> = match r.below(34) {
            0 | 1 => vec!["HSET", h, f, v],
            2 => vec!["HSET", h, f, v, f2, v],
            3 => vec!["HSETNX", h, f, v],
            4 => vec!["HGET", h, f],
            5 => vec!["HMGET", h, f, f2],
            6 => vec!["HDEL", h, f, f2],
            7 => vec!["HLEN", h],
            8 => vec!["HSTRLEN", h, f],
            9 => vec!["HEXISTS", h, f],
            10 => vec!["HGETALL", h],
            11 => vec!["HINCRBY", h, f, k],
            12 => vec!["HINCRBYFLOAT", h, f, v],
            13 => vec!["HRANDFIELD", h, k],
            14 => vec!["HRANDFIELD", h, k, "WITHVALUES"],
            15 => vec!["HSCAN", h, "0"],
            16 | 17 => vec!["SADD", s, f, f2],
            18 => vec!["SREM", s, f],
            19 => vec!["SMEMBERS", s],
            20 => vec!["SISMEMBER", s, f],
            21 => vec!["SMISMEMBER", s, f, f2],
            22 => vec!["SCARD", s],
            23 => vec!["SPOP", s],
            24 => vec!["SPOP", s, k],
            25 => vec!["SRANDMEMBER", s, k],
            26 => vec!["SMOVE", s, s2, f],
            27 => vec!["SINTER", s, s2],
            28 => vec!["SUNION", s, s2],
            29 => vec!["SDIFF", s, s2],
            30 => vec!["SINTERCARD", "2", s, s2, "LIMIT", "1"],
            31 => vec!["SUNIONSTORE", s, s, s2],
            32 => vec!["SDIFFSTORE", r.pick(&skeys), s, s2],
            _ => vec!["SINTERSTORE", r.pick(&skeys), s, s2],
        };
        d.run(&origin, &cmd);
    }
}

#[test]
fn differential_hash_set() {
    let Some(mut d) = Duo::start() else { return };
    for (i, c) in TABLE.iter().enumerate() {
        d.run(&format!("table {i}"), c);
    }
    // Encoding thresholds.
    for i in 0..130 {
        d.run("enc", &["HSET", "big", &format!("f{i}"), "v"]);
    }
    d.run("enc", &["OBJECT", "ENCODING", "big"]);
    d.run("enc", &["HSET", "big2", "f", &"x".repeat(65)]);
    d.run("enc", &["OBJECT", "ENCODING", "big2"]);
    for i in 0..514 {
        d.run("enc", &["SADD", "bigs", &i.to_string()]);
    }
    d.run("enc", &["OBJECT", "ENCODING", "bigs"]);
    d.run("enc", &["FLUSHALL"]);
    d.run("enc", &["SET", "str", "x"]);
    for seed in 1..=4u64 {
        if seed == 3 {
            d.cairn.cmds(&["HELLO", "3"]);
            d.redis.cmds(&["HELLO", "3"]);
            for (i, c) in TABLE.iter().enumerate() {
                d.run(&format!("resp3 table {i}"), c);
            }
        }
        random_stream(&mut d, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 1500);
    }
}

/// Full contents of every key, normalized.
fn dump(c: &mut common::Raw) -> Vec<String> {
    let mut keys = Vec::new();
    flat(&c.cmds(&["KEYS", "*"]), &mut keys);
    keys.sort();
    keys.iter()
        .map(|k| {
            let k = String::from_utf8_lossy(k).into_owned();
            let t = c.cmds(&["TYPE", &k]);
            let v = match &t {
                Resp::Simple(s) if s == b"hash" => norm("hgetall", c.cmds(&["HGETALL", &k])),
                Resp::Simple(s) if s == b"set" => norm("smembers", c.cmds(&["SMEMBERS", &k])),
                _ => c.cmds(&["GET", &k]),
            };
            format!("{k} {t:?} {v:?}")
        })
        .collect()
}

#[test]
fn replay_hash_set() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let mut r = Rng(0xC0FFEE);
    let fields = ["a", "b", "c", "1", "2", "3"];
    for _ in 0..3000 {
        let h = ["h1", "h2"][r.below(2)];
        let st = ["s1", "s2", "s3"][r.below(3)];
        let f = r.pick(&fields);
        let f2 = r.pick(&fields);
        let n = r.below(5).to_string();
        let fl = ["0.1", "-1.25", "3e2", "1"][r.below(4)];
        let cmd: Vec<&str> = match r.below(14) {
            0 | 1 => vec!["HSET", h, f, &n],
            2 => vec!["HDEL", h, f],
            3 => vec!["HINCRBYFLOAT", h, f, fl],
            4 => vec!["HINCRBY", h, f, &n],
            5 | 6 => vec!["SADD", st, f, f2],
            7 => vec!["SREM", st, f],
            8 => vec!["SPOP", st],
            9 => vec!["SPOP", st, &n],
            10 => vec!["SMOVE", st, "s1", f],
            11 => vec!["SUNIONSTORE", "s3", st, "s2"],
            12 => vec!["SDIFFSTORE", "s2", st, "s1"],
            _ => vec!["HSETNX", h, f, &n],
        };
        c.cmds(&cmd);
    }
    let before = dump(&mut c);
    drop(c);
    let s = s.restart(&[]);
    let mut c = s.raw();
    let after = dump(&mut c);
    assert_eq!(before, after);
}
