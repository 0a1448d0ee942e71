//! DUMP and RESTORE against a real redis-server: payloads cross both ways
//! for every type and encoding (small and big), byte-equal where Redis's
//! layout is reproducible; hand-built payloads in pre-7.0 encodings load
//! the same in both; errors match byte for byte; restored keys survive a
//! restart and kill -9.

mod common;

use common::Rng;

use common::{Duo, RedisServer, Resp, Server, bulk};

fn crc64(data: &[u8]) -> u64 {
    // Redis's crc64 (Jones polynomial, reflected), bit by bit.
    let mut crc: u64 = 0;
    for &b in data {
        crc ^= b as u64;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0x95ac_9329_ac4b_c9b5
            } else {
                crc >> 1
            };
        }
    }
    crc
}

/// Object bytes + RDB version + CRC-64 footer.
fn seal(mut body: Vec<u8>, version: u16) -> Vec<u8> {
    body.extend_from_slice(&version.to_le_bytes());
    let c = crc64(&body);
    body.extend_from_slice(&c.to_le_bytes());
    body
}

fn payload_of(r: Resp) -> Vec<u8> {
    match r {
        Resp::Bulk(Some(b)) => b,
        other => panic!("DUMP gave {other:?}"),
    }
}

fn b(s: &str) -> &[u8] {
    s.as_bytes()
}

/// TYPE, encoding and full contents of a key, normalized for order-free
/// types.
fn contents(c: &mut common::Raw, key: &[u8]) -> Vec<Resp> {
    let t = c.cmd(&[b"TYPE", key]);
    let v = match &t {
        Resp::Simple(s) if s == b"string" => c.cmd(&[b"GET", key]),
        Resp::Simple(s) if s == b"list" => c.cmd(&[b"LRANGE", key, b"0", b"-1"]),
        Resp::Simple(s) if s == b"hash" => {
            let mut pairs: Vec<(Resp, Resp)> = match c.cmd(&[b"HGETALL", key]) {
                Resp::Array(Some(v)) => v.chunks(2).map(|p| (p[0].clone(), p[1].clone())).collect(),
                other => panic!("HGETALL gave {other:?}"),
            };
            pairs.sort_by_key(|p| format!("{p:?}"));
            Resp::Array(Some(pairs.into_iter().flat_map(|(a, b)| [a, b]).collect()))
        }
        Resp::Simple(s) if s == b"zset" => c.cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]),
        Resp::Simple(s) if s == b"set" => match c.cmd(&[b"SMEMBERS", key]) {
            Resp::Array(Some(mut v)) => {
                v.sort_by_key(|x| format!("{x:?}"));
                Resp::Array(Some(v))
            }
            other => other,
        },
        _ => Resp::Null,
    };
    vec![t, c.cmd(&[b"OBJECT", b"ENCODING", key]), v]
}

