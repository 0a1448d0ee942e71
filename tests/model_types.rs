//! Model-based property test over every data type: random sequences of
//! commands on a few keys, run against the server and against a simple
//! model (BTreeMap of key → value), must give the same replies (WRONGTYPE
//! included) and leave the same keyspace; and the same holds after a
//! kill -9 and a restart (every type replays from the log).

mod common;
use common::*;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet, VecDeque};

const KEYS: &[&str] = &["a", "b", "c", "d"];
const ITEMS: &[&str] = &["x", "y", "z", "1", "22", "-3", ""];
const WRONGTYPE: &str = "WRONGTYPE Operation against a key holding the wrong kind of value";

#[derive(Debug, Clone, PartialEq)]
enum MV {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    ZSet(BTreeMap<Vec<u8>, f64>),
}

const SCORES: &[f64] = &[-2.0, 0.0, 1.0, 1.5, 3.0];

/// A score as Redis prints the model's scores (%.17g).
fn score_text(s: f64) -> Vec<u8> {
    if s.fract() == 0.0 {
        (s as i64).to_string().into_bytes()
    } else {
        s.to_string().into_bytes()
    }
}

/// A zset's members in Redis's order (score, then member bytes), with
/// their scores, as ZRANGE ... WITHSCORES replies.
fn zrange_all(z: &BTreeMap<Vec<u8>, f64>) -> Resp {
    let mut v: Vec<(&Vec<u8>, f64)> = z.iter().map(|(m, s)| (m, *s)).collect();
    v.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap().then_with(|| a.0.cmp(b.0)));
    arr(v.into_iter().flat_map(|(m, s)| [m.clone(), score_text(s)]))
}

type Model = BTreeMap<Vec<u8>, MV>;
/// Normalizes an order-free reply before comparing.
type Norm = fn(Resp) -> Resp;

#[derive(Debug, Clone)]
enum Op {
    Set(usize, usize),
    Get(usize),
    Del(usize),
    Type(usize),
    Push(usize, bool, Vec<usize>),
    Pop(usize, bool),
    LRange(usize),
    LLen(usize),
    LRem(usize, i64, usize),
    HSet(usize, usize, usize),
    HDel(usize, usize),
    HGet(usize, usize),
    HLen(usize),
    HGetAll(usize),
    SAdd(usize, Vec<usize>),
    SRem(usize, usize),
    SIsMember(usize, usize),
    SCard(usize),
    SMembers(usize),
    ZAdd(usize, usize, usize),
    ZIncrBy(usize, usize, usize),
    ZRem(usize, usize),
    ZScore(usize, usize),
    ZCard(usize),
    ZRange(usize),
    SetBit(usize, usize, bool),
    GetBit(usize, usize),
    BitCount(usize),
}

fn op() -> impl Strategy<Value = Op> {
    let k = || 0..KEYS.len();
    let it = || 0..ITEMS.len();
    let its = || prop::collection::vec(0..ITEMS.len(), 1..4);
    prop_oneof![
        (k(), it()).prop_map(|(a, b)| Op::Set(a, b)),
        k().prop_map(Op::Get),
        k().prop_map(Op::Del),
        k().prop_map(Op::Type),
        (k(), any::<bool>(), its()).prop_map(|(a, l, v)| Op::Push(a, l, v)),
        (k(), any::<bool>()).prop_map(|(a, l)| Op::Pop(a, l)),
        k().prop_map(Op::LRange),
        k().prop_map(Op::LLen),
        (k(), -2i64..3, it()).prop_map(|(a, c, v)| Op::LRem(a, c, v)),
        (k(), it(), it()).prop_map(|(a, f, v)| Op::HSet(a, f, v)),
        (k(), it()).prop_map(|(a, f)| Op::HDel(a, f)),
        (k(), it()).prop_map(|(a, f)| Op::HGet(a, f)),
        k().prop_map(Op::HLen),
        k().prop_map(Op::HGetAll),
        (k(), its()).prop_map(|(a, v)| Op::SAdd(a, v)),
        (k(), it()).prop_map(|(a, m)| Op::SRem(a, m)),
        (k(), it()).prop_map(|(a, m)| Op::SIsMember(a, m)),
        k().prop_map(Op::SCard),
        k().prop_map(Op::SMembers),
        (k(), 0..SCORES.len(), it()).prop_map(|(a, s, m)| Op::ZAdd(a, s, m)),
        (k(), 0..SCORES.len(), it()).prop_map(|(a, s, m)| Op::ZIncrBy(a, s, m)),
        (k(), it()).prop_map(|(a, m)| Op::ZRem(a, m)),
        (k(), it()).prop_map(|(a, m)| Op::ZScore(a, m)),
        k().prop_map(Op::ZCard),
        k().prop_map(Op::ZRange),
        (k(), 0usize..40, any::<bool>()).prop_map(|(a, o, b)| Op::SetBit(a, o, b)),
        (k(), 0usize..48).prop_map(|(a, o)| Op::GetBit(a, o)),
        k().prop_map(Op::BitCount),
    ]
}

