//! Sorted-set commands (Redis 7.0 semantics; ZRANK/ZREVRANK also take
//! Redis 7.2's WITHSCORE).
//!
//! Ranges of every kind (rank, score, lex) become a span of ascending ranks
//! first (`ZSet::count_while` turns a bound into a rank in O(log n)); the
//! reply, the store and the removal all work on that span.
//!
//! Effects: deterministic commands journal their own argv when they
//! changed something (ZADD without INCR, ZREM, ZREMRANGEBY*, the *STORE
//! commands, which recompute the same result from the same state); ZADD
//! INCR and ZINCRBY journal `ZADD key <resulting score> member`; pops
//! journal `ZREM key <members>`.

use super::hash::scan_opts;
use super::{
    Cmd, CmdError, CmdResult, Ctx, KEY1, arg_i64, cmd, flag::*, notify_drop, since, zset_in,
    zset_ref,
};
use crate::commands::keys::parse_cursor;
use crate::keyspace::types::zset::{Added, Limits};
use crate::keyspace::types::{Set, ZSet};
use crate::keyspace::{Ttl, Value};
use crate::protocol::Reply;
use crate::server::notify;
use crate::util::{eq_ic, fmt_double_g17, glob_match, parse_f64};
use std::ffi::c_char;

const WF: u32 = WRITE | DENYOOM | FAST;
const W: u32 = WRITE | DENYOOM;
const RF: u32 = READONLY | FAST;
const R: u32 = READONLY;
const NUMKEYS: (i32, i32, i32) = (0, 0, 0);

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "zadd",
            -4,
            WF,
            KEY1,
            "@write @sortedset @fast",
            "sorted-set",
            "Add one or more members to a sorted set, or update its score if it already exists",
            zadd,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zincrby",
            4,
            WF,
            KEY1,
            "@write @sortedset @fast",
            "sorted-set",
            "Increment the score of a member in a sorted set",
            zincrby,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zrem",
            -3,
            WRITE | FAST,
            KEY1,
            "@write @sortedset @fast",
            "sorted-set",
            "Remove one or more members from a sorted set",
            zrem,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zcard",
            2,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Get the number of members in a sorted set",
            zcard,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zscore",
            3,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Get the score associated with the given member in a sorted set",
            zscore,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zmscore",
            -3,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Get the score associated with the given members in a sorted set",
            zmscore,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zcount",
            4,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Count the members in a sorted set with scores within the given values",
            zcount,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "zlexcount",
            4,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Count the number of members in a sorted set between a given lexicographical range",
            zlexcount,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "zrank",
            -3,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Determine the index of a member in a sorted set",
            zrank,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "zrevrank",
            -3,
            RF,
            KEY1,
            "@read @sortedset @fast",
            "sorted-set",
            "Determine the index of a member in a sorted set, with scores ordered from high to low",
            zrevrank,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "zrange",
            -4,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Return a range of members in a sorted set",
            zrange,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zrangestore",
            -5,
            W,
            (1, 2, 1),
            "@write @sortedset @slow",
            "sorted-set",
            "Store a range of members from sorted set into another key",
            zrangestore,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zrangebyscore",
            -4,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Return a range of members in a sorted set, by score",
            zrangebyscore,
        ),
        "1.0.5",
    ),
    since(
        cmd(
            "zrevrangebyscore",
            -4,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Return a range of members in a sorted set, by score, with scores ordered from high to low",
            zrevrangebyscore,
        ),
        "2.2.0",
    ),
    since(
        cmd(
            "zrangebylex",
            -4,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Return a range of members in a sorted set, by lexicographical range",
            zrangebylex,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "zrevrangebylex",
            -4,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Return a range of members in a sorted set, by lexicographical range, ordered from higher to lower strings.",
            zrevrangebylex,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "zrevrange",
            -4,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Return a range of members in a sorted set, by index, with scores ordered from high to low",
            zrevrange,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zremrangebyrank",
            4,
            WRITE,
            KEY1,
            "@write @sortedset @slow",
            "sorted-set",
            "Remove all members in a sorted set within the given indexes",
            zremrangebyrank,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "zremrangebyscore",
            4,
            WRITE,
            KEY1,
            "@write @sortedset @slow",
            "sorted-set",
            "Remove all members in a sorted set within the given scores",
            zremrangebyscore,
        ),
        "1.2.0",
    ),
    since(
        cmd(
            "zremrangebylex",
            4,
            WRITE,
            KEY1,
            "@write @sortedset @slow",
            "sorted-set",
            "Remove all members in a sorted set between the given lexicographical range",
            zremrangebylex,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "zpopmin",
            -2,
            WRITE | FAST,
            KEY1,
            "@write @sortedset @fast",
            "sorted-set",
            "Remove and return members with the lowest scores in a sorted set",
            zpopmin,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "zpopmax",
            -2,
            WRITE | FAST,
            KEY1,
            "@write @sortedset @fast",
            "sorted-set",
            "Remove and return members with the highest scores in a sorted set",
            zpopmax,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "zmpop",
            -4,
            WRITE | MOVABLEKEYS,
            NUMKEYS,
            "@write @sortedset @slow",
            "sorted-set",
            "Remove and return members with scores in a sorted set",
            zmpop,
        ),
        "7.0.0",
    ),
    since(
        cmd(
            "zunion",
            -3,
            R | MOVABLEKEYS,
            NUMKEYS,
            "@read @sortedset @slow",
            "sorted-set",
            "Add multiple sorted sets",
            zunion,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zinter",
            -3,
            R | MOVABLEKEYS,
            NUMKEYS,
            "@read @sortedset @slow",
            "sorted-set",
            "Intersect multiple sorted sets",
            zinter,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zdiff",
            -3,
            R | MOVABLEKEYS,
            NUMKEYS,
            "@read @sortedset @slow",
            "sorted-set",
            "Subtract multiple sorted sets",
            zdiff,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zunionstore",
            -4,
            W | MOVABLEKEYS,
            KEY1,
            "@write @sortedset @slow",
            "sorted-set",
            "Add multiple sorted sets and store the resulting sorted set in a new key",
            zunionstore,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "zinterstore",
            -4,
            W | MOVABLEKEYS,
            KEY1,
            "@write @sortedset @slow",
            "sorted-set",
            "Intersect multiple sorted sets and store the resulting sorted set in a new key",
            zinterstore,
        ),
        "2.0.0",
    ),
    since(
        cmd(
            "zdiffstore",
            -4,
            W | MOVABLEKEYS,
            KEY1,
            "@write @sortedset @slow",
            "sorted-set",
            "Subtract multiple sorted sets and store the resulting sorted set in a new key",
            zdiffstore,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zintercard",
            -3,
            R | MOVABLEKEYS,
            NUMKEYS,
            "@read @sortedset @slow",
            "sorted-set",
            "Intersect multiple sorted sets and return the cardinality of the result",
            zintercard,
        ),
        "7.0.0",
    ),
    since(
        cmd(
            "zrandmember",
            -2,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Get one or multiple random elements from a sorted set",
            zrandmember,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "zscan",
            -3,
            R,
            KEY1,
            "@read @sortedset @slow",
            "sorted-set",
            "Incrementally iterate sorted sets elements and associated scores",
            zscan,
        ),
        "2.8.0",
    ),
];

