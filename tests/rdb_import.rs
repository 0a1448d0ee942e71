//! Migration from Redis: a real redis-server fills every type in each of
//! its encodings (and random keys besides) across several databases,
//! saves `dump.rdb`; `rdb-import` writes it into a new Cairn data dir;
//! the Cairn server started on that dir must hold the same keys, values,
//! encodings and expiries as Redis after it reloads its own file (DEBUG
//! RELOAD). Files written under LRU and LFU policies (IDLE and FREQ
//! opcodes) import too, and so do function libraries. Damaged files,
//! streams, databases out of range and non-empty targets are refused, and
//! a refused import leaves no data behind.

mod common;

use common::{RedisServer, Resp, Rng, Server};
use std::path::Path;
use std::process::Command;

fn import(src: &Path, dir: &Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-import"))
        .arg(src)
        .arg(dir)
        .args(extra)
        .output()
        .expect("run rdb-import");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn s(r: &Resp) -> String {
    match r {
        Resp::Bulk(Some(b)) | Resp::Simple(b) => String::from_utf8_lossy(b).into_owned(),
        other => format!("{other:?}"),
    }
}

fn list(r: Resp) -> Vec<String> {
    match r {
        Resp::Array(Some(v)) => v.iter().map(s).collect(),
        other => panic!("{other:?}"),
    }
}

/// Every key of every database: type, encoding, contents (sets and
/// hashes sorted), and whether it has a TTL.
fn contents(c: &mut common::Raw) -> Vec<String> {
    let mut out = Vec::new();
    for db in 0..16 {
        c.cmds(&["SELECT", &db.to_string()]);
        let mut keys = match c.cmds(&["KEYS", "*"]) {
            Resp::Array(Some(v)) => v
                .into_iter()
                .map(|k| match k {
                    Resp::Bulk(Some(b)) => b,
                    other => panic!("{other:?}"),
                })
                .collect::<Vec<_>>(),
            other => panic!("{other:?}"),
        };
        keys.sort();
        for k in keys {
            let k = &k[..];
            let t = s(&c.cmd(&[b"TYPE", k]));
            let mut v = match t.as_str() {
                "string" => vec![s(&c.cmd(&[b"GET", k]))],
                "list" => list(c.cmd(&[b"LRANGE", k, b"0", b"-1"])),
                "hash" => list(c.cmd(&[b"HGETALL", k]))
                    .chunks(2)
                    .map(|p| p.join("="))
                    .collect(),
                "set" => list(c.cmd(&[b"SMEMBERS", k])),
                "zset" => list(c.cmd(&[b"ZRANGE", k, b"0", b"-1", b"WITHSCORES"])),
                // DUMP holds the entries, the node layout and the metadata
                // (Cairn's payload is Redis's, byte for byte).
                "stream" => vec![format!("{:?}", c.cmd(&[b"DUMP", k]))],
                other => panic!("type {other}"),
            };
            if t == "hash" || t == "set" {
                v.sort();
            }
            let enc = s(&c.cmd(&[b"OBJECT", b"ENCODING", k]));
            let ttl = match c.cmd(&[b"TTL", k]) {
                Resp::Int(-1) => "persistent".to_string(),
                Resp::Int(n) if n > 0 => "volatile".to_string(),
                other => format!("{other:?}"),
            };
            out.push(format!("db{db} {k:?} {t} {enc} {ttl} {v:?}"));
        }
    }
    c.cmds(&["SELECT", "0"]);
    out
}

/// Every type in each encoding Redis 7.0 has for it, in three databases,
/// then random keys of every type and size.
fn fill(r: &mut common::Raw) {
    let big: String = "x".repeat(10_000);
    let text: String = (0..300).map(|i| format!("w{i} ")).collect();
    for db in ["0", "1", "7"] {
        r.cmds(&["SELECT", db]);
        r.cmds(&["SET", "int", "12345"]);
        r.cmds(&["SET", "neg", "-9223372036854775808"]);
        r.cmds(&["SET", "short", "hello"]);
        r.cmds(&["SET", "empty", ""]);
        r.cmds(&["SET", "compressible", &big]);
        r.cmds(&["SET", "text", &text]);
        r.cmd(&[b"SET", b"bin\x00\xff\r\n", b"\x00\x01\x02\xfe"]);
        r.cmds(&["RPUSH", "list-small", "a", "1", "-7", "ccc"]);
        for i in 0..1500 {
            r.cmds(&["RPUSH", "list-big", &format!("item-{i}")]);
        }
        r.cmds(&["RPUSH", "list-plain", &big, "small", &big]);
        r.cmds(&["HSET", "hash-small", "f", "v", "n", "1"]);
        for i in 0..300 {
            r.cmds(&["HSET", "hash-big", &format!("f{i}"), &i.to_string()]);
        }
        r.cmds(&["HSET", "hash-long", "f", &"v".repeat(100)]);
        r.cmds(&["SADD", "set-int", "1", "2", "-3", "1000000000000"]);
        for i in 0..700 {
            r.cmds(&["SADD", "set-int-big", &i.to_string()]);
        }
        r.cmds(&["SADD", "set-str", "a", "b", "c"]);
        r.cmds(&["ZADD", "zset-small", "1", "a", "2.5", "b", "-inf", "c"]);
        for i in 0..200 {
            r.cmds(&["ZADD", "zset-big", &format!("{}.25", i), &format!("m{i}")]);
        }
        r.cmds(&["ZADD", "zset-long", "1", &"m".repeat(100)]);
        r.cmds(&["GEOADD", "geo", "13.361389", "38.115556", "Palermo"]);
        r.cmds(&["PFADD", "hll-sparse", "a", "b", "c"]);
        for i in 0..50 {
            let items: Vec<String> = (0..100).map(|j| format!("e{i}-{j}")).collect();
            let mut a = vec!["PFADD", "hll-dense"];
            a.extend(items.iter().map(|s| s.as_str()));
            r.cmds(&a);
        }
        r.cmds(&["XADD", "stream-small", "1-1", "f", "v", "n", "12"]);
        for i in 1..=260 {
            let (f, v) = if i % 9 == 0 {
                ("other", "x")
            } else {
                ("f", "12345")
            };
            r.cmds(&[
                "XADD",
                "stream-big",
                &format!("{i}-{i}"),
                f,
                v,
                "pad",
                &"p".repeat(i % 40),
            ]);
        }
        r.cmds(&["XDEL", "stream-big", "3-3", "4-4", "250-250"]);
        r.cmds(&["XTRIM", "stream-big", "MAXLEN", "233"]);
        // Consumer groups, with pending entries and an idle consumer.
        r.cmds(&["XGROUP", "CREATE", "stream-big", "g", "0"]);
        r.cmds(&["XGROUP", "CREATE", "stream-big", "g2", "$"]);
        r.cmds(&[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "COUNT",
            "5",
            "STREAMS",
            "stream-big",
            ">",
        ]);
        r.cmds(&["XGROUP", "CREATECONSUMER", "stream-big", "g2", "idle"]);
        r.cmds(&["XADD", "stream-emptied", "5-5", "f", "v"]);
        r.cmds(&["XDEL", "stream-emptied", "5-5"]);
        r.cmds(&["SET", "volatile", "v", "EX", "100000"]);
        r.cmds(&["HSET", "volatile-hash", "f", "v"]);
        r.cmds(&["EXPIRE", "volatile-hash", "100000"]);
    }
    r.cmds(&["SELECT", "2"]);
    let mut g = Rng(0x5EED);
    for i in 0..400 {
        let k = format!("r{i}");
        let n = [1, 3, 10, 200, 600][g.below(5)];
        let member = |g: &mut Rng| match g.below(3) {
            0 => g.below(1000).to_string(),
            1 => format!("m{}", g.below(5000)),
            _ => "z".repeat(g.below(90)),
        };
        for _ in 0..n {
            let m = member(&mut g);
            match i % 5 {
                0 => r.cmds(&["RPUSH", &k, &m]),
                1 => r.cmds(&["HSET", &k, &m, &member(&mut g)]),
                2 => r.cmds(&["SADD", &k, &m]),
                3 => r.cmds(&["ZADD", &k, &g.below(100).to_string(), &m]),
                _ => r.cmds(&["APPEND", &k, &m]),
            };
        }
    }
    r.cmds(&["SELECT", "0"]);
}

fn save(r: &mut common::Raw, redis: &RedisServer, to: &Path) {
    assert_eq!(r.cmds(&["SAVE"]), Resp::Simple(b"OK".to_vec()));
    std::fs::copy(redis.dir().join("dump.rdb"), to).unwrap();
}

#[test]
fn a_redis_dump_imports_with_every_key() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut r = common::Raw::connect(redis.port);
    fill(&mut r);
    // Counted first: PFCOUNT caches the count in the HLL's bytes.
    let counts: Vec<Resp> = ["hll-sparse", "hll-dense"]
        .iter()
        .map(|k| r.cmds(&["PFCOUNT", k]))
        .collect();
    // A key that expires between SAVE and the import: left out.
    r.cmds(&["SET", "short-lived", "v", "PX", "1000"]);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("redis.rdb");
    save(&mut r, &redis, &file);
    std::thread::sleep(std::time::Duration::from_millis(1300));
    // Redis as it is after loading its own file.
    assert_eq!(r.cmds(&["DEBUG", "RELOAD"]), Resp::Simple(b"OK".to_vec()));
    let want = contents(&mut r);
    assert!(want.len() > 400, "{}", want.len());
    for enc in [
        "int",
        "embstr",
        "raw",
        "listpack",
        "quicklist",
        "hashtable",
        "intset",
        "skiplist",
    ] {
        assert!(
            want.iter().any(|l| l.contains(&format!(" {enc} "))),
            "{enc}"
        );
    }

    let dir = work.path().join("cairn");
    let (ok, out) = import(&file, &dir, &[]);
    assert!(ok, "{out}");
    assert!(out.contains("RDB version 10"), "{out}");
    assert!(out.contains("1 already expired left out"), "{out}");
    let s = Server::start_in(into_tempdir(&dir), &[]);
    let mut c = s.raw();
    same(&contents(&mut c), &want, "import");
    // The HLLs are byte-identical, so PFCOUNT agrees.
    for (k, n) in ["hll-sparse", "hll-dense"].iter().zip(&counts) {
        assert_eq!(&c.cmds(&["PFCOUNT", k]), n, "{k}");
    }
    // A second import into the same dir is refused: while the server
    // runs on it, and after, since it holds data.
    drop(c);
    let (ok, out) = import(&file, s.dir(), &[]);
    assert!(!ok && out.contains("in use"), "{out}");
    let mut s = s;
    s.kill9();
    let (ok, out) = import(&file, s.dir(), &[]);
    assert!(!ok && out.contains("already holds data"), "{out}");

    // Files written under LRU and LFU policies carry IDLE and FREQ
    // opcodes before each key.
    for policy in ["allkeys-lru", "allkeys-lfu"] {
        r.cmds(&["CONFIG", "SET", "maxmemory-policy", policy]);
        let f = work.path().join(format!("{policy}.rdb"));
        save(&mut r, &redis, &f);
        let d = work.path().join(policy);
        let (ok, out) = import(&f, &d, &[]);
        assert!(ok, "{policy}: {out}");
        let s = Server::start_in(into_tempdir(&d), &[]);
        let mut c = s.raw();
        same(&contents(&mut c), &want, policy);
    }

    // With `appendonly no` the import writes the dump file instead.
    let d = work.path().join("noaof");
    let (ok, out) = import(&file, &d, &["--appendonly", "no"]);
    assert!(ok, "{out}");
    assert!(d.join("dump.rdb").exists() && !d.join("appendonlydir").exists());
    let s = Server::start_in(into_tempdir(&d), &["--appendonly", "no"]);
    let mut c = s.raw();
    same(&contents(&mut c), &want, "appendonly no");
}

