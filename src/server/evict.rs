//! `maxmemory`: evicting keys, or refusing the commands that may add
//! memory, once the memory in use passes the limit (Redis 7.0's
//! `evict.c`).
//!
//! Memory in use (`used`) is the allocator's count (INFO `used_memory`)
//! less what Redis also leaves out ("not counted for evict",
//! `not_counted`): the log's write buffers (Redis leaves out its AOF
//! buffer), what evicted values still hold while the lazyfree thread
//! frees them, and the tables' empty entry slots (tables never shrink: a
//! deleted key's slot waits for the next key).
//!
//! Before each command a client sends (not the commands EXEC or a script
//! runs, not during replay), `perform` evicts keys chosen by
//! `maxmemory-policy` until memory is under the limit or the time budget
//! of `maxmemory-eviction-tenacity` is spent (`Running`: the next
//! commands and the cron go on). When nothing can be evicted it answers
//! `Fail`: commands flagged `denyoom`, and every command queued in MULTI,
//! are refused with Redis's OOM error (`exec::admit`); a script that has
//! not written yet gets the error from its first denyoom call.
//!
//! Which keys, as Redis: the LRU, LFU and TTL policies sample
//! `maxmemory-samples` keys of each database into a pool of the 16 best
//! candidates seen so far and evict the best one that still exists; the
//! random policies take a random key of each database in turn. The
//! `volatile-*` policies only consider keys with an expire time.
//!
//! An evicted key is deleted as DEL deletes (a big value is freed in the
//! background), logged as a DEL (replay never evicts: it runs the DELs),
//! announced as `evicted` (class `e`), and marks the WATCHes on it.
//! Memory a running snapshot keeps for keys changed since its cut counts
//! as used: it is the process's memory.

use super::notify;
use super::state::State;
use crate::keyspace::{Entry, lazyfree};
use crate::protocol::Reply;
use std::time::{Duration, Instant};

/// Redis's reply when a command is refused for memory.
pub const OOM_ERROR: &str = "OOM command not allowed when used memory > 'maxmemory'.";

/// Candidates kept between evictions (Redis's `EVPOOL_SIZE`).
const POOL_SIZE: usize = 16;

/// Eviction's state across commands.
#[derive(Default)]
pub struct Evictor {
    /// The best candidates sampled so far, lowest score first.
    pool: Vec<Candidate>,
    /// The database the random policies take from next.
    next_db: usize,
    pub evicted_keys: u64,
    /// Since when memory has been over the limit (INFO
    /// `current_eviction_exceeded_time`).
    over_since: Option<Instant>,
    /// Time over the limit before that (INFO
    /// `total_eviction_exceeded_time`).
    exceeded: Duration,
    /// Estimated bytes of keys evicted while a snapshot or log rewrite
    /// runs: a key the snapshot has not written yet moves into its queue
    /// rather than being freed, so its memory comes back only as the
    /// snapshot writes it. Left out of `used` until the job ends.
    snapshot_credit: u64,
    /// The check before the client's current command found memory full
    /// and nothing to evict (Redis's `pre_command_oom_state`): a script's
    /// first denyoom call is refused.
    pub oom: bool,
    /// Wakes the background eviction task (`run_background`) when a
    /// `perform` ran out of time (Redis's eviction time event).
    wake: std::sync::Arc<tokio::sync::Notify>,
}

struct Candidate {
    score: u64,
    db: usize,
    key: Vec<u8>,
}

/// What `perform` achieved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Memory is under the limit (or there is none).
    Ok,
    /// Still over, out of time: the next commands and the cron go on.
    Running,
    /// Over, and nothing can be evicted.
    Fail,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rank {
    Lru,
    Lfu,
    Ttl,
    Random,
}

/// `maxmemory-policy` as (ranking, volatile keys only); `None`: noeviction.
fn policy(name: &str) -> Option<(Rank, bool)> {
    let (scope, rank) = name.split_once('-')?;
    let rank = match rank {
        "lru" => Rank::Lru,
        "lfu" => Rank::Lfu,
        "ttl" => Rank::Ttl,
        "random" => Rank::Random,
        _ => return None,
    };
    Some((rank, scope == "volatile"))
}

impl Evictor {
    pub fn exceeded_ms(&self) -> (u64, u64) {
        let current = self.over_since.map_or(Duration::ZERO, |t| t.elapsed());
        (
            (self.exceeded + current).as_millis() as u64,
            current.as_millis() as u64,
        )
    }

    fn over(&mut self, over: bool) {
        match (over, self.over_since) {
            (true, None) => self.over_since = Some(Instant::now()),
            (false, Some(t)) => {
                self.exceeded += t.elapsed();
                self.over_since = None;
            }
            _ => {}
        }
    }
}

