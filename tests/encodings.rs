//! Compact encodings against a real redis-server 7.0: OBJECT ENCODING at
//! and just past every conversion threshold (after CONFIG SET of
//! hash-max-listpack-entries/-value, set-max-intset-entries and
//! list-max-listpack-size), and the reply order Redis clients see while a
//! hash is a listpack (insertion order) or a set an intset (ascending).
//! Every reply is compared byte for byte except the order of hashtable
//! hashes and sets, which is compared sorted.

mod common;

use common::{RedisServer, Resp, Server};

struct Duo {
    a: common::Raw,
    b: common::Raw,
    _c: Server,
    _r: RedisServer,
}

fn sorted(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(mut v)) => {
            v.sort_by_key(|x| format!("{x:?}"));
            Resp::Array(Some(v))
        }
        r => r,
    }
}

impl Duo {
    fn start() -> Option<Duo> {
        let r = RedisServer::start()?;
        let c = Server::start(&[]);
        Some(Duo {
            a: c.raw(),
            b: common::Raw::connect(r.port),
            _c: c,
            _r: r,
        })
    }

    /// Run on both; the replies must be identical.
    fn eq(&mut self, args: &[&str]) -> Resp {
        let a = self.a.cmds(args);
        let b = self.b.cmds(args);
        assert_eq!(a, b, "{args:?}");
        a
    }

    /// Run on both; the replies must hold the same elements.
    fn eq_sorted(&mut self, args: &[&str]) {
        let a = sorted(self.a.cmds(args));
        let b = sorted(self.b.cmds(args));
        assert_eq!(a, b, "{args:?}");
    }

    fn encoding(&mut self, key: &str) -> String {
        match self.eq(&["OBJECT", "ENCODING", key]) {
            Resp::Bulk(Some(b)) => String::from_utf8(b).unwrap(),
            r => panic!("OBJECT ENCODING {key}: {r:?}"),
        }
    }

    /// Compare a hash's contents: in order while it is a listpack.
    fn check_hash(&mut self, key: &str) {
        let compact = self.encoding(key) == "listpack";
        for c in ["HGETALL", "HKEYS", "HVALS"] {
            if compact {
                self.eq(&[c, key]);
            } else {
                self.eq_sorted(&[c, key]);
            }
        }
        self.eq(&["HLEN", key]);
    }

    /// Compare a set's contents: in order while it is an intset.
    fn check_set(&mut self, key: &str) {
        if self.encoding(key) == "intset" {
            self.eq(&["SMEMBERS", key]);
            self.eq(&["SSCAN", key, "0"]);
        } else {
            self.eq_sorted(&["SMEMBERS", key]);
        }
        self.eq(&["SCARD", key]);
    }

    fn check_list(&mut self, key: &str) {
        self.eq(&["LRANGE", key, "0", "-1"]);
        self.eq(&["LLEN", key]);
        for i in ["0", "1", "-1", "-2", "7", "100"] {
            self.eq(&["LINDEX", key, i]);
        }
        self.eq(&["LRANGE", key, "3", "11"]);
        self.eq(&["LRANGE", key, "-9", "-2"]);
    }
}

#[test]
fn hash_entries_threshold() {
    let Some(mut d) = Duo::start() else { return };
    for max in [0usize, 1, 3, 128] {
        d.eq(&[
            "CONFIG",
            "SET",
            "hash-max-listpack-entries",
            &max.to_string(),
        ]);
        d.eq(&["DEL", "h"]);
        for i in 0..max + 2 {
            d.eq(&["HSET", "h", &format!("f{i}"), &format!("v{i}")]);
            let enc = d.encoding("h");
            assert_eq!(enc, if i < max { "listpack" } else { "hashtable" });
            d.check_hash("h");
        }
        // Overwrites keep their place, deletions close the gap.
        d.eq(&["DEL", "h"]);
        for i in 0..max.min(6) {
            d.eq(&["HSET", "h", &format!("f{i}"), "x"]);
        }
        d.eq(&["HSET", "h", "f0", "new value"]);
        d.eq(&["HDEL", "h", "f1"]);
        d.eq(&["HINCRBY", "h", "f2", "7"]);
        d.eq(&["HSETNX", "h", "zz", "1"]);
        d.check_hash("h");
        // Lowering the limit converts at the next write, not before.
        d.eq(&["CONFIG", "SET", "hash-max-listpack-entries", "1"]);
        d.encoding("h");
        d.eq(&["HSET", "h", "f0", "again"]);
        d.check_hash("h");
    }
}

#[test]
fn hash_value_threshold() {
    let Some(mut d) = Duo::start() else { return };
    d.eq(&["CONFIG", "SET", "hash-max-listpack-entries", "128"]);
    for max in [0usize, 1, 4, 64] {
        d.eq(&["CONFIG", "SET", "hash-max-listpack-value", &max.to_string()]);
        let at = "a".repeat(max);
        let over = "b".repeat(max + 1);
        // A field, then a value, at and just over the limit; each path
        // that writes a field.
        let writes: Vec<Vec<String>> = vec![
            vec!["HSET".into(), "h".into(), at.clone(), at.clone()],
            vec!["HSET".into(), "h".into(), over.clone(), at.clone()],
            vec!["HSET".into(), "h".into(), at.clone(), over.clone()],
            vec!["HMSET".into(), "h".into(), at.clone(), over.clone()],
            vec!["HSETNX".into(), "h".into(), over.clone(), "1".into()],
            vec!["HSETNX".into(), "h".into(), at.clone(), over.clone()],
            vec!["HINCRBY".into(), "h".into(), over.clone(), "1".into()],
            vec![
                "HINCRBYFLOAT".into(),
                "h".into(),
                at.clone(),
                "12345.5".into(),
            ],
        ];
        for w in &writes {
            d.eq(&["DEL", "h"]);
            d.eq(&["HSET", "h", "", ""]);
            let args: Vec<&str> = w.iter().map(String::as_str).collect();
            d.eq(&args);
            d.check_hash("h");
        }
    }
}