// ---------------------------------------------------------------- helpers

/// zset-max-listpack-entries / zset-max-listpack-value from the config.
pub(super) fn limits(ctx: &Ctx) -> Limits {
    let s = &ctx.st.config.s;
    Limits {
        max_entries: s.zset_max_listpack_entries,
        max_value: s.zset_max_listpack_value,
    }
}

pub(super) fn read_z<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c ZSet>, CmdError> {
    zset_ref(ctx.read(key))
}

fn write_z<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut ZSet>, CmdError> {
    zset_in(ctx.write(key))
}

/// A score as Redis prints it in text (`%.17g`, `inf`, `-inf`).
fn score_text(s: f64) -> Vec<u8> {
    fmt_double_g17(s).into_bytes()
}

unsafe extern "C" {
    fn strtod(s: *const c_char, end: *mut *mut c_char) -> f64;
}

/// `strtod` over the whole argument as C sees it (up to its first NUL),
/// the parse Redis uses for range bounds: leading blanks, hex and an empty
/// string (0) are accepted, trailing garbage and NaN are not.
fn strtod_full(b: &[u8]) -> Option<f64> {
    let mut buf = Vec::with_capacity(b.len() + 1);
    buf.extend_from_slice(b);
    buf.push(0);
    let mut end: *mut c_char = std::ptr::null_mut();
    // SAFETY: `buf` is NUL-terminated; strtod reads up to the NUL and sets
    // `end` inside it.
    let v = unsafe { strtod(buf.as_ptr() as *const c_char, &mut end) };
    let used = end as usize - buf.as_ptr() as usize;
    (buf[used] == 0 && !v.is_nan()).then_some(v)
}

/// A score range (`zslParseRange`): `(` makes a bound exclusive.
#[derive(Clone, Copy)]
struct ScoreRange {
    min: f64,
    minex: bool,
    max: f64,
    maxex: bool,
}

fn parse_score_range(min: &[u8], max: &[u8]) -> Result<ScoreRange, CmdError> {
    let one = |b: &[u8]| match b.first() {
        Some(b'(') => strtod_full(&b[1..]).map(|v| (v, true)),
        _ => strtod_full(b).map(|v| (v, false)),
    };
    match (one(min), one(max)) {
        (Some((min, minex)), Some((max, maxex))) => Ok(ScoreRange {
            min,
            minex,
            max,
            maxex,
        }),
        _ => Err(CmdError::msg("ERR min or max is not a float")),
    }
}

