//! Command behaviour through the `redis` crate (and raw sockets where the
//! exact reply shape matters), plus differential checks of error texts
//! against a real redis-server when one is installed.

mod common;
use common::*;
use redis::{Commands, Connection, RedisResult, Value};
use std::collections::{BTreeSet, HashSet};
use std::time::{Duration, Instant};

fn q<T: redis::FromRedisValue>(c: &mut Connection, args: &[&str]) -> T {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
        .unwrap_or_else(|e| panic!("{args:?} failed: {e}"))
}

/// The error text of a command that must fail ("ERR ..." as sent on the wire).
fn q_err(c: &mut Connection, args: &[&str]) -> String {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<Value>(c) {
        Ok(v) => panic!("{args:?} succeeded with {v:?}"),
        Err(e) => {
            let code = e.code().unwrap_or("?").to_string();
            let detail = e.detail().unwrap_or("").to_string();
            format!("{code} {detail}").trim_end().to_string()
        }
    }
}

fn ok(c: &mut Connection, args: &[&str]) {
    let v: Value = q(c, args);
    assert_eq!(v, Value::Okay, "{args:?}");
}

fn poll_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn info_field(info: &str, name: &str) -> Option<String> {
    info_value(info, name).map(str::to_string)
}

// ------------------------------------------------------------------ strings

#[test]
fn set_options() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    assert_eq!(q::<i64>(&mut c, &["PTTL", "k"]), -1);
    // NX / XX
    assert_eq!(q::<Value>(&mut c, &["SET", "k", "x", "NX"]), Value::Nil);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v");
    ok(&mut c, &["SET", "k", "w", "XX"]);
    assert_eq!(q::<Value>(&mut c, &["SET", "nokey", "x", "XX"]), Value::Nil);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "nokey"]), 0);
    ok(&mut c, &["SET", "new", "x", "NX"]);
    // GET returns the old value (nil when absent).
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "z", "GET"]),
        Some("w".into())
    );
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "fresh", "1", "GET"]),
        None
    );
    assert_eq!(q::<String>(&mut c, &["GET", "fresh"]), "1");
    // EX / PX observed through PTTL.
    ok(&mut c, &["SET", "e", "1", "EX", "100"]);
    let p: i64 = q(&mut c, &["PTTL", "e"]);
    // Ranges, not exact values: a loaded machine may take a while
    // between the two commands.
    assert!((50_000..=100_000).contains(&p), "pttl {p}");
    let t: i64 = q(&mut c, &["TTL", "e"]);
    assert!((50..=100).contains(&t), "ttl {t}");
    ok(&mut c, &["SET", "p", "1", "PX", "5000"]);
    let p: i64 = q(&mut c, &["PTTL", "p"]);
    assert!((1..=5000).contains(&p), "pttl {p}");
    // KEEPTTL keeps it; a plain SET clears it.
    ok(&mut c, &["SET", "e", "2", "KEEPTTL"]);
    let p: i64 = q(&mut c, &["PTTL", "e"]);
    assert!((1..=100_000).contains(&p), "pttl after KEEPTTL {p}");
    assert_eq!(q::<String>(&mut c, &["GET", "e"]), "2");
    ok(&mut c, &["SET", "e", "3"]);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "e"]), -1);
    // EXAT / PXAT.
    let now_s = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    ok(
        &mut c,
        &["SET", "at", "1", "EXAT", &(now_s + 1000).to_string()],
    );
    assert_eq!(q::<u64>(&mut c, &["EXPIRETIME", "at"]), now_s + 1000);
    ok(
        &mut c,
        &[
            "SET",
            "pat",
            "1",
            "PXAT",
            &((now_s + 1000) * 1000 + 7).to_string(),
        ],
    );
    assert_eq!(
        q::<u64>(&mut c, &["PEXPIRETIME", "pat"]),
        (now_s + 1000) * 1000 + 7
    );
    // SET ... GET with XX/NX combined, and with expiry.
    assert_eq!(
        q::<Option<String>>(&mut c, &["SET", "k", "zz", "XX", "GET", "PX", "100000"]),
        Some("z".into())
    );
    assert!(q::<i64>(&mut c, &["PTTL", "k"]) > 0);
    // Errors.
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "0"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "PX", "-5"]),
        "ERR invalid expire time in 'set' command"
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "abc"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "NX", "XX"]),
        "ERR syntax error"
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "EX", "10", "PX", "10"]),
        "ERR syntax error"
    );
    assert_eq!(
        q_err(&mut c, &["SET", "k", "v", "KEEPTTL", "EX", "10"]),
        "ERR syntax error"
    );
    assert_eq!(q_err(&mut c, &["SET", "k", "v", "EX"]), "ERR syntax error");
    ok(&mut c, &["SET", "ttl-kept", "v", "EX", "100"]);
    ok(&mut c, &["SET", "ttl-kept", "v", "XX", "KEEPTTL"]);
    assert!(q::<i64>(&mut c, &["TTL", "ttl-kept"]) > 0);
}

#[test]
fn setex_setnx_getset_getdel_getex() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["SETEX", "a", "100", "v"]);
    let t: i64 = q(&mut c, &["TTL", "a"]);
    assert!((50..=100).contains(&t), "ttl {t}");
    ok(&mut c, &["PSETEX", "b", "100000", "v"]);
    let p: i64 = q(&mut c, &["PTTL", "b"]);
    assert!((50_000..=100_000).contains(&p), "pttl {p}");
    assert_eq!(
        q_err(&mut c, &["SETEX", "a", "0", "v"]),
        "ERR invalid expire time in 'setex' command"
    );
    assert_eq!(q::<i64>(&mut c, &["SETNX", "a", "x"]), 0);
    assert_eq!(q::<i64>(&mut c, &["SETNX", "n", "x"]), 1);
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETSET", "n", "y"]),
        Some("x".into())
    );
    assert_eq!(q::<Option<String>>(&mut c, &["GETSET", "m", "y"]), None);
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETDEL", "n"]),
        Some("y".into())
    );
    assert_eq!(q::<Option<String>>(&mut c, &["GETDEL", "n"]), None);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "n"]), 0);
    // GETEX sets / clears the TTL.
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETEX", "m", "EX", "50"]),
        Some("y".into())
    );
    let t: i64 = q(&mut c, &["TTL", "m"]);
    assert!((25..=50).contains(&t), "ttl {t}");
    assert_eq!(
        q::<Option<String>>(&mut c, &["GETEX", "m", "PERSIST"]),
        Some("y".into())
    );
    assert_eq!(q::<i64>(&mut c, &["TTL", "m"]), -1);
    assert_eq!(q::<Option<String>>(&mut c, &["GETEX", "nope"]), None);
    // GETSET clears the TTL.
    ok(&mut c, &["SET", "t", "1", "EX", "100"]);
    let _: Option<String> = q(&mut c, &["GETSET", "t", "2"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "t"]), -1);
}

#[test]
fn incr_family() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1);
    assert_eq!(q::<i64>(&mut c, &["INCRBY", "n", "41"]), 42);
    assert_eq!(q::<i64>(&mut c, &["DECR", "n"]), 41);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "-9"]), 50);
    assert_eq!(q::<i64>(&mut c, &["DECRBY", "n", "100"]), -50);
    assert_eq!(q::<String>(&mut c, &["GET", "n"]), "-50");
    ok(&mut c, &["SET", "big", &i64::MAX.to_string()]);
    assert_eq!(
        q_err(&mut c, &["INCR", "big"]),
        "ERR increment or decrement would overflow"
    );
    ok(&mut c, &["SET", "small", &i64::MIN.to_string()]);
    assert_eq!(
        q_err(&mut c, &["DECR", "small"]),
        "ERR increment or decrement would overflow"
    );
    assert_eq!(
        q_err(&mut c, &["DECRBY", "n", &i64::MIN.to_string()]),
        "ERR decrement would overflow"
    );
    for bad in ["abc", " 1", "1 ", "01x", "", "1.5", "99999999999999999999"] {
        ok(&mut c, &["SET", "s", bad]);
        assert_eq!(
            q_err(&mut c, &["INCR", "s"]),
            "ERR value is not an integer or out of range",
            "INCR of {bad:?}"
        );
    }
    assert_eq!(
        q_err(&mut c, &["INCRBY", "n", "x"]),
        "ERR value is not an integer or out of range"
    );
    // INCR keeps the TTL.
    ok(&mut c, &["SET", "t", "1", "EX", "100"]);
    assert_eq!(q::<i64>(&mut c, &["INCR", "t"]), 2);
    assert!(q::<i64>(&mut c, &["TTL", "t"]) > 0);
    // INCRBYFLOAT
    ok(&mut c, &["SET", "f", "10.5"]);
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "0.1"]), "10.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "f", "-5"]), "5.6");
    assert_eq!(q::<String>(&mut c, &["INCRBYFLOAT", "g", "3e2"]), "300");
    assert_eq!(
        q_err(&mut c, &["INCRBYFLOAT", "f", "x"]),
        "ERR value is not a valid float"
    );
}

