//! List commands (Redis 7.0 semantics; the blocking variants are not
//! implemented).
//!
//! Journaling: every command that changes a list is deterministic given the
//! current state, so it is propagated as received (LMPOP as the LPOP/RPOP it
//! performed); replay deletes emptied lists exactly as the live command did.

use super::{CmdError, CmdResult, Ctx, KEY1, NOKEYS, arg_i64, cmd, flag::*, notify_drop};
use crate::commands::Cmd;
use crate::commands::since;
use crate::keyspace::types::List;
use crate::keyspace::{CompactBytes, Entry, Ttl, Value};
use crate::server::notify;
use crate::util::eq_ic;

const WF: u32 = WRITE | DENYOOM | FAST;
const W: u32 = WRITE | DENYOOM;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "lpush",
        -3,
        WF,
        KEY1,
        "@write @list @fast",
        "list",
        "Prepend one or multiple elements to a list",
        lpush,
    ),
    cmd(
        "rpush",
        -3,
        WF,
        KEY1,
        "@write @list @fast",
        "list",
        "Append one or multiple elements to a list",
        rpush,
    ),
    since(
        cmd(
            "lpushx",
            -3,
            WF,
            KEY1,
            "@write @list @fast",
            "list",
            "Prepend an element to a list, only if the list exists",
            lpushx,
        ),
        "2.2.0",
    ),
    since(
        cmd(
            "rpushx",
            -3,
            WF,
            KEY1,
            "@write @list @fast",
            "list",
            "Append an element to a list, only if the list exists",
            rpushx,
        ),
        "2.2.0",
    ),
    cmd(
        "lpop",
        -2,
        WRITE | FAST,
        KEY1,
        "@write @list @fast",
        "list",
        "Remove and get the first elements in a list",
        lpop,
    ),
    cmd(
        "rpop",
        -2,
        WRITE | FAST,
        KEY1,
        "@write @list @fast",
        "list",
        "Remove and get the last elements in a list",
        rpop,
    ),
    cmd(
        "llen",
        2,
        READONLY | FAST,
        KEY1,
        "@read @list @fast",
        "list",
        "Get the length of a list",
        llen,
    ),
    cmd(
        "lrange",
        4,
        READONLY,
        KEY1,
        "@read @list @slow",
        "list",
        "Get a range of elements from a list",
        lrange,
    ),
    cmd(
        "lindex",
        3,
        READONLY,
        KEY1,
        "@read @list @slow",
        "list",
        "Get an element from a list by its index",
        lindex,
    ),
    cmd(
        "lset",
        4,
        W,
        KEY1,
        "@write @list @slow",
        "list",
        "Set the value of an element in a list by its index",
        lset,
    ),
    since(
        cmd(
            "linsert",
            5,
            W,
            KEY1,
            "@write @list @slow",
            "list",
            "Insert an element before or after another element in a list",
            linsert,
        ),
        "2.2.0",
    ),
    cmd(
        "lrem",
        4,
        WRITE,
        KEY1,
        "@write @list @slow",
        "list",
        "Remove elements from a list",
        lrem,
    ),
    cmd(
        "ltrim",
        4,
        WRITE,
        KEY1,
        "@write @list @slow",
        "list",
        "Trim a list to the specified range",
        ltrim,
    ),
    since(
        cmd(
            "lpos",
            -3,
            READONLY,
            KEY1,
            "@read @list @slow",
            "list",
            "Return the index of matching elements on a list",
            lpos,
        ),
        "6.0.6",
    ),
    since(
        cmd(
            "lmove",
            5,
            W,
            (1, 2, 1),
            "@write @list @slow",
            "list",
            "Pop an element from a list, push it to another list and return it",
            lmove,
        ),
        "6.2.0",
    ),
    since(
        cmd(
            "rpoplpush",
            3,
            W,
            (1, 2, 1),
            "@write @list @slow",
            "list",
            "Remove the last element in a list, prepend it to another list and return it",
            rpoplpush,
        ),
        "1.2.0",
    ),
    // Movable keys (numkeys): Redis reports 0 0 0 for the legacy key spec.
    since(
        cmd(
            "lmpop",
            -4,
            WRITE | MOVABLEKEYS,
            NOKEYS,
            "@write @list @slow",
            "list",
            "Pop elements from a list",
            lmpop,
        ),
        "7.0.0",
    ),
];

