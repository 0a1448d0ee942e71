//! Log tests on the simulated file system: power cuts at random points with
//! torn, garbage and zeroed tails; injected write/fsync/ENOSPC failures;
//! crashes between every step of a segment roll; corruption refusal.

use super::fs::{Fault, Fs, SimFs, Tear};
use super::log::LogHandle;
use super::recovery::{CorruptPolicy, RecoveryError, open_log};
use crate::config::FsyncPolicy;
use crate::keyspace::Journal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn dir() -> PathBuf {
    PathBuf::from("/sim/data/appendonlydir")
}

/// Recover and return the payload values (the SET values) in order.
fn recover(fs: &SimFs, policy: CorruptPolicy) -> Result<(Vec<String>, u64), RecoveryError> {
    let mut vals = Vec::new();
    let (seg, _) = open_log(fs, &dir(), policy, |_, payload| {
        let s = String::from_utf8_lossy(payload);
        // payload = *3 $3 SET $1 k $N value
        let v = s.rsplit("\r\n").nth(1).unwrap_or_default().to_string();
        vals.push(v);
        Ok(())
    })?;
    Ok((vals, seg.last_lsn))
}

struct Harness {
    fs: SimFs,
    log: LogHandle,
    journal: Journal,
}

impl Harness {
    fn open(fs: SimFs, policy: FsyncPolicy, seg_size: u64) -> Harness {
        let (seg, _) = open_log(&fs, &dir(), CorruptPolicy::Refuse, |_, _| Ok(())).expect("open");
        let mut journal = Journal::default();
        journal.enabled = true;
        journal.next_lsn = seg.last_lsn + 1;
        let durable = journal.durable.clone();
        let log = LogHandle::start(Arc::new(fs.clone()), dir(), seg, policy, seg_size, durable);
        Harness { fs, log, journal }
    }

    /// Write one SET record; returns its LSN.
    fn put(&mut self, v: &str) -> u64 {
        self.journal.append(0, &[b"SET", b"k", v.as_bytes()]);
        self.journal.seal();
        let lsn = self.journal.last_lsn();
        self.log.shared.submit_from(&mut self.journal.buf, lsn);
        lsn
    }

    /// `put`, then wait until it is durable (a client that got its reply).
    #[track_caller]
    fn put_durable(&mut self, v: &str) {
        let l = self.put(v);
        assert!(self.wait_durable(l), "{v}: not durable");
    }

    fn wait_durable(&self, lsn: u64) -> bool {
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.log.shared.durable_lsn() >= lsn {
                return true;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        false
    }
}

use crate::util::XorShift64 as Rng;

#[test]
fn fresh_dir_then_reopen() {
    let fs = SimFs::new();
    let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 1 << 20);
    for i in 0..100 {
        h.put_durable(&format!("v{i}"));
    }
    drop(h.log);
    let (vals, last) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
    assert_eq!(vals.len(), 100);
    assert_eq!(vals[99], "v99");
    // 100 records plus the clean-shutdown sync mark.
    assert_eq!(last, 101);
    let _ = h.fs;
}

#[test]
fn power_cut_keeps_every_acknowledged_write() {
    for round in 0..60u64 {
        let mut rng = Rng(round.wrapping_mul(0x9E3779B97F4A7C15) | 1);
        let fs = SimFs::new();
        // Small segments so rolls happen during the run.
        let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 2048 + rng.next() % 4096);
        let n = 20 + rng.next() % 200;
        let mut acked = 0u64;
        let mut written = 0u64;
        for i in 0..n {
            let v = format!("r{round}-{i}-{}", "x".repeat((rng.next() % 40) as usize));
            let lsn = h.put(&v);
            written = i + 1;
            // Sometimes wait for the ack (a client got its reply).
            if rng.next().is_multiple_of(3) {
                assert!(h.wait_durable(lsn));
                acked = i + 1;
            }
        }
        let tear = match rng.next() % 4 {
            0 => Tear::Drop,
            1 => Tear::Keep((rng.next() % 300) as usize),
            2 => Tear::Garbage((rng.next() % 300) as usize, 1 + (rng.next() % 200) as usize),
            _ => Tear::Zeros(
                (rng.next() % 300) as usize,
                1 + (rng.next() % 4096) as usize,
            ),
        };
        let image = h.fs.crash(tear);
        std::mem::forget(h.log); // the process died: no clean shutdown
        let (vals, _) = recover(&image, CorruptPolicy::Refuse)
            .unwrap_or_else(|e| panic!("round {round} ({tear:?}): recovery refused: {e}"));
        assert!(
            vals.len() as u64 >= acked && vals.len() as u64 <= written,
            "round {round}: recovered {} of {written}, acked {acked}",
            vals.len()
        );
        for (i, v) in vals.iter().enumerate() {
            assert!(
                v.starts_with(&format!("r{round}-{i}-")),
                "round {round}: record {i} is {v}"
            );
        }
        // Recovery repaired the tail: a second recovery is clean and equal.
        let (again, _) = recover(&image, CorruptPolicy::Refuse).unwrap();
        assert_eq!(again, vals);
    }
}

