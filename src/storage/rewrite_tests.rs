//! Log rewrite on the simulated file system: a crash after every file
//! system operation of a rewrite leaves a dir that recovers to exactly the
//! acknowledged writes; repeated rewrites keep the log bounded.

use super::fs::{Fs, SimFs, Tear};
use super::log::LogHandle;
use super::recovery::{CorruptPolicy, open_log_with_base};
use super::rewrite::rewrite;
use crate::config::FsyncPolicy;
use crate::keyspace::cow::{load_into, write_all};
use crate::keyspace::{Journal, Keyspace, Ttl, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn dir() -> PathBuf {
    PathBuf::from("/sim/data/appendonlydir")
}

type Model = BTreeMap<Vec<u8>, Vec<u8>>;

struct H {
    log: LogHandle,
    journal: Journal,
    /// Every write in order (key, value).
    writes: Vec<(Vec<u8>, Vec<u8>)>,
    acked: usize,
}

impl H {
    fn open(fs: &SimFs) -> H {
        let mut ks = Keyspace::new(1);
        let (seg, _) = recover_into(fs, &mut ks).expect("open");
        let mut journal = Journal::default();
        journal.enabled = true;
        journal.next_lsn = seg + 1;
        let (seg, _) = open_log_with_base(
            fs,
            &dir(),
            CorruptPolicy::Refuse,
            |p| {
                let mut k = Keyspace::new(1);
                load_into(&mut k, fs, p, 0).map_err(|e| e.to_string())
            },
            |_, _| Ok(()),
        )
        .unwrap();
        let durable = journal.durable.clone();
        let log = LogHandle::start(
            Arc::new(fs.clone()),
            dir(),
            seg,
            FsyncPolicy::Always,
            1 << 20,
            durable,
        );
        H {
            log,
            journal,
            writes: Vec::new(),
            acked: 0,
        }
    }

    /// One SET; true if acknowledged (durable) within a short wait.
    fn put(&mut self, k: &str, v: &str) -> bool {
        self.journal
            .append(0, &[b"SET", k.as_bytes(), v.as_bytes()]);
        self.journal.seal();
        let lsn = self.journal.last_lsn();
        self.log.shared.submit_from(&mut self.journal.buf, lsn);
        self.writes.push((k.into(), v.into()));
        let deadline = Instant::now() + Duration::from_millis(300);
        while Instant::now() < deadline && !self.log.shared.is_failed() {
            if self.log.shared.durable_lsn() >= lsn {
                self.acked = self.writes.len();
                return true;
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        false
    }

    fn model(&self, n: usize) -> Model {
        self.writes[..n].iter().cloned().collect()
    }
}

/// Recover `fs` into `ks` (base + SET records). Returns the last LSN.
fn recover_into(fs: &SimFs, ks: &mut Keyspace) -> Result<(u64, ()), String> {
    let cell = std::cell::RefCell::new(ks);
    let (seg, _) = open_log_with_base(
        fs,
        &dir(),
        CorruptPolicy::Refuse,
        |p| load_into(&mut cell.borrow_mut(), fs, p, 0).map_err(|e| e.to_string()),
        |_, payload| {
            let s = String::from_utf8_lossy(payload);
            let w: Vec<&str> = s.split("\r\n").collect();
            // *3 $3 SET $n key $m value
            cell.borrow_mut().set(
                0,
                w[4].as_bytes(),
                Value::string(w[6].as_bytes()),
                Ttl::Clear,
                0,
            );
            Ok(())
        },
    )
    .map_err(|e| e.to_string())?;
    Ok((seg.last_lsn, ()))
}

fn state(ks: &Keyspace) -> Model {
    ks.dbs[0]
        .table
        .iter()
        .map(|e| (e.key.to_vec(), e.value.to_bytes().unwrap()))
        .collect()
}

fn image_of(m: &Model) -> Keyspace {
    let mut ks = Keyspace::new(1);
    for (k, v) in m {
        ks.set(0, k, Value::string(v), Ttl::Clear, 0);
    }
    ks
}

/// Writes, then `jobs` rounds of: the cut, `job(round, cut, image)`
/// (true if it succeeded), more writes tagged `tag`; with a crash after
/// `crash_at` fs operations (None: no crash). Returns the fs, the harness,
/// whether every job succeeded, and the number of writes in the last
/// job's image.
fn run_jobs(
    crash_at: Option<u64>,
    jobs: usize,
    tag: &str,
    mut job: impl FnMut(&SimFs, &H, usize, u64, &Keyspace) -> bool,
) -> (SimFs, H, bool, usize) {
    let fs = SimFs::new();
    let mut h = H::open(&fs);
    for i in 0..30 {
        assert!(h.put(&format!("k{}", i % 7), &format!("a{i}")));
    }
    if let Some(n) = crash_at {
        fs.crash_after(n);
    }
    let mut ok = true;
    let mut at_cut = 0;
    for r in 0..jobs {
        // The cut: everything submitted, roll requested, image taken (as
        // `persist::start` does for a rewrite and a BGSAVE with the log on).
        let cut = h.journal.last_lsn();
        h.log.shared.request_roll();
        at_cut = h.writes.len();
        let ks = image_of(&h.model(at_cut));
        ok &= job(&fs, &h, r, cut, &ks);
        for i in 0..5 {
            h.put(&format!("k{}", i % 3), &format!("{tag}{r}-{i}"));
        }
    }
    (fs, h, ok, at_cut)
}

/// `run_jobs` with log rewrites.
fn run(crash_at: Option<u64>, rewrites: usize) -> (SimFs, H, bool) {
    let (fs, h, ok, _) = run_jobs(crash_at, rewrites, "b", |fs, h, r, cut, ks| {
        rewrite(&h.log.shared, fs, &dir(), r % 2 == 0, cut, 0, |w| {
            write_all(ks, w)
        })
        .is_ok()
    });
    (fs, h, ok)
}

fn check(fs: &SimFs, h: &H, what: &str) {
    for tear in [Tear::Drop, Tear::Keep(40)] {
        let image = fs.crash(tear);
        let mut ks = Keyspace::new(1);
        recover_into(&image, &mut ks).unwrap_or_else(|e| panic!("{what} ({tear:?}): {e}"));
        let got = state(&ks);
        assert!(
            (h.acked..=h.writes.len()).any(|n| h.model(n) == got),
            "{what} ({tear:?}): recovered state is not the acknowledged one"
        );
    }
}

#[test]
fn crash_at_every_step_of_a_rewrite() {
    let total_ops = {
        let (fs, h, ok) = run(None, 1);
        assert!(ok);
        check(&fs, &h, "no crash");
        let n = fs.ops();
        std::mem::forget(h.log);
        n
    };
    for n in 0..total_ops {
        let (fs, h, _) = run(Some(n), 1);
        check(&fs, &h, &format!("crash after op {n}"));
        std::mem::forget(h.log);
    }
}

#[test]
fn repeated_rewrites_keep_the_log_bounded() {
    let (fs, mut h, ok) = run(None, 6);
    assert!(ok);
    let names = fs.list(&dir()).unwrap();
    let segs = names.iter().filter(|n| n.ends_with(".clog")).count();
    let bases = names.iter().filter(|n| n.starts_with("base-")).count();
    assert!(segs <= 2, "old segments left: {names:?}");
    assert_eq!(bases, 1, "{names:?}");
    let m = h.log.shared.manifest();
    assert!(m.base.is_some());
    check(&fs, &h, "six rewrites");
    // Clean shutdown, reopen, and the data is still there.
    h.log.shutdown();
    let mut ks = Keyspace::new(1);
    recover_into(&fs, &mut ks).unwrap();
    assert_eq!(state(&ks), h.model(h.writes.len()));
}

fn model_ks(tag: &str, n: usize) -> (Model, Keyspace) {
    let m: Model = (0..n)
        .map(|i| {
            (
                format!("k{i}").into_bytes(),
                format!("{tag}{i}").into_bytes(),
            )
        })
        .collect();
    let ks = image_of(&m);
    (m, ks)
}

fn load_model(fs: &SimFs, p: &std::path::Path) -> Result<Model, String> {
    let mut ks = Keyspace::new(1);
    load_into(&mut ks, fs, p, 0).map_err(|e| e.to_string())?;
    Ok(state(&ks))
}

#[test]
fn crash_at_every_step_of_a_save_leaves_the_old_or_the_new_snapshot() {
    use super::rewrite::save_snapshot;
    let p = std::path::Path::new("/sim/data/dump.rdb");
    let (old, old_ks) = model_ks("old", 50);
    let (new, new_ks) = model_ks("new", 80);
    let setup = || {
        let fs = SimFs::new();
        save_snapshot(&fs, p, true, 1, 0, |w| write_all(&old_ks, w)).unwrap();
        fs
    };
    let total = {
        let fs = setup();
        let before = fs.ops();
        save_snapshot(&fs, p, true, 2, 0, |w| write_all(&new_ks, w)).unwrap();
        fs.ops() - before
    };
    assert!(total >= 4);
    for n in 0..=total {
        let fs = setup();
        fs.crash_after(n);
        let ok = save_snapshot(&fs, p, true, 2, 0, |w| write_all(&new_ks, w)).is_ok();
        for tear in [Tear::Drop, Tear::Keep(100), Tear::Garbage(10, 50)] {
            let image = fs.crash(tear);
            let got = load_model(&image, p)
                .unwrap_or_else(|e| panic!("crash after op {n} ({tear:?}): {e}"));
            if ok {
                assert_eq!(got, new, "crash after op {n}: acknowledged save lost");
            } else {
                assert!(got == old || got == new, "crash after op {n}: mixed state");
            }
        }
    }
}

#[test]
fn failing_save_keeps_the_previous_snapshot_and_cleans_up() {
    use super::fs::Fault;
    use super::rewrite::save_snapshot;
    let p = std::path::Path::new("/sim/data/dump.rdb");
    let (old, old_ks) = model_ks("old", 500);
    let (_, new_ks) = model_ks("new-and-longer-values-", 5000);
    for (fault, errno) in [
        (Fault::DiskFull(20_000), 28),
        (Fault::Write(5), 5),
        (Fault::Sync(5), 5),
    ] {
        let fs = SimFs::new();
        save_snapshot(&fs, p, false, 1, 0, |w| write_all(&old_ks, w)).unwrap();
        fs.inject(fault);
        let r = save_snapshot(&fs, p, false, 2, 0, |w| write_all(&new_ks, w));
        // The file's own error is reported (INFO rdb_last_bgsave_error),
        // even when it happened on the compressor thread.
        assert_eq!(
            r.expect_err("the fault fails the save").raw_os_error(),
            Some(errno),
            "{fault:?}"
        );
        fs.clear_faults();
        assert_eq!(load_model(&fs, p).unwrap(), old, "{fault:?}");
        let names = fs.list(std::path::Path::new("/sim/data")).unwrap();
        assert_eq!(names, vec!["dump.rdb".to_string()], "{fault:?}");
    }
}

fn dump_path() -> PathBuf {
    PathBuf::from("/sim/data/dump.rdb")
}

/// `run_jobs` with BGSAVEs with the log on (the dump is written, then
/// adopted as the log's base).
fn run_saves(crash_at: Option<u64>, saves: usize) -> (SimFs, H, bool, usize) {
    use super::rewrite::{adopt_as_base, save_snapshot};
    run_jobs(crash_at, saves, "s", |fs, h, r, cut, ks| {
        save_snapshot(fs, &dump_path(), r % 2 == 0, cut, 0, |w| write_all(ks, w))
            .and_then(|saved| adopt_as_base(&h.log.shared, fs, &dump_path(), saved, &dir(), cut))
            .is_ok()
    })
}

#[test]
fn crash_at_every_step_of_a_bgsave_that_becomes_the_base() {
    let total_ops = {
        let (fs, h, ok, _) = run_saves(None, 1);
        assert!(ok);
        assert!(h.log.shared.manifest().base.is_some(), "base not switched");
        check(&fs, &h, "no crash");
        let n = fs.ops();
        std::mem::forget(h.log);
        n
    };
    for n in 0..total_ops {
        let (fs, h, ok, at_cut) = run_saves(Some(n), 1);
        check(&fs, &h, &format!("crash after op {n}"));
        // The dump file keeps its own semantics: absent (the save did not
        // complete) or exactly the image at the cut.
        for tear in [Tear::Drop, Tear::Keep(40)] {
            let image = fs.crash(tear);
            if image.exists(&dump_path()) {
                let got = load_model(&image, &dump_path())
                    .unwrap_or_else(|e| panic!("crash after op {n}: dump: {e}"));
                assert_eq!(got, h.model(at_cut), "crash after op {n}: dump");
            } else {
                assert!(!ok, "crash after op {n}: a successful save left no dump");
            }
        }
        std::mem::forget(h.log);
    }
}

#[test]
fn repeated_bgsaves_keep_the_log_bounded_and_the_base_outlives_the_dump() {
    use super::rewrite::save_snapshot;
    let (fs, mut h, ok, at_cut) = run_saves(None, 4);
    assert!(ok);
    let names = fs.list(&dir()).unwrap();
    let segs = names.iter().filter(|n| n.ends_with(".clog")).count();
    let bases: Vec<&String> = names.iter().filter(|n| n.starts_with("base-")).collect();
    assert!(segs <= 2, "old segments left: {names:?}");
    assert_eq!(bases.len(), 1, "{names:?}");
    let base = dir().join(bases[0]);
    assert_eq!(load_model(&fs, &base).unwrap(), h.model(at_cut));
    assert_eq!(load_model(&fs, &dump_path()).unwrap(), h.model(at_cut));
    // A later save (SAVE, or a BGSAVE whose adoption fails) renames a new
    // dump over the old name: the base is a name of its own and stays.
    let (other, other_ks) = model_ks("other", 10);
    save_snapshot(&fs, &dump_path(), true, 1, 0, |w| write_all(&other_ks, w)).unwrap();
    assert_eq!(load_model(&fs, &dump_path()).unwrap(), other);
    assert_eq!(load_model(&fs, &base).unwrap(), h.model(at_cut));
    check(&fs, &h, "four saves");
    fs.remove(&dump_path()).unwrap();
    check(&fs, &h, "four saves, dump deleted");
    h.log.shutdown();
    let mut ks = Keyspace::new(1);
    recover_into(&fs, &mut ks).unwrap();
    assert_eq!(state(&ks), h.model(h.writes.len()));
}
