//! Sorted-set commands: differential tests against a real redis-server
//! (a deterministic table of cases and seeded random streams, RESP2 and
//! RESP3, OBJECT ENCODING included) and replay tests (the zsets are the
//! same after a clean restart and after kill -9).
//!
//! Replies are compared exactly, except: ZRANDMEMBER (random: same shape,
//! every member belongs to the set, distinct when the count is positive)
//! and ZSCAN over a "skiplist" zset (cursors are implementation details:
//! the scan is run to its end on both servers and the pairs compared as a
//! set). Lex ranges are only exercised on keys whose members share one
//! score, the only case Redis defines.

mod common;

use common::Rng;

use common::{Duo, Resp, Server};

fn flat(r: &Resp, out: &mut Vec<Vec<u8>>) {
    match r {
        Resp::Bulk(Some(b)) | Resp::Double(b) => out.push(b.clone()),
        Resp::Array(Some(v)) | Resp::Set(v) => v.iter().for_each(|x| flat(x, out)),
        Resp::Map(m) => m.iter().for_each(|(k, v)| {
            flat(k, out);
            flat(v, out);
        }),
        _ => {}
    }
}

/// Shape of a random reply: type, length, nesting of the first item.
fn shape(r: &Resp) -> String {
    match r {
        Resp::Array(Some(v)) => format!(
            "array{}:{}",
            v.len(),
            v.first().map_or(String::new(), shape)
        ),
        Resp::Bulk(Some(_)) => "bulk".into(),
        Resp::Double(_) => "double".into(),
        other => format!("{other:?}"),
    }
}

fn sorted_scan(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(mut v)) if v.len() == 2 => {
            if let Resp::Array(Some(items)) = &mut v[1] {
                items.sort_by_key(|x| format!("{x:?}"));
            }
            Resp::Array(Some(v))
        }
        other => other,
    }
}

impl Duo {
    fn both(&mut self, args: &[&str]) -> (Resp, Resp) {
        (self.cairn.cmds(args), self.redis.cmds(args))
    }

    fn run(&mut self, origin: &str, args: &[&str]) {
        let cmd = args[0].to_ascii_lowercase();
        let key = args.get(1).copied().unwrap_or("");
        if cmd == "zscan"
            && self.cairn.cmds(&["OBJECT", "ENCODING", key])
                == Resp::Bulk(Some(b"skiplist".to_vec()))
        {
            return self.full_scan(origin, args);
        }
        let (a, b) = self.both(args);
        let ctx = format!("{origin}: {args:?}\n cairn: {a:?}\n redis: {b:?}");
        if cmd == "zrandmember" && !matches!(a, Resp::Error(_)) {
            assert_eq!(shape(&a), shape(&b), "{ctx}");
            let all = self.cairn.cmds(&["ZRANGE", key, "0", "-1", "WITHSCORES"]);
            let mut have = Vec::new();
            flat(&all, &mut have);
            let mut got = Vec::new();
            flat(&a, &mut got);
            for g in &got {
                assert!(have.contains(g), "{ctx}: {g:?} not in {all:?}");
            }
            let positive = args
                .get(2)
                .and_then(|c| c.parse::<i64>().ok())
                .is_some_and(|c| c > 0);
            if positive {
                let members: Vec<&Vec<u8>> = if args.len() == 4 {
                    got.iter().step_by(2).collect()
                } else {
                    got.iter().collect()
                };
                let mut uniq = members.clone();
                uniq.sort();
                uniq.dedup();
                assert_eq!(uniq.len(), members.len(), "{ctx}: duplicates");
            }
            return;
        }
        if cmd == "scan" {
            // Key order is the keyspace's own: compare the keys as a set.
            assert_eq!(sorted_scan(a), sorted_scan(b), "{ctx}");
            return;
        }
        assert_eq!(a, b, "{ctx}");
    }

    /// ZSCAN to the end on both servers; the pairs seen must match.
    fn full_scan(&mut self, origin: &str, args: &[&str]) {
        let mut sides = Vec::new();
        for c in [&mut self.cairn, &mut self.redis] {
            let mut cursor = "0".to_string();
            let mut pairs = Vec::new();
            loop {
                let mut a: Vec<&str> = args.to_vec();
                a[2] = &cursor;
                let r = c.cmds(&a);
                let Resp::Array(Some(v)) = r else {
                    panic!("{origin}: {r:?}")
                };
                let mut items = Vec::new();
                flat(&v[1], &mut items);
                pairs.extend(items.chunks(2).map(|p| p.to_vec()));
                let mut next = Vec::new();
                flat(&v[0], &mut next);
                cursor = String::from_utf8(next[0].clone()).unwrap();
                if cursor == "0" {
                    break;
                }
            }
            pairs.sort();
            pairs.dedup();
            sides.push(pairs);
        }
        assert_eq!(sides[0], sides[1], "{origin}: full scan {args:?}");
    }
}