impl Duo {
    /// Run a command on both; the replies must be equal.
    fn both(&mut self, args: &[&[u8]]) -> Resp {
        let x = self.cairn.cmd(args);
        let y = self.redis.cmd(args);
        assert_eq!(
            x,
            y,
            "{:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
        x
    }

    /// `key` was built the same way in both servers: DUMP each side,
    /// RESTORE it into the other, and compare contents and encodings.
    /// `same_bytes`: the two DUMPs must also be identical.
    fn cross(&mut self, key: &str, same_bytes: bool) {
        let k = key.as_bytes();
        let from_cairn = payload_of(self.cairn.cmd(&[b"DUMP", k]));
        let from_redis = payload_of(self.redis.cmd(&[b"DUMP", k]));
        if same_bytes && from_cairn != from_redis {
            let at = from_cairn
                .iter()
                .zip(&from_redis)
                .take_while(|(a, b)| a == b)
                .count();
            panic!(
                "DUMP {key} differs at byte {at} (lengths {} and {})",
                from_cairn.len(),
                from_redis.len()
            );
        }
        let want = contents(&mut self.redis, k);
        assert_eq!(contents(&mut self.cairn, k), want, "{key} before");
        let rk = format!("{key}:copy");
        let rk = rk.as_bytes();
        // Redis's payload into Cairn, Cairn's into Redis.
        assert_eq!(
            self.cairn.cmd(&[b"RESTORE", rk, b"0", &from_redis]),
            common::simple("OK"),
            "{key} into cairn"
        );
        assert_eq!(
            self.redis.cmd(&[b"RESTORE", rk, b"0", &from_cairn]),
            common::simple("OK"),
            "{key} into redis"
        );
        let mut want_copy = want.clone();
        want_copy[1] = self.redis.cmd(&[b"OBJECT", b"ENCODING", rk]);
        assert_eq!(
            contents(&mut self.redis, rk),
            want_copy,
            "{key}: cairn's payload restored in redis"
        );
        assert_eq!(
            contents(&mut self.cairn, rk),
            want_copy,
            "{key}: redis's payload restored in cairn"
        );
    }
}

fn run(d: &mut Duo, args: &[&str]) {
    let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
    d.both(&a);
}

/// RPUSH/HSET/SADD in batches of 500 arguments.
fn fill(d: &mut Duo, cmd: &str, key: &str, items: &[String]) {
    for chunk in items.chunks(500) {
        let mut a: Vec<&[u8]> = vec![cmd.as_bytes(), key.as_bytes()];
        a.extend(chunk.iter().map(|s| s.as_bytes()));
        d.both(&a);
    }
}

#[test]
fn every_type_crosses_both_ways() {
    let Some(mut d) = Duo::start() else { return };
    // Strings: each integer width, the int encodings, LZF and raw.
    let strings: Vec<(String, String)> = vec![
        ("s0", "0".into()),
        ("s1", "-128".into()),
        ("s2", "127".into()),
        ("s3", "-32768".into()),
        ("s4", "32767".into()),
        ("s5", "2147483647".into()),
        ("s6", "-2147483648".into()),
        ("s7", "2147483648".into()),
        ("s8", "9223372036854775807".into()),
        ("s9", "-9223372036854775808".into()),
        ("s10", "007".into()),
        ("s11", "".into()),
        ("s12", "hello".into()),
        ("s13", "a".repeat(21)),
        ("s14", "abcdefghijklmnopqrstu".into()),
        ("s15", "x".repeat(100_000)),
        (
            "s16",
            "The quick brown fox jumps over the lazy dog. ".repeat(200),
        ),
        (
            "s17",
            (0..2000).map(|i| (i * 7919 % 251) as u8 as char).collect(),
        ),
        ("s18", "1.5".into()),
        ("s19", " 12".into()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    for (k, v) in &strings {
        run(&mut d, &["SET", k, v]);
        d.cross(k, true);
    }
    run(&mut d, &["SET", "ap", "12"]);
    run(&mut d, &["APPEND", "ap", "34"]);
    d.cross("ap", true);

    // Lists: small (one listpack node) and big (many nodes), mixed ints.
    let small: Vec<String> = [
        "a",
        "1",
        "-1",
        "300",
        "-5000",
        "70000",
        "1099511627776",
        "x y",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .chain(["q".repeat(70), "r".repeat(5000)])
    .collect();
    fill(&mut d, "RPUSH", "l10", &small);
    d.cross("l10", true);
    let big: Vec<String> = (0..10_000)
        .map(|i| {
            if i % 3 == 0 {
                i.to_string()
            } else {
                format!("item-{i}")
            }
        })
        .collect();
    fill(&mut d, "RPUSH", "l10k", &big);
    d.cross("l10k", true);
    let longs: Vec<String> = (0..50).map(|i| format!("{i}").repeat(1000)).collect();
    fill(&mut d, "RPUSH", "llong", &longs);
    d.cross("llong", true);

    // Hashes: listpack (10 fields) and hashtable (1000 fields; long value).
    let h10: Vec<String> = (0..10)
        .flat_map(|i| [format!("f{i}"), i.to_string()])
        .collect();
    fill(&mut d, "HSET", "h10", &h10);
    d.cross("h10", true);
    let h1000: Vec<String> = (0..1000)
        .flat_map(|i| [format!("field:{i}"), format!("value:{i}").repeat(i % 4 + 1)])
        .collect();
    fill(&mut d, "HSET", "h1000", &h1000);
    d.cross("h1000", false);
    run(&mut d, &["HSET", "hlongval", "f", &"v".repeat(100)]);
    d.cross("hlongval", true);

    // Sets: intsets of each width, a big intset, string sets.
    run(&mut d, &["SADD", "i16", "1", "-2", "300"]);
    d.cross("i16", true);
    run(&mut d, &["SADD", "i32", "1", "70000", "-70000"]);
    d.cross("i32", true);
    run(&mut d, &["SADD", "i64", "1", "9223372036854775807", "-5"]);
    d.cross("i64", true);
    let ints: Vec<String> = (0..500).map(|i| (i * 37 - 4000).to_string()).collect();
    fill(&mut d, "SADD", "ibig", &ints);
    d.cross("ibig", true);
    let many: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    fill(&mut d, "SADD", "ihuge", &many);
    d.cross("ihuge", false);
    run(&mut d, &["SADD", "sstr", "a", "b", "1", "zz"]);
    d.cross("sstr", false);
    let strs: Vec<String> = (0..1000).map(|i| format!("member-{i}")).collect();
    fill(&mut d, "SADD", "sbig", &strs);
    d.cross("sbig", false);

    // Sorted sets: listpack (scores of every kind), skiplist by count and
    // by member length.
    run(
        &mut d,
        &[
            "ZADD",
            "z10",
            "1",
            "a",
            "-0",
            "b",
            "0",
            "c",
            "1.5",
            "d",
            "0.1",
            "e",
            "-inf",
            "f",
            "inf",
            "g",
            "1e300",
            "h",
            "-5",
            "i",
            "123456789012345678",
            "j",
            "4503599627370496",
            "k",
            "-4503599627370495",
            "l",
            "4503599627370495",
            "m",
            "3",
            "70000",
            "4611686018427387904",
            "n",
            "9223372036854775807",
            "o",
            "-4611686018427387904",
            "p",
            "-4611686018427387905",
            "q",
        ],
    );
    d.cross("z10", true);
    let zbig: Vec<String> = (0..1000)
        .flat_map(|i| [format!("{}", (i * 37 % 101) as f64 / 7.0), format!("m{i}")])
        .collect();
    fill(&mut d, "ZADD", "z1000", &zbig);
    d.cross("z1000", true);
    run(&mut d, &["ZADD", "zlong", "1", &"m".repeat(65), "2", "x"]);
    d.cross("zlong", true);
}

/// A ziplist (pre-7.0 compact encoding) of the given entries.
fn ziplist(entries: &[&[u8]]) -> Vec<u8> {
    let mut body = Vec::new();
    let mut prev = 0usize;
    let mut last = 10usize;
    for e in entries {
        last = 10 + body.len();
        let start = body.len();
        if prev < 254 {
            body.push(prev as u8);
        } else {
            body.push(254);
            body.extend_from_slice(&(prev as u32).to_le_bytes());
        }
        match std::str::from_utf8(e)
            .ok()
            .and_then(|s| s.parse::<i64>().ok())
            .filter(|v| v.to_string().as_bytes() == *e)
        {
            Some(v) if (0..=12).contains(&v) => body.push(0xf1 + v as u8),
            Some(v) if i8::try_from(v).is_ok() => body.extend_from_slice(&[0xfe, v as i8 as u8]),
            Some(v) if i16::try_from(v).is_ok() => {
                body.push(0xc0);
                body.extend_from_slice(&(v as i16).to_le_bytes());
            }
            Some(v) if (-(1 << 23)..(1 << 23)).contains(&v) => {
                body.push(0xf0);
                body.extend_from_slice(&(v as i32).to_le_bytes()[..3]);
            }
            Some(v) if i32::try_from(v).is_ok() => {
                body.push(0xd0);
                body.extend_from_slice(&(v as i32).to_le_bytes());
            }
            Some(v) => {
                body.push(0xe0);
                body.extend_from_slice(&v.to_le_bytes());
            }
            None if e.len() < 64 => {
                body.push(e.len() as u8);
                body.extend_from_slice(e);
            }
            None if e.len() < 16384 => {
                body.push(0x40 | (e.len() >> 8) as u8);
                body.push(e.len() as u8);
                body.extend_from_slice(e);
            }
            None => {
                body.push(0x80);
                body.extend_from_slice(&(e.len() as u32).to_be_bytes());
                body.extend_from_slice(e);
            }
        }
        prev = body.len() - start;
    }
    let mut zl = Vec::new();
    zl.extend_from_slice(&((11 + body.len()) as u32).to_le_bytes());
    zl.extend_from_slice(&(last as u32).to_le_bytes());
    zl.extend_from_slice(&(entries.len() as u16).to_le_bytes());
    zl.extend_from_slice(&body);
    zl.push(0xff);
    zl
}

/// An RDB string: plain length + bytes.
fn rdb_str(out: &mut Vec<u8>, s: &[u8]) {
    rdb_len(out, s.len());
    out.extend_from_slice(s);
}

fn rdb_len(out: &mut Vec<u8>, n: usize) {
    if n < 64 {
        out.push(n as u8);
    } else if n < 16384 {
        out.push(0x40 | (n >> 8) as u8);
        out.push(n as u8);
    } else {
        out.push(0x80);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn obj(t: u8, f: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut o = vec![t];
    f(&mut o);
    seal(o, 9)
}

/// Payloads in encodings Redis 7.0 no longer writes but still loads:
/// both servers must load them to the same value.
#[test]
fn old_encodings_load_like_redis() {
    let Some(mut d) = Duo::start() else { return };
    let items: Vec<&[u8]> = vec![
        b"a",
        b"0",
        b"12",
        b"13",
        b"-100",
        b"30000",
        b"8000000",
        b"2000000000",
        b"9000000000",
        b"hello world",
        &[b'z'; 300],
    ];
    let payloads: Vec<(&str, Vec<u8>)> = vec![
        // 1: linked list.
        (
            "list1",
            obj(1, |o| {
                rdb_len(o, items.len());
                items.iter().for_each(|i| rdb_str(o, i));
            }),
        ),
        // 10: ziplist list.
        ("list10", obj(10, |o| rdb_str(o, &ziplist(&items)))),
        // 14: quicklist of ziplists.
        (
            "list14",
            obj(14, |o| {
                rdb_len(o, 2);
                rdb_str(o, &ziplist(&items[..4]));
                rdb_str(o, &ziplist(&items[4..]));
            }),
        ),
        // 2: set; 4: hash; 13: ziplist hash.
        (
            "set2",
            obj(2, |o| {
                rdb_len(o, 3);
                for m in [b"x".as_slice(), b"1", b"y"] {
                    rdb_str(o, m);
                }
            }),
        ),
        (
            "set2int",
            obj(2, |o| {
                rdb_len(o, 3);
                for m in [b"5".as_slice(), b"1", b"-7"] {
                    rdb_str(o, m);
                }
            }),
        ),
        (
            "hash4",
            obj(4, |o| {
                rdb_len(o, 2);
                for m in [b"f".as_slice(), b"v", b"g", b"12"] {
                    rdb_str(o, m);
                }
            }),
        ),
        (
            "hash13",
            obj(13, |o| rdb_str(o, &ziplist(&[b"f", b"1", b"g", b"hello"]))),
        ),
        // 9: zipmap hash.
        (
            "hash9",
            obj(9, |o| {
                rdb_str(
                    o,
                    &[2, 1, b'a', 1, 0, b'x', 1, b'b', 2, 1, b'y', b'z', 0, 0xff],
                )
            }),
        ),
        // A string with an integer encoding and an LZF one.
        (
            "str_int16",
            obj(0, |o| o.extend_from_slice(&[0xc1, 0x39, 0x30])),
        ),
    ];
    for (key, p) in &payloads {
        let k = key.as_bytes();
        let r = d.both(&[b"RESTORE", k, b"0", p]);
        assert_eq!(r, common::simple("OK"), "{key}");
        let want = contents(&mut d.redis, k);
        assert_eq!(contents(&mut d.cairn, k), want, "{key}");
    }
    // A set listpack (Redis 7.2's type 20): Cairn loads it; Redis 7.0
    // refuses it.
    let mut lp = vec![0u8; 6];
    for m in [b"\x81a\x02".as_slice(), b"\x05\x01"] {
        lp.extend_from_slice(m);
    }
    lp.push(0xff);
    let n = lp.len() as u32;
    lp[..4].copy_from_slice(&n.to_le_bytes());
    lp[4..6].copy_from_slice(&2u16.to_le_bytes());
    let p = obj(20, |o| rdb_str(o, &lp));
    assert_eq!(
        d.cairn.cmd(&[b"RESTORE", b"set20", b"0", &p]),
        common::simple("OK")
    );
    assert_eq!(d.cairn.cmd(&[b"SCARD", b"set20"]), Resp::Int(2));
    assert_eq!(d.cairn.cmd(&[b"SISMEMBER", b"set20", b"5"]), Resp::Int(1));
}

#[test]
fn errors_match_redis() {
    let Some(mut d) = Duo::start() else { return };
    run(&mut d, &["SET", "k", "v"]);
    run(&mut d, &["RPUSH", "l", "a", "b", "c"]);
    let good = payload_of(d.redis.cmd(&[b"DUMP", b"l"]));
    let good_str = payload_of(d.redis.cmd(&[b"DUMP", b"k"]));
    d.both(&[b"DUMP", b"nokey"]);
    d.both(&[b"DUMP"]);
    d.both(&[b"RESTORE", b"x", b"0"]);
    // Checksum, version, length.
    let mut bad_crc = good.clone();
    let n = bad_crc.len();
    bad_crc[n - 1] ^= 0xff;
    d.both(&[b"RESTORE", b"x", b"0", &bad_crc]);
    let mut bad_body = good.clone();
    bad_body[3] ^= 0x01;
    d.both(&[b"RESTORE", b"x", b"0", &bad_body]);
    d.both(&[b"RESTORE", b"x", b"0", &good[..good.len() - 3]]);
    d.both(&[b"RESTORE", b"x", b"0", &good[..5]]);
    d.both(&[b"RESTORE", b"x", b"0", b""]);
    let body = &good[..good.len() - 10];
    d.both(&[b"RESTORE", b"x", b"0", &seal(body.to_vec(), 11)]);
    d.both(&[b"RESTORE", b"x", b"0", &seal(body.to_vec(), 10)]);
    d.both(&[b"RESTORE", b"x2", b"0", &seal(body.to_vec(), 7)]);
    d.both(&[b"DEL", b"x", b"x2"]);
    // Truncated bodies with a valid footer, unknown types, empty values,
    // streams.
    for cut in 1..body.len() {
        d.both(&[b"RESTORE", b"t", b"0", &seal(body[..cut].to_vec(), 10)]);
    }
    for t in [8u8, 22, 100, 255] {
        d.both(&[b"RESTORE", b"t", b"0", &seal(vec![t, 1, b'a'], 10)]);
    }
    d.both(&[b"RESTORE", b"t", b"0", &seal(vec![1, 0], 10)]);
    d.both(&[
        b"RESTORE",
        b"t",
        b"0",
        &seal(vec![2, 2, 1, b'a', 1, b'a'], 10),
    ]);
    d.both(&[b"RESTORE", b"t", b"0", &seal(vec![0, 0xc4], 10)]);
    // A NaN score; a duplicate zset member.
    d.both(&[b"RESTORE", b"t", b"0", &seal(vec![3, 1, 1, b'a', 253], 10)]);
    let mut dup = vec![5, 2, 1, b'a'];
    dup.extend_from_slice(&1f64.to_le_bytes());
    dup.extend_from_slice(&[1, b'a']);
    dup.extend_from_slice(&2f64.to_le_bytes());
    d.both(&[b"RESTORE", b"t", b"0", &seal(dup, 10)]);
    d.both(&[
        b"RESTORE",
        b"t",
        b"0",
        &seal(vec![0, 0xc3, 2, 5, 0x01, b'a'], 10),
    ]);
    d.redis.cmd(&[b"XADD", b"st", b"1-1", b"f", b"v"]);
    d.redis.cmd(&[b"XGROUP", b"CREATE", b"st", b"g", b"0"]);
    let stream = payload_of(d.redis.cmd(&[b"DUMP", b"st"]));
    // A stream with consumer groups restores on both (more in
    // types_stream_groups.rs).
    d.both(&[b"RESTORE", b"t", b"0", &stream]);
    d.both(&[b"XINFO", b"GROUPS", b"t"]);
    d.both(&[b"DEL", b"t"]);
    // Option errors and their order (BUSYKEY before TTL, TTL before the
    // payload).
    d.both(&[b"RESTORE", b"k", b"0", &good]);
    d.both(&[b"RESTORE", b"k", b"-1", &bad_crc]);
    d.both(&[b"RESTORE", b"new", b"-1", &good]);
    d.both(&[b"RESTORE", b"new", b"abc", &bad_crc]);
    d.both(&[b"RESTORE", b"new", b"-1", &bad_crc]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"FOO"]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"IDLETIME"]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"IDLETIME", b"-1"]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"IDLETIME", b"x"]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"FREQ", b"256"]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"FREQ", b"-1"]);
    d.both(&[
        b"RESTORE",
        b"new",
        b"0",
        &good,
        b"IDLETIME",
        b"5",
        b"FREQ",
        b"5",
    ]);
    d.both(&[
        b"RESTORE",
        b"new",
        b"0",
        &good,
        b"FREQ",
        b"5",
        b"IDLETIME",
        b"5",
    ]);
    d.both(&[b"EXISTS", b"new"]);
    d.both(&[b"RESTORE", b"new", b"0", &good, b"FREQ", b"5"]);
    d.both(&[b"LRANGE", b"new", b"0", b"-1"]);
    // REPLACE over another type; TTLs.
    d.both(&[b"RESTORE", b"k", b"0", &good, b"REPLACE"]);
    d.both(&[b"TYPE", b"k"]);
    d.both(&[b"RESTORE", b"k", b"0", &good_str, b"replace", b"replace"]);
    d.both(&[b"GET", b"k"]);
    d.both(&[b"RESTORE", b"k", b"1", &good_str, b"ABSTTL", b"REPLACE"]);
    d.both(&[b"EXISTS", b"k"]);
    d.both(&[b"RESTORE", b"k", b"1", &good_str, b"ABSTTL"]);
    d.both(&[b"EXISTS", b"k"]);
    let far = b"4102444800000"; // 2100-01-01
    d.both(&[b"RESTORE", b"k", far, &good_str, b"ABSTTL"]);
    d.both(&[b"PEXPIRETIME", b"k"]);
    d.both(&[b"RESTORE", b"k2", b"100000", &good_str]);
    for c in [&mut d.cairn, &mut d.redis] {
        match c.cmd(&[b"PTTL", b"k2"]) {
            Resp::Int(n) => assert!((90_000..=100_000).contains(&n), "PTTL {n}"),
            other => panic!("PTTL gave {other:?}"),
        }
    }
    d.both(&[b"RESTORE", b"k2", b"0", &good_str, b"REPLACE"]);
    d.both(&[b"TTL", b"k2"]);
    // IDLETIME: OBJECT IDLETIME reports it (allowing for a clock tick).
    d.both(&[b"RESTORE", b"idle", b"0", &good_str, b"IDLETIME", b"1000"]);
    for c in [&mut d.cairn, &mut d.redis] {
        match c.cmd(&[b"OBJECT", b"IDLETIME", b"idle"]) {
            Resp::Int(n) => assert!((1000..=1002).contains(&n), "IDLETIME {n}"),
            other => panic!("OBJECT IDLETIME gave {other:?}"),
        }
    }
    // RESP3 replies.
    d.cairn.cmd(&[b"HELLO", b"3"]);
    d.redis.cmd(&[b"HELLO", b"3"]);
    d.both(&[b"DUMP", b"nokey"]);
    d.both(&[b"RESTORE", b"k", b"0", &good_str]);
    d.both(&[b"RESTORE", b"z", b"0", &bad_crc]);
}

