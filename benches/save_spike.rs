//! What a BGSAVE costs clients in latency, under a load that leaves the
//! machine cores to spare.
//!
//! compare.sh's `snapshot` scenario drives the server with redis-benchmark
//! at full speed: on a 2-vCPU machine the client, the server and the save
//! then share two cores, and any thread that becomes runnable waits a
//! scheduler slice. Its load's maximum latency *without* a save is already
//! 10-12x its p99 for Redis and Cairn alike, so it cannot show whether a
//! save adds a stall. This bench paces its requests instead (open loop, a
//! fixed rate spread over a few connections), so the server has idle time,
//! and reports the latency of the requests sent during the save against
//! those sent before it, for Cairn and for redis-server (fork), in turns.
//!
//! ```text
//! cargo bench --bench save_spike -- [--rate 20000] [--keys 2000000]
//!     [--conns 8] [--steady-secs 5] [--rounds 3] [--list-slow]
//! ```
//!
//! The data dirs are temp dirs (`TMPDIR`; keep it on a real disk, not
//! tmpfs). Without redis-server on PATH, Cairn runs alone.
//!
//! Each round starts a fresh server (Cairn: `--appendfsync no --save ''`,
//! compare.sh's "mem" group; Redis: no persistence), loads `--keys` 64-byte
//! SETs, runs the paced GET/SET mix for `--steady-secs`, sends BGSAVE, keeps
//! the load going until the save is done plus one second, and prints
//! latency percentiles of the steady window and of the save window. A
//! request's latency is from its send to its reply; the send itself is at
//! its scheduled time unless the previous reply on that connection came
//! later (then the lateness shows in the previous request's latency).
//! No timing here is asserted: it produces figures to read side by side.

use clap::Parser;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{Raw, Resp, Rng, encode};

#[derive(Parser, Debug)]
struct Args {
    /// Requests per second, all connections together.
    #[arg(long, default_value_t = 20000)]
    rate: u32,
    /// Keys loaded before the load starts.
    #[arg(long, default_value_t = 2_000_000)]
    keys: u32,
    /// Connections (one thread each).
    #[arg(long, default_value_t = 8)]
    conns: u32,
    /// Seconds of load before the BGSAVE.
    #[arg(long, default_value_t = 5)]
    steady_secs: u64,
    /// Rounds; each runs Redis then Cairn, or Cairn then Redis, in turns.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Only this server: cairn or redis.
    #[arg(long)]
    only: Option<String>,
    /// Also list every request that took 2 ms or more, with its send time
    /// (stalls that hit every connection at once show as one time).
    #[arg(long)]
    list_slow: bool,
    /// cargo bench passes --bench; accept and ignore it.
    #[arg(long, hide = true)]
    bench: bool,
    /// `cargo bench FILTER` passes the filter to every bench: this one
    /// runs only if its name contains it.
    #[arg(hide = true)]
    filter: Option<String>,
}

/// A started server; dropping it stops the process.
enum Server {
    Cairn(common::Server),
    Redis(common::RedisServer),
}

impl Server {
    fn start(who: &str) -> Option<Server> {
        if who == "redis" {
            common::RedisServer::start().map(Server::Redis)
        } else {
            Some(Server::Cairn(common::Server::start(&[
                "--appendfsync",
                "no",
                "--save",
                "",
            ])))
        }
    }

    fn port(&self) -> u16 {
        match self {
            Server::Cairn(s) => s.port,
            Server::Redis(s) => s.port,
        }
    }
}

fn key(i: u64) -> Vec<u8> {
    format!("key:{i:012}").into_bytes()
}

/// SETs key:0..n with 64-byte values, 10k commands per round trip.
fn preload(port: u16, n: u32) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let value = [b'v'; 64];
    let mut buf = Vec::new();
    let mut reply = vec![0u8; 5 * 10_000];
    let mut i = 0u64;
    while i < n as u64 {
        let end = (i + 10_000).min(n as u64);
        buf.clear();
        for k in i..end {
            buf.extend_from_slice(&encode(&[b"SET", &key(k), &value]));
        }
        s.write_all(&buf).unwrap();
        let want = 5 * (end - i) as usize;
        s.read_exact(&mut reply[..want]).unwrap();
        assert!(reply[..want].chunks(5).all(|c| c == b"+OK\r\n"));
        i = end;
    }
}

/// A sample: microseconds from the load's start to the send, and the
/// latency in microseconds.
type Sample = (u32, u32);

/// One connection's paced loop: a GET or a SET of a random key every
/// `interval`, until `stop`.
fn load(
    port: u16,
    keys: u32,
    interval: Duration,
    t0: Instant,
    seed: u64,
    stop: Arc<AtomicBool>,
) -> Vec<Sample> {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_nodelay(true).unwrap();
    let mut rng = Rng(seed | 1);
    let mut rbuf = vec![0u8; 4096];
    let mut samples = Vec::with_capacity(1 << 20);
    let value = [b'w'; 64];
    let mut next = Instant::now();
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        }
        next += interval;
        let x = rng.next();
        let k = key(x % keys as u64);
        let is_set = x & (1 << 40) != 0;
        let req = if is_set {
            encode(&[b"SET", &k, &value])
        } else {
            encode(&[b"GET", &k])
        };
        let sent = Instant::now();
        s.write_all(&req).unwrap();
        // A SET's reply is +OK; a GET's is $64 plus 64 bytes: read until
        // the whole reply is in.
        let want = if is_set { 5 } else { 5 + 64 + 2 };
        let mut got = 0;
        while got < want {
            let n = s.read(&mut rbuf[got..]).unwrap();
            assert!(n > 0, "server closed the connection");
            got += n;
        }
        let done = Instant::now();
        samples.push((
            (sent - t0).as_micros() as u32,
            (done - sent).as_micros() as u32,
        ));
    }
    samples
}