fn key(i: usize) -> Vec<u8> {
    KEYS[i].as_bytes().to_vec()
}

fn item(i: usize) -> Vec<u8> {
    ITEMS[i].as_bytes().to_vec()
}

fn bulk_of(v: &[u8]) -> Resp {
    Resp::Bulk(Some(v.to_vec()))
}

fn arr(v: impl IntoIterator<Item = Vec<u8>>) -> Resp {
    Resp::Array(Some(v.into_iter().map(|x| bulk_of(&x)).collect()))
}

fn wrongtype() -> Resp {
    Resp::Error(WRONGTYPE.as_bytes().to_vec())
}

/// Order-free replies are compared sorted.
fn sorted(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(mut v)) => {
            v.sort_by_key(|x| format!("{x:?}"));
            Resp::Array(Some(v))
        }
        other => other,
    }
}

/// HGETALL as sorted field/value pairs.
fn pairs(r: Resp) -> Resp {
    match r {
        Resp::Array(Some(v)) => {
            let mut p: Vec<Resp> = v.chunks(2).map(|c| Resp::Array(Some(c.to_vec()))).collect();
            p.sort_by_key(|x| format!("{x:?}"));
            Resp::Array(Some(p))
        }
        other => other,
    }
}

macro_rules! typed {
    ($m:expr, $k:expr, $variant:ident) => {
        match $m.get_mut(&$k) {
            None => None,
            Some(MV::$variant(x)) => Some(x),
            Some(_) => return (wrongtype(), None),
        }
    };
}

