//! Simulated power loss under load: the server runs on a simulated file
//! system that keeps only what was fsynced (plus a torn/garbage/zeroed
//! piece of the unsynced tail). A kill -9 cannot catch a reply sent before
//! fdatasync returned (the page cache survives a kill); this can.

mod common;

use cairn::config::Config;
use cairn::server::Server;
use cairn::server::idle_spin::ParkHooks;
use cairn::storage::fs::{SimFs, Tear};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

/// Run a server on `fs` in its own runtime thread, with the binary's park
/// hooks (an idle worker syncs a lone client's records itself); returns
/// its port and the thread.
fn start(fs: SimFs, dir: &std::path::Path) -> (u16, std::thread::JoinHandle<()>) {
    let args: Vec<String> = ["--port", "0", "--bind", "127.0.0.1", "--save", ""]
        .iter()
        .map(|s| s.to_string())
        .chain(["--dir".to_string(), dir.display().to_string()])
        .collect();
    let cfg = Config::from_args(&args).unwrap();
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let park = ParkHooks::new(50);
        let mut builder = tokio::runtime::Builder::new_multi_thread();
        builder.worker_threads(2);
        let rt = park.install(&mut builder).enable_all().build().unwrap();
        park.set_runtime(rt.handle());
        rt.block_on(async move {
            let srv = Server::bind_with_fs(cfg, Arc::new(fs))
                .await
                .expect("bind")
                .with_park_hooks(park);
            tx.send(srv.port()).unwrap();
            srv.run().await.unwrap();
        });
    });
    (
        rx.recv_timeout(Duration::from_secs(30))
            .expect("server started"),
        h,
    )
}

fn cmd(s: &mut TcpStream, args: &[&str]) -> Option<Vec<u8>> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{}\r\n", a.len(), a).as_bytes());
    }
    s.write_all(&out).ok()?;
    let mut buf = Vec::new();
    let mut b = [0u8; 4096];
    loop {
        let n = s.read(&mut b).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&b[..n]);
        // Replies here are single-line or one bulk string.
        if buf.ends_with(b"\r\n")
            && (buf[0] != b'$'
                || buf.iter().filter(|&&c| c == b'\n').count() >= 2
                || buf == b"$-1\r\n")
        {
            return Some(buf);
        }
    }
}

fn shutdown(port: u16, h: std::thread::JoinHandle<()>) {
    if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
        let _ = cmd(&mut s, &["SHUTDOWN", "NOSAVE"]);
    }
    h.join().unwrap();
}

#[test]
fn power_cut_under_load_keeps_every_acknowledged_write() {
    power_cut_rounds(4, 2, 8, 0x9E3779B97F4A7C15);
}

/// One writer alone: an idle worker syncs its records itself (the inline
/// path of `LogShared::sync_deferred`), and a reader's requests hand the
/// deferred records to the log thread (`LogShared::kick`). Both must keep
/// every acknowledged write across a power cut.
#[test]
fn power_cut_with_a_lone_writer_synced_by_the_idle_worker() {
    let worker_fsyncs = power_cut_rounds(1, 1, 6, 0x2545F4914F6CDD1D);
    assert!(
        worker_fsyncs > 0,
        "no sync ran on an idle worker: the inline path was not tested"
    );
}

