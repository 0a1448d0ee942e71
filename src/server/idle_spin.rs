//! Idle spin: before a runtime worker goes to sleep in `epoll_wait`, it
//! watches the client sockets for a few microseconds more
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
//! How: every client socket (and listener) is also registered, level
//! triggered, in a second epoll instance of our own. The runtime's
//! `on_thread_park` hook (`before_park`) polls it with a zero timeout
//! until a socket has input, a task was scheduled from another thread
//! (the runtime's global queue is not empty: the log writer's durability
//! wake-ups arrive that way), or the spin budget is used up; then the
//! worker parks as usual and, if something came, finds it at once instead
//! of sleeping.
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
//! * The spin only delays parking; it consumes no event. tokio's own epoll
//!   (edge triggered) still reports every readiness change; ours is only
//!   asked "is anything readable".
//! * A wake-up the spin does not watch (a timer, a signal, a socket
//!   waiting to become writable) is late by at most the budget.
//! * A closed socket leaves our epoll set by itself: the kernel drops the
//!   registration when the file is closed.
//! * With `io-idle-spin-us 0` no socket is registered and the hooks only
//!   run the `on_park` work.

use std::cell::Cell;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What a runtime's workers do when they run out of tasks: the work
/// registered with `on_park`, then the spin. One per runtime; the binary
/// (or a test) installs it on the runtime's builder (`install`) and hands
/// it to the server (`Server::with_park_hooks`). A runtime built without
/// it has no spin and no worker-side log syncs.
pub struct ParkHooks {
    /// Our epoll set of client sockets and listeners (None: spin off).
    epfd: Option<OwnedFd>,
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
    pub fn new(micros: u64) -> std::io::Result<Arc<ParkHooks>> {
        let epfd = if micros == 0 {
            None
        } else {
            // SAFETY: plain syscall; the result is checked.
            let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if fd < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // SAFETY: `fd` is a fresh descriptor nobody else owns.
            Some(unsafe { OwnedFd::from_raw_fd(fd) })
        };
        Ok(Arc::new(ParkHooks {
            epfd,
            max: Duration::from_micros(micros),
            metrics: OnceLock::new(),
            hold: OnceLock::new(),
            work: OnceLock::new(),
        }))
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

    /// Watch `fd` (a client socket or a listener) for input.
    pub fn watch(&self, fd: &impl AsRawFd) {
        let Some(epfd) = &self.epfd else { return };
        let raw = fd.as_raw_fd();
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: raw as u64,
        };
        // SAFETY: both descriptors are open and `ev` outlives the call. A
        // failure only means this socket does not end a spin early.
        unsafe { libc::epoll_ctl(epfd.as_raw_fd(), libc::EPOLL_CTL_ADD, raw, &mut ev) };
    }

    /// The runtime's `on_thread_park` hook.
    fn before_park(&self) {
        if let Some(f) = self.work.get() {
            f();
        }
        let Some(epfd) = &self.epfd else { return };
        let start = Instant::now();
        let mut w = WORKER.get();
        let awaiting = self.hold.get().is_some_and(|f| f());
        w.parked = Some((start, awaiting));
        WORKER.set(w);
        let budget = w.budget;
        if awaiting || budget.is_zero() {
            return;
        }
        let mut ev = [libc::epoll_event { events: 0, u64: 0 }];
        loop {
            // SAFETY: `ev` has room for the one event asked for.
            let n = unsafe { libc::epoll_wait(epfd.as_raw_fd(), ev.as_mut_ptr(), 1, 0) };
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
        if self.epfd.is_none() {
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

#[cfg(test)]
mod tests {
    use super::*;

    const US: Duration = Duration::from_micros(1);

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