/// Apply `op` to the model: the command, the reply the model predicts, and
/// how to normalize the server's reply before comparing.
fn apply(m: &mut Model, op: &Op) -> (Vec<Vec<u8>>, Resp, Norm) {
    let id: Norm = |r| r;
    let (cmd, norm): (Vec<Vec<u8>>, Norm) = match op {
        Op::Set(k, v) => (vec![b"SET".to_vec(), key(*k), item(*v)], id),
        Op::Get(k) => (vec![b"GET".to_vec(), key(*k)], id),
        Op::Del(k) => (vec![b"DEL".to_vec(), key(*k)], id),
        Op::Type(k) => (vec![b"TYPE".to_vec(), key(*k)], id),
        Op::Push(k, left, vs) => {
            let mut c = vec![
                if *left {
                    b"LPUSH".to_vec()
                } else {
                    b"RPUSH".to_vec()
                },
                key(*k),
            ];
            c.extend(vs.iter().map(|v| item(*v)));
            (c, id)
        }
        Op::Pop(k, left) => (
            vec![
                if *left {
                    b"LPOP".to_vec()
                } else {
                    b"RPOP".to_vec()
                },
                key(*k),
            ],
            id,
        ),
        Op::LRange(k) => (
            vec![b"LRANGE".to_vec(), key(*k), b"0".to_vec(), b"-1".to_vec()],
            id,
        ),
        Op::LLen(k) => (vec![b"LLEN".to_vec(), key(*k)], id),
        Op::LRem(k, c, v) => (
            vec![
                b"LREM".to_vec(),
                key(*k),
                c.to_string().into_bytes(),
                item(*v),
            ],
            id,
        ),
        Op::HSet(k, f, v) => (vec![b"HSET".to_vec(), key(*k), item(*f), item(*v)], id),
        Op::HDel(k, f) => (vec![b"HDEL".to_vec(), key(*k), item(*f)], id),
        Op::HGet(k, f) => (vec![b"HGET".to_vec(), key(*k), item(*f)], id),
        Op::HLen(k) => (vec![b"HLEN".to_vec(), key(*k)], id),
        Op::HGetAll(k) => (vec![b"HGETALL".to_vec(), key(*k)], pairs),
        Op::SAdd(k, ms) => {
            let mut c = vec![b"SADD".to_vec(), key(*k)];
            c.extend(ms.iter().map(|v| item(*v)));
            (c, id)
        }
        Op::SRem(k, mm) => (vec![b"SREM".to_vec(), key(*k), item(*mm)], id),
        Op::SIsMember(k, mm) => (vec![b"SISMEMBER".to_vec(), key(*k), item(*mm)], id),
        Op::SCard(k) => (vec![b"SCARD".to_vec(), key(*k)], id),
        Op::SMembers(k) => (vec![b"SMEMBERS".to_vec(), key(*k)], sorted),
        Op::ZAdd(k, sc, mm) => (
            vec![
                b"ZADD".to_vec(),
                key(*k),
                score_text(SCORES[*sc]),
                item(*mm),
            ],
            id,
        ),
        Op::ZIncrBy(k, sc, mm) => (
            vec![
                b"ZINCRBY".to_vec(),
                key(*k),
                score_text(SCORES[*sc]),
                item(*mm),
            ],
            id,
        ),
        Op::ZRem(k, mm) => (vec![b"ZREM".to_vec(), key(*k), item(*mm)], id),
        Op::SetBit(k, o, bit) => (
            vec![
                b"SETBIT".to_vec(),
                key(*k),
                o.to_string().into_bytes(),
                if *bit { b"1".to_vec() } else { b"0".to_vec() },
            ],
            id,
        ),
        Op::GetBit(k, o) => (
            vec![b"GETBIT".to_vec(), key(*k), o.to_string().into_bytes()],
            id,
        ),
        Op::BitCount(k) => (vec![b"BITCOUNT".to_vec(), key(*k)], id),
        Op::ZScore(k, mm) => (vec![b"ZSCORE".to_vec(), key(*k), item(*mm)], id),
        Op::ZCard(k) => (vec![b"ZCARD".to_vec(), key(*k)], id),
        Op::ZRange(k) => (
            vec![
                b"ZRANGE".to_vec(),
                key(*k),
                b"0".to_vec(),
                b"-1".to_vec(),
                b"WITHSCORES".to_vec(),
            ],
            id,
        ),
    };
    let (want, _) = predict(m, op);
    (cmd, norm(want), norm)
}