const TABLE: &[&[&str]] = &[
    &["SET", "str", "x"],
    &["SADD", "set", "a", "b", "x"],
    // ZADD: options, conflicts, errors.
    &["ZADD", "z", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "z", "1", "a"],
    &["ZADD", "z", "CH", "5", "a", "2", "b", "9", "new"],
    &["ZADD", "z", "NX", "10", "a", "4", "d"],
    &["ZADD", "z", "XX", "11", "a", "4", "e"],
    &["ZADD", "z", "XX", "CH", "12", "a", "4", "e"],
    &["ZADD", "z", "GT", "CH", "1", "a", "20", "b"],
    &["ZADD", "z", "LT", "CH", "100", "a", "0", "b", "7", "f"],
    &["ZADD", "z", "GT", "XX", "CH", "50", "c"],
    &["ZADD", "z", "nx", "xx", "1", "a"],
    &["ZADD", "z", "gt", "lt", "1", "a"],
    &["ZADD", "z", "gt", "nx", "1", "a"],
    &["ZADD", "z", "lt", "nx", "1", "a"],
    &["ZADD", "z", "incr", "1", "a", "2", "b"],
    &["ZADD", "z", "1"],
    &["ZADD", "z", "nx", "1"],
    &["ZADD", "z", "1", "a", "2"],
    &["ZADD", "z", "x", "a"],
    &["ZADD", "z", "nan", "a"],
    &["ZADD", "z", "1", "a", "y", "b"],
    &["ZADD", "str", "1", "a"],
    &["ZADD", "str", "nx", "xx", "1", "a"],
    &["ZADD", "str", "x", "a"],
    &["ZADD", "z", "INCR", "2.5", "a"],
    &["ZADD", "z", "INCR", "1", "brand"],
    &["ZADD", "z", "NX", "INCR", "1", "a"],
    &["ZADD", "z", "XX", "INCR", "1", "nope"],
    &["ZADD", "nokey", "XX", "1", "a"],
    &["ZADD", "nokey", "XX", "INCR", "1", "a"],
    &["EXISTS", "nokey"],
    &["ZADD", "z", "GT", "INCR", "-1", "a"],
    &["ZADD", "z", "LT", "INCR", "-1", "a"],
    &["ZADD", "z", "inf", "top", "-inf", "bottom", "+inf", "top2"],
    &["ZADD", "z", "INCR", "-inf", "top"],
    &["ZADD", "z", "INCR", "inf", "top"],
    &["ZSCORE", "z", "top"],
    &["ZADD", "zz", "-0", "m"],
    &["ZSCORE", "zz", "m"],
    &[
        "ZADD",
        "zf",
        "0.1",
        "a",
        "1e300",
        "b",
        "-1e-300",
        "c",
        "3.0000000000000004",
        "d",
        "1.5e15",
        "e",
    ],
    &["ZRANGE", "zf", "0", "-1", "WITHSCORES"],
    // ZINCRBY.
    &["ZINCRBY", "z", "1.5", "a"],
    &["ZINCRBY", "z", "1", "fresh"],
    &["ZINCRBY", "z", "x", "a"],
    &["ZINCRBY", "z", "nx", "a"],
    &["ZINCRBY", "z", "1", "nx"],
    &["ZINCRBY", "str", "1", "a"],
    &["ZINCRBY", "z", "-inf", "top"],
    &["ZINCRBY", "newz", "5", "a"],
    // Reads.
    &["ZCARD", "z"],
    &["ZCARD", "nokey"],
    &["ZCARD", "str"],
    &["ZSCORE", "z", "a"],
    &["ZSCORE", "z", "nope"],
    &["ZSCORE", "nokey", "a"],
    &["ZSCORE", "str", "a"],
    &["ZMSCORE", "z", "a", "nope", "b"],
    &["ZMSCORE", "nokey", "a", "b"],
    &["ZMSCORE", "str", "a"],
    &["ZRANK", "z", "a"],
    &["ZRANK", "z", "nope"],
    &["ZRANK", "nokey", "a"],
    &["ZRANK", "str", "a"],
    &["ZREVRANK", "z", "a"],
    &["ZREVRANK", "z", "bottom"],
    &["ZREVRANK", "z", "nope"],
    &["ZRANGE", "z", "0", "-1", "WITHSCORES"],
    &["ZCOUNT", "z", "-inf", "+inf"],
    &["ZCOUNT", "z", "(1", "(4"],
    &["ZCOUNT", "z", "1", "4"],
    &["ZCOUNT", "z", "4", "1"],
    &["ZCOUNT", "z", "(4", "4"],
    &["ZCOUNT", "z", "", "5"],
    &["ZCOUNT", "z", " 1", "5"],
    &["ZCOUNT", "z", "0x10", "100"],
    &["ZCOUNT", "z", "a", "5"],
    &["ZCOUNT", "z", "1", "(x"],
    &["ZCOUNT", "z", "nan", "1"],
    &["ZCOUNT", "z", "(", "5"],
    &["ZCOUNT", "nokey", "0", "1"],
    &["ZCOUNT", "str", "0", "1"],
    &["ZCOUNT", "str", "a", "1"],
    // Ranks.
    &["ZRANGE", "z", "0", "2"],
    &["ZRANGE", "z", "-3", "-1", "WITHSCORES"],
    &["ZRANGE", "z", "5", "2"],
    &["ZRANGE", "z", "100", "200"],
    &["ZRANGE", "z", "-100", "1"],
    &["ZRANGE", "z", "0", "-1", "REV"],
    &["ZRANGE", "z", "1", "3", "REV", "WITHSCORES"],
    &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "1"],
    &["ZRANGE", "z", "0", "-1", "LIMIT", "0", "-1"],
    &["ZRANGE", "z", "0", "-1", "LIMIT", "0"],
    &["ZRANGE", "z", "0", "-1", "LIMIT", "x", "1"],
    &["ZRANGE", "z", "x", "1"],
    &["ZRANGE", "z", "0", "1", "FOO"],
    &["ZRANGE", "z", "0", "1", "REV", "REV"],
    &["ZRANGE", "z", "0", "1", "BYSCORE", "BYLEX"],
    &["ZRANGE", "nokey", "0", "-1"],
    &["ZRANGE", "str", "0", "-1"],
    &["ZRANGE", "str", "x", "-1"],
    &["ZREVRANGE", "z", "0", "1", "WITHSCORES"],
    &["ZREVRANGE", "z", "-2", "-1"],
    &["ZREVRANGE", "z", "0", "1", "REV"],
    &["ZREVRANGE", "z", "0", "1", "LIMIT", "0", "1"],
    // Scores.
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "WITHSCORES"],
    &["ZRANGE", "z", "(1", "5", "BYSCORE"],
    &[
        "ZRANGE",
        "z",
        "+inf",
        "-inf",
        "BYSCORE",
        "REV",
        "WITHSCORES",
    ],
    &["ZRANGE", "z", "5", "(1", "BYSCORE", "REV"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "2"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "1", "-1"],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "-1", "2"],
    &[
        "ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "100", "2",
    ],
    &["ZRANGE", "z", "-inf", "+inf", "BYSCORE", "LIMIT", "0", "0"],
    &[
        "ZRANGE",
        "z",
        "+inf",
        "-inf",
        "BYSCORE",
        "REV",
        "LIMIT",
        "1",
        "3",
        "WITHSCORES",
    ],
    &["ZRANGE", "z", "x", "1", "BYSCORE"],
    &["ZRANGEBYSCORE", "z", "-inf", "+inf"],
    &[
        "ZRANGEBYSCORE",
        "z",
        "2",
        "(20",
        "WITHSCORES",
        "LIMIT",
        "1",
        "2",
    ],
    &["ZRANGEBYSCORE", "z", "2", "1"],
    &["ZRANGEBYSCORE", "z", "a", "1"],
    &["ZRANGEBYSCORE", "z", "1", "2", "REV"],
    &["ZRANGEBYSCORE", "z", "1", "2", "BYSCORE"],
    &["ZRANGEBYSCORE", "z", "1", "2", "LIMIT", "1"],
    &["ZRANGEBYSCORE", "nokey", "1", "2"],
    &["ZRANGEBYSCORE", "str", "1", "2"],
    &["ZREVRANGEBYSCORE", "z", "+inf", "-inf", "WITHSCORES"],
    &["ZREVRANGEBYSCORE", "z", "(20", "2", "LIMIT", "0", "2"],
    &["ZREVRANGEBYSCORE", "z", "1", "2"],
    // Lex (one score).
    &[
        "ZADD", "lex", "0", "a", "0", "b", "0", "c", "0", "d", "0", "e", "0", "ab", "0", "",
    ],
    &["ZRANGEBYLEX", "lex", "-", "+"],
    &["ZRANGEBYLEX", "lex", "[a", "(c"],
    &["ZRANGEBYLEX", "lex", "(a", "[c"],
    &["ZRANGEBYLEX", "lex", "[", "[b"],
    &["ZRANGEBYLEX", "lex", "(", "[b"],
    &["ZRANGEBYLEX", "lex", "+", "-"],
    &["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "2", "3"],
    &["ZRANGEBYLEX", "lex", "-", "+", "LIMIT", "-1", "3"],
    &["ZRANGEBYLEX", "lex", "a", "+"],
    &["ZRANGEBYLEX", "lex", "-", "b"],
    &["ZRANGEBYLEX", "lex", "++", "-"],
    &["ZRANGEBYLEX", "lex", "-", "+", "WITHSCORES"],
    &["ZRANGEBYLEX", "nokey", "-", "+"],
    &["ZRANGEBYLEX", "str", "-", "+"],
    &["ZREVRANGEBYLEX", "lex", "+", "-"],
    &["ZREVRANGEBYLEX", "lex", "[d", "(a", "LIMIT", "1", "2"],
    &["ZRANGE", "lex", "[b", "[d", "BYLEX"],
    &["ZRANGE", "lex", "[d", "[b", "BYLEX", "REV"],
    &["ZRANGE", "lex", "-", "+", "BYLEX", "WITHSCORES"],
    &["ZRANGE", "lex", "-", "+", "BYLEX", "REV", "LIMIT", "1", "1"],
    &["ZLEXCOUNT", "lex", "-", "+"],
    &["ZLEXCOUNT", "lex", "(a", "[d"],
    &["ZLEXCOUNT", "lex", "x", "[d"],
    &["ZLEXCOUNT", "nokey", "-", "+"],
    &["ZLEXCOUNT", "str", "-", "+"],
    // ZRANGESTORE.
    &["ZRANGESTORE", "dst", "z", "0", "2"],
    &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    &["OBJECT", "ENCODING", "dst"],
    &[
        "ZRANGESTORE",
        "dst",
        "z",
        "(1",
        "+inf",
        "BYSCORE",
        "LIMIT",
        "0",
        "2",
    ],
    &["ZRANGE", "dst", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "dst", "lex", "[b", "+", "BYLEX", "REV"],
    &["ZRANGE", "dst", "0", "-1"],
    &["ZRANGESTORE", "dst", "z", "0", "-1", "WITHSCORES"],
    &["ZRANGESTORE", "dst", "z", "5", "1"],
    &["EXISTS", "dst"],
    &["ZRANGESTORE", "dst", "nokey", "0", "-1"],
    &["ZRANGESTORE", "str", "z", "0", "0"],
    &["TYPE", "str"],
    &["SET", "str", "x"],
    &["ZRANGESTORE", "dst", "str", "0", "-1"],
    // Removal by range.
    &[
        "ZADD", "r", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e", "6", "f",
    ],
    &["ZREMRANGEBYRANK", "r", "0", "0"],
    &["ZREMRANGEBYRANK", "r", "-1", "-1"],
    &["ZREMRANGEBYRANK", "r", "3", "1"],
    &["ZREMRANGEBYRANK", "r", "x", "1"],
    &["ZREMRANGEBYSCORE", "r", "(2", "3"],
    &["ZREMRANGEBYSCORE", "r", "x", "3"],
    &["ZREMRANGEBYSCORE", "r", "10", "20"],
    &["ZRANGE", "r", "0", "-1", "WITHSCORES"],
    &["ZREMRANGEBYLEX", "lex", "[b", "(d"],
    &["ZREMRANGEBYLEX", "lex", "b", "(d"],
    &["ZRANGE", "lex", "0", "-1"],
    &["ZREMRANGEBYRANK", "r", "0", "-1"],
    &["EXISTS", "r"],
    &["ZREMRANGEBYRANK", "nokey", "0", "-1"],
    &["ZREMRANGEBYSCORE", "str", "0", "1"],
    &["ZREMRANGEBYLEX", "str", "-", "+"],
    // ZREM.
    &["ZREM", "z", "a", "nope"],
    &["ZREM", "nokey", "a"],
    &["ZREM", "str", "a"],
    &["ZADD", "one", "1", "x"],
    &["ZREM", "one", "x"],
    &["EXISTS", "one"],
    // Pops.
    &[
        "ZADD", "p", "1", "a", "2", "b", "3", "c", "4", "d", "5", "e",
    ],
    &["ZPOPMIN", "p"],
    &["ZPOPMAX", "p"],
    &["ZPOPMIN", "p", "2"],
    &["ZPOPMAX", "p", "0"],
    &["ZPOPMIN", "p", "-1"],
    &["ZPOPMIN", "p", "x"],
    &["ZPOPMIN", "p", "1", "2"],
    &["ZPOPMAX", "p", "10"],
    &["EXISTS", "p"],
    &["ZPOPMIN", "nokey"],
    &["ZPOPMIN", "nokey", "2"],
    &["ZPOPMIN", "str"],
    &["ZPOPMIN", "str", "0"],
    &["ZADD", "p", "1", "a", "2", "b", "3", "c"],
    &["ZMPOP", "1", "p", "MIN"],
    &["ZMPOP", "2", "nokey", "p", "MAX", "COUNT", "5"],
    &["ZMPOP", "1", "p", "MIN"],
    &["ZMPOP", "2", "nokey", "p", "MIN"],
    &["ZMPOP", "1", "str", "MIN"],
    &["ZMPOP", "2", "nokey", "str", "MIN"],
    &["ZMPOP", "0", "p", "MIN"],
    &["ZMPOP", "x", "p", "MIN"],
    &["ZMPOP", "5", "p", "MIN"],
    &["ZMPOP", "1", "p", "MIDDLE"],
    &["ZMPOP", "1", "p", "MIN", "COUNT", "0"],
    &["ZMPOP", "1", "p", "MIN", "COUNT", "x"],
    &["ZMPOP", "1", "p", "MIN", "COUNT", "1", "COUNT", "1"],
    &["ZMPOP", "1", "p", "MIN", "COUNT"],
    &["ZMPOP", "1", "p", "MIN", "FOO"],
    // Union, inter, diff.
    &["ZADD", "u1", "1", "a", "2", "b", "3", "c"],
    &["ZADD", "u2", "10", "b", "20", "c", "30", "d"],
    &["ZUNION", "2", "u1", "u2"],
    &["ZUNION", "2", "u1", "u2", "WITHSCORES"],
    &[
        "ZUNION",
        "2",
        "u1",
        "u2",
        "WEIGHTS",
        "2",
        "-1",
        "WITHSCORES",
    ],
    &["ZUNION", "2", "u1", "u2", "AGGREGATE", "MIN", "WITHSCORES"],
    &["ZUNION", "2", "u1", "u2", "AGGREGATE", "max", "WITHSCORES"],
    &["ZUNION", "3", "u1", "u2", "set", "WITHSCORES"],
    &["ZUNION", "2", "u1", "nokey", "WITHSCORES"],
    &[
        "ZUNION",
        "2",
        "u1",
        "u2",
        "WEIGHTS",
        "inf",
        "0",
        "WITHSCORES",
    ],
    &["ZUNION", "2", "u1", "u2", "WEIGHTS", "1"],
    &["ZUNION", "2", "u1", "u2", "WEIGHTS", "1", "x"],
    &["ZUNION", "2", "u1", "u2", "AGGREGATE", "avg"],
    &["ZUNION", "2", "u1", "u2", "AGGREGATE"],
    &["ZUNION", "2", "u1", "u2", "FOO"],
    &["ZUNION", "0", "u1"],
    &["ZUNION", "-1", "u1"],
    &["ZUNION", "x", "u1"],
    &["ZUNION", "3", "u1", "u2"],
    &["ZUNION", "2", "u1", "str"],
    &["ZUNION", "2", "u1", "str", "FOO"],
    &["ZINTER", "2", "u1", "u2", "WITHSCORES"],
    &[
        "ZINTER",
        "2",
        "u1",
        "u2",
        "WEIGHTS",
        "1",
        "2",
        "AGGREGATE",
        "MAX",
        "WITHSCORES",
    ],
    &["ZINTER", "2", "u1", "set", "WITHSCORES"],
    &["ZINTER", "2", "u1", "nokey"],
    &["ZINTER", "2", "u1", "str"],
    &["ZDIFF", "2", "u1", "u2", "WITHSCORES"],
    &["ZDIFF", "2", "u2", "u1"],
    &["ZDIFF", "2", "set", "u1", "WITHSCORES"],
    &["ZDIFF", "2", "nokey", "u1"],
    &["ZDIFF", "2", "u1", "u2", "WEIGHTS", "1", "1"],
    &["ZDIFF", "2", "u1", "u2", "AGGREGATE", "SUM"],
    &["ZUNIONSTORE", "d1", "2", "u1", "u2"],
    &["ZRANGE", "d1", "0", "-1", "WITHSCORES"],
    &["ZUNIONSTORE", "d1", "2", "u1", "u2", "WITHSCORES"],
    &["ZUNIONSTORE", "d1", "0", "u1"],
    &["ZINTERSTORE", "d1", "2", "u1", "u2", "WEIGHTS", "2", "3"],
    &["ZRANGE", "d1", "0", "-1", "WITHSCORES"],
    &["ZINTERSTORE", "d1", "2", "u1", "nokey"],
    &["EXISTS", "d1"],
    &["ZDIFFSTORE", "d1", "2", "u2", "u1"],
    &["ZRANGE", "d1", "0", "-1", "WITHSCORES"],
    &["ZDIFFSTORE", "str", "1", "u1"],
    &["TYPE", "str"],
    &["SET", "str", "x"],
    &["ZINTERSTORE", "d1", "2", "u1", "str"],
    &["ZINTERCARD", "2", "u1", "u2"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT", "1"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT", "0"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT", "-1"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT", "x"],
    &["ZINTERCARD", "2", "u1", "u2", "LIMIT"],
    &["ZINTERCARD", "2", "u1", "u2", "WEIGHTS", "1", "1"],
    &["ZINTERCARD", "0", "u1"],
    &["ZINTERCARD", "x", "u1"],
    &["ZINTERCARD", "3", "u1", "u2"],
    &["ZINTERCARD", "2", "u1", "str"],
    &["ZINTERCARD", "2", "u1", "set"],
    // Random.
    &["ZRANDMEMBER", "nokey"],
    &["ZRANDMEMBER", "nokey", "3"],
    &["ZRANDMEMBER", "nokey", "-3", "WITHSCORES"],
    &["ZRANDMEMBER", "u1"],
    &["ZRANDMEMBER", "u1", "0"],
    &["ZRANDMEMBER", "u1", "2"],
    &["ZRANDMEMBER", "u1", "10", "WITHSCORES"],
    &["ZRANDMEMBER", "u1", "-5"],
    &["ZRANDMEMBER", "u1", "-5", "WITHSCORES"],
    &["ZRANDMEMBER", "u1", "x"],
    &["ZRANDMEMBER", "u1", "-9223372036854775808"],
    &["ZRANDMEMBER", "u1", "4611686018427387904", "WITHSCORES"],
    &["ZRANDMEMBER", "u1", "1", "WITHSCORES", "x"],
    &["ZRANDMEMBER", "u1", "1", "x"],
    &["ZRANDMEMBER", "str"],
    &["ZRANDMEMBER", "str", "1"],
    // ZSCAN.
    &["ZSCAN", "u1", "0"],
    &["ZSCAN", "zf", "0"],
    &["ZSCAN", "u1", "0", "MATCH", "a*"],
    &["ZSCAN", "u1", "0", "COUNT", "1"],
    &["ZSCAN", "u1", "0", "COUNT", "0"],
    &["ZSCAN", "u1", "0", "COUNT"],
    &["ZSCAN", "u1", "0", "FOO", "bar"],
    &["ZSCAN", "u1", "x"],
    &["ZSCAN", "nokey", "0"],
    &["ZSCAN", "nokey", "0", "FOO"],
    &["ZSCAN", "str", "0"],
    // The generic commands see zsets.
    &["TYPE", "u1"],
    &["OBJECT", "ENCODING", "u1"],
    &["SCAN", "0", "TYPE", "zset", "COUNT", "1000"],
    &["COPY", "u1", "u1copy"],
    &["ZADD", "u1copy", "100", "a"],
    &["ZRANGE", "u1", "0", "-1", "WITHSCORES"],
    &["ZRANGE", "u1copy", "0", "-1", "WITHSCORES"],
    &["RENAME", "u1copy", "u1ren"],
    &["ZRANGE", "u1ren", "0", "-1", "WITHSCORES"],
    &["MOVE", "u1ren", "1"],
    &["EXISTS", "u1ren"],
    &["SELECT", "1"],
    &["ZRANGE", "u1ren", "0", "-1", "WITHSCORES"],
    &["DEL", "u1ren"],
    &["SELECT", "0"],
    &["DEL", "u2"],
    &["EXISTS", "u2"],
    // Arity.
    &["ZADD", "z"],
    &["ZCARD"],
    &["ZRANGE", "z", "0"],
    &["ZRANK", "z"],
    &["ZUNIONSTORE", "d", "1"],
];