#[test]
fn fsync_failure_refuses_until_a_retry_succeeds() {
    for fault in [Fault::Sync(5), Fault::Write(5), Fault::DiskFull(100)] {
        let fs = SimFs::new();
        let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 1 << 20);
        h.put_durable("before");
        assert!(!h.log.shared.sync_awaited(), "{fault:?}: all durable");
        let base = fs.get(&dir().join("log-00000001.clog")).unwrap().len();
        match fault {
            Fault::DiskFull(extra) => fs.inject(Fault::DiskFull(base + extra)),
            f => fs.inject(f),
        }
        // A full disk fails a write only past the zeros preallocated
        // (`PREALLOC_STEP`, 64 KiB): writes inside them need no space.
        let big = "y".repeat(if matches!(fault, Fault::DiskFull(_)) {
            100_000
        } else {
            300
        });
        let l2 = h.put(&big);
        // Not acknowledged, and the log reports the failure.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !h.log.shared.is_failed() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(h.log.shared.is_failed(), "{fault:?}: failure not reported");
        assert!(
            h.log.shared.durable_lsn() < l2,
            "{fault:?}: acknowledged a failed write"
        );
        // A failed log promises no wake-up soon.
        assert!(!h.log.shared.sync_awaited(), "{fault:?}");
        assert!(h.log.shared.last_error().is_some());
        // A power cut now loses only the unacknowledged write.
        let (vals, _) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
        assert_eq!(vals, vec!["before".to_string()], "{fault:?}");
        // The disk recovers: the retry rewrites and syncs, acks resume.
        fs.clear_faults();
        assert!(h.wait_durable(l2), "{fault:?}: retry did not succeed");
        assert!(!h.log.shared.is_failed());
        h.put_durable("after");
        let (vals, _) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
        assert_eq!(
            vals,
            vec!["before".to_string(), big.clone(), "after".to_string()],
            "{fault:?}"
        );
    }
}

/// Under `everysec` many batches are written between syncs, and the writer
/// keeps each batch's buffer until one succeeds: a failed sync, and
/// batches taken while the log is failed, are rewritten whole and in order.
#[test]
fn a_failed_sync_rewrites_every_batch_since_the_last_one() {
    let fs = SimFs::new();
    let mut h = Harness::open(fs.clone(), FsyncPolicy::EverySec, 1 << 20);
    h.put_durable("before");
    fs.inject(Fault::Sync(5));
    let mut want = vec!["before".to_string()];
    for i in 0..6 {
        let v = format!("batch-{i}-{}", "z".repeat(i * 50));
        h.put(&v);
        want.push(v);
        // The writer polls every few milliseconds: one batch each.
        std::thread::sleep(Duration::from_millis(20));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while !h.log.shared.is_failed() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(h.log.shared.is_failed(), "the sync failure is reported");
    // Nothing after "before" was acknowledged, and a power cut keeps only it.
    let (vals, _) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
    assert_eq!(vals, vec!["before".to_string()]);
    // Batches taken while failed join the run to retry.
    let mut last = 0;
    for i in 0..3 {
        let v = format!("while-failed-{i}");
        last = h.put(&v);
        want.push(v);
        std::thread::sleep(Duration::from_millis(20));
    }
    fs.clear_faults();
    assert!(h.wait_durable(last), "retry did not succeed");
    let (vals, _) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
    assert_eq!(vals, want);
}

#[test]
fn crash_at_every_step_of_segment_rolls() {
    // Find how many fs operations a run takes, then crash after each.
    let run = |crash_at: Option<u64>| -> (SimFs, u64) {
        let fs = SimFs::new();
        let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 200);
        if let Some(n) = crash_at {
            fs.crash_after(n);
        }
        let mut acked = 0;
        for i in 0..12 {
            let l = h.put(&format!("v{i:02}"));
            let deadline = Instant::now() + Duration::from_millis(300);
            while h.log.shared.durable_lsn() < l
                && Instant::now() < deadline
                && !h.log.shared.is_failed()
            {
                std::thread::sleep(Duration::from_micros(200));
            }
            if h.log.shared.durable_lsn() >= l {
                acked = i + 1;
            } else {
                break;
            }
        }
        std::mem::forget(h.log);
        (fs, acked)
    };
    let (_, full) = run(None);
    assert_eq!(full, 12);
    let total_ops = {
        let fs = SimFs::new();
        let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 200);
        for i in 0..12 {
            h.put_durable(&format!("v{i:02}"));
        }
        let n = fs.ops();
        std::mem::forget(h.log);
        n
    };
    for n in 0..total_ops {
        let (fs, acked) = run(Some(n));
        for tear in [Tear::Drop, Tear::Keep(13), Tear::Garbage(5, 17)] {
            let image = fs.crash(tear);
            let (vals, _) = recover(&image, CorruptPolicy::Refuse)
                .unwrap_or_else(|e| panic!("crash after op {n} ({tear:?}): {e}"));
            assert!(
                vals.len() as u64 >= acked,
                "crash after op {n}: lost acked writes"
            );
            for (i, v) in vals.iter().enumerate() {
                assert_eq!(v, &format!("v{i:02}"));
            }
        }
    }
}

