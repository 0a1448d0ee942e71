//! Idle spin: before a runtime worker goes to sleep in `epoll_wait`, it
//! watches for work a few microseconds more
//! (`io-idle-spin-us`, default 50; 0 turns it off).
//!
//! Why: at pipeline 1 a client sends its next request a few microseconds
//! after it reads a reply. If the worker has gone to sleep in between, the
//! client's `send` has to wake it (`sock_def_readable` → `try_to_wake_up`,
//! an IPI to an idle vCPU on a VM), and that cost lands in the *client's*
//! system time. With redis-benchmark's 50 clients running LRANGE 0 99,
//! that wake-up was 12% of the client's samples against Cairn and 2.5%
//! against Redis; the client, single-threaded, is the bottleneck there, so
//! it served about 10% fewer requests. Cairn spends less CPU per request
//! than Redis, so it was idle, and asleep, more often between requests.
//!
//! How: the runtime's `on_thread_park` hook (`before_park`) polls the
//! runtime's own epoll descriptor (tokio's I/O driver) with `poll(2)` and a
//! zero timeout until it has an event (a socket has input, or another
//! thread woke the runtime through its waker), a task was scheduled from
//! another thread (the runtime's global queue is not empty: the log
//! writer's durability wake-ups arrive that way), or the spin budget is
//! used up; then the worker parks as usual and, if something came, finds
//! it at once instead of sleeping. `attach` finds that descriptor: the
//! epoll instance of this process whose registrations
//! (`/proc/self/fdinfo`) hold the listener's descriptor.
//!
//! Polling an epoll descriptor consumes none of its events: the kernel
//! only reports whether its ready list holds an item that is still ready
//! (and drops from that list items that are not, which have nothing to
//! report). The first version registered every client socket in a second
//! epoll set of our own instead; then every packet a client sent ran two
//! epoll callbacks, in the *client's* system time, and with the spin on
//! the runtime's descriptor the client spent 1.5-3% less CPU per request
//! (LRANGE 0 99 of 64-byte values, 6 alternations: median 9.5 against
//! 9.8 µs per request, 2.7% more requests per second; HSET 1.2% more).
//!
//! The budget adapts (`Budget`): after a park that ended within the
//! configured time it is the whole time again; after a longer one it
//! halves. A server whose requests come further apart than the spin time
//! (or that is idle) soon stops spinning; under load it never sleeps.
//!
//! While replies wait for an fsync (`appendfsync always`) a worker does
//! not spin (`dont_spin_while`).
//!
//! The same park hook first runs the work registered with `on_park`: a
//! lone client's log sync under `appendfsync always`
//! (`LogShared::sync_deferred`), which saves the two thread wake-ups of
//! handing its records to the log thread and back.
//!
//! The hooks are a `ParkHooks` value per runtime: the binary installs it
//! on its runtime's builder and hands it to the server; a runtime built
//! without it (some tests) has neither the spin nor the worker's syncs.
//!
//! Invariants:
//! * The spin only delays parking; it consumes no event: tokio's epoll
//!   still reports every readiness change to tokio.
//! * A wake-up the spin does not see (a timer) is late by at most the
//!   budget.
//! * The descriptor is the runtime's, which outlives its workers, the only
//!   threads that run the hooks; the hooks never close it.
//! * With `io-idle-spin-us 0`, or before `attach` found the descriptor,
//!   the hooks only run the `on_park` work.

use std::cell::Cell;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What a runtime's workers do when they run out of tasks: the work
/// registered with `on_park`, then the spin. One per runtime; the binary
/// (or a test) installs it on the runtime's builder (`install`) and hands
/// it to the server (`Server::with_park_hooks`). A runtime built without
/// it has no spin and no worker-side log syncs.
pub struct ParkHooks {
    /// The runtime's epoll descriptor (`attach`); unset: no spin.
    epfd: OnceLock<RawFd>,
    /// The spin budget's ceiling (zero: spin off).
    max: Duration,
    metrics: OnceLock<tokio::runtime::RuntimeMetrics>,
    /// Says whether replies wait for an fsync (`appendfsync always`): the
    /// worker then parks without spinning (`dont_spin_while`).
    hold: OnceLock<Box<dyn Fn() -> bool + Send + Sync>>,
    /// Run first whenever a worker is about to park (`on_park`).
    work: OnceLock<Box<dyn Fn() + Send + Sync>>,
}

