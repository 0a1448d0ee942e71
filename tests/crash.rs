//! kill -9 at random moments while several clients write; after a restart
//! on the same data dir every acknowledged write must be there, and no
//! half-applied record. Also: a clean SHUTDOWN keeps everything.

mod common;
use common::*;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Writing clients in the main kill -9 tests.
const WRITERS: usize = 4;

struct Acks {
    /// Highest i whose `SET w<t>:<i> <i>` was acknowledged, per writer.
    set: Vec<AtomicI64>,
    /// Last acknowledged INCR result, per writer.
    incr: Vec<AtomicI64>,
    /// Acknowledged APPEND count per writer (each appends one 'x').
    append: Vec<AtomicI64>,
    /// Acknowledged RPUSH length per writer (list l<t> holds 1..=n).
    rpush: Vec<AtomicI64>,
    /// Per counter op (`COUNTERS`), per writer: acknowledged count.
    counters: Vec<Vec<AtomicI64>>,
    /// Acknowledged value of `p<t>`, which pipelines of `PIPE` INCRs sent
    /// in one write raise (their effects share log records).
    pipe: Vec<AtomicI64>,
}

/// INCRs per pipeline.
const PIPE: i64 = 8;

/// A write on one of the other types whose effect is a count: after a
/// restart the count must be the acknowledged one, or one more (applied
/// and logged, reply cut by the kill).
struct CounterOp {
    /// Commands for writer `t`'s `n`-th operation (n from 1).
    cmd: fn(usize, i64) -> Vec<Vec<String>>,
    /// The last command's reply acknowledges operation `n`.
    ack: fn(&Resp, i64) -> bool,
    /// Command reading the count back.
    read: fn(usize) -> Vec<String>,
}

