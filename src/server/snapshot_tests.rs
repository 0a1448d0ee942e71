//! Model test of copy-on-write snapshots: writer threads keep executing
//! random commands of every type while a snapshot is written; the snapshot
//! loaded alone must equal the state captured under the lock at the cut.

use super::exec::execute;
use super::state::{Client, State};
use crate::config::Config;
use crate::keyspace::cow::{CowSnapshot, load_into, write_cow};
use crate::keyspace::{Keyspace, Value};
use crate::protocol::Reply;
use crate::storage::fs::{Fs, SimFs};
use crate::storage::snapshot::SnapWriter;
use parking_lot::Mutex;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// (db, key, value, expire_at) of one entry.
type Row = (usize, Vec<u8>, String, u64);

fn show(v: &Value) -> String {
    match v {
        Value::Set(s) => {
            let mut m: Vec<_> = s.iter().map(|x| x.to_vec()).collect();
            m.sort();
            format!("set {m:?} {}", v.encoding())
        }
        Value::Hash(h) => {
            let mut m: Vec<_> = h.iter().map(|(f, x)| (f.to_vec(), x.to_vec())).collect();
            m.sort();
            format!("hash {m:?} {}", v.encoding())
        }
        _ => format!("{v:?} {}", v.encoding()),
    }
}

fn dump(ks: &Keyspace) -> Vec<Row> {
    let mut v = Vec::new();
    for (i, db) in ks.dbs.iter().enumerate() {
        for e in db.table.iter() {
            v.push((i, e.key.to_vec(), show(&e.value), e.expire_at()));
        }
    }
    v.sort();
    v
}

use crate::util::XorShift64 as Rng;

/// One random write of any type (keys spread over dbs 0..4).
fn random_write(st: &mut State, c: &mut Client, rng: &mut Rng) {
    let mut out = Reply::new(false);
    let db = (rng.next() % 4).to_string();
    execute(st, c, &mut out, &[b"SELECT", db.as_bytes()]);
    if rng.next().is_multiple_of(16) {
        // Big hashes, sets and sorted sets: frozen (shared; a change
        // copies the chunks and tree nodes it touches), not serialized,
        // under the lock.
        let i = rng.next() % 3;
        let f = (rng.next() % 6000).to_string();
        let f = f.as_bytes();
        let (h, s, z) = (format!("bh{i}"), format!("bs{i}"), format!("bz{i}"));
        let args: Vec<&[u8]> = match rng.next() % 9 {
            0 => vec![b"HSET", h.as_bytes(), f, b"v"],
            1 => vec![b"HDEL", h.as_bytes(), f],
            2 => vec![b"SADD", s.as_bytes(), f],
            3 => vec![b"SREM", s.as_bytes(), f],
            4 => vec![b"ZADD", z.as_bytes(), f, f],
            5 => vec![b"ZREM", z.as_bytes(), f],
            6 => vec![b"ZPOPMIN", z.as_bytes()],
            7 => vec![b"SPOP", s.as_bytes()],
            _ => vec![
                b"DEL",
                [h.as_str(), s.as_str(), z.as_str()][(i % 3) as usize].as_bytes(),
            ],
        };
        execute(st, c, &mut out, &args);
        return;
    }
    if rng.next().is_multiple_of(16) {
        // Big lists: frozen at the cut (shared nodes), not serialized.
        let key = format!("big{}", rng.next() % 3);
        let key = key.as_bytes();
        let v = (rng.next() % 1000).to_string();
        let v = v.as_bytes();
        let mid = (rng.next() % 5000).to_string();
        let mid = mid.as_bytes();
        let args: Vec<&[u8]> = match rng.next() % 8 {
            0 | 1 => vec![b"RPUSH", key, v, v, v],
            2 => vec![b"LPUSH", key, v],
            3 => vec![b"LPOP", key],
            4 => vec![b"LSET", key, mid, v],
            5 => vec![b"LINSERT", key, b"BEFORE", v, b"ins"],
            6 => vec![b"LREM", key, b"1", v],
            _ if rng.next().is_multiple_of(8) => vec![b"DEL", key],
            _ => vec![b"LTRIM", key, b"1", b"-1"],
        };
        execute(st, c, &mut out, &args);
        return;
    }
    let k = format!("k{}", rng.next() % 6000);
    let m = format!("m{}", rng.next() % 40);
    let n = (rng.next() % 1000).to_string();
    let (k, m, n) = (k.as_bytes(), m.as_bytes(), n.as_bytes());
    let pre: &[u8] = match rng.next() % 5 {
        0 => b"s",
        1 => b"l",
        2 => b"h",
        3 => b"z",
        _ => b"t",
    };
    let key = [pre, k].concat();
    let key = &key[..];
    let far = (crate::util::now_ms() + 3_600_000 + rng.next() % 1000).to_string();
    let soon = (1 + rng.next() % 30).to_string();
    // Reads of string keys expire them lazily (a change to the segment).
    let skey = [b"s", k].concat();
    // A heap string of a fixed length: SET over it copies in place.
    let long = format!("{:0>40}", rng.next() % 1000);
    let args: Vec<&[u8]> = match (pre, rng.next() % 4) {
        (b"s", 0) if rng.next().is_multiple_of(2) => vec![b"SET", key, long.as_bytes()],
        (b"s", 0) => vec![b"SET", key, n],
        (b"s", 1) => vec![b"INCR", key],
        (b"s", 2) if rng.next().is_multiple_of(3) => vec![b"PEXPIRE", key, soon.as_bytes()],
        (b"s", 2) => vec![b"PEXPIREAT", key, far.as_bytes()],
        (b"s", _) => vec![b"APPEND", key, m],
        (b"l", 0 | 1) => vec![b"RPUSH", key, m, n],
        (b"l", 2) => vec![b"LPOP", key],
        (b"l", _) => vec![b"LSET", key, b"0", n],
        (b"h", 0 | 1) => vec![b"HSET", key, m, n],
        (b"h", _) => vec![b"HDEL", key, m],
        (b"z", 0 | 1) => vec![b"ZADD", key, n, m],
        (b"z", _) => vec![b"ZREM", key, m],
        (_, 0 | 1) => vec![b"SADD", key, m, n],
        (_, 2) => vec![b"SREM", key, m],
        (_, _) => match rng.next() % 40 {
            3..=8 => vec![b"GET", &skey],
            0 => vec![b"SWAPDB", b"1", b"2"],
            1 => vec![b"MOVE", key, b"3"],
            2 if rng.next().is_multiple_of(16) => vec![b"FLUSHDB"],
            _ => vec![b"DEL", key],
        },
    };
    execute(st, c, &mut out, &args);
}