/// A worker's spin state.
#[derive(Clone, Copy)]
struct Worker {
    /// The adaptive budget (`Budget`).
    budget: Duration,
    /// When the worker last started to park, and whether replies were
    /// waiting for an fsync then (such a park does not adapt the budget:
    /// its length is the fsync's, not the clients').
    parked: Option<(Instant, bool)>,
}

thread_local! {
    static WORKER: Cell<Worker> = const {
        Cell::new(Worker { budget: Duration::ZERO, parked: None })
    };
}

/// The adaptive spin budget: the next spin's length, given how long the
/// last park lasted (spin plus sleep, until the worker had work again).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Budget {
    max: Duration,
}

impl Budget {
    /// Below this a spin is not worth its `epoll_wait`.
    const FLOOR: Duration = Duration::from_micros(1);

    fn next(self, current: Duration, parked_for: Duration) -> Duration {
        if parked_for <= self.max {
            // Work came within a full spin: spinning would have caught it.
            self.max
        } else {
            let half = current / 2;
            if half < Self::FLOOR {
                Duration::ZERO
            } else {
                half
            }
        }
    }
}

impl ParkHooks {
    /// Hooks with a spin of `micros` (`io-idle-spin-us`; 0 turns it off).
    pub fn new(micros: u64) -> Arc<ParkHooks> {
        Arc::new(ParkHooks {
            epfd: OnceLock::new(),
            max: Duration::from_micros(micros),
            metrics: OnceLock::new(),
            hold: OnceLock::new(),
            work: OnceLock::new(),
        })
    }

    /// Make `builder`'s workers run these hooks.
    pub fn install<'b>(
        self: &Arc<Self>,
        builder: &'b mut tokio::runtime::Builder,
    ) -> &'b mut tokio::runtime::Builder {
        let park = self.clone();
        let unpark = self.clone();
        builder
            .on_thread_park(move || park.before_park())
            .on_thread_unpark(move || unpark.after_unpark())
    }

    /// Give the hooks the runtime's handle, so that the spin sees tasks
    /// woken from other threads.
    pub fn set_runtime(&self, handle: &tokio::runtime::Handle) {
        let _ = self.metrics.set(handle.metrics());
    }

    /// While `f` returns true an idle worker parks at once. For replies
    /// waiting on an fsync (`appendfsync always`): the log writer's wake-up
    /// is a whole fsync away, and a spinning worker competes with the writer
    /// for a CPU (the scheduler tends to wake the writer on the CPU of the
    /// thread that woke it). Measured with one client's durable SETs (8000
    /// per run, 3 alternations, `benches/scripts/durable_c1.sh`): the 50 µs
    /// spin there made them slower than no spin at all (2794-3152/s against
    /// 3286-3310); parking at once gave 3322-3618 against 3165-3264; spinning
    /// up to 1 ms through the fsync gave 2825-3964 (two modes) for 2-3x the
    /// server CPU.
    pub fn dont_spin_while(&self, f: impl Fn() -> bool + Send + Sync + 'static) {
        let _ = self.hold.set(Box::new(f));
    }

    /// Run `f` whenever a worker is about to park, before any spin: a
    /// lone client's log sync (`LogShared::sync_deferred`). One `f` per
    /// runtime (one server): false, and `f` never runs, if one was set.
    #[must_use]
    pub fn on_park(&self, f: impl Fn() + Send + Sync + 'static) -> bool {
        self.work.set(Box::new(f)).is_ok()
    }

    /// Find the runtime's epoll descriptor: the one `listener` (a socket
    /// the runtime already registered) is registered in. The spin starts
    /// once it is found; if it is not, there is no spin (a warning says
    /// so). Nothing to find with the spin off.
    pub fn attach(&self, listener: &impl AsRawFd) {
        if self.max.is_zero() || self.epfd.get().is_some() {
            return;
        }
        match epoll_holding(listener.as_raw_fd()) {
            Some(fd) => {
                let _ = self.epfd.set(fd);
            }
            None => tracing::warn!("Idle spin off: the runtime's epoll descriptor was not found"),
        }
    }

    /// The runtime's `on_thread_park` hook.
    fn before_park(&self) {
        if let Some(f) = self.work.get() {
            f();
        }
        let Some(&epfd) = self.epfd.get() else { return };
        let start = Instant::now();
        let mut w = WORKER.get();
        let awaiting = self.hold.get().is_some_and(|f| f());
        w.parked = Some((start, awaiting));
        WORKER.set(w);
        let budget = w.budget;
        if awaiting || budget.is_zero() {
            return;
        }
        let mut pfd = libc::pollfd {
            fd: epfd,
            events: libc::POLLIN,
            revents: 0,
        };
        loop {
            // SAFETY: `pfd` is one valid pollfd for the call's duration.
            let n = unsafe { libc::poll(&mut pfd, 1, 0) };
            // n < 0 (EINTR): stop spinning, the park sorts it out.
            if n != 0
                || self
                    .metrics
                    .get()
                    .is_some_and(|m| m.global_queue_depth() > 0)
                || start.elapsed() >= budget
            {
                return;
            }
            std::hint::spin_loop();
        }
    }

    /// The runtime's `on_thread_unpark` hook: adapt the budget.
    fn after_unpark(&self) {
        if self.epfd.get().is_none() {
            return;
        }
        let mut w = WORKER.get();
        let Some((t0, awaiting)) = w.parked.take() else {
            return;
        };
        if !awaiting {
            w.budget = Budget { max: self.max }.next(w.budget, t0.elapsed());
        }
        WORKER.set(w);
    }
}

