//! Model-based property test: random sequences of string and key commands
//! run against the server and against a BTreeMap model must give the same
//! replies and leave the same keyspace.

mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::BTreeMap;

const KEYS: &[&str] = &["a", "b", "c", "d", "{x}"];

#[derive(Debug, Clone)]
enum Op {
    Set(usize, Vec<u8>),
    Get(usize),
    Del(Vec<usize>),
    Exists(Vec<usize>),
    Append(usize, Vec<u8>),
    IncrBy(usize, i64),
    Decr(usize),
    Strlen(usize),
    GetDel(usize),
    SetNx(usize, Vec<u8>),
    MSet(Vec<(usize, Vec<u8>)>),
    MGet(Vec<usize>),
    Rename(usize, usize),
    GetRange(usize, i64, i64),
    SetRange(usize, i64, Vec<u8>),
}

fn key() -> impl Strategy<Value = usize> {
    0..KEYS.len()
}

fn keys() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(key(), 1..5)
}

/// Values: arbitrary short bytes, and strings that are (or almost are)
/// integers so INCRBY/DECR hit both their success and error paths.
fn value() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..8),
        (-1000i64..1000).prop_map(|n| n.to_string().into_bytes()),
        prop::sample::select(vec![
            "0",
            "-0",
            "007",
            "+1",
            " 1",
            "1 ",
            "9223372036854775807",
            "-9223372036854775808",
            "9223372036854775808",
            "1.5",
            "",
            "12a",
        ])
        .prop_map(|s| s.as_bytes().to_vec()),
    ]
}

fn increment() -> impl Strategy<Value = i64> {
    prop_oneof![
        4 => -100i64..100,
        1 => prop::sample::select(vec![i64::MAX, i64::MIN, i64::MAX - 1, i64::MIN + 1]),
    ]
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (key(), value()).prop_map(|(k, v)| Op::Set(k, v)),
        key().prop_map(Op::Get),
        keys().prop_map(Op::Del),
        keys().prop_map(Op::Exists),
        (key(), value()).prop_map(|(k, v)| Op::Append(k, v)),
        (key(), increment()).prop_map(|(k, n)| Op::IncrBy(k, n)),
        key().prop_map(Op::Decr),
        key().prop_map(Op::Strlen),
        key().prop_map(Op::GetDel),
        (key(), value()).prop_map(|(k, v)| Op::SetNx(k, v)),
        prop::collection::vec((key(), value()), 1..4).prop_map(Op::MSet),
        keys().prop_map(Op::MGet),
        (key(), key()).prop_map(|(a, b)| Op::Rename(a, b)),
        (key(), -12i64..12, -12i64..12).prop_map(|(k, a, b)| Op::GetRange(k, a, b)),
        (key(), 0i64..16, prop::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(k, o, v)| Op::SetRange(k, o, v)),
    ]
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

fn k(i: usize) -> Vec<u8> {
    KEYS[i].as_bytes().to_vec()
}

/// Redis `string2ll`: optional '-', no leading zeros or '+', no spaces,
/// at most 20 characters, in range.
fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let digits = s.strip_prefix(b"-").unwrap_or(s);
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    if !digits.iter().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let txt = std::str::from_utf8(s).ok()?;
    txt.parse().ok()
}

fn b(v: &[u8]) -> Resp {
    Resp::Bulk(Some(v.to_vec()))
}