impl ScoreRange {
    /// Ascending ranks `lo..hi` of the elements inside the range.
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let lo = z.count_while(|s, _| {
            if self.minex {
                s <= self.min
            } else {
                s < self.min
            }
        });
        let hi = z.count_while(|s, _| {
            if self.maxex {
                s < self.max
            } else {
                s <= self.max
            }
        });
        (lo, hi.max(lo))
    }
}

/// One end of a lex range (`zslParseLexRangeItem`).
#[derive(Clone)]
enum Lex {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

fn parse_lex_item(b: &[u8]) -> Option<Lex> {
    let alone = b.get(1).is_none_or(|&c| c == 0);
    match b.first() {
        Some(b'+') if alone => Some(Lex::PosInf),
        Some(b'-') if alone => Some(Lex::NegInf),
        Some(b'(') => Some(Lex::Excl(b[1..].to_vec())),
        Some(b'[') => Some(Lex::Incl(b[1..].to_vec())),
        _ => None,
    }
}

struct LexRange {
    min: Lex,
    max: Lex,
}

fn parse_lex_range(min: &[u8], max: &[u8]) -> Result<LexRange, CmdError> {
    match (parse_lex_item(min), parse_lex_item(max)) {
        (Some(min), Some(max)) => Ok(LexRange { min, max }),
        _ => Err(CmdError::msg("ERR min or max not valid string range item")),
    }
}

impl LexRange {
    /// Ascending ranks `lo..hi` of the elements inside the range (members
    /// are expected to share one score, as Redis requires).
    fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let lo = z.count_while(|_, m| match &self.min {
            Lex::NegInf => false,
            Lex::PosInf => true,
            Lex::Incl(v) => m < v.as_slice(),
            Lex::Excl(v) => m <= v.as_slice(),
        });
        let hi = z.count_while(|_, m| match &self.max {
            Lex::NegInf => false,
            Lex::PosInf => true,
            Lex::Incl(v) => m <= v.as_slice(),
            Lex::Excl(v) => m < v.as_slice(),
        });
        (lo, hi.max(lo))
    }
}

/// Redis's rank-range normalization (ZRANGE, ZREMRANGEBYRANK): ascending
/// ranks `lo..hi`, empty if out of range.
fn rank_span(start: i64, end: i64, len: usize) -> (usize, usize) {
    let llen = len as i64;
    let mut start = if start < 0 { llen + start } else { start };
    let mut end = if end < 0 { llen + end } else { end };
    if start < 0 {
        start = 0;
    }
    if start > end || start >= llen {
        return (0, 0);
    }
    if end >= llen {
        end = llen - 1;
    }
    (start as usize, end as usize + 1)
}

/// Write `items` as a ZRANGE-style reply: members, or with scores a flat
/// array (RESP2) or an array of [member, score] pairs (RESP3).
fn reply_items(out: &mut Reply, items: &[(Vec<u8>, f64)], withscores: bool) {
    if withscores && !out.resp3 {
        out.array(items.len() * 2);
    } else {
        out.array(items.len());
    }
    for (m, s) in items {
        if withscores && out.resp3 {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(*s);
        }
    }
}

// ------------------------------------------------------------ ZADD family

fn zadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zadd_generic(ctx, argv, false)
}

fn zincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zadd_generic(ctx, argv, true)
}

