//! The journal is a faithful record: replaying it on an empty keyspace
//! (with expiry off, as recovery will) reproduces the keyspace exactly.

use super::exec::execute_at;
use super::state::{Client, State};
use crate::config::Config;
use crate::protocol::Reply;

/// (db, key, value, expire_at) of one entry.
type Row = (usize, Vec<u8>, Option<Vec<u8>>, u64);

/// Keys, values and expiry times of every database, sorted.
fn dump(st: &State) -> Vec<Row> {
    let mut v = Vec::new();
    for (i, db) in st.ks.dbs.iter().enumerate() {
        for e in db.table.iter() {
            v.push((i, e.key.to_vec(), e.value.to_bytes(), e.expire_at()));
        }
    }
    v.sort();
    v
}

/// Replay framed records into a fresh state in loading mode, with the
/// same `Replayer` recovery uses.
fn replay(journal: &[u8]) -> State {
    let mut st = State::new(Config::default());
    st.ks.loading = true;
    let mut r = super::replay::Replayer::default();
    let mut off = 0;
    while off < journal.len() {
        let (h, payload, total) =
            crate::storage::format::parse_record(&journal[off..]).expect("record verifies");
        r.apply(&mut st, &h, payload)
            .unwrap_or_else(|e| panic!("replayed effect failed: {e}"));
        off += total;
    }
    st.ks.loading = false;
    st
}

use crate::util::XorShift64 as Rng;

#[test]
fn journal_replay_reproduces_the_keyspace() {
    let keys = ["a", "b", "c", "d", "n"];
    let vals = [
        "1",
        "-7",
        "x",
        "",
        "10.5",
        "hello world",
        "9223372036854775806",
    ];
    for seed in 1..40u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E3779B97F4A7C15));
        let mut st = State::new(Config::default());
        st.ks.journal.enabled = true;
        let mut c = Client::detached(1);
        let now = crate::util::now_ms();
        for _ in 0..300 {
            let k = rng.pick(&keys);
            let k2 = rng.pick(&keys);
            let v = rng.pick(&vals);
            let past = (now - 1000).to_string();
            let future = (now + 1_000_000).to_string();
            let db = (rng.next() % 3).to_string();
            let cmd: Vec<&str> = match rng.next() % 24 {
                0 => vec!["SET", k, v],
                1 => vec!["SET", k, v, "PX", "100000"],
                2 => vec!["SET", k, v, "PXAT", &past],
                3 => vec!["INCR", k],
                4 => vec!["INCRBYFLOAT", k, "1.5"],
                5 => vec!["APPEND", k, v],
                6 => vec!["DEL", k],
                7 => vec!["EXPIRE", k, "100"],
                8 => vec!["PEXPIREAT", k, &past],
                9 => vec!["PERSIST", k],
                10 => vec!["RENAME", k, k2],
                11 => vec!["COPY", k, k2, "DB", &db, "REPLACE"],
                12 => vec!["MOVE", k, &db],
                13 => vec!["SELECT", &db],
                14 => vec!["SETRANGE", k, "3", v],
                15 => vec!["GETEX", k, "PXAT", &future],
                16 => vec!["GETDEL", k],
                17 => vec!["MSET", k, v, k2, v],
                18 => vec!["SETEX", k, "50", v],
                19 => vec!["GETSET", k, v],
                20 => vec!["SWAPDB", "0", &db],
                21 => vec!["GET", k],
                22 => vec!["SET", k, v, "KEEPTTL"],
                _ => vec!["DECRBY", k, "3"],
            };
            let args: Vec<&[u8]> = cmd.iter().map(|s| s.as_bytes()).collect();
            // Batches of random length, as a pipelining connection runs
            // them: each batch's effects are one record (with SELECTs
            // inside when its commands change databases).
            let mut out = Reply::new(false);
            execute_at(&mut st, &mut c, &mut out, &args, crate::util::now_ms());
            if rng.next().is_multiple_of(6) {
                st.flush_journal();
            }
        }
        st.flush_journal();
        let journal = st.ks.journal.take();
        let replayed = replay(&journal);
        assert_eq!(dump(&st), dump(&replayed), "seed {seed}");
    }
}

