//! The snapshot tools: `rdb-check` verifies a dump (and refuses a damaged
//! one, naming the offset); `aof-rewrite` compacts a stopped server's
//! data dir offline, and the server restarts on it with the same data.

mod common;
use common::*;
use std::process::Command;
use std::time::Duration;

fn fill(r: &mut Raw) {
    for i in 0..400 {
        let i = i.to_string();
        r.cmds(&["SET", &format!("k{i}"), &i]);
        r.cmds(&["RPUSH", "list", &i]);
        r.cmds(&["ZADD", "z", &i, &format!("m{i}")]);
        r.cmds(&["HSET", "h", &i, "v"]);
        r.cmds(&["SADD", "s", &format!("x{i}")]);
    }
}

fn digest(r: &mut Raw) -> Vec<Resp> {
    vec![
        r.cmds(&["DBSIZE"]),
        r.cmds(&["GET", "k17"]),
        r.cmds(&["LRANGE", "list", "0", "5"]),
        r.cmds(&["ZRANGE", "z", "-3", "-1", "WITHSCORES"]),
        r.cmds(&["HLEN", "h"]),
        r.cmds(&["SCARD", "s"]),
    ]
}

#[test]
fn rdb_check_and_offline_aof_rewrite() {
    let mut s = Server::start(&["--aof-segment-size", "16kb", "--save", "3600 1"]);
    let mut r = s.raw();
    fill(&mut r);
    let want = digest(&mut r);
    r.send(&encode(&[b"SHUTDOWN"]));
    assert!(s.wait_exit(Duration::from_secs(20)).is_some());
    let dump = s.dir().join("dump.rdb");
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-check"))
        .arg(&dump)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(": OK"), "{text}");
    assert!(text.contains("keys          404"), "{text}");
    // One flipped byte: refused, with the offset.
    let mut bytes = std::fs::read(&dump).unwrap();
    let at = bytes.len() / 2;
    bytes[at] ^= 0x40;
    let bad = s.dir().join("bad.rdb");
    std::fs::write(&bad, &bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rdb-check"))
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("offset"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Offline compaction of the log.
    let logdir = s.dir().join("appendonlydir");
    let segs = |d: &std::path::Path| {
        std::fs::read_dir(d)
            .unwrap()
            .filter(|e| {
                e.as_ref()
                    .unwrap()
                    .file_name()
                    .to_string_lossy()
                    .ends_with(".clog")
            })
            .count()
    };
    assert!(segs(&logdir) > 3);
    let out = Command::new(env!("CARGO_BIN_EXE_aof-rewrite"))
        .arg(s.dir())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(segs(&logdir), 1);
    let s = s.restart(&["--save", ""]);
    let mut r = s.raw();
    assert_eq!(digest(&mut r), want);
    // A running server's dir is refused.
    let out = Command::new(env!("CARGO_BIN_EXE_aof-rewrite"))
        .arg(s.dir())
        .output()
        .unwrap();
    assert!(!out.status.success());
}