#[test]
fn append_setrange_getrange() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(q::<i64>(&mut c, &["APPEND", "a", "hello"]), 5);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "a", " world"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "hello world");
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "a"]), 11);
    assert_eq!(q::<i64>(&mut c, &["STRLEN", "none"]), 0);
    // APPEND to an integer-looking value.
    ok(&mut c, &["SET", "n", "12"]);
    assert_eq!(q::<i64>(&mut c, &["APPEND", "n", "34"]), 4);
    assert_eq!(q::<i64>(&mut c, &["INCR", "n"]), 1235);
    // GETRANGE with negative and out-of-range indexes.
    for (a, b, want) in [
        ("0", "4", "hello"),
        ("-5", "-1", "world"),
        ("6", "100", "world"),
        ("0", "-1", "hello world"),
        ("5", "3", ""),
        ("-100", "2", "hel"),
        ("20", "30", ""),
        ("-1", "-5", ""),
    ] {
        assert_eq!(
            q::<String>(&mut c, &["GETRANGE", "a", a, b]),
            want,
            "GETRANGE {a} {b}"
        );
    }
    assert_eq!(q::<String>(&mut c, &["GETRANGE", "none", "0", "-1"]), "");
    assert_eq!(q::<String>(&mut c, &["SUBSTR", "a", "0", "1"]), "he");
    // SETRANGE pads with zero bytes.
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "a", "6", "WORLD"]), 11);
    assert_eq!(q::<String>(&mut c, &["GET", "a"]), "hello WORLD");
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "z", "3", "x"]), 4);
    assert_eq!(q::<Vec<u8>>(&mut c, &["GET", "z"]), b"\0\0\0x".to_vec());
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "a", "0", ""]), 11);
    assert_eq!(q::<i64>(&mut c, &["SETRANGE", "empty", "5", ""]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "empty"]), 0);
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "a", "-1", "x"]),
        "ERR offset is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SETRANGE", "a", "536870912", "x"]),
        "ERR string exceeds maximum allowed size (proto-max-bulk-len)"
    );
}

#[test]
fn mset_mget_msetnx() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"]);
    assert_eq!(
        q::<Vec<Option<String>>>(&mut c, &["MGET", "a", "x", "c", "b"]),
        vec![Some("1".into()), None, Some("3".into()), Some("2".into())]
    );
    // Later duplicates win.
    ok(&mut c, &["MSET", "d", "1", "d", "2"]);
    assert_eq!(q::<String>(&mut c, &["GET", "d"]), "2");
    assert_eq!(
        q_err(&mut c, &["MSET", "a", "1", "b"]),
        "ERR wrong number of arguments for 'mset' command"
    );
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "a", "9", "new", "9"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "new"]), 0);
    assert_eq!(q::<i64>(&mut c, &["MSETNX", "n1", "9", "n2", "9"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "n1", "n2"]), 2);
    // MGET of a non-string gives nil; our only type is string, so check
    // the common path with many keys.
    let mut args = vec!["MSET".to_string()];
    for i in 0..200 {
        args.push(format!("key:{i}"));
        args.push(format!("val:{i}"));
    }
    let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
    ok(&mut c, &a);
    let keys: Vec<String> = (0..200).map(|i| format!("key:{i}")).collect();
    let vals: Vec<String> = c.mget(&keys).unwrap();
    assert_eq!(
        vals,
        (0..200).map(|i| format!("val:{i}")).collect::<Vec<_>>()
    );
}

// ------------------------------------------------------------------ keys

#[test]
fn del_exists_type_rename() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["MSET", "a", "1", "b", "2"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "a", "a", "b", "zz"]), 3);
    assert_eq!(q::<String>(&mut c, &["TYPE", "a"]), "string");
    assert_eq!(q::<String>(&mut c, &["TYPE", "zz"]), "none");
    assert_eq!(q::<i64>(&mut c, &["DEL", "a", "zz", "a"]), 1);
    assert_eq!(q::<i64>(&mut c, &["UNLINK", "b"]), 1);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SET", "src", "v", "EX", "100"]);
    ok(&mut c, &["RENAME", "src", "dst"]);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "src"]), 0);
    assert_eq!(q::<String>(&mut c, &["GET", "dst"]), "v");
    assert!(q::<i64>(&mut c, &["TTL", "dst"]) > 0, "RENAME keeps TTL");
    // Renaming onto an existing key replaces it (and its TTL).
    ok(&mut c, &["SET", "other", "o"]);
    ok(&mut c, &["RENAME", "other", "dst"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "dst"]), -1);
    assert_eq!(q::<String>(&mut c, &["GET", "dst"]), "o");
    ok(&mut c, &["RENAME", "dst", "dst"]);
    assert_eq!(q::<String>(&mut c, &["GET", "dst"]), "o");
    assert_eq!(q_err(&mut c, &["RENAME", "nope", "x"]), "ERR no such key");
    ok(&mut c, &["SET", "x", "1"]);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "x", "dst"]), 0);
    assert_eq!(q::<i64>(&mut c, &["RENAMENX", "x", "y"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "y"]), "1");
    assert_eq!(q::<i64>(&mut c, &["TOUCH", "y", "nope"]), 1);
}

#[test]
fn copy_move_swapdb_select() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["SET", "k", "v", "EX", "1000"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "k", "k2"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "k2"]), "v");
    assert!(q::<i64>(&mut c, &["TTL", "k2"]) > 0, "COPY keeps TTL");
    assert_eq!(q::<i64>(&mut c, &["COPY", "k", "k2"]), 0);
    ok(&mut c, &["SET", "k", "v2"]);
    assert_eq!(q::<i64>(&mut c, &["COPY", "k", "k2", "REPLACE"]), 1);
    assert_eq!(q::<String>(&mut c, &["GET", "k2"]), "v2");
    assert_eq!(q::<i64>(&mut c, &["COPY", "k", "k", "DB", "5"]), 1);
    assert_eq!(q::<i64>(&mut c, &["COPY", "nope", "x"]), 0);
    assert_eq!(
        q_err(&mut c, &["COPY", "k", "k"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        q_err(&mut c, &["COPY", "k", "x", "DB", "16"]),
        "ERR DB index is out of range"
    );
    // Every one of the 16 databases is separate.
    for db in 0..16 {
        ok(&mut c, &["SELECT", &db.to_string()]);
        ok(&mut c, &["SET", "per-db", &format!("db{db}")]);
    }
    for db in 0..16 {
        ok(&mut c, &["SELECT", &db.to_string()]);
        assert_eq!(q::<String>(&mut c, &["GET", "per-db"]), format!("db{db}"));
    }
    ok(&mut c, &["SELECT", "5"]);
    assert_eq!(q::<String>(&mut c, &["GET", "k"]), "v2");
    assert_eq!(
        q_err(&mut c, &["SELECT", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SELECT", "-1"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SELECT", "x"]),
        "ERR value is not an integer or out of range"
    );
    // MOVE
    ok(&mut c, &["SELECT", "0"]);
    ok(&mut c, &["SET", "m", "1"]);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "m"]), 0);
    ok(&mut c, &["SET", "m", "again"]);
    assert_eq!(q::<i64>(&mut c, &["MOVE", "m", "1"]), 0, "target exists");
    assert_eq!(q::<i64>(&mut c, &["MOVE", "nope", "1"]), 0);
    assert_eq!(
        q_err(&mut c, &["MOVE", "m", "0"]),
        "ERR source and destination objects are the same"
    );
    assert_eq!(
        q_err(&mut c, &["MOVE", "m", "99"]),
        "ERR DB index is out of range"
    );
    ok(&mut c, &["SELECT", "1"]);
    assert_eq!(q::<String>(&mut c, &["GET", "m"]), "1");
    // SWAPDB swaps contents; another connection sees it.
    let mut c2 = s.client();
    ok(&mut c, &["SELECT", "0"]);
    let before0: i64 = q(&mut c, &["DBSIZE"]);
    ok(&mut c, &["SELECT", "1"]);
    let before1: i64 = q(&mut c, &["DBSIZE"]);
    ok(&mut c2, &["SWAPDB", "0", "1"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), before0);
    assert_eq!(q::<String>(&mut c, &["GET", "per-db"]), "db0");
    assert_eq!(q::<i64>(&mut c2, &["DBSIZE"]), before1);
    assert_eq!(q::<String>(&mut c2, &["GET", "m"]), "1");
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "0", "16"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "x", "1"]),
        "ERR invalid first DB index"
    );
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "1", "y"]),
        "ERR invalid second DB index"
    );
}