/// ZADD, and ZINCRBY as ZADD with INCR (Redis parses ZINCRBY's arguments
/// with the same option loop, so `ZINCRBY k nx m` is a syntax error).
pub(super) fn zadd_generic(ctx: &mut Ctx, argv: &[&[u8]], mut incr: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt, mut ch) = (false, false, false, false, false);
    let mut i = 2;
    while i < argv.len() {
        let o = argv[i];
        if eq_ic(o, b"nx") {
            nx = true;
        } else if eq_ic(o, b"xx") {
            xx = true;
        } else if eq_ic(o, b"ch") {
            ch = true;
        } else if eq_ic(o, b"incr") {
            incr = true;
        } else if eq_ic(o, b"gt") {
            gt = true;
        } else if eq_ic(o, b"lt") {
            lt = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &argv[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if nx && xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if ((gt || lt) && nx) || (gt && lt) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if incr && rest.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut scores = Vec::with_capacity(rest.len() / 2);
    for pair in rest.chunks(2) {
        scores.push(parse_f64(pair[0]).ok_or(CmdError::NotFloat)?);
    }
    let key = argv[1];
    let lim = limits(ctx);
    let exists = write_z(ctx, key)?.is_some();
    if !exists {
        if xx {
            if incr {
                ctx.out.null();
            } else {
                ctx.out.int(0);
            }
            return Ok(());
        }
        // Redis 7.0 picks the new set's encoding from the first member
        // alone (later ones convert it as they are added).
        let z = ZSet::with_hint(1, rest[1].len(), lim);
        let db = ctx.db();
        ctx.st
            .ks
            .set(db, key, Value::ZSet(Box::new(z)), Ttl::Clear, ctx.now);
    }
    let z = write_z(ctx, key)?.expect("exists");
    let (mut added, mut updated, mut processed) = (0i64, 0i64, 0i64);
    let mut last = 0f64;
    for (pair, &score) in rest.chunks(2).zip(&scores) {
        let m = pair[1];
        let mut score = score;
        match z.score(m) {
            Some(cur) => {
                if nx {
                    continue;
                }
                if incr {
                    score += cur;
                    if score.is_nan() {
                        // Only INCR (one pair) gets here, before any change.
                        return Err(CmdError::msg("ERR resulting score is not a number (NaN)"));
                    }
                }
                last = score;
                if (lt && score >= cur) || (gt && score <= cur) {
                    continue;
                }
                processed += 1;
                if z.add(m, score, lim) == Added::Updated {
                    updated += 1;
                }
            }
            None if !xx => {
                z.add(m, score, lim);
                added += 1;
                processed += 1;
                last = score;
            }
            None => {}
        }
    }
    let last_stored = if incr && processed > 0 {
        z.score(rest[1])
    } else {
        None
    };
    if added + updated > 0 {
        if incr {
            let s = score_text(last_stored.unwrap_or(last));
            ctx.propagate(&[b"ZADD", key, &s, rest[1]]);
        } else {
            ctx.propagate(argv);
        }
        ctx.notify(notify::ZSET, if incr { "zincr" } else { "zadd" }, key);
    }
    if incr {
        if processed > 0 {
            ctx.out.double(last);
        } else {
            ctx.out.null();
        }
    } else {
        ctx.out.int(if ch { added + updated } else { added });
    }
    Ok(())
}

fn zrem(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let removed = match write_z(ctx, argv[1])? {
        None => 0,
        Some(z) => argv[2..].iter().filter(|m| z.remove(m)).count() as i64,
    };
    if removed > 0 {
        notify_drop(ctx, notify::ZSET, "zrem", argv[1]);
        ctx.propagate(argv);
    }
    ctx.out.int(removed);
    Ok(())
}

// ---------------------------------------------------------------- queries

fn zcard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_z(ctx, argv[1])?.map_or(0, ZSet::len);
    ctx.out.int(n as i64);
    Ok(())
}

fn zscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match read_z(ctx, argv[1])?.and_then(|z| z.score(argv[2])) {
        Some(s) => ctx.out.double(s),
        None => ctx.out.null(),
    }
    Ok(())
}

fn zmscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let scores: Vec<Option<f64>> = match read_z(ctx, argv[1])? {
        None => vec![None; argv.len() - 2],
        Some(z) => argv[2..].iter().map(|m| z.score(m)).collect(),
    };
    ctx.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => ctx.out.double(s),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn zcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = parse_score_range(argv[2], argv[3])?;
    let n = read_z(ctx, argv[1])?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        hi - lo
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn zlexcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = parse_lex_range(argv[2], argv[3])?;
    let n = read_z(ctx, argv[1])?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        hi - lo
    });
    ctx.out.int(n as i64);
    Ok(())
}

fn zrank(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rank_generic(ctx, argv, false)
}

fn zrevrank(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rank_generic(ctx, argv, true)
}

/// ZRANK/ZREVRANK key member [WITHSCORE] (WITHSCORE as in Redis 7.2).
fn rank_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) -> CmdResult {
    if argv.len() > 4 {
        return Err(CmdError::Msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let withscore = argv.len() == 4;
    if withscore && !eq_ic(argv[3], b"withscore") {
        return Err(CmdError::Syntax);
    }
    let found = read_z(ctx, argv[1])?.and_then(|z| {
        let r = z.rank(argv[2])?;
        let s = z.at(r).1;
        Some((if rev { z.len() - 1 - r } else { r }, s))
    });
    match found {
        Some((r, s)) => {
            if withscore {
                ctx.out.array(2);
            }
            ctx.out.int(r as i64);
            if withscore {
                ctx.out.double(s);
            }
        }
        None if withscore => ctx.out.null_array(),
        None => ctx.out.null(),
    }
    Ok(())
}

// ------------------------------------------------------------ ZRANGE family

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Rank,
    Score,
    Lex,
}

fn zrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, None, None, None)
}

fn zrangestore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, Some(argv[1]), None, None)
}

fn zrevrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, None, Some(Kind::Rank), Some(true))
}

fn zrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, None, Some(Kind::Score), Some(false))
}

fn zrevrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, None, Some(Kind::Score), Some(true))
}

fn zrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, None, Some(Kind::Lex), Some(false))
}

fn zrevrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zrange_generic(ctx, argv, None, Some(Kind::Lex), Some(true))
}