/// OBJECT ENCODING at the conversion thresholds, default and after CONFIG
/// SET zset-max-listpack-entries / -value.
fn thresholds(d: &mut Duo) {
    let r = |d: &mut Duo, args: &[&str]| d.run("enc", args);
    for i in 0..128 {
        r(d, &["ZADD", "e1", &i.to_string(), &format!("m{i}")]);
    }
    r(d, &["OBJECT", "ENCODING", "e1"]);
    r(d, &["ZADD", "e1", "5", "m0"]);
    r(d, &["OBJECT", "ENCODING", "e1"]);
    r(d, &["ZADD", "e1", "1", "m128"]);
    r(d, &["OBJECT", "ENCODING", "e1"]);
    // One way: shrinking does not convert back.
    r(d, &["ZREMRANGEBYRANK", "e1", "0", "-3"]);
    r(d, &["OBJECT", "ENCODING", "e1"]);
    r(d, &["ZRANGE", "e1", "0", "-1", "WITHSCORES"]);
    // ...but a store builds a new one.
    r(d, &["ZUNIONSTORE", "e2", "1", "e1"]);
    r(d, &["OBJECT", "ENCODING", "e2"]);
    r(d, &["ZADD", "e3", "1", &"x".repeat(64)]);
    r(d, &["OBJECT", "ENCODING", "e3"]);
    r(d, &["ZADD", "e3", "1", &"y".repeat(65)]);
    r(d, &["OBJECT", "ENCODING", "e3"]);
    r(d, &["ZADD", "e4", "1", &"y".repeat(65)]);
    r(d, &["OBJECT", "ENCODING", "e4"]);
    // A new key's encoding comes from its first member; a later long one
    // converts it (and -0 went through the listpack first).
    let long = "x".repeat(65);
    r(d, &["ZADD", "e10", "-0", "a", "1", &long]);
    r(d, &["ZSCORE", "e10", "a"]);
    r(d, &["OBJECT", "ENCODING", "e10"]);
    r(d, &["ZADD", "e11", "1", &long, "-0", "a"]);
    r(d, &["ZSCORE", "e11", "a"]);
    let mut many = vec!["ZADD", "e12", "-0", "a"];
    let names: Vec<String> = (0..130).map(|i| format!("n{i}")).collect();
    for n in &names {
        many.push("1");
        many.push(n);
    }
    r(d, &many);
    r(d, &["ZSCORE", "e12", "a"]);
    r(d, &["OBJECT", "ENCODING", "e12"]);
    r(d, &["ZRANGESTORE", "e13", "e12", "0", "-1"]);
    r(d, &["ZSCORE", "e13", "a"]);
    r(d, &["ZADD", "e14", "-0", "a"]);
    r(d, &["ZADD", "e14", "1", &long]);
    r(d, &["ZUNIONSTORE", "e15", "2", "e14", "e11"]);
    r(d, &["ZSCORE", "e15", "a"]);
    r(d, &["OBJECT", "ENCODING", "e15"]);
    r(d, &["CONFIG", "SET", "zset-max-listpack-entries", "3"]);
    r(d, &["ZADD", "e5", "1", "a", "2", "b", "3", "c"]);
    r(d, &["OBJECT", "ENCODING", "e5"]);
    r(d, &["ZADD", "e5", "4", "d"]);
    r(d, &["OBJECT", "ENCODING", "e5"]);
    r(d, &["ZRANGESTORE", "e6", "e5", "0", "2"]);
    r(d, &["OBJECT", "ENCODING", "e6"]);
    r(d, &["ZRANGESTORE", "e6", "e5", "0", "3"]);
    r(d, &["OBJECT", "ENCODING", "e6"]);
    r(d, &["CONFIG", "SET", "zset-max-listpack-entries", "0"]);
    r(d, &["ZADD", "e7", "1", "a"]);
    r(d, &["OBJECT", "ENCODING", "e7"]);
    r(d, &["ZADD", "e8", "-0", "a"]);
    r(d, &["ZSCORE", "e8", "a"]);
    r(d, &["ZINCRBY", "e8", "-0", "a"]);
    r(d, &["ZADD", "e8", "0", "a"]);
    r(d, &["ZSCORE", "e8", "a"]);
    r(d, &["CONFIG", "SET", "zset-max-listpack-entries", "128"]);
    r(d, &["CONFIG", "SET", "zset-max-listpack-value", "2"]);
    r(d, &["ZADD", "e9", "1", "ab"]);
    r(d, &["OBJECT", "ENCODING", "e9"]);
    r(d, &["ZADD", "e9", "1", "abc"]);
    r(d, &["OBJECT", "ENCODING", "e9"]);
    r(d, &["CONFIG", "SET", "zset-max-ziplist-value", "64"]);
    // Big zsets: every range kind against the tree.
    for i in 0..300 {
        let s = ((i * 37) % 101).to_string();
        r(d, &["ZADD", "big", &s, &format!("m{i:03}")]);
    }
    r(d, &["OBJECT", "ENCODING", "big"]);
    for args in [
        &["ZRANGE", "big", "0", "-1", "WITHSCORES"][..],
        &["ZRANGE", "big", "100", "120", "REV", "WITHSCORES"],
        &["ZRANGE", "big", "(10", "20", "BYSCORE", "LIMIT", "3", "7"],
        &[
            "ZRANGE", "big", "20", "(10", "BYSCORE", "REV", "LIMIT", "3", "7",
        ],
        &["ZCOUNT", "big", "(50", "+inf"],
        &["ZRANK", "big", "m150"],
        &["ZREVRANK", "big", "m150"],
        &["ZSCAN", "big", "0", "COUNT", "7"],
        &["ZSCAN", "big", "0", "MATCH", "m1*"],
        &["ZREMRANGEBYSCORE", "big", "40", "(60"],
        &["ZREMRANGEBYRANK", "big", "10", "30"],
        &["ZPOPMAX", "big", "5"],
        &["ZMPOP", "1", "big", "MIN", "COUNT", "3"],
        &["ZINCRBY", "big", "1000", "m007"],
        &["ZRANGE", "big", "0", "-1", "WITHSCORES"],
        &[
            "ZUNIONSTORE",
            "big2",
            "2",
            "big",
            "e1",
            "WEIGHTS",
            "1",
            "0.5",
        ],
        &["ZRANGE", "big2", "0", "-1", "WITHSCORES"],
        &[
            "ZINTER",
            "2",
            "big",
            "big2",
            "AGGREGATE",
            "MIN",
            "WITHSCORES",
        ],
        &["ZDIFF", "2", "big", "e1", "WITHSCORES"],
    ] {
        r(d, args);
    }
    // Lex over a big one-score zset.
    for i in 0..200 {
        r(
            d,
            &["ZADD", "biglex", "0", &format!("w{:03}", (i * 7) % 200)],
        );
    }
    for args in [
        &[
            "ZRANGEBYLEX",
            "biglex",
            "[w050",
            "(w090",
            "LIMIT",
            "5",
            "10",
        ][..],
        &["ZREVRANGEBYLEX", "biglex", "+", "(w150"],
        &["ZLEXCOUNT", "biglex", "(w010", "[w199"],
        &["ZREMRANGEBYLEX", "biglex", "-", "(w100"],
        &["ZRANGE", "biglex", "0", "-1"],
    ] {
        r(d, args);
    }
}