#[test]
fn databases_option_limits_select() {
    let s = Server::start(&["--databases", "4"]);
    let mut c = s.client();
    ok(&mut c, &["SELECT", "3"]);
    assert_eq!(
        q_err(&mut c, &["SELECT", "4"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["MOVE", "k", "4"]),
        "ERR DB index is out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SWAPDB", "0", "4"]),
        "ERR DB index is out of range"
    );
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "databases"]);
    assert_eq!(v, vec!["databases", "4"]);
    // INFO keyspace lists only databases with keys.
    ok(&mut c, &["SET", "a", "1"]);
    let info: String = q(&mut c, &["INFO", "keyspace"]);
    assert!(info.contains("db3:keys=1,expires=0"), "{info}");
    assert!(!info.contains("db0:"), "{info}");
}

#[test]
fn expire_family() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["TTL", "missing"]), -2);
    assert_eq!(q::<i64>(&mut c, &["PTTL", "missing"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), -1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "missing"]), -2);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "100"]), 1);
    let t: i64 = q(&mut c, &["TTL", "k"]);
    assert!((50..=100).contains(&t), "ttl {t}");
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "missing", "100"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRE", "k", "50000"]), 1);
    let p: i64 = q(&mut c, &["PTTL", "k"]);
    assert!((1..=50_000).contains(&p), "{p}");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert_eq!(
        q::<i64>(&mut c, &["EXPIREAT", "k", &(now + 500).to_string()]),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), now + 500);
    assert_eq!(q::<i64>(&mut c, &["PEXPIRETIME", "k"]), (now + 500) * 1000);
    assert_eq!(
        q::<i64>(
            &mut c,
            &["PEXPIREAT", "k", &((now + 600) * 1000).to_string()]
        ),
        1
    );
    assert_eq!(q::<i64>(&mut c, &["EXPIRETIME", "k"]), now + 600);
    // NX / XX / GT / LT
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "10", "NX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "10", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "10", "LT"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "1000", "XX"]), 1);
    ok(&mut c, &["SET", "nottl", "v"]);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "nottl", "10", "XX"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "nottl", "10", "GT"]), 0);
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "nottl", "10", "LT"]), 1);
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "10", "NX", "XX"]),
        "ERR NX and XX, GT or LT options at the same time are not compatible"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "10", "GT", "LT"]),
        "ERR GT and LT options at the same time are not compatible"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "10", "FOO"]),
        "ERR Unsupported option FOO"
    );
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "abc"]),
        "ERR value is not an integer or out of range"
    );
    // PERSIST
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 1);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "k"]), 0);
    assert_eq!(q::<i64>(&mut c, &["PERSIST", "missing"]), 0);
    assert_eq!(q::<i64>(&mut c, &["TTL", "k"]), -1);
    // A TTL in the past deletes the key at once.
    assert_eq!(q::<i64>(&mut c, &["EXPIRE", "k", "-1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(q::<i64>(&mut c, &["PEXPIREAT", "k", "1"]), 1);
    assert_eq!(q::<i64>(&mut c, &["EXISTS", "k"]), 0);
    // Overflowing expire times.
    ok(&mut c, &["SET", "k", "v"]);
    assert_eq!(
        q_err(&mut c, &["EXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'expire' command"
    );
    assert_eq!(
        q_err(&mut c, &["PEXPIRE", "k", "9223372036854775807"]),
        "ERR invalid expire time in 'pexpire' command"
    );
}

#[test]
fn lazy_expiry_on_get() {
    let s = Server::start(&[]);
    let mut c = s.client();
    // Without active expiry only access removes expired keys.
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    for i in 0..50 {
        ok(&mut c, &["SET", &format!("lazy{i}"), "v", "PX", "30"]);
    }
    ok(&mut c, &["SET", "keep", "v"]);
    // Wait until the keys are logically expired (PTTL says -2 without
    // deleting anything: only GET below deletes).
    assert!(poll_until(Duration::from_secs(10), || {
        q::<i64>(&mut c, &["PTTL", "lazy0"]) == -2
    }));
    assert!(poll_until(Duration::from_secs(10), || {
        q::<i64>(&mut c, &["PTTL", "lazy49"]) == -2
    }));
    for i in 0..50 {
        assert_eq!(
            q::<Option<String>>(&mut c, &["GET", &format!("lazy{i}")]),
            None
        );
    }
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    let info: String = q(&mut c, &["INFO", "stats"]);
    let expired: u64 = info_field(&info, "expired_keys")
        .expect("expired_keys")
        .parse()
        .unwrap();
    assert!(expired >= 50, "expired_keys {expired}");
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "1"]);
}

#[test]
fn active_expiry_removes_untouched_keys() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut pipe = redis::pipe();
    for i in 0..2000 {
        pipe.cmd("SET")
            .arg(format!("act{i}"))
            .arg("v")
            .arg("PX")
            .arg(100)
            .ignore();
    }
    for i in 0..100 {
        pipe.cmd("SET").arg(format!("stay{i}")).arg("v").ignore();
    }
    let () = pipe.query(&mut c).unwrap();
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert!(n > 100, "keys expired before the check: {n}");
    // Only DBSIZE and INFO: no key is accessed.
    let gone = poll_until(Duration::from_secs(10), || {
        q::<i64>(&mut c, &["DBSIZE"]) == 100
    });
    let left: i64 = q(&mut c, &["DBSIZE"]);
    assert!(gone, "active expiry left {left} keys");
    let info: String = q(&mut c, &["INFO", "keyspace"]);
    assert!(info.contains("db0:keys=100,expires=0"), "{info}");
}

#[test]
fn keys_glob_patterns() {
    let s = Server::start(&[]);
    let mut c = s.client();
    for k in [
        "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo", "a[b", "user:1", "user:2",
        "user:10", "x\\y",
    ] {
        ok(&mut c, &["SET", k, "1"]);
    }
    let keys = |c: &mut Connection, p: &str| -> BTreeSet<String> {
        q::<Vec<String>>(c, &["KEYS", p]).into_iter().collect()
    };
    let set = |v: &[&str]| -> BTreeSet<String> { v.iter().map(|s| s.to_string()).collect() };
    assert_eq!(
        keys(&mut c, "h?llo"),
        set(&["hello", "hallo", "hxllo", "h*llo", "h?llo"])
    );
    assert_eq!(
        keys(&mut c, "h*llo"),
        set(&[
            "hello", "hallo", "hxllo", "hllo", "heeeello", "h*llo", "h?llo"
        ])
    );
    assert_eq!(keys(&mut c, "h[ae]llo"), set(&["hello", "hallo"]));
    assert_eq!(
        keys(&mut c, "h[^e]llo"),
        set(&["hallo", "hxllo", "h*llo", "h?llo"])
    );
    assert_eq!(keys(&mut c, "h[a-b]llo"), set(&["hallo"]));
    assert_eq!(keys(&mut c, "h\\*llo"), set(&["h*llo"]));
    assert_eq!(keys(&mut c, "user:?"), set(&["user:1", "user:2"]));
    assert_eq!(
        keys(&mut c, "user:*"),
        set(&["user:1", "user:2", "user:10"])
    );
    assert_eq!(keys(&mut c, "a\\[b"), set(&["a[b"]));
    assert_eq!(keys(&mut c, "x\\\\y"), set(&["x\\y"]));
    assert_eq!(keys(&mut c, "nomatch*"), set(&[]));
    assert_eq!(keys(&mut c, "*").len(), 12);
    // Expired keys are not listed.
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    ok(&mut c, &["SET", "user:99", "1", "PX", "1"]);
    assert!(poll_until(Duration::from_secs(10), || {
        q::<i64>(&mut c, &["PTTL", "user:99"]) == -2
    }));
    assert_eq!(
        keys(&mut c, "user:*"),
        set(&["user:1", "user:2", "user:10"])
    );
}

fn scan_all(c: &mut Connection, extra: &[&str]) -> (Vec<String>, usize) {
    let mut cursor = "0".to_string();
    let mut all = Vec::new();
    let mut rounds = 0;
    loop {
        let mut args = vec!["SCAN", cursor.as_str()];
        args.extend_from_slice(extra);
        let (next, keys): (String, Vec<String>) = q(c, &args);
        all.extend(keys);
        rounds += 1;
        assert!(rounds < 100_000, "SCAN does not terminate");
        if next == "0" {
            return (all, rounds);
        }
        cursor = next;
    }
}

#[test]
fn scan_returns_every_key() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut pipe = redis::pipe();
    let mut want = HashSet::new();
    for i in 0..5000 {
        let k = format!("key:{i}");
        pipe.cmd("SET").arg(&k).arg(i).ignore();
        want.insert(k);
    }
    let () = pipe.query(&mut c).unwrap();
    // Default COUNT.
    let (got, rounds) = scan_all(&mut c, &[]);
    let got_set: HashSet<String> = got.iter().cloned().collect();
    assert_eq!(got_set, want);
    assert!(got.len() >= want.len());
    assert!(
        rounds > 10,
        "COUNT 10 should take many calls, took {rounds}"
    );
    // Bigger COUNT.
    let (got, rounds) = scan_all(&mut c, &["COUNT", "1000"]);
    assert_eq!(got.iter().cloned().collect::<HashSet<_>>(), want);
    assert!(rounds < 200, "{rounds}");
    // MATCH filters; the union is exactly the matching keys.
    let (got, _) = scan_all(&mut c, &["MATCH", "key:1*", "COUNT", "100"]);
    let m: HashSet<String> = want
        .iter()
        .filter(|k| k.starts_with("key:1"))
        .cloned()
        .collect();
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), m);
    // TYPE
    let (got, _) = scan_all(&mut c, &["TYPE", "string", "COUNT", "500"]);
    assert_eq!(got.into_iter().collect::<HashSet<_>>(), want);
    let (got, _) = scan_all(&mut c, &["TYPE", "list", "COUNT", "500"]);
    assert!(got.is_empty());
    // Errors.
    assert_eq!(q_err(&mut c, &["SCAN", "x"]), "ERR invalid cursor");
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "COUNT", "0"]),
        "ERR syntax error"
    );
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "COUNT", "x"]),
        "ERR value is not an integer or out of range"
    );
    assert_eq!(
        q_err(&mut c, &["SCAN", "0", "FOO", "1"]),
        "ERR syntax error"
    );
    // Empty database.
    ok(&mut c, &["SELECT", "9"]);
    let (got, rounds) = scan_all(&mut c, &[]);
    assert!(got.is_empty());
    assert_eq!(rounds, 1);
}