/// Redis's `zrangeGenericCommand`: the option loop, the conflicts, the
/// range parse, then the lookup. `dst` is ZRANGESTORE's destination;
/// `kind`/`rev` are preset by the legacy commands (which then refuse
/// BYSCORE/BYLEX/REV as syntax errors).
fn zrange_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    dst: Option<&[u8]>,
    kind: Option<Kind>,
    rev: Option<bool>,
) -> CmdResult {
    let start = if dst.is_some() { 2 } else { 1 };
    let (mut kind_opt, mut rev_opt) = (kind, rev);
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = start + 3;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if dst.is_none() && eq_ic(a, b"withscores") {
            withscores = true;
        } else if eq_ic(a, b"limit") && left >= 2 {
            offset = arg_i64(argv[j + 1])?;
            limit = arg_i64(argv[j + 2])?;
            j += 2;
        } else if rev_opt.is_none() && eq_ic(a, b"rev") {
            rev_opt = Some(true);
        } else if kind_opt.is_none() && eq_ic(a, b"bylex") {
            kind_opt = Some(Kind::Lex);
        } else if kind_opt.is_none() && eq_ic(a, b"byscore") {
            kind_opt = Some(Kind::Score);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev_opt.unwrap_or(false);
    let kind = kind_opt.unwrap_or(Kind::Rank);
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut a1, mut a2) = (argv[start + 1], argv[start + 2]);
    if rev && kind != Kind::Rank {
        std::mem::swap(&mut a1, &mut a2);
    }
    enum Parsed {
        Rank(i64, i64),
        Score(ScoreRange),
        Lex(LexRange),
    }
    let parsed = match kind {
        Kind::Rank => Parsed::Rank(arg_i64(a1)?, arg_i64(a2)?),
        Kind::Score => Parsed::Score(parse_score_range(a1, a2)?),
        Kind::Lex => Parsed::Lex(parse_lex_range(a1, a2)?),
    };
    let items = match read_z(ctx, argv[start])? {
        None => Vec::new(),
        Some(z) => {
            let (lo, hi) = match &parsed {
                Parsed::Rank(s, e) => rank_span(*s, *e, z.len()),
                Parsed::Score(r) => r.ranks(z),
                Parsed::Lex(r) => r.ranks(z),
            };
            let (lo, hi) = if kind == Kind::Rank {
                if rev {
                    // Ranks counted from the top.
                    (z.len() - hi, z.len() - lo)
                } else {
                    (lo, hi)
                }
            } else {
                apply_limit(lo, hi, offset, limit, rev)
            };
            z.range(lo, hi, rev)
        }
    };
    match dst {
        None => reply_items(ctx.out, &items, withscores),
        Some(dst) => {
            // Redis sizes the destination from the range length when it is
            // known up front (rank ranges), else starts from a listpack.
            let hint = if kind == Kind::Rank { items.len() } else { 0 };
            let z = ZSet::with_hint(hint, 0, limits(ctx));
            store_items(ctx, argv, dst, z, &items)
        }
    }
    Ok(())
}

/// LIMIT offset count over the ascending span `lo..hi` walked forward or
/// backward: a negative offset skips everything (Redis's `while (offset--)`
/// never reaches 0), a negative count means no limit.
fn apply_limit(lo: usize, hi: usize, offset: i64, limit: i64, rev: bool) -> (usize, usize) {
    let n = hi - lo;
    if offset < 0 || offset as u64 >= n as u64 {
        return (lo, lo);
    }
    let avail = n - offset as usize;
    let take = if limit < 0 {
        avail
    } else {
        avail.min(limit as usize)
    };
    if rev {
        let top = hi - offset as usize;
        (top - take, top)
    } else {
        let bottom = lo + offset as usize;
        (bottom, bottom + take)
    }
}

/// Add `items`, in order, to `z` (empty, in the encoding the command's
/// size hint picked) and store it at `dst`, or delete `dst` if there are
/// none; reply with the count and journal `argv` if anything changed.
fn store_items(ctx: &mut Ctx, argv: &[&[u8]], dst: &[u8], mut z: ZSet, items: &[(Vec<u8>, f64)]) {
    let db = ctx.db();
    if items.is_empty() {
        if ctx.st.ks.remove(db, dst).is_some() {
            ctx.propagate(argv);
            ctx.notify(notify::GENERIC, "del", dst);
        }
    } else {
        let lim = limits(ctx);
        for (m, s) in items {
            z.add(m, *s, lim);
        }
        ctx.st
            .ks
            .set(db, dst, Value::ZSet(Box::new(z)), Ttl::Clear, ctx.now);
        ctx.propagate(argv);
        // zunionstore, zinterstore, zdiffstore, zrangestore.
        let event = ctx.cmd.name;
        ctx.notify(notify::ZSET, event, dst);
    }
    ctx.out.int(items.len() as i64);
}

// ---------------------------------------------------------------- removal

fn zremrangebyrank(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (s, e) = (arg_i64(argv[2])?, arg_i64(argv[3])?);
    remrange(ctx, argv, |z| rank_span(s, e, z.len()))
}

fn zremrangebyscore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = parse_score_range(argv[2], argv[3])?;
    remrange(ctx, argv, |z| r.ranks(z))
}

fn zremrangebylex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = parse_lex_range(argv[2], argv[3])?;
    remrange(ctx, argv, |z| r.ranks(z))
}