/// The model's reply (the second element is unused; it lets `typed!`
/// return early).
fn predict(m: &mut Model, op: &Op) -> (Resp, Option<()>) {
    let r = match op {
        Op::Set(k, v) => {
            m.insert(key(*k), MV::Str(item(*v)));
            Resp::Simple(b"OK".to_vec())
        }
        Op::Get(k) => match typed!(m, key(*k), Str) {
            Some(v) => bulk_of(v),
            None => Resp::Bulk(None),
        },
        Op::Del(k) => Resp::Int(m.remove(&key(*k)).is_some() as i64),
        Op::Type(k) => Resp::Simple(
            match m.get(&key(*k)) {
                None => "none",
                Some(MV::Str(_)) => "string",
                Some(MV::List(_)) => "list",
                Some(MV::Hash(_)) => "hash",
                Some(MV::Set(_)) => "set",
                Some(MV::ZSet(_)) => "zset",
            }
            .as_bytes()
            .to_vec(),
        ),
        Op::Push(k, left, vs) => {
            if typed!(m, key(*k), List).is_none() {
                m.insert(key(*k), MV::List(VecDeque::new()));
            }
            let Some(MV::List(l)) = m.get_mut(&key(*k)) else {
                unreachable!()
            };
            for v in vs {
                if *left {
                    l.push_front(item(*v));
                } else {
                    l.push_back(item(*v));
                }
            }
            Resp::Int(l.len() as i64)
        }
        Op::Pop(k, left) => {
            let Some(l) = typed!(m, key(*k), List) else {
                return (Resp::Bulk(None), None);
            };
            let v = if *left { l.pop_front() } else { l.pop_back() };
            if l.is_empty() {
                m.remove(&key(*k));
            }
            bulk_of(&v.unwrap())
        }
        Op::LRange(k) => match typed!(m, key(*k), List) {
            Some(l) => arr(l.iter().cloned()),
            None => Resp::Array(Some(vec![])),
        },
        Op::LLen(k) => Resp::Int(typed!(m, key(*k), List).map_or(0, |l| l.len()) as i64),
        Op::LRem(k, count, v) => {
            let Some(l) = typed!(m, key(*k), List) else {
                return (Resp::Int(0), None);
            };
            let target = item(*v);
            let limit = if *count == 0 {
                usize::MAX
            } else {
                count.unsigned_abs() as usize
            };
            let mut removed = 0;
            let mut kept: Vec<Vec<u8>> = Vec::new();
            let items: Vec<Vec<u8>> = if *count < 0 {
                l.iter().rev().cloned().collect()
            } else {
                l.iter().cloned().collect()
            };
            for x in items {
                if x == target && removed < limit {
                    removed += 1;
                } else {
                    kept.push(x);
                }
            }
            if *count < 0 {
                kept.reverse();
            }
            *l = kept.into_iter().collect();
            if l.is_empty() {
                m.remove(&key(*k));
            }
            Resp::Int(removed as i64)
        }
        Op::HSet(k, f, v) => {
            if typed!(m, key(*k), Hash).is_none() {
                m.insert(key(*k), MV::Hash(BTreeMap::new()));
            }
            let Some(MV::Hash(h)) = m.get_mut(&key(*k)) else {
                unreachable!()
            };
            Resp::Int(h.insert(item(*f), item(*v)).is_none() as i64)
        }
        Op::HDel(k, f) => {
            let Some(h) = typed!(m, key(*k), Hash) else {
                return (Resp::Int(0), None);
            };
            let n = h.remove(&item(*f)).is_some() as i64;
            if h.is_empty() {
                m.remove(&key(*k));
            }
            Resp::Int(n)
        }
        Op::HGet(k, f) => match typed!(m, key(*k), Hash).and_then(|h| h.get(&item(*f))) {
            Some(v) => bulk_of(v),
            None => Resp::Bulk(None),
        },
        Op::HLen(k) => Resp::Int(typed!(m, key(*k), Hash).map_or(0, |h| h.len()) as i64),
        Op::HGetAll(k) => match typed!(m, key(*k), Hash) {
            Some(h) => arr(h.iter().flat_map(|(f, v)| [f.clone(), v.clone()])),
            None => Resp::Array(Some(vec![])),
        },
        Op::SAdd(k, ms) => {
            if typed!(m, key(*k), Set).is_none() {
                m.insert(key(*k), MV::Set(BTreeSet::new()));
            }
            let Some(MV::Set(s)) = m.get_mut(&key(*k)) else {
                unreachable!()
            };
            Resp::Int(ms.iter().filter(|x| s.insert(item(**x))).count() as i64)
        }
        Op::SRem(k, mm) => {
            let Some(s) = typed!(m, key(*k), Set) else {
                return (Resp::Int(0), None);
            };
            let n = s.remove(&item(*mm)) as i64;
            if s.is_empty() {
                m.remove(&key(*k));
            }
            Resp::Int(n)
        }
        Op::SIsMember(k, mm) => {
            Resp::Int(typed!(m, key(*k), Set).is_some_and(|s| s.contains(&item(*mm))) as i64)
        }
        Op::SCard(k) => Resp::Int(typed!(m, key(*k), Set).map_or(0, |s| s.len()) as i64),
        Op::SMembers(k) => match typed!(m, key(*k), Set) {
            Some(s) => arr(s.iter().cloned()),
            None => Resp::Array(Some(vec![])),
        },
        Op::ZAdd(k, sc, mm) | Op::ZIncrBy(k, sc, mm) => {
            if typed!(m, key(*k), ZSet).is_none() {
                m.insert(key(*k), MV::ZSet(BTreeMap::new()));
            }
            let Some(MV::ZSet(z)) = m.get_mut(&key(*k)) else {
                unreachable!()
            };
            if matches!(op, Op::ZAdd(..)) {
                Resp::Int(z.insert(item(*mm), SCORES[*sc]).is_none() as i64)
            } else {
                let s = z.entry(item(*mm)).or_insert(0.0);
                *s += SCORES[*sc];
                bulk_of(&score_text(*s))
            }
        }
        Op::ZRem(k, mm) => {
            let Some(z) = typed!(m, key(*k), ZSet) else {
                return (Resp::Int(0), None);
            };
            let n = z.remove(&item(*mm)).is_some() as i64;
            if z.is_empty() {
                m.remove(&key(*k));
            }
            Resp::Int(n)
        }
        Op::ZScore(k, mm) => match typed!(m, key(*k), ZSet).and_then(|z| z.get(&item(*mm))) {
            Some(s) => bulk_of(&score_text(*s)),
            None => Resp::Bulk(None),
        },
        Op::ZCard(k) => Resp::Int(typed!(m, key(*k), ZSet).map_or(0, |z| z.len()) as i64),
        Op::ZRange(k) => match typed!(m, key(*k), ZSet) {
            Some(z) => zrange_all(z),
            None => Resp::Array(Some(vec![])),
        },
        Op::SetBit(k, o, bit) => {
            if typed!(m, key(*k), Str).is_none() {
                m.insert(key(*k), MV::Str(Vec::new()));
            }
            let Some(MV::Str(v)) = m.get_mut(&key(*k)) else {
                unreachable!()
            };
            let (byte, mask) = (o / 8, 0x80u8 >> (o % 8));
            if v.len() <= byte {
                v.resize(byte + 1, 0);
            }
            let old = v[byte] & mask != 0;
            if *bit {
                v[byte] |= mask;
            } else {
                v[byte] &= !mask;
            }
            Resp::Int(old as i64)
        }
        Op::GetBit(k, o) => {
            let v = typed!(m, key(*k), Str);
            let bit = v.is_some_and(|v| v.get(o / 8).is_some_and(|b| b & (0x80 >> (o % 8)) != 0));
            Resp::Int(bit as i64)
        }
        Op::BitCount(k) => Resp::Int(
            typed!(m, key(*k), Str).map_or(0, |v| v.iter().map(|b| b.count_ones()).sum::<u32>())
                as i64,
        ),
    };
    (r, None)
}