/// Key by key, the first difference shown (shortened).
fn same(got: &[String], want: &[String], what: &str) {
    let short = |s: &str| s.chars().take(300).collect::<String>();
    for (g, w) in got.iter().zip(want) {
        assert_eq!(short(g), short(w), "{what}");
        assert_eq!(g, w, "{what}");
    }
    assert_eq!(got.len(), want.len(), "{what}: key count");
}

/// A path made into a TempDir the server helpers take (removed at drop).
fn into_tempdir(p: &Path) -> tempfile::TempDir {
    let t = tempfile::Builder::new()
        .prefix("imported")
        .tempdir_in(p.parent().unwrap())
        .unwrap();
    std::fs::remove_dir(t.path()).unwrap();
    std::fs::rename(p, t.path()).unwrap();
    t
}

#[test]
fn bad_files_are_refused_and_leave_no_data() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let mut r = common::Raw::connect(redis.port);
    r.cmds(&["SET", "a", "1"]);
    r.cmds(&["SELECT", "7"]);
    r.cmds(&["RPUSH", "l", "x", "y"]);
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.rdb");
    save(&mut r, &redis, &good);
    let bytes = std::fs::read(&good).unwrap();
    let refused = |name: &str, data: &[u8], extra: &[&str], why: &str| {
        let f = work.path().join(format!("{name}.rdb"));
        std::fs::write(&f, data).unwrap();
        let d = work.path().join(name);
        let (ok, out) = import(&f, &d, extra);
        assert!(!ok, "{name}: {out}");
        assert!(out.contains(why), "{name}: {out}");
        // Nothing was written: a server on the dir starts empty.
        let s = Server::start_in(into_tempdir(&d), extra);
        assert_eq!(s.raw().cmds(&["DBSIZE"]), Resp::Int(0), "{name}");
    };
    let mut flipped = bytes.clone();
    let mid = bytes.len() / 2;
    flipped[mid] ^= 0x20;
    refused("flipped", &flipped, &[], "checksum mismatch");
    refused(
        "truncated",
        &bytes[..bytes.len() - 3],
        &[],
        "checksum mismatch",
    );
    refused("cut", &bytes[..bytes.len() / 2], &[], "");
    refused("empty", b"", &[], "not a Redis RDB file");
    let mut newer = bytes.clone();
    newer[5..9].copy_from_slice(b"0099");
    refused("newer", &newer, &[], "RDB version 99");
    refused("dbs", &bytes, &["--databases", "4"], "database 7");

    // Function libraries are carried over (and must load).
    r.cmds(&[
        "FUNCTION",
        "LOAD",
        "#!lua name=lib\nredis.register_function('f', function(keys) return redis.call('get', keys[1]) end)",
    ]);
    let f = work.path().join("function.rdb");
    save(&mut r, &redis, &f);
    let d = work.path().join("function");
    let (ok, out) = import(&f, &d, &[]);
    assert!(ok && out.contains("1 function libraries"), "{out}");
    let s = Server::start_in(into_tempdir(&d), &[]);
    let mut c = s.raw();
    assert_eq!(
        c.cmds(&["FCALL", "f", "1", "a"]),
        Resp::Bulk(Some(b"1".to_vec()))
    );
    assert_eq!(c.cmds(&["SELECT", "7"]), Resp::Simple(b"OK".to_vec()));
    assert_eq!(c.cmds(&["LLEN", "l"]), Resp::Int(2));
}