fn remrange(ctx: &mut Ctx, argv: &[&[u8]], span: impl Fn(&ZSet) -> (usize, usize)) -> CmdResult {
    let removed = match write_z(ctx, argv[1])? {
        None => 0,
        Some(z) => {
            let (lo, hi) = span(z);
            z.remove_range(lo, hi).len()
        }
    };
    if removed > 0 {
        // zremrangebyrank, zremrangebyscore, zremrangebylex.
        let event = ctx.cmd.name;
        notify_drop(ctx, notify::ZSET, event, argv[1]);
        ctx.propagate(argv);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

// ------------------------------------------------------------------- pops

/// The reply layout of a pop (Redis's `genericZpopCommand`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PopShape {
    /// ZPOPMIN/ZPOPMAX: a flat [member, score, ...] array, or, in RESP3
    /// when a count was given, an array of [member, score] pairs.
    Plain { count_given: bool },
    /// BZPOPMIN/BZPOPMAX: a flat [key, member, score] array.
    KeyFlat,
    /// ZMPOP/BZMPOP: [key, [[member, score], ...]] in RESP2 and RESP3.
    KeyNested,
}

/// Pop up to `count` members from the min (or, with `max`, the max) end of
/// the zset at `key`, write the reply in `shape`, journal the removal as
/// `ZREM key <members>` and delete the key if it became empty. A missing
/// key gets the empty reply of its shape (ZPOP: empty array; ZMPOP/BZMPOP/
/// BZPOP: null array); a key of another type is WRONGTYPE.
pub fn pop_and_reply(
    ctx: &mut Ctx,
    key: &[u8],
    count: usize,
    max: bool,
    shape: PopShape,
) -> CmdResult {
    let popped = match write_z(ctx, key)? {
        None => {
            match shape {
                PopShape::Plain { .. } => ctx.out.array(0),
                _ => ctx.out.null_array(),
            }
            return Ok(());
        }
        Some(z) => {
            let n = count.min(z.len());
            let mut items = if max {
                z.remove_range(z.len() - n, z.len())
            } else {
                z.remove_range(0, n)
            };
            if max {
                items.reverse();
            }
            items
        }
    };
    if !popped.is_empty() {
        notify_drop(
            ctx,
            notify::ZSET,
            if max { "zpopmax" } else { "zpopmin" },
            key,
        );
        let mut args: Vec<&[u8]> = vec![b"ZREM", key];
        args.extend(popped.iter().map(|(m, _)| m.as_slice()));
        ctx.propagate(&args);
    }
    let out = &mut *ctx.out;
    let nested = match shape {
        PopShape::Plain { count_given } => {
            let nested = out.resp3 && count_given;
            out.array(if nested {
                popped.len()
            } else {
                popped.len() * 2
            });
            nested
        }
        PopShape::KeyFlat => {
            out.array(popped.len() * 2 + 1);
            out.bulk(key);
            false
        }
        PopShape::KeyNested => {
            out.array(2);
            out.bulk(key);
            out.array(popped.len());
            true
        }
    };
    for (m, s) in &popped {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        out.double(*s);
    }
    Ok(())
}

fn zpopmin(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zpop(ctx, argv, false)
}

fn zpopmax(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    zpop(ctx, argv, true)
}

fn zpop(ctx: &mut Ctx, argv: &[&[u8]], max: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let count = match argv.get(2) {
        None => None,
        Some(a) => match crate::util::parse_i64(a) {
            Some(n) if n >= 0 => Some(n as usize),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        },
    };
    if count == Some(0) {
        // Redis checks the type first, then answers an empty array.
        read_z(ctx, argv[1])?;
        ctx.out.array(0);
        return Ok(());
    }
    let shape = PopShape::Plain {
        count_given: count.is_some(),
    };
    pop_and_reply(ctx, argv[1], count.unwrap_or(1), max, shape)
}

fn zmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let args = super::parse_mpop(&argv[1..], [b"min", b"max"])?;
    if !mpop(ctx, &args)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// ZMPOP's body once parsed: pops and replies, or returns false having
/// written nothing when every zset is empty.
pub(crate) fn mpop(ctx: &mut Ctx, args: &super::MpopArgs) -> Result<bool, CmdError> {
    // The first key holding a non-empty zset (keys after it are not
    // type-checked, as in Redis).
    let mut found = None;
    let db = ctx.db();
    for k in args.keys {
        // Redis looks the keys up for writing: no hit/miss statistics.
        if zset_ref(ctx.st.ks.peek(db, k, ctx.now))?.is_some() {
            found = Some(*k);
            break;
        }
    }
    match found {
        None => Ok(false),
        Some(k) => {
            pop_and_reply(ctx, k, args.count, args.second, PopShape::KeyNested)?;
            Ok(true)
        }
    }
}

// ---------------------------------------------------- union / inter / diff

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// An input of ZUNION & co.: a zset, a set (every member scores 1), or a
/// missing key (empty).
enum Src {
    None,
    Set(Set),
    Z(ZSet),
}

impl Src {
    fn len(&self) -> usize {
        match self {
            Src::None => 0,
            Src::Set(s) => s.len(),
            Src::Z(z) => z.len(),
        }
    }

    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::None => None,
            Src::Set(s) => s.contains(m).then_some(1.0),
            Src::Z(z) => z.score(m),
        }
    }

    fn elements(&self) -> Vec<(std::borrow::Cow<'_, [u8]>, f64)> {
        use std::borrow::Cow;
        match self {
            Src::None => Vec::new(),
            // Intset members are rendered from integers: owned.
            Src::Set(s) => s
                .iter()
                .map(|m| {
                    let c = match m {
                        crate::keyspace::types::set::Member::Bytes(b) => Cow::Borrowed(b),
                        other => Cow::Owned(other.to_vec()),
                    };
                    (c, 1.0)
                })
                .collect(),
            Src::Z(z) => z.iter().map(|(m, s)| (Cow::Borrowed(m), s)).collect(),
        }
    }
}

