//! Active expiry: reclaim expired keys that no client touches.
//!
//! Modelled on Redis's `activeExpireCycle`: every cycle (hz times a second)
//! it visits segments that hold volatile keys, round robin across databases
//! and segments, deleting what has expired and journaling a DEL for each.
//! It keeps going while a large share of the checked keys were expired
//! (more work is likely waiting) and stops at a time budget, so one cycle
//! never holds the keyspace for long.

use super::{Keyspace, is_expired};
use std::time::{Duration, Instant};

/// Keys checked before the cycle looks at the clock and the expired ratio.
const CHECKS_PER_ROUND: usize = 200;

/// Run one cycle. Returns the number of keys expired.
pub fn active_expire_cycle(
    ks: &mut Keyspace,
    now: u64,
    budget: Duration,
    mut on_expired: impl FnMut(usize, &[u8]),
) -> usize {
    if ks.loading {
        return 0;
    }
    let start = Instant::now();
    let ndb = ks.dbs.len();
    let mut total_expired = 0;
    let mut total_checked = 0;
    for _ in 0..ndb {
        let db = ks.expire_db;
        ks.expire_db = (ks.expire_db + 1) % ndb;
        if ks.dbs[db].expires == 0 {
            continue;
        }
        let nseg = ks.dbs[db].table.segments().len();
        let mut visited = 0;
        loop {
            let mut checked = 0;
            let mut expired = 0;
            while checked < CHECKS_PER_ROUND && visited < nseg {
                let s = ks.dbs[db].expire_cursor % nseg;
                ks.dbs[db].expire_cursor = s + 1;
                visited += 1;
                let seg = &ks.dbs[db].table.segments()[s];
                if seg.volatile == 0 {
                    continue;
                }
                checked += seg.len();
                let mut dead: Vec<Vec<u8>> = Vec::new();
                ks.dbs[db].table.retain_segment(s, |e| {
                    if is_expired(e, now) {
                        dead.push(e.key.to_vec());
                        false
                    } else {
                        true
                    }
                });
                for k in &dead {
                    on_expired(db, k);
                    ks.dbs[db].expires -= 1;
                    ks.journal.append(db, &[b"DEL", k]);
                    ks.journal.seal();
                }
                expired += dead.len();
            }
            total_expired += expired;
            total_checked += checked;
            if visited >= nseg || start.elapsed() >= budget {
                if start.elapsed() >= budget {
                    ks.stats.expired_time_cap_reached += 1;
                }
                break;
            }
            // Few expired among those checked: the rest can wait.
            if checked == 0 || expired * 10 < checked {
                break;
            }
        }
    }
    ks.stats.expired_keys += total_expired as u64;
    if total_checked > 0 {
        let perc = total_expired as f64 / total_checked as f64;
        ks.stats.expired_stale_perc = perc * 0.05 + ks.stats.expired_stale_perc * 0.95;
    }
    total_expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::{Ttl, Value};

    #[test]
    fn reclaims_expired_keys_and_journals_dels() {
        let mut ks = Keyspace::new(2);
        ks.journal.enabled = true;
        for i in 0..5000 {
            let ttl = if i % 2 == 0 {
                Ttl::At(1000)
            } else {
                Ttl::Clear
            };
            ks.set(1, format!("k{i}").as_bytes(), Value::Int(i), ttl, 0);
        }
        assert_eq!(ks.dbs[1].expires, 2500);
        let mut n = 0;
        for _ in 0..100 {
            n += active_expire_cycle(&mut ks, 2000, Duration::from_millis(50), |_, _| {});
        }
        assert_eq!(n, 2500);
        assert_eq!(ks.dbs[1].len(), 2500);
        assert_eq!(ks.dbs[1].expires, 0);
        let log = String::from_utf8_lossy(&ks.journal.buf);
        assert_eq!(log.matches("$3\r\nDEL\r\n").count(), 2500);
    }

    #[test]
    fn nothing_expires_while_loading() {
        let mut ks = Keyspace::new(1);
        ks.set(0, b"a", Value::Int(1), Ttl::At(10), 0);
        ks.loading = true;
        assert_eq!(
            active_expire_cycle(&mut ks, 100, Duration::from_millis(5), |_, _| {}),
            0
        );
        assert!(ks.lookup_read(0, b"a", 100).is_some());
        ks.loading = false;
        assert!(ks.lookup_read(0, b"a", 100).is_none());
    }
}