fn strs(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

const COUNTERS: &[CounterOp] = &[
    CounterOp {
        cmd: |t, _| vec![strs(&["HINCRBY", &format!("h{t}"), "f", "1"])],
        ack: |r, n| *r == Resp::Int(n),
        read: |t| strs(&["HGET", &format!("h{t}"), "f"]),
    },
    CounterOp {
        cmd: |t, n| vec![strs(&["HSET", &format!("hf{t}"), &format!("f{n}"), "v"])],
        ack: |r, _| *r == Resp::Int(1),
        read: |t| strs(&["HLEN", &format!("hf{t}")]),
    },
    CounterOp {
        cmd: |t, n| vec![strs(&["SADD", &format!("s{t}"), &format!("m{n}")])],
        ack: |r, _| *r == Resp::Int(1),
        read: |t| strs(&["SCARD", &format!("s{t}")]),
    },
    CounterOp {
        cmd: |t, n| {
            vec![strs(&[
                "ZADD",
                &format!("z{t}"),
                &format!("{n}.5"),
                &format!("m{n}"),
            ])]
        },
        ack: |r, _| matches!(r, Resp::Int(_)),
        read: |t| strs(&["ZCARD", &format!("z{t}")]),
    },
    CounterOp {
        cmd: |t, n| {
            vec![strs(&[
                "SETBIT",
                &format!("bits{t}"),
                &(n * 7).to_string(),
                "1",
            ])]
        },
        ack: |r, _| matches!(r, Resp::Int(_)),
        read: |t| strs(&["BITCOUNT", &format!("bits{t}")]),
    },
    CounterOp {
        // Stream entries with explicit, growing IDs (`n` is one more
        // than the count recovered so far).
        cmd: |t, n| {
            vec![strs(&[
                "XADD",
                &format!("x{t}"),
                &format!("{n}-1"),
                "f",
                &n.to_string(),
            ])]
        },
        ack: |r, n| *r == Resp::Bulk(Some(format!("{n}-1").into_bytes())),
        read: |t| strs(&["XLEN", &format!("x{t}")]),
    },
    CounterOp {
        // A consumer group's pending entries: add one entry, deliver one
        // (the next undelivered, so an entry added before a kill is
        // delivered by the next operation).
        cmd: |t, n| {
            let key = format!("cg{t}");
            let mut v = Vec::new();
            if n == 1 {
                v.push(strs(&["XGROUP", "CREATE", &key, "g", "0", "MKSTREAM"]));
            }
            v.push(strs(&["XADD", &key, &format!("{n}-1"), "f", "v"]));
            v.push(strs(&[
                "XREADGROUP",
                "GROUP",
                "g",
                "c",
                "COUNT",
                "1",
                "STREAMS",
                &key,
                ">",
            ]));
            v
        },
        ack: |r, _| matches!(r, Resp::Array(Some(v)) if !v.is_empty()),
        read: |t| strs(&["XPENDING", &format!("cg{t}"), "g"]),
    },
    CounterOp {
        cmd: |t, _| vec![strs(&["ZINCRBY", &format!("zi{t}"), "1", "m"])],
        ack: |r, n| *r == Resp::Bulk(Some(n.to_string().into_bytes())),
        read: |t| strs(&["ZSCORE", &format!("zi{t}"), "m"]),
    },
    CounterOp {
        // Push one, then move one with the blocking command (it does not
        // block: the source is never empty there).
        cmd: |t, n| {
            vec![
                strs(&["RPUSH", &format!("src{t}"), &n.to_string()]),
                strs(&[
                    "BLMOVE",
                    &format!("src{t}"),
                    &format!("dst{t}"),
                    "LEFT",
                    "RIGHT",
                    "0",
                ]),
            ]
        },
        ack: |r, _| matches!(r, Resp::Bulk(Some(_))),
        read: |t| strs(&["LLEN", &format!("dst{t}")]),
    },
];

/// The count a `read` reply shows (missing key = 0).
fn count_of(r: &Resp) -> i64 {
    match r {
        Resp::Int(n) => *n,
        Resp::Bulk(Some(v)) => String::from_utf8_lossy(v).parse().unwrap(),
        Resp::Bulk(None) => 0,
        // XPENDING's summary: the count first.
        Resp::Array(Some(v)) if !v.is_empty() => count_of(&v[0]),
        // XPENDING of a group not created yet.
        Resp::Error(_) => 0,
        other => panic!("{other:?}"),
    }
}

fn writer(port: u16, t: usize, acks: Arc<Acks>, stop: Arc<AtomicBool>) {
    let Ok(mut r) = std::panic::catch_unwind(|| Raw::connect(port)) else {
        return;
    };
    let mut i = acks.set[t].load(Ordering::SeqCst) + 1;
    while !stop.load(Ordering::SeqCst) {
        let key = format!("w{t}:{i}");
        r.send(&encode(&[b"SET", key.as_bytes(), i.to_string().as_bytes()]));
        match r.try_read() {
            Some(Resp::Simple(s)) if s == b"OK" => acks.set[t].store(i, Ordering::SeqCst),
            _ => return,
        }
        let c = format!("c{t}");
        r.send(&encode(&[b"INCR", c.as_bytes()]));
        match r.try_read() {
            Some(Resp::Int(n)) => acks.incr[t].store(n, Ordering::SeqCst),
            _ => return,
        }
        let a = format!("a{t}");
        r.send(&encode(&[b"APPEND", a.as_bytes(), b"x"]));
        match r.try_read() {
            Some(Resp::Int(n)) => acks.append[t].store(n, Ordering::SeqCst),
            _ => return,
        }
        let l = format!("l{t}");
        let next = acks.rpush[t].load(Ordering::SeqCst) + 1;
        r.send(&encode(&[
            b"RPUSH",
            l.as_bytes(),
            next.to_string().as_bytes(),
        ]));
        match r.try_read() {
            Some(Resp::Int(n)) if n == next => acks.rpush[t].store(n, Ordering::SeqCst),
            _ => return,
        }
        for (c, op) in COUNTERS.iter().enumerate() {
            let n = acks.counters[c][t].load(Ordering::SeqCst) + 1;
            let mut last = None;
            for args in (op.cmd)(t, n) {
                let a: Vec<&[u8]> = args.iter().map(|s| s.as_bytes()).collect();
                r.send(&encode(&a));
                last = r.try_read();
                if last.is_none() {
                    return;
                }
            }
            match last {
                Some(reply) if (op.ack)(&reply, n) => {
                    acks.counters[c][t].store(n, Ordering::SeqCst)
                }
                _ => return,
            }
        }
        // A pipeline in one write: its replies arrive after its records
        // are durable (one record per batch the server reads).
        let p = format!("p{t}");
        let base = acks.pipe[t].load(Ordering::SeqCst);
        let mut bytes = Vec::new();
        for _ in 0..PIPE {
            bytes.extend(encode(&[b"INCR", p.as_bytes()]));
        }
        r.send(&bytes);
        for k in 1..=PIPE {
            match r.try_read() {
                Some(Resp::Int(n)) if n == base + k => {}
                _ => return,
            }
        }
        acks.pipe[t].store(base + PIPE, Ordering::SeqCst);
        i += 1;
    }
}

fn check(s: &Server, acks: &Acks, round: usize) {
    let mut r = s.raw();
    for t in 0..acks.set.len() {
        let last = acks.set[t].load(Ordering::SeqCst);
        // Every acknowledged SET is present with its value.
        for i in (1..=last).rev().take(200).chain(1..=last.min(50)) {
            let key = format!("w{t}:{i}");
            assert_eq!(
                r.cmds(&["GET", &key]),
                bulk(&i.to_string()),
                "round {round}: acknowledged {key} lost"
            );
        }
        // Counters: the acknowledged value, or one more (applied and
        // logged, but the reply was cut by the kill).
        let got = match r.cmds(&["GET", &format!("c{t}")]) {
            Resp::Bulk(Some(v)) => String::from_utf8(v).unwrap().parse::<i64>().unwrap(),
            Resp::Bulk(None) => 0,
            other => panic!("{other:?}"),
        };
        let acked = acks.incr[t].load(Ordering::SeqCst);
        assert!(
            got == acked || got == acked + 1,
            "round {round}: c{t} = {got}, acked {acked}"
        );
        let len = match r.cmds(&["STRLEN", &format!("a{t}")]) {
            Resp::Int(n) => n,
            other => panic!("{other:?}"),
        };
        let acked = acks.append[t].load(Ordering::SeqCst);
        assert!(
            len == acked || len == acked + 1,
            "round {round}: a{t} len {len}, acked {acked}"
        );
        for (c, op) in COUNTERS.iter().enumerate() {
            let args = (op.read)(t);
            let a: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            let got = count_of(&r.cmds(&a));
            let acked = acks.counters[c][t].load(Ordering::SeqCst);
            assert!(
                got == acked || got == acked + 1,
                "round {round}: {args:?} = {got}, acked {acked}"
            );
            // The recovered state is the next round's starting point.
            acks.counters[c][t].store(got, Ordering::SeqCst);
        }
        // The pipelined counter: every acknowledged INCR, and at most the
        // unacknowledged pipeline after them.
        let got = count_of(&r.cmds(&["GET", &format!("p{t}")]));
        let acked = acks.pipe[t].load(Ordering::SeqCst);
        assert!(
            (acked..=acked + PIPE).contains(&got),
            "round {round}: p{t} = {got}, acked {acked}"
        );
        acks.pipe[t].store(got, Ordering::SeqCst);
    }
}

#[test]
fn kill9_at_random_moments_loses_no_acknowledged_write() {
    kill9_rounds(12, false, WRITERS);
}

/// The same, while another client runs BGSAVE and BGREWRITEAOF in a loop
/// (and the automatic rewrite fires): a kill in the middle of a snapshot
/// or a log rewrite loses no acknowledged write either.
#[test]
fn kill9_during_bgsave_and_bgrewriteaof_loops_loses_no_acknowledged_write() {
    kill9_rounds(12, true, WRITERS);
}

/// One writer alone under `appendfsync always`: the worker syncs its
/// records itself (`LogShared::sync_deferred`), over the log's
/// preallocated zeros, while snapshots and rewrites roll the log and
/// switch its base. The kills must not lose what it acknowledged either,
/// and the worker path must have run (`aof_worker_fsyncs`).
#[test]
fn kill9_with_a_lone_writer_during_snapshot_loops_loses_no_acknowledged_write() {
    let worker_fsyncs = kill9_rounds(8, true, 1);
    assert!(
        worker_fsyncs > 0,
        "the worker never synced the lone writer's records"
    );
}

/// BGREWRITEAOF and BGSAVE in a loop until `stop`; counts started jobs.
fn snapshotter(port: u16, stop: Arc<AtomicBool>, started: Arc<AtomicI64>) {
    let Ok(mut r) = std::panic::catch_unwind(|| Raw::connect(port)) else {
        return;
    };
    let mut i = 0u64;
    while !stop.load(Ordering::SeqCst) {
        let cmd: &[u8] = if i.is_multiple_of(2) {
            b"BGREWRITEAOF"
        } else {
            b"BGSAVE"
        };
        i += 1;
        r.send(&encode(&[cmd]));
        match r.try_read() {
            Some(Resp::Simple(s)) if s.ends_with(b"started") => {
                started.fetch_add(1, Ordering::SeqCst);
            }
            Some(_) => {}
            None => return,
        }
        std::thread::sleep(Duration::from_millis(5 + i % 20));
    }
}

/// `rounds` kills at random moments with `writers` writing clients (and,
/// with `snapshots`, BGSAVE/BGREWRITEAOF in a loop); returns the syncs
/// idle workers did (INFO `aof_worker_fsyncs`, read before each kill).
fn kill9_rounds(rounds: usize, snapshots: bool, writers: usize) -> u64 {
    let started = Arc::new(AtomicI64::new(0));
    let per_writer = || (0..writers).map(|_| AtomicI64::new(0)).collect::<Vec<_>>();
    let acks = Arc::new(Acks {
        set: per_writer(),
        incr: per_writer(),
        append: per_writer(),
        rpush: per_writer(),
        counters: COUNTERS.iter().map(|_| per_writer()).collect(),
        pipe: per_writer(),
    });
    let mut worker_fsyncs = 0;
    let dir = tempfile::tempdir().unwrap();
    let dir_path = dir.path().to_path_buf();
    let mut seed = 0x2545F4914F6CDD1Du64;
    let keep = Mutex::new(Some(dir));
    // Small segments so rolls happen under the kills too; with snapshots,
    // automatic rewrites too.
    let args: &[&str] = if snapshots {
        &[
            "--aof-segment-size",
            "64kb",
            "--auto-aof-rewrite-min-size",
            "128kb",
            "--save",
            "1 1",
        ]
    } else {
        &["--aof-segment-size", "64kb"]
    };
    for round in 0..rounds {
        let d = keep.lock().unwrap().take().unwrap();
        let mut s = Server::start_in(d, args);
        assert_eq!(s.dir(), dir_path);
        check(&s, &acks, round);
        let stop = Arc::new(AtomicBool::new(false));
        let hs: Vec<_> = (0..writers)
            .map(|t| {
                let (a, st, p) = (acks.clone(), stop.clone(), s.port);
                std::thread::spawn(move || writer(p, t, a, st))
            })
            .collect();
        let snap = snapshots.then(|| {
            let (st, p, n) = (stop.clone(), s.port, started.clone());
            std::thread::spawn(move || snapshotter(p, st, n))
        });
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(50 + seed % 400));
        if let Resp::Bulk(Some(info)) = s.raw().cmds(&["INFO", "persistence"]) {
            worker_fsyncs += info_field(&info, "aof_worker_fsyncs");
        }
        s.kill9();
        stop.store(true, Ordering::SeqCst);
        for h in hs {
            h.join().unwrap();
        }
        if let Some(h) = snap {
            h.join().unwrap();
        }
        let d = std::mem::replace(&mut s.dir, tempfile::tempdir().unwrap());
        drop(s);
        *keep.lock().unwrap() = Some(d);
    }
    let d = keep.lock().unwrap().take().unwrap();
    let s = Server::start_in(d, &[]);
    check(&s, &acks, 99);
    if snapshots {
        assert!(
            started.load(Ordering::SeqCst) >= rounds as i64,
            "too few snapshots started: {}",
            started.load(Ordering::SeqCst)
        );
    }
    let total: i64 = acks.set.iter().map(|a| a.load(Ordering::SeqCst)).sum();
    assert!(total > 0, "no write was ever acknowledged");
    for (c, counts) in acks.counters.iter().enumerate() {
        let n: i64 = counts.iter().map(|a| a.load(Ordering::SeqCst)).sum();
        assert!(n > 0, "counter op {c} was never acknowledged");
    }
    let n: i64 = acks.pipe.iter().map(|a| a.load(Ordering::SeqCst)).sum();
    assert!(n > 0, "no pipeline was ever acknowledged");
    worker_fsyncs
}