/// `zunionInterAggregate`.
fn aggregate(target: &mut f64, val: f64, agg: Agg) {
    match agg {
        Agg::Sum => {
            *target += val;
            if target.is_nan() {
                *target = 0.0;
            }
        }
        Agg::Min => {
            if val < *target {
                *target = val;
            }
        }
        Agg::Max => {
            if val > *target {
                *target = val;
            }
        }
    }
}

/// Parsed arguments of ZUNION/ZINTER/ZDIFF(STORE)/ZINTERCARD.
struct SetOpArgs {
    srcs: Vec<Src>,
    weights: Vec<f64>,
    agg: Agg,
    withscores: bool,
    limit: usize,
}

/// Parse from `argv[numkeys_idx]` on, in Redis's order: numkeys, the key
/// lookups (WRONGTYPE), then the options.
fn parse_setop(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    numkeys_idx: usize,
    op: Op,
    store: bool,
    card_only: bool,
) -> Result<SetOpArgs, CmdError> {
    let n = arg_i64(argv[numkeys_idx])?;
    if n < 1 {
        return Err(CmdError::Msg(format!(
            "ERR at least 1 input key is needed for '{}' command",
            ctx.cmd.name
        )));
    }
    if n as u64 > (argv.len() - numkeys_idx - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let n = n as usize;
    let mut srcs = Vec::with_capacity(n);
    for k in &argv[numkeys_idx + 1..numkeys_idx + 1 + n] {
        let src = match ctx.read(k).map(|e| &e.value) {
            None => Src::None,
            Some(Value::ZSet(z)) => Src::Z((**z).clone()),
            Some(Value::Set(s)) => Src::Set((**s).clone()),
            Some(_) => return Err(CmdError::WrongType),
        };
        srcs.push(src);
    }
    let mut a = SetOpArgs {
        srcs,
        weights: vec![1.0; n],
        agg: Agg::Sum,
        withscores: false,
        limit: 0,
    };
    let mut j = numkeys_idx + 1 + n;
    while j < argv.len() {
        let remaining = argv.len() - j;
        let o = argv[j];
        if card_only {
            if remaining >= 2 && eq_ic(o, b"limit") {
                match crate::util::parse_i64(argv[j + 1]) {
                    Some(l) if l >= 0 => a.limit = l as usize,
                    _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
                }
                j += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        } else if op != Op::Diff && remaining > n && eq_ic(o, b"weights") {
            for w in 0..n {
                a.weights[w] = parse_f64(argv[j + 1 + w])
                    .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?;
            }
            j += 1 + n;
        } else if op != Op::Diff && remaining >= 2 && eq_ic(o, b"aggregate") {
            let v = argv[j + 1];
            a.agg = if eq_ic(v, b"sum") {
                Agg::Sum
            } else if eq_ic(v, b"min") {
                Agg::Min
            } else if eq_ic(v, b"max") {
                Agg::Max
            } else {
                return Err(CmdError::Syntax);
            };
            j += 2;
        } else if !store && eq_ic(o, b"withscores") {
            a.withscores = true;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(a)
}

/// Compute the result (unordered) of `op` over parsed inputs.
fn compute(a: &SetOpArgs, op: Op) -> Vec<(Vec<u8>, f64)> {
    let mut order: Vec<usize> = (0..a.srcs.len()).collect();
    if op != Op::Diff {
        // Smallest first, stable (Redis qsorts by cardinality).
        order.sort_by_key(|&i| a.srcs[i].len());
    }
    let src = |k: usize| &a.srcs[order[k]];
    let w = |k: usize| a.weights[order[k]];
    let mut out = Vec::new();
    match op {
        Op::Inter => {
            if src(0).len() == 0 {
                return out;
            }
            'next: for (m, s0) in src(0).elements() {
                let mut score = w(0) * s0;
                if score.is_nan() {
                    score = 0.0;
                }
                for k in 1..order.len() {
                    match src(k).score(&m) {
                        Some(v) => aggregate(&mut score, v * w(k), a.agg),
                        None => continue 'next,
                    }
                }
                out.push((m.to_vec(), score));
                if a.limit != 0 && out.len() >= a.limit {
                    break;
                }
            }
        }
        Op::Union => {
            let mut acc: hashbrown::HashMap<Vec<u8>, f64> = hashbrown::HashMap::new();
            for k in 0..order.len() {
                for (m, s) in src(k).elements() {
                    let mut score = w(k) * s;
                    if score.is_nan() {
                        score = 0.0;
                    }
                    match acc.get_mut(&*m) {
                        Some(t) => aggregate(t, score, a.agg),
                        None => {
                            acc.insert(m.to_vec(), score);
                        }
                    }
                }
            }
            out = acc.into_iter().collect();
        }
        Op::Diff => {
            for (m, s) in src(0).elements() {
                if (1..order.len()).all(|k| src(k).score(&m).is_none()) {
                    out.push((m.to_vec(), s));
                }
            }
        }
    }
    out
}

fn sort_items(items: &mut [(Vec<u8>, f64)]) {
    items.sort_by(|a, b| {
        a.1.partial_cmp(&b.1)
            .unwrap_or(std::cmp::Ordering::Equal)
            .then_with(|| a.0.cmp(&b.0))
    });
}

fn setop_reply(ctx: &mut Ctx, argv: &[&[u8]], op: Op) -> CmdResult {
    let a = parse_setop(ctx, argv, 1, op, false, false)?;
    let mut items = compute(&a, op);
    sort_items(&mut items);
    reply_items(ctx.out, &items, a.withscores);
    Ok(())
}

fn setop_store(ctx: &mut Ctx, argv: &[&[u8]], op: Op) -> CmdResult {
    let a = parse_setop(ctx, argv, 2, op, true, false)?;
    let items = compute(&a, op);
    // Redis builds a skiplist and converts it to a listpack if it fits
    // (`zsetConvertToListpackIfNeeded`).
    let lim = limits(ctx);
    let longest = items.iter().map(|(m, _)| m.len()).max().unwrap_or(0);
    let z = ZSet::with_hint(items.len(), longest, lim);
    store_items(ctx, argv, argv[1], z, &items);
    Ok(())
}

fn zunion(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setop_reply(ctx, argv, Op::Union)
}

fn zinter(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setop_reply(ctx, argv, Op::Inter)
}

fn zdiff(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setop_reply(ctx, argv, Op::Diff)
}

fn zunionstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setop_store(ctx, argv, Op::Union)
}

fn zinterstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setop_store(ctx, argv, Op::Inter)
}

fn zdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setop_store(ctx, argv, Op::Diff)
}