struct Stats {
    n: usize,
    p50: u32,
    p99: u32,
    p999: u32,
    max: u32,
}

fn stats(mut v: Vec<u32>) -> Stats {
    v.sort_unstable();
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    Stats {
        n: v.len(),
        p50: at(0.50),
        p99: at(0.99),
        p999: at(0.999),
        max: *v.last().unwrap(),
    }
}

fn ms(us: u32) -> String {
    format!("{:.3}", us as f64 / 1000.0)
}

fn round(who: &str, args: &Args) {
    let Some(srv) = Server::start(who) else {
        return;
    };
    let port = srv.port();
    let t = Instant::now();
    preload(port, args.keys);
    let load_secs = t.elapsed().as_secs_f64();
    let mut ctl = Raw::connect(port);

    let stop = Arc::new(AtomicBool::new(false));
    let interval = Duration::from_secs_f64(args.conns as f64 / args.rate as f64);
    let t0 = Instant::now();
    let threads: Vec<_> = (0..args.conns)
        .map(|i| {
            let stop = stop.clone();
            let keys = args.keys;
            std::thread::spawn(move || {
                load(
                    port,
                    keys,
                    interval,
                    t0,
                    0x9e37_79b9_7f4a_7c15 ^ (i as u64 * 7919 + 1),
                    stop,
                )
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(args.steady_secs));
    let save_start = t0.elapsed();
    let reply = ctl.cmds(&["BGSAVE"]);
    assert!(matches!(reply, Resp::Simple(_)), "BGSAVE: {reply:?}");
    loop {
        std::thread::sleep(Duration::from_millis(10));
        if ctl.info("persistence", "rdb_bgsave_in_progress").as_deref() == Some("0") {
            break;
        }
    }
    let save_end = t0.elapsed();
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);
    let samples: Vec<Sample> = threads
        .into_iter()
        .flat_map(|t| t.join().unwrap())
        .collect();
    let status = ctl.info("persistence", "rdb_last_bgsave_status");
    let fork = ctl.info("stats", "latest_fork_usec");

    // Steady: from 1 s in (connections warmed up) to the BGSAVE.
    let (s0, s1) = (1_000_000u32, save_start.as_micros() as u32);
    let (b0, b1) = (save_start.as_micros() as u32, save_end.as_micros() as u32);
    let pick = |lo: u32, hi: u32| -> Vec<u32> {
        samples
            .iter()
            .filter(|(at, _)| *at >= lo && *at < hi)
            .map(|(_, l)| *l)
            .collect()
    };
    let steady = stats(pick(s0, s1));
    let during = stats(pick(b0, b1));
    let after = stats(pick(b1, u32::MAX));
    let secs = (s1 - s0) as f64 / 1e6;
    println!(
        "{who:5} preload {:.2}s  rate {:.0}/s  save {:.3}s ({})  fork {}us",
        load_secs,
        steady.n as f64 / secs,
        (save_end - save_start).as_secs_f64(),
        status.unwrap_or_default(),
        fork.unwrap_or_else(|| "-".into()),
    );
    for (name, st) in [
        ("steady", &steady),
        ("during save", &during),
        ("1s after", &after),
    ] {
        println!(
            "      {name:12} n={:7}  p50 {}  p99 {}  p99.9 {}  max {} ms",
            st.n,
            ms(st.p50),
            ms(st.p99),
            ms(st.p999),
            ms(st.max)
        );
    }
    if args.list_slow {
        let mut slow: Vec<&Sample> = samples.iter().filter(|(_, l)| *l >= 2000).collect();
        slow.sort_unstable();
        let list: Vec<String> = slow
            .iter()
            .map(|(at, l)| format!("{:.3}s:{}", *at as f64 / 1e6, ms(*l)))
            .collect();
        println!(
            "      >=2ms (save {:.3}..{:.3}s): {}",
            save_start.as_secs_f64(),
            save_end.as_secs_f64(),
            list.join(" ")
        );
    }
    println!(
        "      max during save / steady p99 = {:.2}   steady max / steady p99 = {:.2}",
        during.max as f64 / steady.p99 as f64,
        steady.max as f64 / steady.p99 as f64
    );
}

fn main() {
    let args = Args::parse();
    if args
        .filter
        .as_deref()
        .is_some_and(|f| !"save_spike".contains(f))
    {
        return;
    }
    for r in 0..args.rounds {
        let order: &[&str] = if r % 2 == 0 {
            &["redis", "cairn"]
        } else {
            &["cairn", "redis"]
        };
        for who in order {
            if args.only.as_deref().is_none_or(|o| o == *who) {
                round(who, &args);
            }
        }
    }
}
