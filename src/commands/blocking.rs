//! Blocking pops: BLPOP BRPOP BRPOPLPUSH BLMOVE BLMPOP, BZPOPMIN BZPOPMAX
//! BZMPOP.
//!
//! Each handler first tries to serve itself exactly like its non-blocking
//! twin, and journals that twin's effect (LPOP, LMOVE, ...), never the
//! blocking command: replay must not depend on timing. When every key is
//! empty it asks to block (`Client::block`) and writes nothing; the
//! registry in `server/blocking.rs` re-executes it when a key fills. In
//! MULTI, scripts and replay (`Client::no_block`) it answers like a
//! timeout instead.

use super::list::{list_mut, move_generic, mpop, parse_side};
use super::notify_drop;
use super::zset::{PopShape, pop_and_reply};
use super::{Cmd, CmdError, CmdResult, Ctx, cmd, flag::*, parse_mpop, since};
use crate::keyspace::Value;
use crate::server::blocking::BlockRequest;
use crate::server::notify;

const WB: u32 = WRITE | NOSCRIPT | BLOCKING;
const WDB: u32 = WRITE | DENYOOM | NOSCRIPT | BLOCKING;

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "blpop",
            -3,
            WB,
            (1, -2, 1),
            "@write @list @slow @blocking",
            "list",
            "Remove and get the first element in a list, or block until one is available",
            blpop,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "brpop",
            -3,
            WB,
            (1, -2, 1),
            "@write @list @slow @blocking",
            "list",
            "Remove and get the last element in a list, or block until one is available",
            brpop,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "brpoplpush",
            4,
            WDB,
            (1, 2, 1),
            "@write @list @slow @blocking",
            "list",
            "Pop an element from a list, push it to another list and return it; or block until one is available",
            brpoplpush,
        ),
        "2.2.0",
    ),
    since(
        cmd(
            "blmove",
            6,
            WDB,
            (1, 2, 1),
            "@write @list @slow @blocking",
            "list",
            "Pop an element from a list, push it to another list and return it; or block until one is available",
            blmove,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "blmpop",
            -5,
            WRITE | BLOCKING | MOVABLEKEYS,
            (0, 0, 0),
            "@write @list @slow @blocking",
            "list",
            "Pop elements from a list, or block until one is available",
            blmpop,
        ),
        "7.0.0",
    ),
    since(
        cmd(
            "bzpopmin",
            -3,
            WB | FAST,
            (1, -2, 1),
            "@write @sortedset @fast @blocking",
            "sorted_set",
            "Remove and return the member with the lowest score from one or more sorted sets, or block until one is available",
            bzpopmin,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "bzpopmax",
            -3,
            WB | FAST,
            (1, -2, 1),
            "@write @sortedset @fast @blocking",
            "sorted_set",
            "Remove and return the member with the highest score from one or more sorted sets, or block until one is available",
            bzpopmax,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "bzmpop",
            -5,
            WRITE | BLOCKING | MOVABLEKEYS,
            (0, 0, 0),
            "@write @sortedset @slow @blocking",
            "sorted_set",
            "Remove and return members with scores in a sorted set or block until one is available",
            bzmpop,
        ),
        "7.0.0",
    ),
];