#[test]
fn clean_shutdown_keeps_everything_and_restarts_fast() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    for i in 0..500 {
        assert_eq!(
            r.cmds(&["SET", &format!("k{i}"), &i.to_string()]),
            simple("OK")
        );
    }
    assert_eq!(r.cmds(&["EXPIRE", "k1", "1000"]), Resp::Int(1));
    assert_eq!(r.cmds(&["SELECT", "3"]), simple("OK"));
    assert_eq!(r.cmds(&["SET", "in3", "yes"]), simple("OK"));
    r.send(&encode(&[b"SHUTDOWN"]));
    let _ = r.read_to_close();
    let mut s = s;
    let status = s.child.wait().unwrap();
    assert!(status.success());
    let s = s.restart(&[]);
    let mut r = s.raw();
    assert_eq!(r.cmds(&["DBSIZE"]), Resp::Int(500));
    assert_eq!(r.cmds(&["GET", "k499"]), bulk("499"));
    match r.cmds(&["TTL", "k1"]) {
        Resp::Int(n) => assert!((990..=1000).contains(&n), "ttl {n}"),
        other => panic!("{other:?}"),
    }
    assert_eq!(r.cmds(&["SELECT", "3"]), simple("OK"));
    assert_eq!(r.cmds(&["GET", "in3"]), bulk("yes"));
}

/// A panic in a command stops the server (fail-stop) instead of leaving it
/// serving state the log may not hold; a restart has every acknowledged
/// write.
#[test]
fn a_panicking_command_stops_the_server_and_loses_nothing() {
    let mut s = Server::start(&["--appendfsync", "always"]);
    let mut c = s.raw();
    for i in 0..100 {
        assert_eq!(
            c.cmds(&["SET", &format!("k{i}"), &i.to_string()]),
            simple("OK")
        );
    }
    assert_eq!(c.cmds(&["INCR", "n"]), Resp::Int(1));
    // DEBUG PANIC panics inside the command, as Redis's crashes.
    let _ = c.try_read_after(&encode(&[b"DEBUG", b"PANIC"]));
    let status = s
        .wait_exit(Duration::from_secs(10))
        .expect("the server stops after a panic");
    assert!(!status.success(), "{status:?}");
    drop(c);
    let s = s.restart(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["DBSIZE"]), Resp::Int(101));
    assert_eq!(c.cmds(&["GET", "k99"]), bulk("99"));
    assert_eq!(c.cmds(&["INCR", "n"]), Resp::Int(2));
}