#[test]
fn scan_while_keys_are_added() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut pipe = redis::pipe();
    let mut initial = HashSet::new();
    for i in 0..3000 {
        let k = format!("init:{i}");
        pipe.cmd("SET").arg(&k).arg(1).ignore();
        initial.insert(k);
    }
    let () = pipe.query(&mut c).unwrap();
    let mut writer = s.client();
    let mut cursor = "0".to_string();
    let mut seen = HashSet::new();
    let mut added = 0;
    for round in 0..100_000 {
        let (next, keys): (String, Vec<String>) = q(&mut c, &["SCAN", &cursor, "COUNT", "50"]);
        seen.extend(keys);
        // Grow the table between calls (forces rehashing/resizing).
        let mut p = redis::pipe();
        for j in 0..100 {
            p.cmd("SET").arg(format!("new:{round}:{j}")).arg(1).ignore();
        }
        let () = p.query(&mut writer).unwrap();
        added += 100;
        if next == "0" {
            break;
        }
        cursor = next;
    }
    assert!(added > 0);
    let missing: Vec<&String> = initial.difference(&seen).collect();
    assert!(
        missing.is_empty(),
        "{} keys present throughout were never returned, e.g. {:?}",
        missing.len(),
        &missing[..missing.len().min(5)]
    );
}

#[test]
fn randomkey() {
    let s = Server::start(&[]);
    let mut c = s.client();
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
    ok(&mut c, &["MSET", "a", "1", "b", "2", "c", "3"]);
    let mut seen = BTreeSet::new();
    for _ in 0..200 {
        let k: String = q(&mut c, &["RANDOMKEY"]);
        assert!(["a", "b", "c"].contains(&k.as_str()), "{k}");
        seen.insert(k);
    }
    assert_eq!(seen.len(), 3, "RANDOMKEY never returned some keys");
    // Only expired keys left: nil.
    ok(&mut c, &["FLUSHDB"]);
    ok(&mut c, &["DEBUG", "SET-ACTIVE-EXPIRE", "0"]);
    ok(&mut c, &["SET", "gone", "1", "PX", "1"]);
    assert!(poll_until(Duration::from_secs(10), || {
        q::<i64>(&mut c, &["PTTL", "gone"]) == -2
    }));
    assert_eq!(q::<Option<String>>(&mut c, &["RANDOMKEY"]), None);
}

#[test]
fn flushdb_flushall_dbsize() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(&mut c, &["MSET", "a", "1", "b", "2"]);
    ok(&mut c, &["SELECT", "1"]);
    ok(&mut c, &["SET", "c", "3"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 1);
    ok(&mut c, &["FLUSHDB"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 2);
    ok(&mut c, &["SELECT", "2"]);
    ok(&mut c, &["SET", "d", "4"]);
    ok(&mut c, &["FLUSHALL", "ASYNC"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["SELECT", "0"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    ok(&mut c, &["FLUSHDB", "SYNC"]);
    assert_eq!(q_err(&mut c, &["FLUSHDB", "LATER"]), "ERR syntax error");
    assert_eq!(q_err(&mut c, &["FLUSHALL", "LATER"]), "ERR syntax error");
    // Large flush.
    let mut pipe = redis::pipe();
    for i in 0..20_000 {
        pipe.cmd("SET").arg(i).arg(i).ignore();
    }
    let () = pipe.query(&mut c).unwrap();
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 20_000);
    ok(&mut c, &["FLUSHALL"]);
    assert_eq!(q::<i64>(&mut c, &["DBSIZE"]), 0);
    assert_eq!(q::<Option<String>>(&mut c, &["GET", "5"]), None);
}

// ------------------------------------------------------------------ server

#[test]
fn config_get_set() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "port"]);
    assert_eq!(v, vec!["port".to_string(), s.port.to_string()]);
    // Glob patterns, several at once.
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory*"]);
    let names: BTreeSet<String> = v.chunks(2).map(|p| p[0].clone()).collect();
    assert!(names.contains("maxmemory"), "{names:?}");
    assert!(names.contains("maxmemory-policy"), "{names:?}");
    assert!(names.contains("maxmemory-samples"), "{names:?}");
    assert!(names.iter().all(|n| n.starts_with("maxmemory")));
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "port", "hz", "nosuch*"]);
    assert_eq!(v.len(), 4);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "h?"]);
    assert_eq!(v, vec!["hz", "10"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "nosuchparam"]);
    assert!(v.is_empty());
    let all: Vec<String> = q(&mut c, &["CONFIG", "GET", "*"]);
    assert!(all.len() > 40 && all.len().is_multiple_of(2));
    // SET, several at once, memory units.
    ok(&mut c, &["CONFIG", "SET", "maxmemory", "10mb", "hz", "20"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(v, vec!["maxmemory", "10485760"]);
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    assert_eq!(v, vec!["hz", "20"]);
    ok(
        &mut c,
        &["CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"],
    );
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "maxmemory-policy"]);
    assert_eq!(v, vec!["maxmemory-policy", "allkeys-lru"]);
    // Errors.
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "nosuch", "1"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'nosuch'"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "databases", "7"]),
        "ERR CONFIG SET failed (possibly related to argument 'databases') - can't set immutable config"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "hz", "abc"]),
        "ERR CONFIG SET failed (possibly related to argument 'hz') - argument couldn't be parsed into an integer"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "appendonly", "maybe"]),
        "ERR CONFIG SET failed (possibly related to argument 'appendonly') - argument must be 'yes' or 'no'"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "maxmemory-policy", "sometimes"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"
    );
    assert_eq!(
        q_err(&mut c, &["CONFIG", "SET", "hz"]),
        "ERR wrong number of arguments for 'config|set' command"
    );
    // All-or-nothing: a bad pair leaves the good one unapplied.
    assert!(
        q_err(
            &mut c,
            &["CONFIG", "SET", "hz", "30", "appendonly", "maybe"]
        )
        .starts_with("ERR")
    );
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    assert_eq!(v, vec!["hz", "20"]);
    assert_eq!(
        q_err(&mut c, &["CONFIG", "FOO"]),
        "ERR unknown subcommand 'FOO'. Try CONFIG HELP."
    );
    ok(&mut c, &["CONFIG", "RESETSTAT"]);
}