/// Bytes the allocator counts that are not the data's (INFO
/// `mem_not_counted_for_evict`): the log's buffers, values on their way
/// out through the lazyfree thread, and the tables' empty entry slots
/// (`Table::slack_bytes`: tables do not shrink, so without them a deleted
/// small key would free nothing, and eviction would go on to empty the
/// keyspace).
pub fn not_counted(st: &State) -> u64 {
    let log = st.log.as_ref().map_or(0, |l| l.buffered_bytes()) as u64;
    let slack: usize = st.ks.dbs.iter().map(|d| d.table.slack_bytes()).sum();
    let snapshot = if st.persist.job.is_some() {
        st.evict.snapshot_credit
    } else {
        0
    };
    log + st.ks.journal.buffered_bytes() as u64
        + lazyfree::pending_bytes()
        + slack as u64
        + snapshot
}

/// What removing one key frees besides its heap bytes: its slot in the
/// table becomes slack (`not_counted`).
const SLOT_BYTES: u64 = (std::mem::size_of::<Entry>() + 5) as u64;

/// Memory compared with `maxmemory`.
pub fn used(st: &State) -> u64 {
    (crate::alloc::allocated() as u64).saturating_sub(not_counted(st))
}

/// Redis's `evictionTimeLimitUs`: how long one `perform` may evict.
fn time_limit(tenacity: u64) -> Option<Duration> {
    if tenacity <= 10 {
        Some(Duration::from_micros(50 * tenacity))
    } else if tenacity < 100 {
        Some(Duration::from_micros(
            (500.0 * 1.15f64.powi(tenacity as i32 - 10)) as u64,
        ))
    } else {
        None
    }
}

/// Make room under `maxmemory` if it is set and passed (see the module
/// comment).
pub fn perform(st: &mut State) -> Outcome {
    let max = st.config.s.maxmemory;
    if st.persist.job.is_none() {
        st.evict.snapshot_credit = 0;
    }
    if max == 0 || st.ks.loading || st.replaying {
        st.evict.over(false);
        return Outcome::Ok;
    }
    // Cheap first: the allocator's count alone is under the limit.
    if crate::alloc::allocated() as u64 <= max {
        st.evict.over(false);
        return Outcome::Ok;
    }
    let used_now = used(st);
    if used_now <= max {
        st.evict.over(false);
        return Outcome::Ok;
    }
    st.evict.over(true);
    let Some((rank, volatile)) = policy(&st.config.s.maxmemory_policy) else {
        return Outcome::Fail;
    };
    let now = crate::util::now_ms();
    let to_free = used_now - max;
    let limit = time_limit(st.config.s.maxmemory_eviction_tenacity);
    let start = Instant::now();
    let mut freed = 0u64;
    let mut keys = 0u64;
    while freed < to_free {
        let Some((db, key)) = pick(st, rank, volatile, now) else {
            return Outcome::Fail;
        };
        let snapshot = st.persist.job.is_some();
        // This thread's count: the log and lazyfree threads allocate and
        // free at the same time, and the global count took their bytes
        // for the key's (under load, a test saw 376 of 1000 keys left at
        // `maxmemory 1`, and one of 10000 keys lose 870 more to the cron
        // after the commands had stopped short).
        let before = crate::alloc::thread_net();
        let Some(e) = st.ks.remove(db, &key) else {
            continue;
        };
        let estimate = if snapshot {
            (std::mem::size_of::<Entry>() + e.key.heap_size() + e.value.heap_size()) as u64
        } else {
            0
        };
        let Entry { key: k, value, .. } = e;
        drop(k);
        let lazy = lazyfree::free_counted(value);
        let freed_here = before.wrapping_sub(crate::alloc::thread_net()) as isize;
        let mut got = freed_here.max(0) as u64 + lazy;
        if got < estimate {
            // Held by the snapshot until it writes it (`snapshot_credit`).
            st.evict.snapshot_credit += estimate - got;
            got = estimate;
        }
        freed += got + SLOT_BYTES;
        evicted(st, db, &key);
        keys += 1;
        if keys.is_multiple_of(16) {
            // Freed elsewhere meanwhile (the lazyfree thread): done early.
            if used(st) <= max {
                break;
            }
            if limit.is_some_and(|l| start.elapsed() > l) {
                st.evict.wake.notify_one();
                return Outcome::Running;
            }
        }
    }
    Outcome::Ok
}

/// The effects of evicting `key`: log, statistics, WATCH, notification.
fn evicted(st: &mut State, db: usize, key: &[u8]) {
    st.ks.journal.append(db, &[b"DEL", key]);
    st.evict.evicted_keys += 1;
    st.watch.touch(db, key);
    if st.config.s.notify_flags & notify::EVICTED != 0 {
        notify::emit(st, "evicted", key, db, 0, &mut Reply::default());
    }
}