/// The list held by an entry, or WRONGTYPE (for reads).
fn list_ref(e: &Entry) -> Result<&List, CmdError> {
    match &e.value {
        Value::List(l) => Ok(l),
        _ => Err(CmdError::WrongType),
    }
}

/// The list held by an entry, or WRONGTYPE.
pub(crate) fn list_mut(e: &mut Entry) -> Result<&mut List, CmdError> {
    match &mut e.value {
        Value::List(l) => Ok(l),
        _ => Err(CmdError::WrongType),
    }
}

/// `getPositiveLongFromObjectOrReply`: an integer >= 0, else `msg`.
fn positive(a: &[u8], msg: &str) -> Result<i64, CmdError> {
    match crate::util::parse_i64(a) {
        Some(n) if n >= 0 => Ok(n),
        _ => Err(CmdError::msg(msg)),
    }
}

/// LEFT / RIGHT → true for the head.
pub(crate) fn parse_side(a: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(a, b"left") {
        Ok(true)
    } else if eq_ic(a, b"right") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn push_generic(ctx: &mut Ctx, argv: &[&[u8]], left: bool, only_existing: bool) -> CmdResult {
    let (db, now, key) = (ctx.client.db, ctx.now, argv[1]);
    let fill = ctx.st.config.s.list_max_listpack_size;
    let n = match ctx.st.ks.lookup_write(db, key, now) {
        Some(e) => {
            let l = list_mut(e)?;
            l.set_fill(fill);
            for v in &argv[2..] {
                l.push(v, left);
            }
            l.len()
        }
        None if only_existing => {
            ctx.out.int(0);
            return Ok(());
        }
        None => {
            let mut l = List::with_fill(fill);
            for v in &argv[2..] {
                l.push(v, left);
            }
            let n = l.len();
            ctx.st
                .ks
                .set(db, key, Value::List(Box::new(l)), Ttl::Clear, now);
            n
        }
    };
    ctx.propagate(argv);
    ctx.notify(notify::LIST, if left { "lpush" } else { "rpush" }, key);
    ctx.out.int(n as i64);
    Ok(())
}

fn lpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, true, false)
}

fn rpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, false, false)
}

fn lpushx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, true, true)
}

fn rpushx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    push_generic(ctx, argv, false, true)
}

fn pop_generic(ctx: &mut Ctx, argv: &[&[u8]], left: bool) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let count = match argv.get(2) {
        Some(a) => Some(positive(a, "ERR value is out of range, must be positive")?),
        None => None,
    };
    let (db, now, key) = (ctx.client.db, ctx.now, argv[1]);
    let Some(e) = ctx.st.ks.lookup_write(db, key, now) else {
        if count.is_some() {
            ctx.out.null_array();
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    let l = list_mut(e)?;
    match count {
        Some(0) => {
            ctx.out.array(0);
            return Ok(());
        }
        None => {
            let v = l.pop(left).unwrap_or_else(|| CompactBytes::new(b""));
            ctx.out.bulk(&v);
        }
        Some(c) => {
            let n = (c as u64).min(l.len() as u64) as usize;
            ctx.out.array(n);
            for _ in 0..n {
                if let Some(v) = l.pop(left) {
                    ctx.out.bulk(&v);
                }
            }
        }
    }
    notify_drop(ctx, notify::LIST, if left { "lpop" } else { "rpop" }, key);
    ctx.propagate(argv);
    Ok(())
}

fn lpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, argv, true)
}

fn rpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    pop_generic(ctx, argv, false)
}

fn llen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = match ctx.read(argv[1]) {
        Some(e) => list_ref(e)?.len(),
        None => 0,
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn lrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let start = arg_i64(argv[2])?;
    let end = arg_i64(argv[3])?;
    let (db, now) = (ctx.client.db, ctx.now);
    let Some(e) = ctx.st.ks.lookup_read(db, argv[1], now) else {
        ctx.out.array(0);
        return Ok(());
    };
    let l = list_ref(e)?;
    let Some((s, e)) = index_range(start, end, l.len()) else {
        ctx.out.array(0);
        return Ok(());
    };
    ctx.out.array(e - s + 1);
    for v in l.iter_from(s).take(e - s + 1) {
        ctx.out.bulk(v);
    }
    Ok(())
}

/// LRANGE/LTRIM index semantics: negative indexes count from the end,
/// the range is clamped to the list; `None` when it selects nothing.
fn index_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let n = len as i64;
    let start = if start < 0 { n + start } else { start }.max(0);
    let end = if end < 0 { n + end } else { end };
    if start > end || start >= n {
        return None;
    }
    Some((start as usize, end.min(n - 1) as usize))
}