/// CONFIG and other error texts compared with a real redis-server.
#[test]
fn error_texts_match_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&["--save", "", "--appendonly", "no"]);
    let mut a = cairn.raw();
    let mut b = Raw::connect(redis.port);
    let cases: &[&[&str]] = &[
        &["CONFIG", "SET", "nosuch", "1"],
        &["CONFIG", "SET", "databases", "3"],
        &["CONFIG", "SET", "hz", "abc"],
        &["CONFIG", "SET", "hz", "100"],
        &["CONFIG", "SET", "hz", "10"],
        &["CONFIG", "SET", "maxmemory", "1xb"],
        &["CONFIG", "SET", "maxmemory", "-1"],
        &["CONFIG", "SET", "loglevel", "loud"],
        &["CONFIG", "SET", "maxmemory-policy", "sometimes"],
        &["CONFIG", "SET", "activerehashing", "maybe"],
        &["CONFIG", "SET", "timeout", "-1"],
        &["CONFIG", "SET", "save", "100"],
        &["CONFIG", "SET", "save", "a b"],
        &["CONFIG", "SET", "slowlog-log-slower-than", "-2"],
        &["CONFIG", "SET", "hz"],
        &["CONFIG", "GET"],
        &["CONFIG", "GET", "hz"],
        &["CONFIG", "GET", "HZ"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["CONFIG", "GET", "hash-max-ziplist-entries"],
        &["CONFIG", "GET", "nosuch"],
        &["CONFIG", "FOO"],
        &["CONFIG"],
        &["SET", "k", "v", "EX", "0"],
        &["SET", "k", "v", "NX", "XX"],
        &["SET", "k", "v", "EX", "1", "PX", "1"],
        &["SET", "k", "v", "EX", "x"],
        &["SET", "k", "v", "EXAT", "0"],
        &["SET", "k", "v", "FOO"],
        &["SET", "k"],
        &["GET"],
        &["SETEX", "k", "-1", "v"],
        &["PSETEX", "k", "0", "v"],
        &["GETEX", "k", "EX", "0"],
        &["GETEX", "k", "PERSIST", "EX", "1"],
        &["GETEX", "k", "FOO"],
        &["SET", "k", "abc"],
        &["INCR", "k"],
        &["INCRBYFLOAT", "k", "1"],
        &["INCRBYFLOAT", "f", "abc"],
        &["SET", "f", "1e308"],
        &["INCRBYFLOAT", "f", "1e308"],
        &["DECRBY", "n", "-9223372036854775808"],
        &["SETRANGE", "k", "-1", "x"],
        &["SETRANGE", "k", "536870912", "x"],
        &["GETRANGE", "k", "a", "1"],
        &["APPEND", "k"],
        &["MSET", "a"],
        &["MSETNX", "a", "1", "b"],
        &["EXPIRE", "k", "10", "NX", "XX"],
        &["EXPIRE", "k", "10", "GT", "LT"],
        &["EXPIRE", "k", "10", "FOO"],
        &["EXPIRE", "k", "9223372036854775807"],
        &["PEXPIRE", "k", "9223372036854775807"],
        &["EXPIREAT", "k", "9223372036854775807"],
        &["SCAN", "x"],
        &["SCAN", "0", "COUNT", "0"],
        &["SCAN", "0", "MATCH"],
        &["SCAN", "18446744073709551616"],
        &["RENAME", "nosuch", "x"],
        &["COPY", "k", "k"],
        &["COPY", "k", "x", "DB", "99"],
        &["COPY", "k", "x", "FOO"],
        &["MOVE", "k", "0"],
        &["MOVE", "k", "x"],
        &["SELECT", "99"],
        &["SELECT", "x"],
        &["SWAPDB", "0", "x"],
        &["SWAPDB", "0", "99"],
        &["FLUSHALL", "x"],
        &["OBJECT", "FOO", "k"],
        &["OBJECT", "ENCODING", "nosuch"],
        &["CLIENT", "FOO"],
        &["CLIENT", "SETNAME", "a b"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "KILL", "ID", "x"],
        &["CLIENT", "KILL", "FOO", "bar"],
        &["CLIENT", "REPLY", "MAYBE"],
        &["COMMAND", "GETKEYS", "NOSUCH", "k"],
        &["COMMAND", "FOO"],
        &["HELLO", "4"],
        &["PING", "a", "b"],
        &["NOSUCHCMD", "a", "b"],
        &["SHUTDOWN", "FOO"],
        &["SLOWLOG", "GET", "-2"],
        &["INFO", "nosuchsection"],
        &["TIME", "x"],
        &["config", "set", "hz", "10"],
        &["command", "getkeys", "get", "a", "b"],
        &["command", "getkeys", "ping", "x"],
        &["role"],
        &["role", "x"],
        // MEMORY (USAGE's figure itself is Cairn's own; see memory_usage).
        &["memory", "usage", "nokey"],
        &["set", "k", "v"],
        &["memory", "usage", "k", "samples", "x"],
        &["memory", "usage", "k", "samples", "-1"],
        &["memory", "usage", "k", "foo", "1"],
        &["memory", "usage", "k", "samples"],
        &["memory", "usage"],
        &["memory", "help"],
        &["memory", "nosub"],
        &["memory", "purge"],
        &["memory", "malloc-stats", "x"],
        &["command", "getkeys", "memory", "usage", "k"],
        // Movable keys: numkeys, SORT's STORE, GEORADIUS's STORE/STOREDIST.
        &["command", "getkeys", "zunionstore", "d", "2", "a", "b"],
        &["command", "getkeys", "zinter", "2", "a", "b"],
        &["command", "getkeys", "lmpop", "2", "a", "b", "left"],
        &["command", "getkeys", "sintercard", "2", "a", "b"],
        &["command", "getkeys", "zmpop", "2", "a", "b", "min"],
        &["command", "getkeys", "blmpop", "0", "2", "a", "b", "left"],
        &["command", "getkeys", "bzmpop", "0", "2", "a", "b", "min"],
        &["command", "getkeys", "zdiffstore", "d", "2", "a", "b"],
        &["command", "getkeys", "sort_ro", "k", "by", "x"],
        &["command", "getkeys", "zintercard", "2", "a", "b"],
        &["command", "getkeys", "zunion", "x", "a"],
        &["command", "getkeys", "zunion", "3", "a"],
        &["command", "getkeys", "zunion", "0", "a"],
        &["command", "getkeys", "zunion", "-1", "a"],
        &["command", "getkeys", "zunionstore", "d", "0", "a"],
        &["command", "getkeys", "lmpop", "0", "a", "left"],
        &["command", "getkeys", "sort", "k", "store"],
        &[
            "command", "getkeys", "sort", "k", "store", "a", "store", "b",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "store",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "store",
            "a",
            "storedist",
            "b",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "store",
            "a",
            "store",
            "b",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "storedist",
            "a",
            "storedist",
            "b",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "storedist",
            "a",
            "store",
            "b",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "withdist",
            "store",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "store",
            "store",
        ],
        &[
            "command",
            "getkeys",
            "georadiusbymember",
            "k",
            "m",
            "1",
            "km",
            "store",
            "a",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "store",
            "x",
        ],
        &[
            "command",
            "getkeys",
            "georadius",
            "k",
            "0",
            "0",
            "1",
            "km",
            "x",
            "store",
        ],
        &[
            "command", "getkeys", "sort", "k", "store", "a", "limit", "0", "1",
        ],
        &["command", "getkeys", "sort", "k", "by", "store", "x"],
        &["command", "getkeys", "sort", "k", "STORE"],
        &["command", "getkeys", "sort", "k", "limit", "store", "x"],
        &["command", "getkeys", "sort", "k", "get", "store", "x"],
        &[
            "command",
            "getkeys",
            "geosearchstore",
            "d",
            "k",
            "FROMLONLAT",
            "0",
            "0",
            "BYRADIUS",
            "1",
            "km",
        ],
        &["command", "getkeys", "eval", "return", "2", "a", "b", "c"],
        &["command", "getkeys", "get", "a"],
        &["command", "getkeys", "ping"],
        &["command", "getkeys", "mset", "a", "1", "b", "2"],
        &["command", "getkeys", "zrangestore", "d", "s", "0", "1"],
        &["command", "getkeys", "blpop", "a", "b", "0"],
        &["object", "encoding"],
        &["set", "k", "123"],
        &["object", "encoding", "k"],
        &["set", "k", "abc"],
        &["object", "encoding", "k"],
        &["set", "k", "12345678901234567890123456789"],
        &["object", "encoding", "k"],
        &["object", "refcount", "k"],
        &["object", "foo", "k"],
        &["object", "help"],
        &["append", "nokey", ""],
        &["exists", "nokey"],
        &["setrange", "nokey", "0", ""],
        &["exists", "nokey"],
        &["getrange", "k", "0", "-100"],
        &["getrange", "k", "-100", "-100"],
        &["getrange", "k", "5", "5"],
        &["set", "e", ""],
        &["getrange", "e", "0", "-1"],
        &["getrange", "e", "0", "0"],
        &["getrange", "e", "-1", "-1"],
        &["strlen", "e"],
        &["incrbyfloat", "k2", "1.5"],
        &["incrbyfloat", "k2", "1e-20"],
        &["set", "f", "5.0e3"],
        &["incrbyfloat", "f", "1"],
        &["set", "f", "inf"],
        &["incrbyfloat", "f", "1"],
        &["set", "f", "1"],
        &["incrbyfloat", "f", "inf"],
        &["incrbyfloat", "f", "nan"],
        &["set", "n", "10"],
        &["incrbyfloat", "n", "0"],
        &["lcs", "a", "b"],
        &["mset", "a", "ohmytext", "b", "mynewtext"],
        &["lcs", "a", "b"],
        &["lcs", "a", "b", "len"],
        &["lcs", "a", "b", "idx"],
        &["lcs", "a", "b", "idx", "minmatchlen", "4", "withmatchlen"],
        &["getex", "nokey", "persist"],
        &["getex", "nokey", "ex", "10"],
        &["getex", "k", "exat", "1"],
        &["exists", "k"],
        &["set", "k", "v"],
        &["getex", "k", "px", "0"],
        &["getex", "k", "ex", "10", "px", "10"],
        &["set", "k", "v", "get", "ex", "10"],
        &["ttl", "k"],
        &["set", "k", "v", "get", "keepttl"],
        &["ttl", "k"],
        &["set", "k", "v", "nx", "get"],
        &["set", "k", "v", "xx", "get"],
        &["set", "k", "v", "exat", "9223372036854775807"],
        &["set", "k", "v", "px", "9223372036854775807"],
        &["set", "k", "v", "ex", "9223372036854775807"],
        &["set", "k", "v", "ex", "9223372036854775"],
        &["set", "k", "v", "pxat", "0"],
        &["setex", "k", "9223372036854775807", "v"],
        &["psetex", "k", "9223372036854775807", "v"],
        &["expire", "k", "9223372036854775"],
        &["pexpire", "k", "9223372036854775806"],
        &["expireat", "k", "-1"],
        &["exists", "k"],
        &["set", "k", "v"],
        &["pexpireat", "k", "9223372036854775807"],
        &["expire", "k", "100", "gt", "xx"],
        &["expire", "k", "100", "lt", "xx"],
        &["ttl", "k"],
        &["expire", "k", "10", "nx", "gt"],
        &["scan", "0", "type", "nosuchtype"],
        &["scan", "0", "count", "1", "match"],
        &["scan", "0", "count", "-1"],
        &["keys"],
        &["randomkey", "x"],
        &["rename", "k"],
        &["renamenx", "k", "k"],
        &["copy", "k", "k2", "db", "x"],
        &["copy", "k", "k2", "replace", "replace"],
        &["copy", "k", "k2", "db", "1", "replace"],
        &["move", "k", "x"],
        &["move", "k", "-1"],
        &["swapdb", "0", "0"],
        &["swapdb", "-1", "0"],
        &["select", "2147483648"],
        &["select", "1.0"],
        &["dbsize", "x"],
        &["flushdb", "async", "sync"],
        &["ttl"],
        &["type"],
        &["type", "nokey"],
        &["touch"],
        &["del"],
        &["exists"],
        &["mget"],
        &["msetnx", "a"],
        &["echo"],
        &["ping", "a"],
        &["client", "getname", "x"],
        &["client", "id", "x"],
        &["client", "reply"],
        &["client", "no-evict", "maybe"],
        &["client", "help", "x"],
        &["config", "help", "x"],
        &["config", "set"],
        &["config", "set", "maxmemory", "10"],
        &["config", "set", "maxmemory", "0"],
        &["config", "set", "slowlog-max-len", "-1"],
        &["config", "set", "notify-keyspace-events", ""],
        &["slowlog", "len", "x"],
        &["slowlog", "reset", "x"],
        &["slowlog", "foo"],
        &["latency", "foo"],
        &["latency", "reset"],
        &["command", "list", "filterby", "foo", "bar"],
        &["command", "list", "filterby", "pattern"],
        &["unlink"],
        &["substr", "k", "0"],
        &["getset", "k"],
        &["getdel"],
        &["getdel", "k", "extra"],
        &["setnx", "k"],
        &["decrby", "k"],
        &["incrby", "k", "1.5"],
        &["incrby", "k", "9223372036854775808"],
        &["set", "k", "9223372036854775807"],
        &["incrby", "k", "1"],
        &["incrbyfloat", "k", "1"],
        &["decr", "k"],
        &["set", "k", "-9223372036854775808"],
        &["decr", "k"],
        &["decrby", "k", "1"],
        &["incrby", "k", "-1"],
        &["client", "setname"],
        &["client", "kill"],
        &["config", "get"],
    ];
    let mut diffs = Vec::new();
    for cmd in cases {
        let want = b.cmds(cmd);
        let got = a.cmds(cmd);
        if got != want {
            diffs.push(format!(
                "{cmd:?}\n   redis: {}\n   cairn: {}",
                show(&want),
                show(&got)
            ));
        }
    }
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));
}