/// The next key to evict under `rank`, or `None` if there is none.
fn pick(st: &mut State, rank: Rank, volatile: bool, now: u64) -> Option<(usize, Vec<u8>)> {
    let ndb = st.ks.dbs.len();
    let samples = st.config.s.maxmemory_samples;
    let size = |st: &State, db: usize| {
        let d = &st.ks.dbs[db];
        if volatile { d.expires } else { d.len() }
    };
    if rank == Rank::Random {
        for _ in 0..ndb {
            let db = st.evict.next_db % ndb;
            st.evict.next_db = (db + 1) % ndb;
            if size(st, db) == 0 {
                continue;
            }
            let mut found = None;
            st.ks.dbs[db].table.sample(1, volatile, rnd, |e| {
                found = Some(e.key.to_vec());
            });
            if let Some(k) = found {
                return Some((db, k));
            }
        }
        return None;
    }
    let access = st.ks.access;
    loop {
        let mut total = 0;
        for db in 0..ndb {
            let n = size(st, db);
            if n == 0 {
                continue;
            }
            total += n;
            let pool = &mut st.evict.pool;
            st.ks.dbs[db].table.sample(samples, volatile, rnd, |e| {
                let score = match rank {
                    Rank::Ttl => u64::MAX - e.expire_at(),
                    _ => access.eviction_score(e.lru, now),
                };
                offer(pool, score, db, &e.key);
            });
        }
        if total == 0 {
            return None;
        }
        // The best candidate that still exists (the pool may hold keys
        // deleted since they were sampled).
        while let Some(c) = st.evict.pool.pop() {
            if c.db < ndb && st.ks.dbs[c.db].table.get(&c.key).is_some() {
                return Some((c.db, c.key));
            }
        }
    }
}

fn rnd(n: usize) -> usize {
    rand::random_range(0..n)
}

/// Put a sampled key in the pool if it beats the worst one there (Redis's
/// `evictionPoolPopulate`).
fn offer(pool: &mut Vec<Candidate>, score: u64, db: usize, key: &[u8]) {
    if pool.len() >= POOL_SIZE && score <= pool[0].score {
        return;
    }
    if let Some(i) = pool.iter().position(|c| c.db == db && c.key == key) {
        pool.remove(i);
    }
    let at = pool.partition_point(|c| c.score < score);
    pool.insert(
        at,
        Candidate {
            score,
            db,
            key: key.to_vec(),
        },
    );
    if pool.len() > POOL_SIZE {
        pool.remove(0);
    }
}

/// Go on evicting in slices of `perform`'s time budget, off the client
/// commands, while a `perform` left memory over the limit for lack of
/// time (Redis runs `performEvictions` from a time event then). Between
/// slices the lock is free and other tasks run.
pub async fn run_background(state: &super::statelock::StateLock) {
    let wake = state.lock().evict.wake.clone();
    loop {
        wake.notified().await;
        loop {
            let out = {
                let mut st = state.lock();
                let out = perform(&mut st);
                st.flush_journal();
                out
            };
            if out != Outcome::Running {
                break;
            }
            tokio::task::yield_now().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policies_parse_as_redis_names_them() {
        assert_eq!(policy("noeviction"), None);
        assert_eq!(policy("allkeys-lru"), Some((Rank::Lru, false)));
        assert_eq!(policy("volatile-lfu"), Some((Rank::Lfu, true)));
        assert_eq!(policy("volatile-ttl"), Some((Rank::Ttl, true)));
        assert_eq!(policy("allkeys-random"), Some((Rank::Random, false)));
    }

    #[test]
    fn time_limits_follow_tenacity() {
        assert_eq!(time_limit(10), Some(Duration::from_micros(500)));
        assert_eq!(time_limit(0), Some(Duration::ZERO));
        assert_eq!(time_limit(11), Some(Duration::from_micros(575)));
        assert_eq!(time_limit(100), None);
    }

    #[test]
    fn the_pool_keeps_the_best_candidates_once_each() {
        let mut pool = Vec::new();
        for i in 0..40u64 {
            offer(&mut pool, i % 20, 0, format!("k{i}").as_bytes());
        }
        assert_eq!(pool.len(), POOL_SIZE);
        assert!(pool.windows(2).all(|w| w[0].score <= w[1].score));
        assert_eq!(pool.last().map(|c| c.score), Some(19));
        assert!(pool[0].score >= 12);
        offer(&mut pool, 100, 0, b"k5");
        offer(&mut pool, 101, 0, b"k5");
        assert_eq!(pool.iter().filter(|c| c.key == b"k5").count(), 1);
        assert_eq!(pool.last().map(|c| c.score), Some(101));
    }
}
