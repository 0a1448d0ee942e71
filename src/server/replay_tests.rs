//! The journal is a faithful record: replaying it on an empty keyspace
//! (with expiry off, as recovery will) reproduces the keyspace exactly.

use super::exec::execute;
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

fn run(st: &mut State, c: &mut Client, args: &[&[u8]]) {
    let mut out = Reply::new(false);
    execute(st, c, &mut out, args);
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
            run(&mut st, &mut c, &args);
        }
        let journal = st.ks.journal.take();
        let replayed = replay(&journal);
        assert_eq!(dump(&st), dump(&replayed), "seed {seed}");
    }
}
