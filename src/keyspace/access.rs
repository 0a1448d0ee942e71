//! Access clocks: what `Entry::lru` holds, as Redis keeps it in its
//! objects' 24-bit `lru` field, and what eviction ranks keys by.
//!
//! * Under an LRU policy (and `noeviction`, the `*-random` and
//!   `volatile-ttl` policies) it is the last access in seconds of the LRU
//!   clock (`lru_clock`): OBJECT IDLETIME.
//! * Under an LFU policy it is Redis's LFU pair: the last decrement time in
//!   minutes (16 bits) above an 8-bit logarithmic access counter. A new key
//!   starts at `LFU_INIT_VAL`; each access first decays the counter by one
//!   per `lfu-decay-time` minutes elapsed, then increments it with
//!   probability 1 / ((counter - LFU_INIT_VAL) * lfu-log-factor + 1)
//!   (`LFULogIncr`): OBJECT FREQ.
//!
//! As in Redis, switching policies does not convert the stamps: they read
//! as the other kind until keys are accessed again.

use super::lru_clock;

/// A new key's LFU counter (Redis's `LFU_INIT_VAL`): new keys are not
/// evicted before they had a chance to be accessed.
pub const LFU_INIT_VAL: u32 = 5;

/// Which clock `Entry::lru` holds; from `maxmemory-policy`,
/// `lfu-log-factor` and `lfu-decay-time`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Access {
    #[default]
    Lru,
    Lfu {
        log_factor: u64,
        /// Minutes per decrement of the counter (0: never decays).
        decay_time: u64,
    },
}

/// Minutes of the Unix clock, modulo 2^16 (`LFUGetTimeInMinutes`).
fn minutes(now_ms: u64) -> u32 {
    ((now_ms / 60_000) & 0xffff) as u32
}

impl Access {
    pub fn from_config(policy: &str, log_factor: u64, decay_time: u64) -> Access {
        if policy.ends_with("-lfu") {
            Access::Lfu {
                log_factor,
                decay_time,
            }
        } else {
            Access::Lru
        }
    }

    pub fn is_lfu(self) -> bool {
        matches!(self, Access::Lfu { .. })
    }

    /// The stamp of a key created now.
    #[inline]
    pub fn fresh(self, now_ms: u64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu { .. } => (minutes(now_ms) << 8) | LFU_INIT_VAL,
        }
    }

    /// An LFU stamp holding `counter` as of now (RESTORE ... FREQ).
    pub fn lfu_stamp(now_ms: u64, counter: u8) -> u32 {
        (minutes(now_ms) << 8) | counter as u32
    }

    /// The stamp after an access at `now_ms` (Redis's `updateLFU`, or the
    /// LRU clock).
    #[inline]
    pub fn touch(self, old: u32, now_ms: u64) -> u32 {
        match self {
            Access::Lru => lru_clock(now_ms),
            Access::Lfu { log_factor, .. } => {
                let c = log_incr(self.counter(old, now_ms), log_factor);
                (minutes(now_ms) << 8) | c
            }
        }
    }

    /// The LFU counter of `stamp`, decayed to `now_ms`
    /// (`LFUDecrAndReturn`): what OBJECT FREQ shows.
    pub fn counter(self, stamp: u32, now_ms: u64) -> u32 {
        let Access::Lfu { decay_time, .. } = self else {
            return 0;
        };
        let then = (stamp >> 8) & 0xffff;
        let counter = stamp & 0xff;
        let now = minutes(now_ms);
        let elapsed = if now >= then {
            now - then
        } else {
            0xffff - then + now
        };
        let periods = (elapsed as u64).checked_div(decay_time).unwrap_or(0);
        counter.saturating_sub(periods.min(u32::MAX as u64) as u32)
    }

    /// How strongly eviction prefers this key, higher first (Redis's
    /// `idle` in `evictionPoolPopulate`): milliseconds idle under LRU
    /// (second resolution, as Redis's clock), 255 minus the counter
    /// under LFU.
    pub fn eviction_score(self, stamp: u32, now_ms: u64) -> u64 {
        match self {
            Access::Lru => lru_clock(now_ms).wrapping_sub(stamp) as u64 * 1000,
            Access::Lfu { .. } => 255 - self.counter(stamp, now_ms) as u64,
        }
    }
}

/// Redis's `LFULogIncr`: counters grow more slowly the higher they are.
fn log_incr(counter: u32, log_factor: u64) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if p >= 1.0 || rand::random::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: u64 = 60_000;

    #[test]
    fn lfu_counts_accesses_and_decays_per_period() {
        let a = Access::Lfu {
            log_factor: 0,
            decay_time: 1,
        };
        let t0 = 1_000 * MIN;
        let mut s = a.fresh(t0);
        assert_eq!(a.counter(s, t0), LFU_INIT_VAL);
        for _ in 0..10 {
            s = a.touch(s, t0);
        }
        // Log factor 0: every access counts.
        assert_eq!(a.counter(s, t0), LFU_INIT_VAL + 10);
        // Three minutes later, three decrements.
        assert_eq!(a.counter(s, t0 + 3 * MIN), LFU_INIT_VAL + 7);
        assert_eq!(a.counter(s, t0 + 300 * MIN), 0);
        // The minute clock wraps at 2^16; Redis's `LFUTimeElapsed` counts
        // one minute less across the wrap (65535 - then + now), and so
        // does this.
        let late = (0xffff * MIN) + 30_000;
        let s = a.fresh(late);
        assert_eq!(a.counter(s, late + MIN), LFU_INIT_VAL);
        assert_eq!(a.counter(s, late + 2 * MIN), LFU_INIT_VAL - 1);
        // Counters stop at 255.
        let mut s = (minutes(t0) << 8) | 254;
        for _ in 0..3 {
            s = a.touch(s, t0);
        }
        assert_eq!(a.counter(s, t0), 255);
    }

    #[test]
    fn lfu_first_access_of_a_new_key_always_counts() {
        // Below or at LFU_INIT_VAL the probability is 1 (Redis).
        let a = Access::Lfu {
            log_factor: 10,
            decay_time: 1,
        };
        let t = 5 * MIN;
        for _ in 0..100 {
            assert_eq!(a.counter(a.touch(a.fresh(t), t), t), LFU_INIT_VAL + 1);
        }
        let no_decay = Access::Lfu {
            log_factor: 10,
            decay_time: 0,
        };
        assert_eq!(
            no_decay.counter(no_decay.fresh(t), t + 1000 * MIN),
            LFU_INIT_VAL
        );
    }

    #[test]
    fn eviction_prefers_idle_keys_under_lru_and_rare_ones_under_lfu() {
        let now = 100_000_000;
        let old = Access::Lru.fresh(now - 50_000);
        let new = Access::Lru.fresh(now);
        assert_eq!(Access::Lru.eviction_score(old, now), 50_000);
        assert!(Access::Lru.eviction_score(old, now) > Access::Lru.eviction_score(new, now));
        let a = Access::from_config("allkeys-lfu", 0, 1);
        let cold = a.fresh(now);
        let hot = a.touch(a.touch(cold, now), now);
        assert!(a.eviction_score(cold, now) > a.eviction_score(hot, now));
        assert_eq!(Access::from_config("volatile-lru", 10, 1), Access::Lru);
    }
}