#[test]
fn config_rewrite_writes_the_file() {
    let confdir = tempfile::tempdir().unwrap();
    let conf = confdir.path().join("cairn.conf");
    std::fs::write(
        &conf,
        "# test config\nhz 15\nmaxmemory-policy allkeys-lru\n",
    )
    .unwrap();
    let s = Server::start_with_config(&conf, &[]);
    let mut c = s.client();
    let v: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    assert_eq!(v, vec!["hz", "15"]);
    ok(&mut c, &["CONFIG", "SET", "hz", "33", "maxmemory", "2mb"]);
    ok(&mut c, &["CONFIG", "REWRITE"]);
    let text = std::fs::read_to_string(&conf).unwrap();
    let lines: Vec<&str> = text.lines().map(|l| l.trim()).collect();
    assert!(lines.contains(&"hz 33"), "{text}");
    assert!(
        lines.contains(&"maxmemory 2097152") || lines.contains(&"maxmemory 2mb"),
        "{text}"
    );
    assert!(lines.contains(&"maxmemory-policy allkeys-lru"), "{text}");
    assert!(!lines.contains(&"hz 15"), "{text}");
    // The rewritten file starts a server with the same settings.
    drop(s);
    let s2 = Server::start_with_config(&conf, &[]);
    let mut c2 = s2.client();
    let v: Vec<String> = q(&mut c2, &["CONFIG", "GET", "hz"]);
    assert_eq!(v, vec!["hz", "33"]);
    let v: Vec<String> = q(&mut c2, &["CONFIG", "GET", "maxmemory"]);
    assert_eq!(v, vec!["maxmemory", "2097152"]);
    // Without a config file, REWRITE fails.
    let s3 = Server::start(&[]);
    let mut c3 = s3.client();
    assert_eq!(
        q_err(&mut c3, &["CONFIG", "REWRITE"]),
        "ERR The server is running without a config file"
    );
}