fn zintercard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let a = parse_setop(ctx, argv, 1, Op::Inter, false, true)?;
    let n = compute(&a, Op::Inter).len();
    ctx.out.int(n as i64);
    Ok(())
}

// ------------------------------------------------------ random and scan

/// `n` distinct positions in 0..len, in random order.
fn sample_distinct(len: usize, n: usize) -> Vec<usize> {
    super::hash::sample_distinct(len, n)
}

fn zrandmember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        let m = read_z(ctx, argv[1])?
            .filter(|z| !z.is_empty())
            .map(|z| z.at(rand::random_range(0..z.len())).0.to_vec());
        match m {
            Some(m) => ctx.out.bulk(&m),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = arg_i64(argv[2])?;
    if l == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    if argv.len() > 4 || (argv.len() == 4 && !eq_ic(argv[3], b"withscores")) {
        return Err(CmdError::Syntax);
    }
    let withscores = argv.len() == 4;
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let (e, out) = ctx.read_with_out(argv[1]);
    let z = zset_ref(e)?;
    let Some(z) = z.filter(|_| l != 0) else {
        out.array(0);
        return Ok(());
    };
    let picks: Vec<usize> = if l < 0 {
        (0..l.unsigned_abs())
            .map(|_| rand::random_range(0..z.len()))
            .collect()
    } else if l as u64 >= z.len() as u64 {
        (0..z.len()).collect()
    } else {
        sample_distinct(z.len(), l as usize)
    };
    let items: Vec<(Vec<u8>, f64)> = picks
        .into_iter()
        .map(|i| {
            let (m, s) = z.at(i);
            (m.to_vec(), s)
        })
        .collect();
    reply_items(out, &items, withscores);
    Ok(())
}

fn zscan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2])?;
    let (e, out) = ctx.read_with_out(argv[1]);
    let Some(z) = zset_ref(e)? else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let (pat, count) = scan_opts(&argv[3..])?;
    let mut items: Vec<(Vec<u8>, f64)> = Vec::new();
    let next = z.scan(cursor, count, |m, s| {
        if pat.is_none_or(|p| glob_match(p, m, false)) {
            items.push((m.to_vec(), s));
        }
    });
    out.array(2);
    let mut b = itoa::Buffer::new();
    out.bulk(b.format(next).as_bytes());
    out.array(items.len() * 2);
    for (m, s) in &items {
        out.bulk(m);
        out.bulk(&score_text(*s));
    }
    Ok(())
}
