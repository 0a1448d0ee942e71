//! The one lock around all data, with clients served before background
//! work.
//!
//! Client tasks take it with [`StateLock::lock`]. Background threads that
//! work through the keyspace in many short steps (the snapshot walk) take
//! it with [`StateLock::lock_background`] and give it back with
//! [`StateLock::unlock_background`]. `parking_lot`'s mutex lets a thread
//! that releases the lock take it again at once, ahead of threads waiting
//! for it; a walk that loops step after step thus held the lock nearly
//! all the time and a client waited up to a fairness timeout (~0.5 ms)
//! for every batch: hundreds of milliseconds for a client behind 50 others
//! (measured: 464 ms worst SET during an automatic rewrite).
//!
//! Invariants:
//! * `wanting` counts client threads blocked in `lock()` right now (the
//!   uncontended path does not touch it).
//! * A background step starts only while no client waits, or once it has
//!   given way for `MAX_GIVE_WAY`, so the walk always progresses; and it
//!   ends with a fair unlock, which hands the lock to a parked client
//!   instead of letting the walk's next step take it first.

use super::state::State;
use parking_lot::{Mutex, MutexGuard};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The longest a background step waits for clients to stop asking for the
/// lock before it queues for it like everyone else.
const MAX_GIVE_WAY: Duration = Duration::from_millis(20);

pub struct StateLock {
    m: Mutex<State>,
    wanting: AtomicU32,
}

impl StateLock {
    pub fn new(st: State) -> StateLock {
        StateLock {
            m: Mutex::new(st),
            wanting: AtomicU32::new(0),
        }
    }

    /// Take the lock to serve a client (or for any short critical section).
    /// The command clock restarts (`State::clock`): time spent outside the
    /// lock is no command's.
    #[inline]
    pub fn lock(&self) -> MutexGuard<'_, State> {
        let mut g = match self.m.try_lock() {
            Some(g) => g,
            None => {
                self.wanting.fetch_add(1, Ordering::AcqRel);
                let g = self.m.lock();
                self.wanting.fetch_sub(1, Ordering::AcqRel);
                g
            }
        };
        g.clock = None;
        g
    }

    /// Take the lock for one step of background work: wait while a client
    /// is waiting for it (up to `MAX_GIVE_WAY`).
    pub fn lock_background(&self) -> MutexGuard<'_, State> {
        let start = Instant::now();
        let mut tries = 0u32;
        loop {
            if self.wanting.load(Ordering::Acquire) == 0
                && let Some(g) = self.m.try_lock()
            {
                return g;
            }
            if start.elapsed() >= MAX_GIVE_WAY {
                return self.m.lock();
            }
            tries += 1;
            if tries < 16 {
                std::hint::spin_loop();
            } else if tries < 32 {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(20));
            }
        }
    }

    /// Release a lock taken with `lock_background`: a client waiting for
    /// it gets it before the background thread can take it again.
    pub fn unlock_background(g: MutexGuard<'_, State>) {
        MutexGuard::unlock_fair(g);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, AtomicU64};

    /// A background thread stepping in a loop lets a client in after at
    /// most the step in progress (and one more if the client is caught
    /// between its two tries). With a plain lock/unlock loop the client
    /// waited for a fairness timeout: dozens of steps.
    #[test]
    fn a_waiting_client_goes_before_the_next_background_step() {
        let lock = Arc::new(StateLock::new(State::new(Config::default())));
        let steps = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let bg = {
            let (lock, steps, stop) = (lock.clone(), steps.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let g = lock.lock_background();
                    // A short step under the lock.
                    let t = Instant::now();
                    while t.elapsed() < Duration::from_micros(5) {
                        std::hint::spin_loop();
                    }
                    steps.fetch_add(1, Ordering::Relaxed);
                    StateLock::unlock_background(g);
                }
            })
        };
        let mut overtaken = Vec::new();
        for _ in 0..50 {
            std::thread::sleep(Duration::from_millis(1));
            let before = steps.load(Ordering::Relaxed);
            let g = lock.lock();
            overtaken.push(steps.load(Ordering::Relaxed) - before);
            drop(g);
        }
        stop.store(true, Ordering::Relaxed);
        bg.join().unwrap();
        overtaken.sort_unstable();
        // Allow for the scheduler: a few clients may be descheduled at
        // the wrong moment.
        let late = overtaken.iter().filter(|&&n| n > 2).count();
        assert!(
            late <= 10,
            "steps taken while a client waited (sorted): {overtaken:?}"
        );
    }
}