/// Parse a blocking timeout in seconds (decimals allowed) into an absolute
/// deadline in Unix ms, 0 meaning forever: Redis 7.0's
/// `getTimeoutFromObjectOrReply`. Milliseconds are rounded up; like Redis's
/// cast, a value too large for a 64-bit count of ms reads as negative.
pub fn parse_timeout(a: &[u8], now: u64) -> Result<u64, CmdError> {
    let f = crate::util::parse_f64(a)
        .filter(|f| !f.is_nan())
        .ok_or_else(|| CmdError::msg("ERR timeout is not a float or out of range"))?;
    let ms = (f * 1000.0).ceil();
    // (NaN was refused above; infinities land here too.)
    if !(0.0..9.223_372_036_854_775e18).contains(&ms) {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let ms = ms as u64;
    Ok(if ms == 0 { 0 } else { now.saturating_add(ms) })
}

/// A timeout in milliseconds (XREAD BLOCK, WAIT; Redis's
/// `getTimeoutFromObjectOrReply` in milliseconds: an integer) as an
/// absolute deadline in Unix ms, 0 meaning forever.
pub fn parse_timeout_ms(a: &[u8], now: u64) -> Result<u64, CmdError> {
    let ms = crate::util::parse_i64(a)
        .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
    if ms < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    Ok(if ms == 0 {
        0
    } else {
        now.saturating_add(ms as u64)
    })
}

/// Nothing to pop: block, or (where blocking is not allowed) reply as a
/// timeout does.
pub fn block_or_timeout(ctx: &mut Ctx, keys: &[&[u8]], deadline: u64) -> CmdResult {
    if ctx.client.no_block {
        ctx.out.null_array();
    } else {
        ctx.client.block = Some(BlockRequest::new(keys, deadline));
    }
    Ok(())
}

/// BLPOP / BRPOP.
fn bpop(ctx: &mut Ctx, argv: &[&[u8]], left: bool) -> CmdResult {
    let deadline = parse_timeout(argv[argv.len() - 1], ctx.now)?;
    let keys = &argv[1..argv.len() - 1];
    let (db, now) = (ctx.client.db, ctx.now);
    for &key in keys {
        let Some(e) = ctx.st.ks.lookup_write(db, key, now) else {
            continue;
        };
        let l = match &mut e.value {
            Value::List(l) => l,
            // Serving a wake-up: a key of another type is just not ready.
            _ if ctx.client.serving.is_some() => continue,
            _ => return Err(CmdError::WrongType),
        };
        let Some(v) = l.pop(left) else {
            continue;
        };
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.bulk(&v);
        notify_drop(ctx, notify::LIST, if left { "lpop" } else { "rpop" }, key);
        let name: &[u8] = if left { b"LPOP" } else { b"RPOP" };
        ctx.propagate(&[name, key]);
        return Ok(());
    }
    block_or_timeout(ctx, keys, deadline)
}

fn blpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bpop(ctx, argv, true)
}

fn brpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bpop(ctx, argv, false)
}

/// BLMOVE / BRPOPLPUSH once the sides are known: LMOVE if the source has
/// an element, else block on the source.
fn bmove(
    ctx: &mut Ctx,
    src: &[u8],
    dst: &[u8],
    from: &[u8],
    to: &[u8],
    timeout: &[u8],
) -> CmdResult {
    let deadline = parse_timeout(timeout, ctx.now)?;
    let from_left = parse_side(from)?;
    let to_left = parse_side(to)?;
    let (db, now) = (ctx.client.db, ctx.now);
    let ready = match ctx.st.ks.lookup_write(db, src, now) {
        None => false,
        Some(e) => !list_mut(e)?.is_empty(),
    };
    if !ready {
        if ctx.client.no_block {
            // Redis answers a null bulk here (`addReplyNull`), though a
            // blocked BLMOVE that times out gets a null array.
            ctx.out.null();
            return Ok(());
        }
        return block_or_timeout(ctx, &[src], deadline);
    }
    move_generic(ctx, &[b"LMOVE", src, dst, from, to], from_left, to_left)
}

fn brpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bmove(ctx, argv[1], argv[2], b"RIGHT", b"LEFT", argv[3])
}

fn blmove(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bmove(ctx, argv[1], argv[2], argv[3], argv[4], argv[5])
}

/// BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count]
fn blmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let deadline = parse_timeout(argv[1], ctx.now)?;
    let args = parse_mpop(&argv[2..], [b"left", b"right"])?;
    if mpop(ctx, &args)? {
        return Ok(());
    }
    block_or_timeout(ctx, args.keys, deadline)
}

/// BZPOPMIN / BZPOPMAX key [key ...] timeout
fn bzpop(ctx: &mut Ctx, argv: &[&[u8]], max: bool) -> CmdResult {
    let deadline = parse_timeout(argv[argv.len() - 1], ctx.now)?;
    let keys = &argv[1..argv.len() - 1];
    let (db, now) = (ctx.client.db, ctx.now);
    for &key in keys {
        let ready = match ctx.st.ks.lookup_write(db, key, now).map(|e| &e.value) {
            None => false,
            Some(Value::ZSet(z)) => !z.is_empty(),
            // Serving a wake-up: a key of another type is just not ready.
            Some(_) if ctx.client.serving.is_some() => false,
            Some(_) => return Err(CmdError::WrongType),
        };
        if ready {
            return pop_and_reply(ctx, key, 1, max, PopShape::KeyFlat);
        }
    }
    block_or_timeout(ctx, keys, deadline)
}

fn bzpopmin(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bzpop(ctx, argv, false)
}

fn bzpopmax(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    bzpop(ctx, argv, true)
}

/// BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count]
fn bzmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let deadline = parse_timeout(argv[1], ctx.now)?;
    let args = parse_mpop(&argv[2..], [b"min", b"max"])?;
    if super::zset::mpop(ctx, &args)? {
        return Ok(());
    }
    block_or_timeout(ctx, args.keys, deadline)
}