#[test]
fn info_sections_and_fields() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let _other = s.client();
    ok(&mut c, &["SET", "a", "1"]);
    ok(&mut c, &["SET", "b", "1", "EX", "100"]);
    ok(&mut c, &["SELECT", "2"]);
    ok(&mut c, &["SET", "c", "1"]);
    let info: String = q(&mut c, &["INFO"]);
    for section in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Keyspace",
    ] {
        assert!(info.contains(section), "INFO lacks {section}");
    }
    assert!(info.contains("\r\n"), "INFO lines end in CRLF");
    assert_eq!(
        info_field(&info, "redis_version").as_deref(),
        Some("7.0.15")
    );
    assert_eq!(info_field(&info, "tcp_port"), Some(s.port.to_string()));
    let clients: i64 = info_field(&info, "connected_clients")
        .unwrap()
        .parse()
        .unwrap();
    assert!(clients >= 2, "connected_clients {clients}");
    let mem: u64 = info_field(&info, "used_memory").unwrap().parse().unwrap();
    assert!(mem > 0);
    for f in [
        "used_memory_human",
        "uptime_in_seconds",
        "process_id",
        "run_id",
        "total_connections_received",
        "total_commands_processed",
        "instantaneous_ops_per_sec",
        "keyspace_hits",
        "keyspace_misses",
        "expired_keys",
        "evicted_keys",
        "role",
        "rdb_changes_since_last_save",
        "used_cpu_sys",
        "maxmemory",
        "maxmemory_policy",
    ] {
        assert!(info_field(&info, f).is_some(), "INFO lacks {f}");
    }
    assert_eq!(info_field(&info, "role").as_deref(), Some("master"));
    let db0 = info_field(&info, "db0").unwrap();
    assert!(db0.starts_with("keys=2,expires=1,avg_ttl="), "{db0}");
    let db2 = info_field(&info, "db2").unwrap();
    assert!(db2.starts_with("keys=1,expires=0,avg_ttl="), "{db2}");
    assert!(info_field(&info, "db1").is_none());
    // One section only.
    let info: String = q(&mut c, &["INFO", "server"]);
    assert!(info.contains("# Server") && !info.contains("# Clients"));
    let info: String = q(&mut c, &["INFO", "SERVER", "clients"]);
    assert!(info.contains("# Server") && info.contains("# Clients"));
    let info: String = q(&mut c, &["INFO", "nosuchsection"]);
    assert!(info.is_empty(), "{info:?}");
    // Command statistics.
    let _: Option<String> = q(&mut c, &["GET", "c"]);
    let _: Option<String> = q(&mut c, &["GET", "c"]);
    let info: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(info.contains("# Commandstats"), "{info}");
    let get = info_field(&info, "cmdstat_get").expect("cmdstat_get");
    assert!(get.starts_with("calls=2,usec="), "{get}");
    assert!(get.contains("usec_per_call="), "{get}");
    assert!(get.contains("rejected_calls=0,failed_calls=0"), "{get}");
    let set = info_field(&info, "cmdstat_set").expect("cmdstat_set");
    assert!(set.starts_with("calls=3,"), "{set}");
    assert!(info_field(&info, "cmdstat_info").is_some(), "{info}");
    // Subcommands appear as cmdstat_parent|sub.
    let _: Vec<String> = q(&mut c, &["CONFIG", "GET", "hz"]);
    let info: String = q(&mut c, &["INFO", "commandstats"]);
    let cg = info_field(&info, "cmdstat_config|get").expect("cmdstat_config|get");
    assert!(cg.starts_with("calls=1,"), "{cg}");
    assert!(info_field(&info, "cmdstat_config").is_none(), "{info}");
    // Redis's section order.
    let all: String = q(&mut c, &["INFO", "all"]);
    let sections: Vec<&str> = all.lines().filter(|l| l.starts_with("# ")).collect();
    assert_eq!(
        sections,
        vec![
            "# Server",
            "# Clients",
            "# Memory",
            "# Persistence",
            "# Stats",
            "# Replication",
            "# CPU",
            "# Modules",
            "# Commandstats",
            "# Errorstats",
            "# Latencystats",
            "# Cluster",
            "# Keyspace"
        ]
    );
    // Error statistics.
    let _ = q_err(&mut c, &["INCR", "nosuchcommandfoo", "x"]);
    let info: String = q(&mut c, &["INFO", "errorstats"]);
    assert!(info_field(&info, "errorstat_ERR").is_some(), "{info}");
}

#[test]
fn client_commands() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let mut other = s.raw();
    assert_eq!(other.cmds(&["CLIENT", "SETNAME", "victim"]), simple("OK"));
    let other_id = match other.cmds(&["CLIENT", "ID"]) {
        Resp::Int(n) => n,
        r => panic!("{r:?}"),
    };
    assert_eq!(q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]), None);
    ok(&mut c, &["CLIENT", "SETNAME", "main-conn"]);
    assert_eq!(
        q::<Option<String>>(&mut c, &["CLIENT", "GETNAME"]),
        Some("main-conn".into())
    );
    assert_eq!(
        q_err(&mut c, &["CLIENT", "SETNAME", "has space"]),
        "ERR Client names cannot contain spaces, newlines or special characters."
    );
    let my_id: i64 = q(&mut c, &["CLIENT", "ID"]);
    assert!(my_id > 0 && my_id != other_id);
    let info: String = q(&mut c, &["CLIENT", "INFO"]);
    assert!(info.starts_with(&format!("id={my_id} ")), "{info}");
    assert!(info.contains(" name=main-conn "), "{info}");
    assert!(info.contains(" db=0 "), "{info}");
    assert!(info.contains(" cmd=client|info "), "{info}");
    assert!(info.ends_with('\n'));
    let list: String = q(&mut c, &["CLIENT", "LIST"]);
    let lines: Vec<&str> = list.lines().collect();
    assert!(lines.len() >= 2, "{list}");
    assert!(lines.iter().any(|l| l.contains(" name=victim ")), "{list}");
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("id={my_id} "))),
        "{list}"
    );
    let only: String = q(&mut c, &["CLIENT", "LIST", "ID", &other_id.to_string()]);
    assert_eq!(only.lines().count(), 1);
    assert!(only.contains(" name=victim "), "{only}");
    // CLIENT KILL ID closes the other connection.
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &other_id.to_string()]),
        1
    );
    let (_, closed) = other.read_until_closed(Duration::from_secs(10));
    assert!(closed, "killed client still connected");
    assert!(poll_until(Duration::from_secs(10), || {
        let l: String = q(&mut c, &["CLIENT", "LIST"]);
        !l.contains("name=victim")
    }));
    assert_eq!(
        q::<i64>(&mut c, &["CLIENT", "KILL", "ID", &other_id.to_string()]),
        0
    );
    // Old form: CLIENT KILL addr:port.
    let mut third = s.raw();
    // A reply proves the server has registered the connection.
    assert_eq!(third.cmds(&["PING"]), simple("PONG"));
    let addr = third.stream.local_addr().unwrap().to_string();
    ok(&mut c, &["CLIENT", "KILL", &addr]);
    let (_, closed) = third.read_until_closed(Duration::from_secs(10));
    assert!(closed);
    assert_eq!(
        q_err(&mut c, &["CLIENT", "KILL", "127.0.0.1:1"]),
        "ERR No such client"
    );
    // SKIPME: CLIENT KILL ADDR own addr does not kill itself by default.
    let my_addr = info
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_string();
    assert_eq!(q::<i64>(&mut c, &["CLIENT", "KILL", "ADDR", &my_addr]), 0);
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
}