/// `idle`: the writers pause now and then, so the snapshot thread takes
/// steps too (otherwise the command threads take nearly all).
fn snapshot_under_writes(seed: u64, compress: bool, idle: bool) {
    let mut config = Config::default();
    config.s.databases = 4;
    let st = Arc::new(Mutex::new(State::new(config)));
    {
        let mut g = st.lock();
        let mut c = Client::detached(1);
        let mut rng = Rng(seed);
        let mut out = Reply::new(false);
        for db in 0..4 {
            execute(
                &mut g,
                &mut c,
                &mut out,
                &[b"SELECT", db.to_string().as_bytes()],
            );
            // big0..2 are written at random (and often deleted and
            // rebuilt small); quiet0 is changed right after the cut (frozen
            // by the write path), quiet1 never (frozen by the walk).
            // Big hashes, sets and sorted sets likewise: bh/bs/bz0..2 are
            // written at random, q?0 right after the cut, q?1 never.
            for (cmd, keys) in [
                ("HSET", ["bh0", "bh1", "bh2", "qh0", "qh1"]),
                ("SADD", ["bs0", "bs1", "bs2", "qs0", "qs1"]),
                ("ZADD", ["bz0", "bz1", "bz2", "qz0", "qz1"]),
            ] {
                for k in keys {
                    for chunk in 0..50 {
                        let mut args = vec![cmd.to_string(), k.to_string()];
                        for i in 0..100 {
                            let n = (chunk * 100 + i).to_string();
                            match cmd {
                                "HSET" => args.extend([n, "v".into()]),
                                "ZADD" => args.extend([n.clone(), n]),
                                _ => args.push(n),
                            }
                        }
                        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
                        execute(&mut g, &mut c, &mut out, &args);
                    }
                }
            }
            // Changed right after the cut, so some write surely meets an
            // entry not walked yet (the walk may otherwise win every race).
            execute(&mut g, &mut c, &mut out, &[b"SET", b"cutkey", b"old"]);
            for k in ["big0", "big1", "big2", "quiet0", "quiet1"] {
                for chunk in 0..60 {
                    let vals: Vec<String> =
                        (0..100).map(|i| (chunk * 100 + i).to_string()).collect();
                    let mut args: Vec<&[u8]> = vec![b"RPUSH", k.as_bytes()];
                    args.extend(vals.iter().map(|v| v.as_bytes()));
                    execute(&mut g, &mut c, &mut out, &args);
                }
            }
        }
        for _ in 0..40_000 {
            random_write(&mut g, &mut c, &mut rng);
        }
    }
    let stop = Arc::new(AtomicBool::new(false));
    // Idle spells need every writer quiet at once: one writer then.
    let writers: Vec<_> = (0..if idle { 1 } else { 3 })
        .map(|t| {
            let st = st.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut c = Client::detached(10 + t);
                let mut rng = Rng(seed ^ (t + 1).wrapping_mul(0x9E3779B97F4A7C15));
                let mut batches = 0u64;
                let mut quiet_after_cut = idle;
                while !stop.load(Ordering::Relaxed) {
                    batches += 1;
                    if idle && batches.is_multiple_of(64) {
                        // A quiet spell: the snapshot thread steps itself.
                        std::thread::sleep(std::time::Duration::from_millis(10));
                    }
                    let mut g = st.lock();
                    if quiet_after_cut && g.ks.walk.is_some() {
                        // One quiet spell surely inside the walk (it has
                        // barely begun): the snapshot thread must take
                        // steps whatever the scheduling.
                        quiet_after_cut = false;
                        drop(g);
                        std::thread::sleep(std::time::Duration::from_millis(50));
                        continue;
                    }
                    // Every path (splits, flushes, swaps, moves) meets
                    // segments not walked yet.
                    for _ in 0..8 {
                        random_write(&mut g, &mut c, &mut rng);
                    }
                    if t == 0 && batches.is_multiple_of(16) {
                        // Active expiry removes keys from segments too.
                        let now = crate::util::now_ms();
                        crate::keyspace::expire::active_expire_cycle(
                            &mut g.ks,
                            now,
                            std::time::Duration::from_micros(200),
                            |_, _| {},
                        );
                    }
                    // As a command thread ends a batch: steps of the walk.
                    g.ks.walk_tick();
                }
            })
        })
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(20));
    // The cut, and the model captured under the same lock hold; then,
    // before any step, quiet0 changes (in every database): the write path
    // freezes it.
    let (mut snap, model) = {
        let mut g = st.lock();
        let model = dump(&g.ks);
        let snap = CowSnapshot::begin(&mut g.ks, 0);
        let mut c = Client::detached(2);
        let mut out = Reply::new(false);
        for db in ["0", "1", "2", "3"] {
            for args in [
                &[&b"SELECT"[..], db.as_bytes()][..],
                &[b"LPUSH", b"quiet0", b"first"],
                &[b"LSET", b"quiet0", b"100", b"changed"],
                &[b"RPOP", b"quiet0"],
                &[b"HSET", b"qh0", b"7", b"changed"],
                &[b"SREM", b"qs0", b"7"],
                &[b"ZADD", b"qz0", b"-1", b"7"],
                &[b"SET", b"cutkey", b"new"],
            ] {
                execute(&mut g, &mut c, &mut out, args);
            }
        }
        (snap, model)
    };
    let fs = SimFs::new();
    let path = Path::new("/sim/snap");
    let mut w = SnapWriter::new(fs.create(path).unwrap(), compress).unwrap();
    write_cow(
        &mut snap,
        |f| {
            let mut g = st.lock();
            f(&mut g.ks);
        },
        &mut w,
    )
    .unwrap();
    w.finish(snap.cut_lsn, 0).unwrap();
    stop.store(true, Ordering::Relaxed);
    for t in writers {
        t.join().unwrap();
    }
    let mut loaded = Keyspace::new(4);
    load_into(&mut loaded, &fs, path, 0).unwrap();
    let got = dump(&loaded);
    assert!(model.len() > 2_000, "model too small: {}", model.len());
    if got != model {
        let extra: Vec<_> = got.iter().filter(|r| !model.contains(r)).take(5).collect();
        let missing: Vec<_> = model.iter().filter(|r| !got.contains(r)).take(5).collect();
        panic!(
            "snapshot differs from the state at the cut: {} vs {} rows; extra {extra:?}; missing {missing:?}",
            got.len(),
            model.len()
        );
    }
    assert!(snap.cow_bytes() > 0, "no write met an unserialized segment");
    // Each mode surely exercises its path (the other one may or may not
    // get a step, depending on scheduling).
    let (by_commands, by_snapshot) = snap.steps();
    if idle {
        assert!(by_snapshot > 0, "the snapshot thread never stepped");
    } else {
        assert!(by_commands > 0, "no command batch stepped the walk");
    }
    // Every table was detached at the end.
    assert!(st.lock().ks.dbs.iter().all(|d| d.table.cow.is_none()));
}