fn segment_files(fs: &SimFs) -> Vec<PathBuf> {
    fs.list(&dir())
        .unwrap()
        .into_iter()
        .filter(|n| n.ends_with(".clog"))
        .map(|n| dir().join(n))
        .collect()
}

fn flip(fs: &SimFs, path: &Path, at: usize) {
    let mut b = fs.get(path).unwrap();
    b[at] ^= 0x40;
    fs.put(path, b);
}

#[test]
fn corruption_is_refused_and_truncate_is_an_explicit_choice() {
    let fs = SimFs::new();
    let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 1 << 20);
    for i in 0..50 {
        h.put_durable(&format!("v{i:02}"));
    }
    drop(h.log);
    let seg = segment_files(&fs)[0].clone();
    // Flip a bit inside record 11 (each record is 64 bytes here).
    let rec = 64;
    flip(&fs, &seg, 40 + rec * 10 + 40);
    match recover(&fs, CorruptPolicy::Refuse) {
        Err(RecoveryError::Corrupt { offset, lsn, .. }) => {
            assert_eq!(offset, 40 + rec * 10);
            assert_eq!(lsn, 11);
        }
        other => panic!("expected corruption refusal, got {other:?}"),
    }
    let (vals, _) = recover(&fs, CorruptPolicy::Truncate).unwrap();
    assert_eq!(vals.len(), 10);
    // The cut bytes were kept.
    assert!(
        fs.list(&dir())
            .unwrap()
            .iter()
            .any(|n| n.contains("corrupt-tail"))
    );
}

#[test]
fn damaged_closed_segment_is_refused() {
    let fs = SimFs::new();
    let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 300);
    for i in 0..40 {
        h.put_durable(&format!("v{i:02}"));
    }
    drop(h.log);
    let segs = segment_files(&fs);
    assert!(segs.len() > 2, "expected several segments, got {segs:?}");
    flip(&fs, &segs[0], 50);
    assert!(matches!(
        recover(&fs, CorruptPolicy::Refuse),
        Err(RecoveryError::Corrupt { .. })
    ));
    // A damaged manifest is refused too.
    let m = dir().join("MANIFEST");
    flip(&fs, &m, 3);
    assert!(matches!(
        recover(&fs, CorruptPolicy::Refuse),
        Err(RecoveryError::Manifest { .. })
    ));
}

#[test]
fn everysec_and_no_policies_sync_off_the_reply_path() {
    for policy in [FsyncPolicy::EverySec, FsyncPolicy::No] {
        let fs = SimFs::new();
        let mut h = Harness::open(fs.clone(), policy, 1 << 20);
        let mut last = 0;
        for i in 0..20 {
            last = h.put(&format!("v{i}"));
            // No reply waits for these syncs (the idle spin may run).
            assert!(!h.log.shared.sync_awaited(), "{policy:?}");
        }
        if policy == FsyncPolicy::EverySec {
            // Synced within about a second.
            assert!(h.wait_durable(last));
        }
        drop(h.log); // clean shutdown syncs everything
        let (vals, _) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
        assert_eq!(vals.len(), 20, "{policy:?}");
    }
}