/// The command line for `op` and the reply the model predicts.
fn apply(m: &mut Model, op: &Op) -> (Vec<Vec<u8>>, Resp) {
    let ok = || Resp::Simple(b"OK".to_vec());
    let nil = Resp::Bulk(None);
    let cmd = |parts: &[&[u8]]| parts.iter().map(|p| p.to_vec()).collect::<Vec<_>>();
    match op {
        Op::Set(i, v) => {
            m.insert(k(*i), v.clone());
            (cmd(&[b"SET", &k(*i), v]), ok())
        }
        Op::Get(i) => (
            cmd(&[b"GET", &k(*i)]),
            m.get(&k(*i)).map(|v| b(v)).unwrap_or(nil),
        ),
        Op::Del(ks) => {
            let mut n = 0;
            for i in ks {
                if m.remove(&k(*i)).is_some() {
                    n += 1;
                }
            }
            let mut c = vec![b"DEL".to_vec()];
            c.extend(ks.iter().map(|i| k(*i)));
            (c, Resp::Int(n))
        }
        Op::Exists(ks) => {
            let n = ks.iter().filter(|i| m.contains_key(&k(**i))).count();
            let mut c = vec![b"EXISTS".to_vec()];
            c.extend(ks.iter().map(|i| k(*i)));
            (c, Resp::Int(n as i64))
        }
        Op::Append(i, v) => {
            let e = m.entry(k(*i)).or_default();
            e.extend_from_slice(v);
            let n = e.len();
            (cmd(&[b"APPEND", &k(*i), v]), Resp::Int(n as i64))
        }
        Op::IncrBy(i, by) => {
            let c = cmd(&[b"INCRBY", &k(*i), by.to_string().as_bytes()]);
            (c, incr(m, *i, *by))
        }
        Op::Decr(i) => (cmd(&[b"DECR", &k(*i)]), incr(m, *i, -1)),
        Op::Strlen(i) => (
            cmd(&[b"STRLEN", &k(*i)]),
            Resp::Int(m.get(&k(*i)).map_or(0, |v| v.len()) as i64),
        ),
        Op::GetDel(i) => (
            cmd(&[b"GETDEL", &k(*i)]),
            m.remove(&k(*i)).map(|v| b(&v)).unwrap_or(nil),
        ),
        Op::SetNx(i, v) => {
            let c = cmd(&[b"SETNX", &k(*i), v]);
            match m.entry(k(*i)) {
                std::collections::btree_map::Entry::Occupied(_) => (c, Resp::Int(0)),
                std::collections::btree_map::Entry::Vacant(e) => {
                    e.insert(v.clone());
                    (c, Resp::Int(1))
                }
            }
        }
        Op::MSet(pairs) => {
            let mut c = vec![b"MSET".to_vec()];
            for (i, v) in pairs {
                c.push(k(*i));
                c.push(v.clone());
                m.insert(k(*i), v.clone());
            }
            (c, ok())
        }
        Op::MGet(ks) => {
            let mut c = vec![b"MGET".to_vec()];
            c.extend(ks.iter().map(|i| k(*i)));
            let vals = ks
                .iter()
                .map(|i| m.get(&k(*i)).map(|v| b(v)).unwrap_or(Resp::Bulk(None)))
                .collect();
            (c, Resp::Array(Some(vals)))
        }
        Op::Rename(a, bb) => {
            let c = cmd(&[b"RENAME", &k(*a), &k(*bb)]);
            match m.remove(&k(*a)) {
                None => (c, Resp::Error(b"ERR no such key".to_vec())),
                Some(v) => {
                    m.insert(k(*bb), v);
                    (c, ok())
                }
            }
        }
        Op::GetRange(i, start, end) => {
            let c = cmd(&[
                b"GETRANGE",
                &k(*i),
                start.to_string().as_bytes(),
                end.to_string().as_bytes(),
            ]);
            let v = m.get(&k(*i)).cloned().unwrap_or_default();
            (c, b(&getrange(&v, *start, *end)))
        }
        Op::SetRange(i, off, v) => {
            let c = cmd(&[b"SETRANGE", &k(*i), off.to_string().as_bytes(), v]);
            let key = k(*i);
            if v.is_empty() {
                let n = m.get(&key).map_or(0, |x| x.len());
                return (c, Resp::Int(n as i64));
            }
            let e = m.entry(key).or_default();
            let off = *off as usize;
            if e.len() < off + v.len() {
                e.resize(off + v.len(), 0);
            }
            e[off..off + v.len()].copy_from_slice(v);
            (c, Resp::Int(e.len() as i64))
        }
    }
}

fn incr(m: &mut Model, i: usize, by: i64) -> Resp {
    let cur = match m.get(&k(i)) {
        None => 0,
        Some(v) => match parse_i64(v) {
            Some(n) => n,
            None => {
                return Resp::Error(b"ERR value is not an integer or out of range".to_vec());
            }
        },
    };
    match cur.checked_add(by) {
        Some(n) => {
            m.insert(k(i), n.to_string().into_bytes());
            Resp::Int(n)
        }
        None => Resp::Error(b"ERR increment or decrement would overflow".to_vec()),
    }
}

/// Redis 7.0 `getrangeCommand`.
fn getrange(v: &[u8], mut start: i64, mut end: i64) -> Vec<u8> {
    let len = v.len() as i64;
    if start < 0 && end < 0 && start > end {
        return vec![];
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        return vec![];
    }
    v[start as usize..=end as usize].to_vec()
}

#[test]
fn string_commands_match_model() {
    let s = Server::start(&[]);
    let raw = RefCell::new(s.raw());
    let mut runner = TestRunner::new(Config {
        cases: 64,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..60), |ops| {
        let mut r = raw.borrow_mut();
        prop_assert_eq!(r.cmds(&["FLUSHALL"]), simple("OK"));
        let mut model = Model::new();
        for (n, op) in ops.iter().enumerate() {
            let (cmd, want) = apply(&mut model, op);
            let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
            let got = r.cmd(&args);
            prop_assert_eq!(&got, &want, "op #{} {:?}", n, op);
        }
        // The whole keyspace agrees.
        prop_assert_eq!(r.cmds(&["DBSIZE"]), Resp::Int(model.len() as i64));
        let Resp::Array(Some(mut names)) = r.cmds(&["KEYS", "*"]) else {
            return Err(TestCaseError::fail("KEYS did not return an array"));
        };
        names.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        let mut want: Vec<Resp> = model.keys().map(|k| b(k)).collect();
        want.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
        prop_assert_eq!(names, want);
        for (key, v) in &model {
            prop_assert_eq!(r.cmd(&[b"GET", key]), b(v));
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

#[test]
fn model_parser_matches_redis_rules() {
    // The model's integer rules are themselves checked against the server,
    // so a wrong model cannot hide a server bug behind agreeing errors.
    assert_eq!(parse_i64(b"0"), Some(0));
    assert_eq!(parse_i64(b"-0"), None);
    assert_eq!(parse_i64(b"007"), None);
    assert_eq!(parse_i64(b"+1"), None);
    assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
    assert_eq!(parse_i64(b"9223372036854775808"), None);
    assert_eq!(getrange(b"hello", 0, -1), b"hello");
    assert_eq!(getrange(b"hello", -3, -1), b"llo");
    assert_eq!(getrange(b"hello", -1, -3), b"");
    assert_eq!(getrange(b"hello", 3, 100), b"lo");
    assert_eq!(getrange(b"", 0, -1), b"");
}
