//! DUMP and RESTORE: values serialized in Redis's DUMP payload format
//! (`crate::rdb`), so payloads move between Cairn and Redis both ways.

use super::{CmdError, CmdResult, Ctx, KEY1, arg_i64, cmd, flag::*, since};
use crate::commands::Cmd;
use crate::keyspace::{Ttl, lru_clock};
use crate::rdb::RdbError;
use crate::rdb::payload::{self, PayloadError};
use crate::rdb::value::{Limits, encode, into_value};
use crate::server::notify;
use crate::util::eq_ic;

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "dump",
            2,
            READONLY,
            KEY1,
            "@keyspace @read @slow",
            "generic",
            "Return a serialized version of the value stored at the specified key.",
            dump,
        ),
        "2.6.0",
    ),
    since(
        cmd(
            "restore",
            -4,
            WRITE | DENYOOM,
            KEY1,
            "@keyspace @write @slow @dangerous",
            "generic",
            "Create a key using the provided serialized value, previously obtained using DUMP.",
            restore,
        ),
        "2.6.0",
    ),
];

fn dump(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let limits = Limits::from_config(&ctx.st.config);
    let (e, out) = ctx.read_with_out(argv[1]);
    match e {
        Some(e) => out.bulk(&payload::seal(encode(&e.value, &limits))),
        None => out.null(),
    }
    Ok(())
}

/// Redis's 24-bit LRU clock (seconds).
const LRU_CLOCK_MAX: i64 = (1 << 24) - 1;

/// The idle time OBJECT IDLETIME reports in Redis right after RESTORE ...
/// IDLETIME `idle` (`objectSetLRUOrLFU` then `estimateObjectIdleTime` on
/// the 24-bit clock): `idle` itself unless it exceeds the clock's range.
fn redis_idle(now_ms: u64, idle: i64) -> i64 {
    let clock = ((now_ms / 1000) as i64) & LRU_CLOCK_MAX;
    // Redis scales seconds to its clock resolution (x1000 / 1000), in a
    // signed 64-bit product that wraps for huge values.
    let idle = idle.wrapping_mul(1000) / 1000;
    let mut abs = clock - idle;
    if abs < 0 {
        abs += LRU_CLOCK_MAX;
    }
    let lru = abs & LRU_CLOCK_MAX;
    if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    }
}

fn restore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < argv.len() {
        let more = argv.len() - j - 1;
        if eq_ic(argv[j], b"replace") {
            replace = true;
        } else if eq_ic(argv[j], b"absttl") {
            absttl = true;
        } else if eq_ic(argv[j], b"idletime") && more >= 1 && freq.is_none() {
            let v = arg_i64(argv[j + 1])?;
            if v < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if eq_ic(argv[j], b"freq") && more >= 1 && idle.is_none() {
            let v = arg_i64(argv[j + 1])?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let key = argv[1];
    if !replace && ctx.write(key).is_some() {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let mut ttl = arg_i64(argv[2])?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let limits = Limits::from_config(&ctx.st.config);
    let value = match payload::decode(argv[3]) {
        Ok(v) => into_value(v, &limits),
        Err(PayloadError::VersionOrChecksum) => {
            return Err(CmdError::msg(
                "ERR DUMP payload version or checksum are wrong",
            ));
        }
        Err(PayloadError::Bad(RdbError::Unsupported(_))) => {
            return Err(CmdError::msg(
                "ERR Bad data format: module values are not supported",
            ));
        }
        Err(PayloadError::Bad(_)) => return Err(CmdError::msg("ERR Bad data format")),
    };
    let db = ctx.db();
    let now = ctx.now;
    let deleted = replace && {
        ctx.st.ks.expire_if_needed(db, key, now);
        ctx.st.ks.remove(db, key).is_some()
    };
    if ttl != 0 && !absttl {
        ttl = ttl.wrapping_add(now as i64);
    }
    if ttl != 0 && ttl <= now as i64 && !ctx.st.ks.loading {
        // Already expired: nothing is created (the replaced key is gone).
        if deleted {
            ctx.propagate(&[b"DEL", key]);
            ctx.notify(notify::GENERIC, "del", key);
        }
        ctx.out.ok();
        return Ok(());
    }
    let t = if ttl == 0 {
        Ttl::Clear
    } else {
        Ttl::At(ttl as u64)
    };
    ctx.st.ks.set(db, key, value, t, now);
    // As Redis's `objectSetLRUOrLFU`: FREQ counts under an LFU policy,
    // IDLETIME under the others.
    let lfu = ctx.st.ks.access.is_lfu();
    let stamp = match (idle, freq) {
        (Some(idle), _) if !lfu => Some(lru_clock(now).wrapping_sub(redis_idle(now, idle) as u32)),
        (_, Some(f)) if lfu => Some(crate::keyspace::Access::lfu_stamp(now, f as u8)),
        _ => None,
    };
    let table = &mut ctx.st.ks.dbs[db].table;
    let h = table.hash(key);
    if let Some(stamp) = stamp
        && let Some((e, _)) = table.get_mut_hashed(h, key)
    {
        e.lru = stamp;
    }
    // The effect: the same payload, absolute TTL, REPLACE (the access
    // time is not part of the replayed state).
    let mut b = itoa::Buffer::new();
    let ttl_arg = b.format(ttl).as_bytes();
    if ttl == 0 {
        ctx.propagate(&[b"RESTORE", key, b"0", argv[3], b"REPLACE"]);
    } else {
        ctx.propagate(&[b"RESTORE", key, ttl_arg, argv[3], b"ABSTTL", b"REPLACE"]);
    }
    ctx.notify(notify::GENERIC, "restore", key);
    ctx.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_is_kept_within_the_clock_range() {
        let now = 1_700_000_000_000u64;
        assert_eq!(redis_idle(now, 0), 0);
        assert_eq!(redis_idle(now, 1000), 1000);
        // Values Redis 7.0.15 reported at the same clock (checked by hand:
        // the 24-bit clock wraps, and the x1000 scaling overflows).
        let clock = (now / 1000) as i64 & LRU_CLOCK_MAX;
        assert_eq!(redis_idle(now, LRU_CLOCK_MAX), 0);
        assert_eq!(redis_idle(now, LRU_CLOCK_MAX + 1), 1);
        assert!(redis_idle(now, i64::MAX) <= LRU_CLOCK_MAX);
        assert!(redis_idle(now, 100_000_000) <= clock.max(LRU_CLOCK_MAX));
    }
}