/// `rounds` power cuts under `writers` writing and `readers` reading
/// clients; returns the syncs idle workers did (INFO
/// `aof_worker_fsyncs`, summed over the rounds, read before each cut).
fn power_cut_rounds(writers: usize, readers: usize, rounds: u32, mut seed: u64) -> u64 {
    let mut worker_fsyncs = 0;
    for round in 0..rounds {
        let tmp = tempfile::tempdir().unwrap();
        let fs = SimFs::new();
        // A slow disk: written-but-not-durable windows are wide.
        fs.set_sync_delay(Duration::from_millis(2));
        let (port, h) = start(fs.clone(), tmp.path());
        let acks: Arc<Vec<AtomicI64>> = Arc::new((0..writers).map(|_| AtomicI64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let writer_threads: Vec<_> = (0..writers)
            .map(|t| {
                let (acks, stop) = (acks.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    let mut i = 1i64;
                    while !stop.load(Ordering::SeqCst) {
                        let v = format!("{i}:{}", "v".repeat((i % 50) as usize));
                        match cmd(&mut s, &["SET", &format!("w{t}:{i}"), &v]) {
                            Some(r) if r == b"+OK\r\n" => acks[t].store(i, Ordering::SeqCst),
                            _ => return,
                        }
                        // Unacknowledged on purpose: readers may see it.
                        let body = format!(
                            "*3\r\n$3\r\nSET\r\n${}\r\nlast{t}\r\n${}\r\n{i}\r\n",
                            format!("last{t}").len(),
                            i.to_string().len()
                        );
                        if s.write_all(body.as_bytes()).is_err() {
                            return;
                        }
                        let mut ok = [0u8; 5];
                        if s.read_exact(&mut ok).is_err() {
                            return;
                        }
                        i += 1;
                    }
                })
            })
            .collect();
        // Readers: a value a read returned must be durable (the read's
        // reply waits for every write executed before it).
        let seen: Arc<Vec<AtomicI64>> = Arc::new((0..writers).map(|_| AtomicI64::new(0)).collect());
        let reader_threads: Vec<_> = (0..readers)
            .map(|_| {
                let (seen, stop) = (seen.clone(), stop.clone());
                std::thread::spawn(move || {
                    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
                    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
                    while !stop.load(Ordering::SeqCst) {
                        for (t, slot) in seen.iter().enumerate() {
                            let Some(r) = cmd(&mut s, &["GET", &format!("last{t}")]) else {
                                return;
                            };
                            let text = String::from_utf8_lossy(&r);
                            if let Some(v) = text
                                .split("\r\n")
                                .nth(1)
                                .and_then(|x| x.parse::<i64>().ok())
                            {
                                slot.fetch_max(v, Ordering::SeqCst);
                            }
                        }
                    }
                })
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(100 + seed % 300));
        {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            worker_fsyncs += common::info_field(&cmd_info(&mut s), "aof_worker_fsyncs");
        }
        // Acks first, then the disk image: every write acked (or read)
        // before this point had its reply, so it must be durable.
        let acked: Vec<i64> = acks.iter().map(|a| a.load(Ordering::SeqCst)).collect();
        let observed: Vec<i64> = seen.iter().map(|a| a.load(Ordering::SeqCst)).collect();
        let tear = match round % 4 {
            0 => Tear::Drop,
            1 => Tear::Keep((seed % 500) as usize),
            2 => Tear::Garbage((seed % 500) as usize, 100),
            _ => Tear::Zeros((seed % 500) as usize, 4096),
        };
        let image = fs.crash(tear);
        stop.store(true, Ordering::SeqCst);
        for w in writer_threads.into_iter().chain(reader_threads) {
            w.join().unwrap();
        }
        shutdown(port, h);
        assert!(
            acked.iter().sum::<i64>() > 0,
            "round {round}: nothing acknowledged"
        );

        // Power back on: a new server on the crash image.
        let (port, h) = start(image, tmp.path());
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        for (t, &last) in acked.iter().enumerate() {
            for i in 1..=last {
                let got = cmd(&mut s, &["GET", &format!("w{t}:{i}")]).unwrap();
                let want = format!("{i}:{}", "v".repeat((i % 50) as usize));
                assert_eq!(
                    String::from_utf8_lossy(&got),
                    format!("${}\r\n{want}\r\n", want.len()),
                    "round {round} ({tear:?}): acknowledged w{t}:{i} lost"
                );
            }
        }
        for (t, &max) in observed.iter().enumerate() {
            if max == 0 {
                continue;
            }
            let got = cmd(&mut s, &["GET", &format!("last{t}")]).unwrap();
            let text = String::from_utf8_lossy(&got);
            let v: i64 = text
                .split("\r\n")
                .nth(1)
                .and_then(|x| x.parse().ok())
                .unwrap_or(0);
            assert!(
                v >= max,
                "round {round} ({tear:?}): a reader saw last{t}={max}, recovered {v}"
            );
        }
        shutdown(port, h);
    }
    worker_fsyncs
}

#[test]
fn fsync_failure_refuses_writes_serves_reads_and_recovers() {
    use cairn::storage::fs::Fault;
    let tmp = tempfile::tempdir().unwrap();
    let fs = SimFs::new();
    let (port, h) = start(fs.clone(), tmp.path());
    let mut a = TcpStream::connect(("127.0.0.1", port)).unwrap();
    a.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(cmd(&mut a, &["SET", "k", "before"]).unwrap(), b"+OK\r\n");
    // Every sync fails until the faults are cleared (retries included).
    for _ in 0..10_000 {
        fs.inject(Fault::Sync(5));
    }
    // This write's sync fails: no reply until the disk recovers.
    let w = std::thread::spawn(move || {
        let r = cmd(&mut a, &["SET", "k2", "during"]);
        (a, r)
    });
    let mut b = TcpStream::connect(("127.0.0.1", port)).unwrap();
    b.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    // Reads (INFO) are answered while the log fails.
    let mut failed = false;
    for _ in 0..1000 {
        if String::from_utf8_lossy(&cmd_info(&mut b)).contains("aof_last_write_status:err") {
            failed = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(failed, "the log failure was never reported");
    let misconf = cmd(&mut b, &["SET", "x", "y"]).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&misconf),
        "-MISCONF Errors writing to the AOF file: Input/output error\r\n"
    );
    // Reads are served.
    assert_eq!(cmd(&mut b, &["GET", "k"]).unwrap(), b"$6\r\nbefore\r\n");
    let info = String::from_utf8_lossy(&cmd_info(&mut b)).to_string();
    assert!(info.contains("aof_last_write_status:err"), "{info}");
    // The disk recovers: the retry syncs, the waiting write is answered.
    fs.clear_faults();
    let (_a, r) = w.join().unwrap();
    assert_eq!(r.unwrap(), b"+OK\r\n");
    assert_eq!(cmd(&mut b, &["SET", "x", "z"]).unwrap(), b"+OK\r\n");
    let info = String::from_utf8_lossy(&cmd_info(&mut b)).to_string();
    assert!(info.contains("aof_last_write_status:ok"), "{info}");
    // Everything acknowledged survives a power cut now.
    let image = fs.crash(Tear::Drop);
    shutdown(port, h);
    let (port, h) = start(image, tmp.path());
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(cmd(&mut c, &["GET", "k2"]).unwrap(), b"$6\r\nduring\r\n");
    assert_eq!(cmd(&mut c, &["GET", "x"]).unwrap(), b"$1\r\nz\r\n");
    shutdown(port, h);
}

/// INFO persistence as raw bytes (a bulk reply of unknown length).
fn cmd_info(s: &mut TcpStream) -> Vec<u8> {
    s.write_all(b"*2\r\n$4\r\nINFO\r\n$11\r\npersistence\r\n")
        .unwrap();
    let mut buf = Vec::new();
    let mut b = [0u8; 8192];
    loop {
        let n = s.read(&mut b).unwrap();
        assert!(n > 0, "connection closed before the INFO reply");
        buf.extend_from_slice(&b[..n]);
        if let Some(p) = buf.iter().position(|&c| c == b'\n') {
            let len: usize = String::from_utf8_lossy(&buf[1..p - 1]).parse().unwrap();
            if buf.len() >= p + 1 + len + 2 {
                return buf;
            }
        }
    }
}

#[test]
fn config_set_appendfsync_at_runtime() {
    let tmp = tempfile::tempdir().unwrap();
    let fs = SimFs::new();
    let (port, h) = start(fs.clone(), tmp.path());
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(
        cmd(&mut s, &["CONFIG", "SET", "appendfsync", "no"]).unwrap(),
        b"+OK\r\n"
    );
    assert_eq!(cmd(&mut s, &["SET", "a", "1"]).unwrap(), b"+OK\r\n");
    // Under `no`, an acknowledged write need not be durable yet...
    assert_eq!(
        cmd(&mut s, &["CONFIG", "SET", "appendfsync", "always"]).unwrap(),
        b"+OK\r\n"
    );
    // ...under `always` it must be, before the reply.
    assert_eq!(cmd(&mut s, &["SET", "b", "2"]).unwrap(), b"+OK\r\n");
    let image = fs.crash(Tear::Drop);
    shutdown(port, h);
    let (port, h) = start(image, tmp.path());
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(cmd(&mut c, &["GET", "b"]).unwrap(), b"$1\r\n2\r\n");
    // `a` came before `b` in the log, so it is there too.
    assert_eq!(cmd(&mut c, &["GET", "a"]).unwrap(), b"$1\r\n1\r\n");
    shutdown(port, h);
}