#[test]
fn command_introspection() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let n: i64 = q(&mut c, &["COMMAND", "COUNT"]);
    assert!(n > 50, "COMMAND COUNT {n}");
    let all: Vec<Value> = q(&mut c, &["COMMAND"]);
    assert_eq!(all.len() as i64, n);
    // COMMAND INFO get: name, arity, flags, first, last, step ...
    let mut raw = s.raw();
    let Resp::Array(Some(v)) = raw.cmds(&["COMMAND", "INFO", "get", "nosuch", "SET"]) else {
        panic!()
    };
    assert_eq!(v.len(), 3);
    let Resp::Array(Some(get)) = &v[0] else {
        panic!("{:?}", v[0])
    };
    assert_eq!(get[0], bulk("get"));
    assert_eq!(get[1], Resp::Int(2));
    let Resp::Array(Some(flags)) = &get[2] else {
        panic!()
    };
    assert!(flags.contains(&simple("readonly")), "{flags:?}");
    assert!(flags.contains(&simple("fast")), "{flags:?}");
    assert_eq!(&get[3..6], &[Resp::Int(1), Resp::Int(1), Resp::Int(1)]);
    // Redis replies a null bulk here; any null is accepted.
    assert!(
        matches!(v[1], Resp::Bulk(None) | Resp::Array(None)),
        "{:?}",
        v[1]
    );
    let Resp::Array(Some(set)) = &v[2] else {
        panic!()
    };
    assert_eq!(set[0], bulk("set"));
    assert_eq!(set[1], Resp::Int(-3));
    // COMMAND DOCS
    let Resp::Array(Some(d)) = raw.cmds(&["COMMAND", "DOCS", "get"]) else {
        panic!()
    };
    assert_eq!(d.len(), 2);
    assert_eq!(d[0], bulk("get"));
    let Resp::Array(Some(doc)) = &d[1] else {
        panic!()
    };
    let idx = doc.iter().position(|x| *x == bulk("group")).expect("group");
    assert_eq!(doc[idx + 1], bulk("string"));
    assert!(doc.contains(&bulk("summary")));
    // COMMAND GETKEYS
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"]);
    assert_eq!(keys, vec!["a", "b"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "SET", "k", "v", "EX", "1"]);
    assert_eq!(keys, vec!["k"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "RENAME", "a", "b"]);
    assert_eq!(keys, vec!["a", "b"]);
    let keys: Vec<String> = q(&mut c, &["COMMAND", "GETKEYS", "DEL", "a", "b", "c"]);
    assert_eq!(keys, vec!["a", "b", "c"]);
    // Redis 7.0: COMMAND GETKEYS has arity -4.
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "PING"]),
        "ERR wrong number of arguments for 'command|getkeys' command"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "ECHO", "x"]),
        "ERR The command has no key arguments"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "NOSUCH", "k"]),
        "ERR Invalid command specified"
    );
    assert_eq!(
        q_err(&mut c, &["COMMAND", "GETKEYS", "GET", "a", "b"]),
        "ERR Invalid number of arguments specified for command"
    );
    let list: Vec<String> = q(&mut c, &["COMMAND", "LIST", "FILTERBY", "PATTERN", "get*"]);
    assert!(list.contains(&"get".to_string()) && list.contains(&"getrange".to_string()));
    assert!(list.iter().all(|n| n.starts_with("get")));
}

#[test]
fn time_debug_sleep_ping_echo() {
    let s = Server::start(&[]);
    let mut c = s.client();
    let (secs, usecs): (u64, u64) = q(&mut c, &["TIME"]);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(secs.abs_diff(now) <= 5, "TIME {secs} vs {now}");
    assert!(usecs < 1_000_000);
    ok(&mut c, &["DEBUG", "SLEEP", "0"]);
    ok(&mut c, &["DEBUG", "SLEEP", "0.01"]);
    assert_eq!(q::<String>(&mut c, &["PING"]), "PONG");
    assert_eq!(q::<String>(&mut c, &["PING", "hi"]), "hi");
    assert_eq!(q::<String>(&mut c, &["ECHO", "x y"]), "x y");
    assert_eq!(
        q_err(&mut c, &["NOSUCHCMD", "a"]),
        "ERR unknown command 'NOSUCHCMD', with args beginning with: 'a'"
    );
    assert_eq!(
        q_err(&mut c, &["GET"]),
        "ERR wrong number of arguments for 'get' command"
    );
    let lastsave: i64 = q(&mut c, &["LASTSAVE"]);
    assert!(lastsave > 0 && (lastsave as u64) <= now + 5);
}

#[test]
fn shutdown_stops_the_process() {
    let mut s = Server::start(&["--save", ""]);
    let mut c = s.client();
    ok(&mut c, &["SET", "k", "v"]);
    let mut r = s.raw();
    r.send(&encode(&[b"SHUTDOWN", b"NOSAVE"]));
    // No reply: the connection just closes.
    let (bytes, closed) = r.read_until_closed(Duration::from_secs(10));
    assert!(closed, "SHUTDOWN left the connection open");
    assert!(bytes.is_empty(), "SHUTDOWN replied {bytes:?}");
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("server still running after SHUTDOWN");
    assert!(status.success(), "exit status {status:?}");
    // The other client is disconnected.
    assert!(q_result(&mut c, &["PING"]).is_err());
}

fn q_result(c: &mut Connection, args: &[&str]) -> RedisResult<Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

/// A command's time (SLOWLOG, INFO commandstats) is its own: not the
/// client's idle time before it, though a batch's commands share clock
/// reads (each command starts when the one before it ended).
#[test]
fn slowlog_and_commandstats_time_only_the_command() {
    let s = Server::start(&[]);
    let mut c = s.client();
    ok(
        &mut c,
        &["CONFIG", "SET", "slowlog-log-slower-than", "100000"],
    );
    ok(&mut c, &["SLOWLOG", "RESET"]);
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(150));
        let _: i64 = q(&mut c, &["INCR", "n"]);
        std::thread::sleep(Duration::from_millis(150));
        let _: Option<String> = q(&mut c, &["GET", "n"]);
    }
    // A pipelined batch after an idle time.
    std::thread::sleep(Duration::from_millis(150));
    let mut p = redis::pipe();
    for _ in 0..10 {
        p.cmd("INCR").arg("n");
    }
    let _: Vec<i64> = p.query(&mut c).unwrap();
    let n: i64 = q(&mut c, &["SLOWLOG", "LEN"]);
    assert_eq!(n, 0, "commands were timed with the idle time before them");
    let info: String = q(&mut c, &["INFO", "commandstats"]);
    let line = info
        .lines()
        .find(|l| l.starts_with("cmdstat_incr:"))
        .expect("incr stats");
    let usec: u64 = line
        .split(',')
        .find_map(|f| f.strip_prefix("usec="))
        .and_then(|v| v.parse().ok())
        .expect("usec field");
    assert!(usec < 100_000, "13 INCRs took {usec} µs: {line}");
}

/// Commands replayed from the log at start-up are not client calls: as in
/// Redis (which runs a loaded AOF's commands without `call()`), they do
/// not show in INFO commandstats or the slowlog.
#[test]
fn replayed_commands_are_not_counted_as_calls() {
    let mut s = Server::start(&["--save", ""]);
    let mut c = s.client();
    ok(&mut c, &["CONFIG", "SET", "slowlog-log-slower-than", "0"]);
    for i in 0..5 {
        ok(&mut c, &["SET", &format!("k{i}"), "v"]);
    }
    drop(c);
    s.kill9();
    let s = s.restart(&["--save", "", "--slowlog-log-slower-than", "0"]);
    let mut c = s.client();
    let n: i64 = q(&mut c, &["DBSIZE"]);
    assert_eq!(n, 5);
    let info: String = q(&mut c, &["INFO", "commandstats"]);
    assert!(info_field(&info, "cmdstat_set").is_none(), "{info}");
    // The slowlog holds only commands clients sent since (no SET k0..k4).
    let entries: Vec<redis::Value> = q(&mut c, &["SLOWLOG", "GET", "100"]);
    let text = format!("{entries:?}");
    assert!(text.contains("DBSIZE") && !text.contains("k0"), "{text}");
}

/// MEMORY USAGE: nil for a missing key; a value's bytes plus the entry's
/// for one that exists (Redis's own figure differs by its structures).
#[test]
fn memory_usage_counts_the_value() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["MEMORY", "USAGE", "nokey"]), Resp::Bulk(None));
    let big = "x".repeat(100_000);
    c.cmds(&["SET", "big", &big]);
    let Resp::Int(n) = c.cmds(&["MEMORY", "USAGE", "big", "SAMPLES", "0"]) else {
        panic!()
    };
    assert!((100_000..120_000).contains(&n), "{n}");
    for i in 0..1000 {
        c.cmds(&["RPUSH", "l", &i.to_string()]);
    }
    let Resp::Int(n) = c.cmds(&["MEMORY", "USAGE", "l"]) else {
        panic!()
    };
    assert!((2_000..20_000).contains(&n), "{n}");
    let Resp::Array(Some(stats)) = c.cmds(&["MEMORY", "STATS"]) else {
        panic!()
    };
    assert!(stats.contains(&Resp::Bulk(Some(b"keys.count".to_vec()))));
    assert_eq!(c.cmds(&["MEMORY", "PURGE"]), Resp::Simple(b"OK".to_vec()));
}