#[test]
fn snapshot_equals_state_at_cut_under_concurrent_writes() {
    for seed in 1..=4u64 {
        snapshot_under_writes(
            seed.wrapping_mul(0x2545F4914F6CDD1D),
            seed % 2 == 0,
            seed > 2,
        );
    }
}

/// A fresh state holding the string keys k0..k{n-1} in database 0.
fn state_with_strings(n: usize) -> State {
    let mut st = State::new(Config::default());
    let mut c = Client::detached(1);
    let mut out = Reply::new(false);
    for i in 0..n {
        let k = format!("k{i}");
        execute(&mut st, &mut c, &mut out, &[b"SET", k.as_bytes(), b"v"]);
    }
    st
}

/// Reads during a snapshot leave the keyspace as it is, so they copy
/// nothing; a write to a key the walk has not reached copies that key.
#[test]
fn reads_during_a_snapshot_copy_nothing() {
    let mut st = state_with_strings(2000);
    let mut c = Client::detached(1);
    let mut out = Reply::new(false);
    for i in 0..2000 {
        let (h, s, z) = (format!("h{i}"), format!("s{i}"), format!("z{i}"));
        for args in [
            &[&b"HSET"[..], h.as_bytes(), b"f", b"v"][..],
            &[b"SADD", s.as_bytes(), b"m"],
            &[b"ZADD", z.as_bytes(), b"1", b"m"],
        ] {
            execute(&mut st, &mut c, &mut out, args);
        }
        let l = format!("l{i}");
        execute(
            &mut st,
            &mut c,
            &mut out,
            &[b"RPUSH", l.as_bytes(), b"a", b"b"],
        );
    }
    let snap = CowSnapshot::begin(&mut st.ks, 0);
    for i in 0..2000 {
        let (k, l) = (format!("k{i}"), format!("l{i}"));
        let (h, s, z) = (format!("h{i}"), format!("s{i}"), format!("z{i}"));
        let (h, s, z) = (h.as_bytes(), s.as_bytes(), z.as_bytes());
        for args in [
            &[&b"GET"[..], k.as_bytes()][..],
            &[b"MGET", k.as_bytes(), l.as_bytes()],
            &[b"EXISTS", k.as_bytes()],
            &[b"STRLEN", k.as_bytes()],
            &[b"LRANGE", l.as_bytes(), b"0", b"-1"],
            &[b"LINDEX", l.as_bytes(), b"1"],
            &[b"LPOS", l.as_bytes(), b"b"],
            &[b"LLEN", l.as_bytes()],
            &[b"HGET", h, b"f"],
            &[b"HGETALL", h],
            &[b"HLEN", h],
            &[b"SISMEMBER", s, b"m"],
            &[b"SMEMBERS", s],
            &[b"SSCAN", s, b"0"],
            &[b"SINTER", s, s],
            &[b"ZSCORE", z, b"m"],
            &[b"ZRANGE", z, b"0", b"-1"],
            &[b"ZSCAN", z, b"0"],
            &[b"DUMP", h],
            &[b"TYPE", z],
        ] {
            execute(&mut st, &mut c, &mut out, args);
        }
    }
    assert_eq!(snap.cow_bytes(), 0, "a read copied an entry");
    execute(&mut st, &mut c, &mut out, &[b"SET", b"k1", b"w"]);
    assert!(snap.cow_bytes() > 0, "a write copied nothing");
    snap.detach(&mut st.ks);
}

/// A walk that goes away before its end (here: with its keyspace) ends
/// the snapshot as failed, instead of leaving its thread waiting for
/// steps that cannot come or finishing a partial image.
#[test]
fn a_walk_dropped_with_its_keyspace_fails_the_snapshot() {
    let mut st = state_with_strings(5000);
    let mut snap = CowSnapshot::begin(&mut st.ks, 0);
    drop(st);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let fs = SimFs::new();
        let mut w = SnapWriter::new(fs.create(Path::new("/sim/snap")).unwrap(), false).unwrap();
        // No keyspace left to step in.
        let r = write_cow(&mut snap, |_| {}, &mut w);
        let _ = tx.send(r.is_err());
    });
    let failed = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the snapshot thread is still waiting for steps");
    assert!(failed, "a partial image was written as a whole one");
}