fn random_stream(d: &mut Duo, seed: u64, n: usize) {
    let mut r = Rng(seed);
    let zkeys = ["z1", "z2", "z3", "s1", "str"];
    let members = ["a", "b", "c", "d", "e", "f", "g", "10", "-1", ""];
    let scores = [
        "1", "2", "-1", "0", "1.5", "-0", "inf", "-inf", "3", "0.1", "1e300", "-2.5", "x",
    ];
    let bounds = ["-inf", "+inf", "0", "(0", "1", "(1.5", "3", "(3", "-1", "x"];
    let lexb = ["-", "+", "[a", "(a", "[c", "(d", "[f", "(g", "x", "[", "("];
    let ints = ["-3", "-1", "0", "1", "2", "5", "x"];
    let weights = ["1", "2", "-1", "0.5", "0", "inf"];
    let aggs = ["SUM", "MIN", "MAX"];
    for i in 0..n {
        let origin = format!("seed {seed} step {i}");
        let k = r.pick(&zkeys);
        let k2 = r.pick(&zkeys);
        let m = r.pick(&members);
        let m2 = r.pick(&members);
        let s = r.pick(&scores);
        let s2 = r.pick(&scores);
        let b1 = r.pick(&bounds);
        let b2 = r.pick(&bounds);
        let l1 = r.pick(&lexb);
        let l2 = r.pick(&lexb);
        let i1 = r.pick(&ints);
        let i2 = r.pick(&ints);
        let w1 = r.pick(&weights);
        let w2 = r.pick(&weights);
        let agg = r.pick(&aggs);
        let opts = ["NX", "XX", "GT", "LT", "CH"];
        let o = r.pick(&opts);
        let cmd: Vec<&str> = match r.below(44) {
            0..=3 => vec!["ZADD", k, s, m, s2, m2],
            4 => vec!["ZADD", k, o, s, m],
            5 => vec!["ZADD", k, o, "CH", s, m, s2, m2],
            6 => vec!["ZADD", k, "INCR", s, m],
            7 => vec!["ZADD", k, o, "INCR", s, m],
            8 => vec!["ZINCRBY", k, s, m],
            9 => vec!["ZREM", k, m, m2],
            10 => vec!["ZCARD", k],
            11 => vec!["ZSCORE", k, m],
            12 => vec!["ZMSCORE", k, m, m2],
            13 => vec!["ZCOUNT", k, b1, b2],
            14 => vec!["ZRANK", k, m],
            15 => vec!["ZREVRANK", k, m],
            16 => vec!["ZRANGE", k, i1, i2, "WITHSCORES"],
            17 => vec!["ZRANGE", k, i1, i2, "REV"],
            18 => vec![
                "ZRANGE",
                k,
                b1,
                b2,
                "BYSCORE",
                "LIMIT",
                i1,
                i2,
                "WITHSCORES",
            ],
            19 => vec!["ZRANGEBYSCORE", k, b1, b2, "WITHSCORES"],
            20 => vec!["ZREVRANGEBYSCORE", k, b2, b1, "LIMIT", i1, i2],
            21 => vec!["ZREVRANGE", k, i1, i2, "WITHSCORES"],
            22 => vec!["ZADD", "lx", "0", m, "0", m2],
            23 => vec!["ZRANGEBYLEX", "lx", l1, l2],
            24 => vec!["ZREVRANGEBYLEX", "lx", l2, l1, "LIMIT", i1, i2],
            25 => vec!["ZLEXCOUNT", "lx", l1, l2],
            26 => vec!["ZREMRANGEBYLEX", "lx", l1, l2],
            27 => vec!["ZREMRANGEBYRANK", k, i1, i2],
            28 => vec!["ZREMRANGEBYSCORE", k, b1, b2],
            29 => vec!["ZPOPMIN", k],
            30 => vec!["ZPOPMAX", k, i1],
            31 => vec!["ZMPOP", "2", k, k2, ["MIN", "MAX"][r.below(2)], "COUNT", i1],
            32 => vec![
                "ZUNION",
                "2",
                k,
                k2,
                "WEIGHTS",
                w1,
                w2,
                "AGGREGATE",
                agg,
                "WITHSCORES",
            ],
            33 => vec!["ZINTER", "2", k, k2, "AGGREGATE", agg, "WITHSCORES"],
            34 => vec!["ZDIFF", "2", k, k2, "WITHSCORES"],
            35 => vec!["ZUNIONSTORE", r.pick(&zkeys), "2", k, k2, "WEIGHTS", w1, w2],
            36 => vec!["ZINTERSTORE", r.pick(&zkeys), "2", k, k2, "AGGREGATE", agg],
            37 => vec!["ZDIFFSTORE", r.pick(&zkeys), "2", k, k2],
            38 => vec!["ZINTERCARD", "2", k, k2, "LIMIT", i1],
            39 => vec!["ZRANGESTORE", r.pick(&zkeys), k, b1, b2, "BYSCORE", "REV"],
            40 => vec!["ZRANDMEMBER", k, i1, "WITHSCORES"],
            41 => vec!["ZSCAN", k, "0"],
            42 => vec!["SADD", "s1", m],
            _ => vec!["OBJECT", "ENCODING", k],
        };
        d.run(&origin, &cmd);
    }
}