fn all_contents(c: &mut common::Raw, keys: &[&str]) -> Vec<Vec<Resp>> {
    keys.iter()
        .map(|k| {
            let mut v = contents(c, k.as_bytes());
            v.push(c.cmd(&[b"PEXPIRETIME", k.as_bytes()]));
            v
        })
        .collect()
}

/// Restored keys (payloads from Redis) survive a clean restart and a
/// kill -9, TTLs included; a key restored already expired stays absent.
#[test]
fn restored_keys_survive_restart_and_kill9() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut r = common::Raw::connect(redis.port);
    r.cmds(&["SET", "str", &"abc".repeat(50)]);
    r.cmds(&["SET", "int", "123456"]);
    r.cmds(&["RPUSH", "list", "a", "1", "b"]);
    r.cmds(&["HSET", "hash", "f", "v", "g", "2"]);
    r.cmds(&["SADD", "iset", "3", "1", "2"]);
    r.cmds(&["SADD", "sset", "x", "y"]);
    r.cmds(&["ZADD", "zset", "1", "a", "2.5", "b"]);
    let keys = [
        "str", "int", "list", "hash", "iset", "sset", "zset", "ttl", "gone", "replaced",
    ];
    let mut s = Server::start(&[]);
    let mut c = s.raw();
    c.cmds(&["SET", "replaced", "old"]);
    c.cmds(&["SET", "gone", "old"]);
    for k in ["str", "int", "list", "hash", "iset", "sset", "zset"] {
        let p = payload_of(r.cmds(&["DUMP", k]));
        assert_eq!(c.cmd(&[b"RESTORE", b(k), b"0", &p]), common::simple("OK"));
    }
    let p = payload_of(r.cmds(&["DUMP", "list"]));
    assert_eq!(
        c.cmd(&[b"RESTORE", b"ttl", b"4102444800000", &p, b"ABSTTL"]),
        common::simple("OK")
    );
    assert_eq!(
        c.cmd(&[b"RESTORE", b"replaced", b"0", &p, b"REPLACE"]),
        common::simple("OK")
    );
    assert_eq!(
        c.cmd(&[b"RESTORE", b"gone", b"1", &p, b"ABSTTL", b"REPLACE"]),
        common::simple("OK")
    );
    let before = all_contents(&mut c, &keys);
    assert_eq!(before[8][0], common::simple("none"));
    assert_eq!(
        before[9][2],
        Resp::Array(Some(vec![bulk("a"), bulk("1"), bulk("b")]))
    );
    // Clean restart.
    assert!(c.try_read_after(&common::encode(&[b"SHUTDOWN"])).is_none());
    s.wait_exit(std::time::Duration::from_secs(20))
        .expect("shutdown");
    let mut s = s.restart(&[]);
    let mut c = s.raw();
    assert_eq!(all_contents(&mut c, &keys), before, "after restart");
    // kill -9 right after more restores.
    let p = payload_of(r.cmds(&["DUMP", "hash"]));
    assert_eq!(
        c.cmd(&[b"RESTORE", b"str", b"0", &p, b"REPLACE"]),
        common::simple("OK")
    );
    let before = all_contents(&mut c, &keys);
    s.kill9();
    let s = s.restart(&[]);
    let mut c = s.raw();
    assert_eq!(all_contents(&mut c, &keys), before, "after kill -9");
}

