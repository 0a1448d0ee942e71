//! Simulated power loss under load: the server runs on a simulated file
//! system that keeps only what was fsynced (plus a torn/garbage/zeroed
//! piece of the unsynced tail). A kill -9 cannot catch a reply sent before
//! fdatasync returned (the page cache survives a kill); this can.

use cairn::config::Config;
use cairn::server::Server;
use cairn::storage::fs::{SimFs, Tear};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

const WRITERS: usize = 4;

/// Run a server on `fs` in its own runtime thread; returns its port and
/// the thread.
fn start(fs: SimFs, dir: &std::path::Path) -> (u16, std::thread::JoinHandle<()>) {
    let args: Vec<String> = ["--port", "0", "--bind", "127.0.0.1", "--save", ""]
        .iter()
        .map(|s| s.to_string())
        .chain(["--dir".to_string(), dir.display().to_string()])
        .collect();
    let cfg = Config::from_args(&args).unwrap();
    let (tx, rx) = mpsc::channel();
    let h = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let srv = Server::bind_with_fs(cfg, Arc::new(fs)).await.expect("bind");
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
    let mut seed = 0x9E3779B97F4A7C15u64;
    for round in 0..8 {
        let tmp = tempfile::tempdir().unwrap();
        let fs = SimFs::new();
        let (port, h) = start(fs.clone(), tmp.path());
        let acks: Arc<Vec<AtomicI64>> = Arc::new((0..WRITERS).map(|_| AtomicI64::new(0)).collect());
        let stop = Arc::new(AtomicBool::new(false));
        let writers: Vec<_> = (0..WRITERS)
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
                        i += 1;
                    }
                })
            })
            .collect();
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        std::thread::sleep(Duration::from_millis(100 + seed % 300));
        // Acks first, then the disk image: every write acked before this
        // point had its reply, so it must be durable in the image.
        let acked: Vec<i64> = acks.iter().map(|a| a.load(Ordering::SeqCst)).collect();
        let tear = match round % 4 {
            0 => Tear::Drop,
            1 => Tear::Keep((seed % 500) as usize),
            2 => Tear::Garbage((seed % 500) as usize, 100),
            _ => Tear::Zeros((seed % 500) as usize, 4096),
        };
        let image = fs.crash(tear);
        stop.store(true, Ordering::SeqCst);
        for w in writers {
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
        shutdown(port, h);
    }
}