#[test]
fn differential_zset() {
    let Some(mut d) = Duo::start() else { return };
    for (i, c) in TABLE.iter().enumerate() {
        d.run(&format!("table {i}"), c);
    }
    thresholds(&mut d);
    d.run("reset", &["FLUSHALL"]);
    d.run("reset", &["SET", "str", "x"]);
    for seed in 1..=6u64 {
        match seed {
            3 => {
                d.both(&["HELLO", "3"]);
                d.run("reset", &["FLUSHALL"]);
                for (i, c) in TABLE.iter().enumerate() {
                    d.run(&format!("resp3 table {i}"), c);
                }
                thresholds(&mut d);
                d.run(
                    "reset",
                    &["CONFIG", "SET", "zset-max-listpack-entries", "128"],
                );
                d.run("reset", &["FLUSHALL"]);
                d.run("reset", &["SET", "str", "x"]);
            }
            // Small listpack limit: the random keys convert to skiplist.
            5 => d.run("cfg", &["CONFIG", "SET", "zset-max-listpack-entries", "4"]),
            _ => {}
        }
        random_stream(&mut d, seed.wrapping_mul(0x9E37_79B9_7F4A_7C15), 1500);
    }
}

/// Every key with its type, contents (ZRANGE 0 -1 WITHSCORES for zsets)
/// and encoding.
fn dump(c: &mut common::Raw) -> Vec<String> {
    let mut keys = Vec::new();
    flat(&c.cmds(&["KEYS", "*"]), &mut keys);
    keys.sort();
    keys.iter()
        .map(|k| {
            let k = String::from_utf8_lossy(k).into_owned();
            let t = c.cmds(&["TYPE", &k]);
            let v = match &t {
                Resp::Simple(s) if s == b"zset" => c.cmds(&["ZRANGE", &k, "0", "-1", "WITHSCORES"]),
                Resp::Simple(s) if s == b"set" => c.cmds(&["SCARD", &k]),
                _ => c.cmds(&["GET", &k]),
            };
            let e = match c.cmds(&["OBJECT", "ENCODING", &k]) {
                Resp::Bulk(Some(b)) => String::from_utf8_lossy(&b).into_owned(),
                other => format!("{other:?}"),
            };
            format!("{k} {t:?} {e:?} {v:?}")
        })
        .collect()
}

