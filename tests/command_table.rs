//! The command table against real Redis: for every command Cairn serves,
//! COMMAND INFO's name, arity, flags, key positions and ACL categories must
//! equal redis-server 7.0.15's. Clients (and cluster proxies) route and
//! validate with these.

mod common;

use common::{RedisServer, Resp, Server};

/// Known, documented differences (README: "How Cairn differs").
const EXCEPTIONS: &[&str] = &[
    // Arity -3 (not 3): Cairn accepts Redis 7.2's WITHSCORE.
    "zrank", "zrevrank",
];

fn names(r: Resp) -> Vec<String> {
    match r {
        Resp::Array(Some(v)) => v
            .into_iter()
            .map(|c| match c {
                Resp::Array(Some(f)) => match &f[0] {
                    Resp::Bulk(Some(n)) => String::from_utf8_lossy(n).into_owned(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .collect(),
        other => panic!("COMMAND: {other:?}"),
    }
}

/// The first seven fields of a COMMAND INFO entry.
fn head(r: Resp) -> Option<Vec<Resp>> {
    match r {
        Resp::Array(Some(mut v)) => match v.remove(0) {
            Resp::Array(Some(f)) => Some(f.into_iter().take(7).collect()),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn command_info_matches_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&[]);
    let mut c = cairn.raw();
    let mut r = common::Raw::connect(redis.port);
    let all = names(c.cmds(&["COMMAND"]));
    assert!(all.len() > 150, "only {} commands", all.len());
    let mut diffs = Vec::new();
    for n in &all {
        if EXCEPTIONS.contains(&n.as_str()) {
            continue;
        }
        let mine = head(c.cmds(&["COMMAND", "INFO", n]));
        let theirs = head(r.cmds(&["COMMAND", "INFO", n]));
        if theirs.is_none() {
            // A Cairn-only command would be listed here; there are none.
            diffs.push(format!("{n}: unknown to Redis 7.0"));
        } else if mine != theirs {
            diffs.push(format!("{n}:\n  cairn {mine:?}\n  redis {theirs:?}"));
        }
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