fn lindex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (ctx.client.db, ctx.now);
    let Some(e) = ctx.st.ks.lookup_read(db, argv[1], now) else {
        ctx.out.null();
        return Ok(());
    };
    let l = list_ref(e)?;
    let i = arg_i64(argv[2])?;
    match l.index(i) {
        Some(p) => ctx.out.bulk(l.get(p).expect("in range")),
        None => ctx.out.null(),
    }
    Ok(())
}

fn lset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (db, now) = (ctx.client.db, ctx.now);
    let fill = ctx.st.config.s.list_max_listpack_size;
    let Some(e) = ctx.st.ks.lookup_write(db, argv[1], now) else {
        return Err(CmdError::NoSuchKey);
    };
    let l = list_mut(e)?;
    let i = arg_i64(argv[2])?;
    let Some(p) = l.index(i) else {
        return Err(CmdError::msg("ERR index out of range"));
    };
    l.set_fill(fill);
    l.set(p, argv[3]);
    ctx.propagate(argv);
    ctx.notify(notify::LIST, "lset", argv[1]);
    ctx.out.ok();
    Ok(())
}

fn linsert(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let after = if eq_ic(argv[2], b"after") {
        true
    } else if eq_ic(argv[2], b"before") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (db, now) = (ctx.client.db, ctx.now);
    let fill = ctx.st.config.s.list_max_listpack_size;
    let Some(e) = ctx.st.ks.lookup_write(db, argv[1], now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_mut(e)?;
    let Some(p) = l.position(argv[3]) else {
        ctx.out.int(-1);
        return Ok(());
    };
    l.set_fill(fill);
    l.insert(p + after as usize, argv[4]);
    let n = l.len();
    ctx.propagate(argv);
    ctx.notify(notify::LIST, "linsert", argv[1]);
    ctx.out.int(n as i64);
    Ok(())
}

fn lrem(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let count = arg_i64(argv[2])?;
    let (db, now) = (ctx.client.db, ctx.now);
    let Some(e) = ctx.st.ks.lookup_write(db, argv[1], now) else {
        ctx.out.int(0);
        return Ok(());
    };
    let l = list_mut(e)?;
    let limit = usize::try_from(count.unsigned_abs()).unwrap_or(usize::MAX);
    let removed = l.remove(argv[3], limit, count < 0);
    if removed > 0 {
        notify_drop(ctx, notify::LIST, "lrem", argv[1]);
        ctx.propagate(argv);
    }
    ctx.out.int(removed as i64);
    Ok(())
}

fn ltrim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let start = arg_i64(argv[2])?;
    let end = arg_i64(argv[3])?;
    let (db, now) = (ctx.client.db, ctx.now);
    let Some(e) = ctx.st.ks.lookup_write(db, argv[1], now) else {
        ctx.out.ok();
        return Ok(());
    };
    let l = list_mut(e)?;
    let n = l.len();
    let (ltrim, rtrim) = match index_range(start, end, n) {
        Some((s, e)) => (s, n - e - 1),
        None => (n, 0),
    };
    l.trim(ltrim, rtrim);
    notify_drop(ctx, notify::LIST, "ltrim", argv[1]);
    ctx.propagate(argv);
    ctx.out.ok();
    Ok(())
}