/// The whole keyspace read back from the server equals the model.
fn check_state(r: &mut Raw, m: &Model) -> Result<(), TestCaseError> {
    prop_assert_eq!(r.cmds(&["DBSIZE"]), Resp::Int(m.len() as i64));
    for (k, v) in m {
        let ks = std::str::from_utf8(k).unwrap();
        let (cmd, want): (Vec<&str>, Resp) = match v {
            MV::Str(s) => (vec!["GET", ks], bulk_of(s)),
            MV::List(l) => (vec!["LRANGE", ks, "0", "-1"], arr(l.iter().cloned())),
            MV::Hash(h) => (
                vec!["HGETALL", ks],
                pairs(arr(h.iter().flat_map(|(f, v)| [f.clone(), v.clone()]))),
            ),
            MV::Set(s) => (vec!["SMEMBERS", ks], sorted(arr(s.iter().cloned()))),
            MV::ZSet(z) => (vec!["ZRANGE", ks, "0", "-1", "WITHSCORES"], zrange_all(z)),
        };
        let got = r.cmds(&cmd);
        let got = match v {
            MV::Hash(_) => pairs(got),
            MV::Set(_) => sorted(got),
            _ => got,
        };
        prop_assert_eq!(got, want, "key {}", ks);
    }
    Ok(())
}

fn run_ops(r: &mut Raw, m: &mut Model, ops: &[Op]) -> Result<(), TestCaseError> {
    for (n, op) in ops.iter().enumerate() {
        let (cmd, want, norm) = apply(m, op);
        let args: Vec<&[u8]> = cmd.iter().map(|a| a.as_slice()).collect();
        let got = norm(r.cmd(&args));
        prop_assert_eq!(&got, &want, "op #{} {:?}", n, op);
    }
    Ok(())
}

#[test]
fn all_types_match_model() {
    let s = Server::start(&["--appendfsync", "no"]);
    let raw = RefCell::new(s.raw());
    let mut runner = TestRunner::new(Config {
        cases: 96,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 1..80), |ops| {
        let mut r = raw.borrow_mut();
        prop_assert_eq!(r.cmds(&["FLUSHALL"]), simple("OK"));
        let mut model = Model::new();
        run_ops(&mut r, &mut model, &ops)?;
        check_state(&mut r, &model)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

/// Long random runs, each followed by kill -9 and a restart: the replayed
/// keyspace equals the model.
#[test]
fn all_types_survive_kill9_like_the_model() {
    let mut runner = TestRunner::new(Config {
        cases: 4,
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&prop::collection::vec(op(), 200..400), |ops| {
        let mut s = Server::start(&[]);
        let mut model = Model::new();
        {
            let mut r = s.raw();
            run_ops(&mut r, &mut model, &ops)?;
        }
        s.kill9();
        let s = s.restart(&[]);
        let mut r = s.raw();
        check_state(&mut r, &model)
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