#[test]
fn set_intset_threshold() {
    let Some(mut d) = Duo::start() else { return };
    // Values of every intset width, inserted out of order.
    let ints = [
        "5",
        "-3",
        "70000",
        "-9223372036854775808",
        "0",
        "9223372036854775807",
        "-40000",
        "32767",
        "-32768",
        "2147483648",
    ];
    for max in [0usize, 1, 3, 9, 512] {
        d.eq(&["CONFIG", "SET", "set-max-intset-entries", &max.to_string()]);
        d.eq(&["DEL", "s"]);
        for (i, m) in ints.iter().enumerate() {
            d.eq(&["SADD", "s", m]);
            let enc = d.encoding("s");
            assert_eq!(enc, if i < max { "intset" } else { "hashtable" });
            d.check_set("s");
        }
        d.eq(&["SREM", "s", "0", "5", "nope"]);
        d.check_set("s");
        d.eq(&["SISMEMBER", "s", "-3"]);
        d.eq(&["SMISMEMBER", "s", "-3", "03", "70000", "x"]);
    }
    d.eq(&["CONFIG", "SET", "set-max-intset-entries", "512"]);
    // Non-canonical integers and strings convert.
    for m in ["007", "+1", "1.0", "abc", "", "-0", "99999999999999999999"] {
        d.eq(&["DEL", "s"]);
        d.eq(&["SADD", "s", "1", "2"]);
        d.eq(&["SADD", "s", m]);
        d.check_set("s");
        d.eq(&["SREM", "s", m]);
        d.check_set("s");
    }
}

#[test]
fn set_algebra_encodings() {
    let Some(mut d) = Duo::start() else { return };
    d.eq(&["CONFIG", "SET", "set-max-intset-entries", "4"]);
    d.eq(&["SADD", "a", "9", "1", "-5", "3"]);
    d.eq(&["SADD", "b", "3", "9", "100", "-5"]);
    d.eq(&["SADD", "c", "x", "3"]);
    d.eq(&["SINTER", "a", "b"]);
    d.eq(&["SDIFF", "a", "b"]);
    d.eq(&["SMOVE", "a", "new", "9"]);
    d.eq(&["SMOVE", "c", "new2", "x"]);
    for k in ["a", "b", "c", "new", "new2"] {
        d.check_set(k);
    }
    for (op, srcs) in [
        ("SINTERSTORE", ["a", "b"]),
        ("SUNIONSTORE", ["a", "b"]),
        ("SDIFFSTORE", ["b", "a"]),
        ("SUNIONSTORE", ["a", "c"]),
        ("SINTERSTORE", ["b", "c"]),
    ] {
        d.eq(&[op, "dst", srcs[0], srcs[1]]);
        d.check_set("dst");
    }
}

#[test]
fn list_nodes_and_encoding() {
    let Some(mut d) = Duo::start() else { return };
    let long = "L".repeat(300);
    let huge = "H".repeat(70_000);
    for fill in ["-5", "-1", "-2", "1", "2", "3"] {
        d.eq(&["CONFIG", "SET", "list-max-listpack-size", fill]);
        d.eq(&["DEL", "l"]);
        for i in 0..40 {
            let v = match i % 9 {
                0 => long.clone(),
                4 if i == 13 => huge.clone(),
                _ => format!("e{}", i % 5),
            };
            let push = if i % 3 == 0 { "LPUSH" } else { "RPUSH" };
            d.eq(&[push, "l", &v]);
        }
        assert_eq!(d.encoding("l"), "quicklist");
        d.check_list("l");
        d.eq(&["LINSERT", "l", "BEFORE", "e3", "ins"]);
        d.eq(&["LINSERT", "l", "AFTER", &long, "ins2"]);
        d.eq(&["LSET", "l", "5", &long]);
        d.eq(&["LSET", "l", "-3", "short"]);
        d.check_list("l");
        d.eq(&["LPOS", "l", "e2", "RANK", "-2", "COUNT", "0"]);
        d.eq(&["LPOS", "l", "e1", "COUNT", "3", "MAXLEN", "20"]);
        d.eq(&["LREM", "l", "2", "e1"]);
        d.eq(&["LREM", "l", "-1", "e2"]);
        d.eq(&["LREM", "l", "0", &long]);
        d.check_list("l");
        d.eq(&["LTRIM", "l", "2", "-3"]);
        d.check_list("l");
        d.eq(&["RPOP", "l", "4"]);
        d.eq(&["LPOP", "l", "3"]);
        d.eq(&["LMOVE", "l", "l2", "LEFT", "RIGHT"]);
        d.check_list("l");
        d.check_list("l2");
        assert_eq!(d.encoding("l"), "quicklist");
    }
}