/// The epoll descriptor of this process that has `fd` registered, from
/// `/proc/self/fd` and `/proc/self/fdinfo` (an epoll's fdinfo has a
/// `tfd: <fd> events: ...` line per registration).
fn epoll_holding(fd: RawFd) -> Option<RawFd> {
    for e in std::fs::read_dir("/proc/self/fd").ok()?.flatten() {
        let Ok(n) = e.file_name().to_string_lossy().parse::<RawFd>() else {
            continue;
        };
        let is_epoll =
            std::fs::read_link(e.path()).is_ok_and(|l| l.as_os_str() == "anon_inode:[eventpoll]");
        if !is_epoll {
            continue;
        }
        let Ok(info) = std::fs::read_to_string(format!("/proc/self/fdinfo/{n}")) else {
            continue;
        };
        let holds = info.lines().any(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some("tfd:") && w.next().and_then(|t| t.parse().ok()) == Some(fd)
        });
        if holds {
            return Some(n);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

    /// `attach` finds the runtime's epoll, and polling it reports a
    /// socket's input without taking the event from tokio.
    #[test]
    fn attach_finds_the_runtime_epoll_and_sees_input() {
        let hooks = ParkHooks::new(50);
        let mut b = tokio::runtime::Builder::new_current_thread();
        let rt = hooks.install(&mut b).enable_all().build().unwrap();
        rt.block_on(async {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            assert_eq!(epoll_holding(other.as_raw_fd()), None);
            hooks.attach(&l);
            let ep = *hooks.epfd.get().expect("found");
            let _c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            let mut pfd = libc::pollfd {
                fd: ep,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let n = unsafe { libc::poll(&mut pfd, 1, 1000) };
            assert_eq!(n, 1, "the connection shows on the runtime's epoll");
            // tokio still gets the event.
            tokio::time::timeout(Duration::from_secs(5), l.accept())
                .await
                .expect("accept not starved")
                .unwrap();
        });
        // Spin off: nothing to find.
        let off = ParkHooks::new(0);
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        off.attach(&l);
        assert!(off.epfd.get().is_none());
    }

    #[test]
    fn budget_resets_on_short_parks_and_halves_to_zero_on_long_ones() {
        let b = Budget { max: 200 * US };
        // A park that ended within the spin time: full budget again.
        assert_eq!(b.next(Duration::ZERO, 150 * US), 200 * US);
        assert_eq!(b.next(3 * US, 200 * US), 200 * US);
        // Longer parks halve it...
        assert_eq!(b.next(200 * US, 201 * US), 100 * US);
        assert_eq!(b.next(100 * US, Duration::from_secs(1)), 50 * US);
        // ...down to zero: an idle server stops spinning within a few parks.
        let mut cur = 200 * US;
        let mut parks = 0;
        while !cur.is_zero() {
            cur = b.next(cur, Duration::from_millis(100));
            parks += 1;
            assert!(parks < 10, "budget never reached zero: {cur:?}");
        }
        assert_eq!(
            b.next(Duration::ZERO, Duration::from_millis(5)),
            Duration::ZERO
        );
    }
}
