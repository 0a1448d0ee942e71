//! The idle spin (`io-idle-spin-us`, server/idle_spin.rs): an idle worker
//! polls for work briefly before it sleeps. It must not change what
//! clients see, and it must stop spinning when requests come further
//! apart than the spin time, or an idle-ish server would burn a core.

mod common;

use common::{Raw, Resp, Server};
use std::time::Duration;

/// User + system CPU time of every thread of `pid`, in milliseconds
/// (clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> u64 {
    let mut ticks = 0u64;
    for t in std::fs::read_dir(format!("/proc/{pid}/task")).unwrap() {
        let stat = std::fs::read_to_string(t.unwrap().path().join("stat")).unwrap_or_default();
        let Some((_, rest)) = stat.rsplit_once(')') else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        ticks += f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    }
    ticks * 10
}

#[test]
fn idle_spin_is_a_start_up_setting() {
    let s = Server::start(&[]);
    let mut c = Raw::connect(s.port);
    assert_eq!(
        c.cmds(&["CONFIG", "GET", "io-idle-spin-us"]),
        Resp::Array(Some(vec![
            common::bulk("io-idle-spin-us"),
            common::bulk("50")
        ]))
    );
    assert_eq!(
        c.cmds(&["CONFIG", "SET", "io-idle-spin-us", "0"]),
        common::err(
            "ERR CONFIG SET failed (possibly related to argument 'io-idle-spin-us') - can't set immutable config"
        )
    );
    drop(c);
    let s = Server::start(&["--io-idle-spin-us", "0"]);
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmds(&["PING"]), Resp::Simple(b"PONG".to_vec()));
}

#[test]
fn sparse_requests_stop_the_spin() {
    // With a 1 ms spin, a worker that spun after each of these requests
    // (3 ms apart) would burn 1 ms per request: 300+ ms for the loop.
    // The adaptive budget halves after every longer park, so it soon
    // sleeps at once; serving the pings themselves costs a few ms.
    let s = Server::start(&["--io-idle-spin-us", "1000"]);
    let mut c = Raw::connect(s.port);
    assert_eq!(c.cmds(&["PING"]), Resp::Simple(b"PONG".to_vec()));
    let before = cpu_ms(s.child.id());
    for _ in 0..300 {
        assert_eq!(c.cmds(&["PING"]), Resp::Simple(b"PONG".to_vec()));
        std::thread::sleep(Duration::from_millis(3));
    }
    let used = cpu_ms(s.child.id()) - before;
    assert!(
        used < 150,
        "the server used {used} ms of CPU for 300 sparse PINGs"
    );
}

#[test]
fn spinning_workers_serve_concurrent_clients_exactly() {
    // Two workers spinning on the same socket set, clients pipelining
    // from several threads: every increment lands once.
    let s = Server::start(&["--io-threads", "2", "--io-idle-spin-us", "200"]);
    let port = s.port;
    let threads: Vec<_> = (0..4)
        .map(|_| {
            std::thread::spawn(move || {
                let mut c = Raw::connect(port);
                let incr = common::encode(&[b"INCR", b"n"]);
                let batch = [&incr[..], &incr[..], &common::encode(&[b"PING"])[..]].concat();
                for _ in 0..200 {
                    c.send(&batch);
                    assert!(matches!(c.read(), Resp::Int(_)));
                    assert!(matches!(c.read(), Resp::Int(_)));
                    assert_eq!(c.read(), Resp::Simple(b"PONG".to_vec()));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let mut c = Raw::connect(port);
    assert_eq!(c.cmds(&["GET", "n"]), common::bulk("1600"));
}

/// A numeric INFO persistence field.
fn persistence_field(c: &mut Raw, name: &str) -> u64 {
    let v = c.info("persistence", name);
    v.and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric {name} in INFO"))
}

#[test]
fn a_lone_durable_writer_is_synced_by_the_idle_worker() {
    // Under `appendfsync always` (the default) one client writing alone
    // has its records written and synced by the worker, before it parks,
    // not by the log thread (`LogShared::sync_deferred`), spin or no spin.
    // Every reply still comes after its sync, so a kill -9 loses nothing.
    for spin in ["0", "50"] {
        let s = Server::start(&["--io-idle-spin-us", spin]);
        let mut c = Raw::connect(s.port);
        let before = persistence_field(&mut c, "aof_worker_fsyncs");
        for i in 0..200 {
            assert_eq!(
                c.cmds(&["SET", &format!("k{i}"), "v"]),
                common::simple("OK")
            );
        }
        let synced = persistence_field(&mut c, "aof_worker_fsyncs") - before;
        // Most of them: the first after start-up may go to the log thread.
        assert!(
            synced >= 190,
            "spin {spin}: idle workers synced {synced} of 200 lone writes"
        );
        // A second client reading at the same time hands deferred records
        // to the log thread instead (`LogShared::kick`): nothing waits.
        let port = s.port;
        let reader = std::thread::spawn(move || {
            let mut r = Raw::connect(port);
            for _ in 0..300 {
                assert!(matches!(r.cmds(&["GET", "k0"]), Resp::Bulk(Some(_))));
            }
        });
        for i in 200..400 {
            assert_eq!(
                c.cmds(&["SET", &format!("k{i}"), "v"]),
                common::simple("OK")
            );
        }
        reader.join().unwrap();
        let mut s = s;
        s.kill9();
        let s = s.restart(&[]);
        let mut c = Raw::connect(s.port);
        assert_eq!(c.cmds(&["DBSIZE"]), Resp::Int(400), "spin {spin}");
        // The log's preallocated zeros were cut at start-up without being
        // taken for a torn tail.
        let leftovers: Vec<_> = std::fs::read_dir(s.dir().join("appendonlydir"))
            .unwrap()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.contains("corrupt-tail"))
            .collect();
        assert!(leftovers.is_empty(), "spin {spin}: {leftovers:?}");
        assert_eq!(persistence_field(&mut c, "loading_repaired_bytes"), 0);
    }
}