/// A buffer that steady big batches need keeps its capacity from use to
/// use; after a burst, small uses give the memory back.
#[test]
fn buf_trim_keeps_what_a_steady_load_needs_and_frees_a_burst() {
    use super::log::BufTrim;
    let mut t = BufTrim::default();
    let mut buf: Vec<u8> = Vec::new();
    for _ in 0..100 {
        buf.extend_from_slice(&[7u8; 330 << 10]);
        let cap = buf.capacity();
        let used = buf.len();
        buf.clear();
        t.after(&mut buf, used);
        assert_eq!(buf.capacity(), cap, "a steady load's buffer was shrunk");
    }
    buf.reserve(8 << 20);
    let mut shrunk_after = None;
    for i in 0..200 {
        buf.extend_from_slice(&[7u8; 1000]);
        buf.clear();
        t.after(&mut buf, 1000);
        if buf.capacity() <= 256 << 10 {
            shrunk_after = Some(i);
            break;
        }
    }
    let n = shrunk_after.expect("the burst's capacity was kept");
    assert!(n >= 5, "shrunk after only {n} small uses");
}

/// Under `always` the segment file runs ahead of its records in zeros
/// (`PREALLOC_STEP`), so syncs overwrite instead of appending. A crash
/// leaves that zero tail; recovery cuts it without calling it damage (no
/// `*.corrupt-tail` file, nothing counted as repaired), and a clean
/// shutdown or a roll leaves segments that end with their last record.
#[test]
fn preallocated_zeros_are_cut_silently_and_never_left_in_closed_segments() {
    let fs = SimFs::new();
    let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 1 << 20);
    for i in 0..40 {
        h.put_durable(&format!("v{i:02}"));
    }
    let seg = segment_files(&fs)[0].clone();
    let logical = h.log.shared.stats.lock().current_size as usize;
    let file = fs.get(&seg).unwrap();
    assert!(
        file.len() > logical && file[logical..].iter().all(|&b| b == 0),
        "expected preallocated zeros after {logical} bytes, file is {}",
        file.len()
    );
    // A power cut now: the durable file has the zeros too.
    let crashed = fs.crash(Tear::Drop);
    let (seg_open, report) =
        open_log(&crashed, &dir(), CorruptPolicy::Refuse, |_, _| Ok(())).expect("recover");
    assert_eq!(seg_open.last_lsn, 40);
    assert_eq!(report.cut_bytes, 0);
    assert_eq!(crashed.get(&seg).unwrap().len(), logical);
    assert!(
        !crashed
            .list(&dir())
            .unwrap()
            .iter()
            .any(|n| n.contains("corrupt-tail"))
    );
    drop(seg_open);
    // A torn record over the zeros is still a torn tail, reported.
    let mut torn = fs.get(&seg).unwrap();
    torn[logical..logical + 10].copy_from_slice(b"0123456789");
    let torn_fs = fs.crash(Tear::Drop);
    torn_fs.put(&seg, torn);
    let (_, report) =
        open_log(&torn_fs, &dir(), CorruptPolicy::Refuse, |_, _| Ok(())).expect("recover");
    assert!(report.cut_bytes > 0);
    // Clean shutdown: the zeros are cut; the file ends with the sync mark.
    let shared = h.log.shared.clone();
    drop(h.log);
    let file = fs.get(&seg).unwrap();
    assert_eq!(file.len() as u64, shared.stats.lock().current_size);
    assert!(file.len() > logical);
    // Rolls: every closed segment ends with its last record.
    let fs = SimFs::new();
    let mut h = Harness::open(fs.clone(), FsyncPolicy::Always, 2048);
    for i in 0..200 {
        h.put_durable(&format!("w{i:03}"));
    }
    let segs = segment_files(&fs);
    assert!(segs.len() > 2, "expected rolls, got {segs:?}");
    for s in &segs[..segs.len() - 1] {
        let b = fs.get(s).unwrap();
        assert!(
            b[b.len() - 8..].iter().any(|&x| x != 0),
            "closed segment {} ends in zeros",
            s.display()
        );
    }
    drop(h.log);
    let (vals, _) = recover(&fs.crash(Tear::Drop), CorruptPolicy::Refuse).unwrap();
    assert_eq!(vals.len(), 200);
}