fn lpos(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mut rank, mut count, mut maxlen) = (1i64, -1i64, 0i64);
    let mut j = 3;
    while j < argv.len() {
        let more = j + 1 < argv.len();
        let o = argv[j];
        if eq_ic(o, b"rank") && more {
            j += 1;
            rank = arg_i64(argv[j])?;
            if rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(o, b"count") && more {
            j += 1;
            count = positive(argv[j], "ERR COUNT can't be negative")?;
        } else if eq_ic(o, b"maxlen") && more {
            j += 1;
            maxlen = positive(argv[j], "ERR MAXLEN can't be negative")?;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    // A negative rank scans from the tail (Redis negates it in C, so
    // LONG_MIN stays negative: mirrored with wrapping arithmetic).
    let from_tail = rank < 0;
    if from_tail {
        rank = rank.wrapping_neg();
    }
    let (db, now) = (ctx.client.db, ctx.now);
    let Some(e) = ctx.st.ks.lookup_read(db, argv[1], now) else {
        if count != -1 {
            ctx.out.array(0);
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    let l = list_ref(e)?;
    let n = l.len() as i64;
    let want = argv[2];
    let mut found = Vec::new();
    let (mut index, mut matches) = (0i64, 0i64);
    let mut items: Box<dyn Iterator<Item = &[u8]>> = if from_tail {
        Box::new(l.iter().rev())
    } else {
        Box::new(l.iter())
    };
    while index < n && (maxlen == 0 || index < maxlen) {
        let pos = if from_tail { n - index - 1 } else { index };
        if items.next() == Some(want) {
            matches += 1;
            if matches >= rank {
                found.push(pos);
                if count == -1
                    || (count != 0 && matches.wrapping_sub(rank).wrapping_add(1) >= count)
                {
                    break;
                }
            }
        }
        index += 1;
    }
    if count != -1 {
        ctx.out.array(found.len());
        for p in found {
            ctx.out.int(p);
        }
    } else {
        match found.first() {
            Some(&p) => ctx.out.int(p),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

/// LMOVE / RPOPLPUSH body once the sides are known.
pub(crate) fn move_generic(
    ctx: &mut Ctx,
    argv: &[&[u8]],
    from_left: bool,
    to_left: bool,
) -> CmdResult {
    let (db, now, src, dst) = (ctx.client.db, ctx.now, argv[1], argv[2]);
    let fill = ctx.st.config.s.list_max_listpack_size;
    match ctx.st.ks.lookup_write(db, src, now) {
        None => {
            ctx.out.null();
            return Ok(());
        }
        Some(e) => {
            list_mut(e)?;
        }
    }
    if let Some(e) = ctx.st.ks.lookup_write(db, dst, now) {
        list_mut(e)?;
    }
    let Some(v) = ctx
        .st
        .ks
        .lookup_write(db, src, now)
        .and_then(|e| list_mut(e).ok())
        .and_then(|l| l.pop(from_left))
    else {
        ctx.out.null();
        return Ok(());
    };
    match ctx.st.ks.lookup_write(db, dst, now) {
        Some(e) => {
            let l = list_mut(e)?;
            l.set_fill(fill);
            l.push(&v, to_left);
        }
        None => {
            let mut l = List::with_fill(fill);
            l.push(&v, to_left);
            ctx.st
                .ks
                .set(db, dst, Value::List(Box::new(l)), Ttl::Clear, now);
        }
    }
    // Redis's order: the push, then the pop, then the source's removal.
    ctx.notify(notify::LIST, if to_left { "lpush" } else { "rpush" }, dst);
    notify_drop(
        ctx,
        notify::LIST,
        if from_left { "lpop" } else { "rpop" },
        src,
    );
    ctx.propagate(argv);
    ctx.out.bulk(&v);
    Ok(())
}

fn lmove(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let from = parse_side(argv[3])?;
    let to = parse_side(argv[4])?;
    move_generic(ctx, argv, from, to)
}

fn rpoplpush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    move_generic(ctx, argv, false, true)
}

fn lmpop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let args = super::parse_mpop(&argv[1..], [b"left", b"right"])?;
    if !mpop(ctx, &args)? {
        ctx.out.null_array();
    }
    Ok(())
}

/// LMPOP's body once parsed: pops and replies, or returns false having
/// written nothing when every list is empty.
pub(crate) fn mpop(ctx: &mut Ctx, args: &super::MpopArgs) -> Result<bool, CmdError> {
    let (left, count) = (!args.second, args.count);
    let (db, now) = (ctx.client.db, ctx.now);
    for &key in args.keys {
        let Some(e) = ctx.st.ks.lookup_write(db, key, now) else {
            continue;
        };
        let l = list_mut(e)?;
        if l.is_empty() {
            continue;
        }
        let n = count.min(l.len());
        ctx.out.array(2);
        ctx.out.bulk(key);
        ctx.out.array(n);
        for _ in 0..n {
            if let Some(v) = l.pop(left) {
                ctx.out.bulk(&v);
            }
        }
        notify_drop(ctx, notify::LIST, if left { "lpop" } else { "rpop" }, key);
        let mut b = itoa::Buffer::new();
        let cmd: &[u8] = if left { b"LPOP" } else { b"RPOP" };
        ctx.propagate(&[cmd, key, b.format(n).as_bytes()]);
        return Ok(true);
    }
    Ok(false)
}