/// A seeded stream of every writing zset command.
fn write_stream(c: &mut common::Raw, seed: u64, n: usize) {
    let mut r = Rng(seed);
    let keys = ["z1", "z2", "big"];
    let scores = ["1", "-2.5", "0.1", "inf", "-inf", "-0", "3e10", "7"];
    for i in 0..n {
        let k = r.pick(&keys);
        let k2 = r.pick(&keys);
        let m = format!("m{}", r.below(if k == "big" { 400 } else { 12 }));
        let s = r.pick(&scores);
        let cnt = (r.below(4) + 1).to_string();
        let lo = r.below(5).to_string();
        let cmd: Vec<&str> = match r.below(16) {
            0..=4 => vec!["ZADD", k, s, &m],
            5 => vec!["ZADD", k, "GT", "CH", s, &m],
            6 => vec!["ZINCRBY", k, s, &m],
            7 => vec!["ZADD", k, "INCR", s, &m],
            8 => vec!["ZREM", k, &m],
            9 => vec!["ZPOPMIN", k, &cnt],
            10 => vec!["ZMPOP", "2", k, k2, "MAX", "COUNT", &cnt],
            11 => vec!["ZREMRANGEBYRANK", k, &lo, &cnt],
            12 => vec!["ZREMRANGEBYSCORE", k, "(1", &cnt],
            13 => vec!["ZUNIONSTORE", "u", "2", k, k2, "WEIGHTS", "2", "0.5"],
            14 => vec!["ZRANGESTORE", "rs", k, "0", &cnt, "REV"],
            _ => vec!["ZINTERSTORE", "i", "2", k, k2, "AGGREGATE", "MAX"],
        };
        c.cmds(&cmd);
        if i % 500 == 0 {
            // Keep "big" past the listpack limit for a while.
            for j in 0..150 {
                c.cmds(&["ZADD", "big", &j.to_string(), &format!("b{j}")]);
            }
        }
    }
}