/// The records in `journal`, as (LSN, payload).
fn records(journal: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut v = Vec::new();
    let mut off = 0;
    while off < journal.len() {
        let (h, payload, total) =
            crate::storage::format::parse_record(&journal[off..]).expect("record verifies");
        v.push((h.lsn, payload.to_vec()));
        off += total;
    }
    v
}

/// Commands in a RESP payload.
fn commands_in(payload: &[u8]) -> usize {
    let mut p = crate::protocol::RequestParser::default();
    let mut buf = bytes::BytesMut::from(payload);
    let mut n = 0;
    loop {
        match p.parse(&buf, crate::protocol::Limits::default()) {
            Ok(crate::protocol::Parsed::Command { consumed }) => {
                bytes::Buf::advance(&mut buf, consumed);
                n += 1;
            }
            Ok(crate::protocol::Parsed::Incomplete) => {
                assert!(buf.is_empty(), "a record ends inside a command");
                return n;
            }
            other => panic!("payload does not parse: {other:?}"),
        }
    }
}

fn batch(st: &mut State, c: &mut Client, cmds: &[Vec<Vec<u8>>]) {
    let mut out = Reply::new(false);
    for cmd in cmds {
        let args: Vec<&[u8]> = cmd.iter().map(|a| &a[..]).collect();
        execute_at(st, c, &mut out, &args, crate::util::now_ms());
    }
    st.flush_journal();
}

fn cmd(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

#[test]
fn a_batch_is_one_record_cut_only_between_commands_past_seal_at() {
    let mut st = State::new(Config::default());
    st.ks.journal.enabled = true;
    let mut c = Client::detached(1);
    // 16 small writes and a read: one record of 16 commands.
    let mut cmds: Vec<_> = (0..16)
        .map(|i| cmd(&[b"SET", format!("k{i}").as_bytes(), b"v"]))
        .collect();
    cmds.push(cmd(&[b"GET", b"k1"]));
    batch(&mut st, &mut c, &cmds);
    let recs = records(&st.ks.journal.take());
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].0, 1);
    assert_eq!(commands_in(&recs[0].1), 16);
    // 20 writes of 10 KB: sealed once a record passes 64 KiB, so records
    // of 7, 7 and 6 commands, each holding whole commands.
    let big = vec![b'x'; 10_000];
    let cmds: Vec<_> = (0..20)
        .map(|i| cmd(&[b"SET", format!("b{i}").as_bytes(), &big]))
        .collect();
    batch(&mut st, &mut c, &cmds);
    let recs = records(&st.ks.journal.take());
    let sizes: Vec<usize> = recs.iter().map(|(_, p)| commands_in(p)).collect();
    assert_eq!(sizes, vec![7, 7, 6]);
    assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![2, 3, 4]);
    // A transaction is never cut, however big: MULTI, 20 SETs of 10 KB,
    // EXEC, then one more write in the same batch.
    let mut cmds = vec![cmd(&[b"MULTI"])];
    cmds.extend((0..20).map(|i| cmd(&[b"SET", format!("t{i}").as_bytes(), &big])));
    cmds.push(cmd(&[b"EXEC"]));
    cmds.push(cmd(&[b"SET", b"after", b"1"]));
    batch(&mut st, &mut c, &cmds);
    let recs = records(&st.ks.journal.take());
    let sizes: Vec<usize> = recs.iter().map(|(_, p)| commands_in(p)).collect();
    assert_eq!(sizes.len(), 2, "{sizes:?}");
    assert!(sizes[0] >= 20, "the transaction was cut: {sizes:?}");
}

#[test]
fn a_snapshot_cut_inside_a_batch_covers_the_batch_so_far() {
    let mut st = State::new(Config::default());
    st.ks.journal.enabled = true;
    let mut c = Client::detached(1);
    let mut out = Reply::new(false);
    for k in ["a", "b"] {
        let args: [&[u8]; 3] = [b"SET", k.as_bytes(), b"1"];
        execute_at(&mut st, &mut c, &mut out, &args, crate::util::now_ms());
    }
    let snap = crate::keyspace::cow::CowSnapshot::begin(&mut st.ks, crate::util::now_ms());
    assert_eq!(snap.cut_lsn, 1, "the open record was not sealed at the cut");
    let recs = records(&st.ks.journal.take());
    assert_eq!(recs.len(), 1);
    assert_eq!(commands_in(&recs[0].1), 2);
}