/// Random writes (including deletions, which reorder Cairn's collections
/// and leave Redis's encodings converted), then every key crosses both
/// ways: contents and the restored encodings must agree.
#[test]
fn random_values_cross_both_ways() {
    let Some(mut d) = Duo::start() else { return };
    let mut r = Rng(0xd0_5eed);
    let members = [
        "1",
        "2",
        "-3",
        "70000",
        "9000000000",
        "a",
        "bb",
        "0.5",
        "",
        "x y",
    ];
    for step in 0..3000 {
        let k = ["l", "h", "s", "z", "t"][r.below(5)];
        let m = members[r.below(members.len())].to_string();
        let long = "L".repeat(r.below(3) * 40);
        let n = r.below(300).to_string();
        let args: Vec<String> = match (k, r.below(4)) {
            ("l", 0) => vec!["LPOP".into(), k.into()],
            ("l", _) => vec!["RPUSH".into(), k.into(), format!("{m}{long}")],
            ("h", 0) => vec!["HDEL".into(), k.into(), m],
            ("h", _) => vec!["HSET".into(), k.into(), format!("{m}{n}"), long],
            ("s", 0) => vec!["SREM".into(), k.into(), m],
            ("s", 1) => vec!["SADD".into(), k.into(), n],
            ("s", _) => vec!["SADD".into(), k.into(), m],
            ("z", 0) => vec!["ZREM".into(), k.into(), m],
            ("z", _) => vec!["ZADD".into(), k.into(), n, format!("{m}{long}")],
            (_, 0) => vec!["APPEND".into(), k.into(), m],
            _ => vec!["SET".into(), k.into(), format!("{m}{long}")],
        };
        let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        run(&mut d, &a);
        if step % 500 == 499 {
            for key in ["l", "h", "s", "z", "t"] {
                if d.cairn.cmds(&["EXISTS", key]) == Resp::Int(1) {
                    d.both(&[b"DEL", format!("{key}:copy").as_bytes()]);
                    d.cross(key, false);
                }
            }
        }
    }
}