#[test]
fn replay_zset_clean_restart() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    write_stream(&mut c, 0xC0FFEE, 3000);
    let before = dump(&mut c);
    assert!(before.iter().any(|l| l.contains("skiplist")));
    assert!(before.iter().any(|l| l.contains("listpack")));
    drop(c);
    let s = s.restart(&[]);
    let mut c = s.raw();
    assert_eq!(before, dump(&mut c));
}

#[test]
fn replay_zset_after_kill9() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    write_stream(&mut c, 0xBADD1E, 3000);
    let before = dump(&mut c);
    drop(c);
    s.kill9();
    let s = s.restart(&[]);
    let mut c = s.raw();
    assert_eq!(before, dump(&mut c));
}

/// ZRANK/ZREVRANK WITHSCORE, which Redis 7.0 lacks: Redis 7.2's replies.
#[test]
fn rank_withscore_as_redis_7_2() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    c.cmds(&["ZADD", "z", "1", "a", "2.5", "b", "inf", "c"]);
    c.cmds(&["SET", "str", "x"]);
    let bulk = |s: &str| Resp::Bulk(Some(s.as_bytes().to_vec()));
    let pair = |r: i64, s: &str| Resp::Array(Some(vec![Resp::Int(r), bulk(s)]));
    assert_eq!(c.cmds(&["ZRANK", "z", "b", "WITHSCORE"]), pair(1, "2.5"));
    assert_eq!(c.cmds(&["ZREVRANK", "z", "b", "withscore"]), pair(1, "2.5"));
    assert_eq!(c.cmds(&["ZREVRANK", "z", "c", "WITHSCORE"]), pair(0, "inf"));
    assert_eq!(
        c.cmds(&["ZRANK", "z", "nope", "WITHSCORE"]),
        Resp::Array(None)
    );
    assert_eq!(
        c.cmds(&["ZRANK", "nokey", "a", "WITHSCORE"]),
        Resp::Array(None)
    );
    assert_eq!(c.cmds(&["ZRANK", "z", "nope"]), Resp::Bulk(None));
    assert_eq!(
        c.cmds(&["ZRANK", "z", "a", "WITHSCORES"]),
        Resp::Error(b"ERR syntax error".to_vec())
    );
    assert_eq!(
        c.cmds(&["ZRANK", "z", "a", "WITHSCORE", "x"]),
        Resp::Error(b"ERR wrong number of arguments for 'zrank' command".to_vec())
    );
    assert_eq!(
        c.cmds(&["ZRANK", "str", "a", "WITHSCORE"]),
        Resp::Error(b"WRONGTYPE Operation against a key holding the wrong kind of value".to_vec())
    );
    c.cmds(&["HELLO", "3"]);
    assert_eq!(
        c.cmds(&["ZRANK", "z", "a", "WITHSCORE"]),
        Resp::Array(Some(vec![Resp::Int(0), Resp::Double(b"1".to_vec())]))
    );
    assert_eq!(c.cmds(&["ZRANK", "z", "nope", "WITHSCORE"]), Resp::Null);
}
