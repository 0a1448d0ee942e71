//! Stream commands: XADD XLEN XRANGE XREVRANGE XDEL XTRIM XREAD XSETID
//! XINFO. (Consumer groups: `stream_group`.)
//!
//! Replies and errors are Redis 7.0's (`t_stream.c`). Effects are logged
//! so that replay needs no clock: XADD with the ID it generated and
//! without its trimming options, followed by an exact XTRIM when it
//! trimmed (`trim_and_log`: `~` becomes `=` with the length or first ID
//! left, as Redis rewrites it for its replicas); XTRIM likewise; XDEL and
//! XSETID as given.

use super::{
    Cmd, CmdError, CmdResult, Ctx, KEY1, NOKEYS, arg_i64, cmd, dispatch_sub, flag::*, help_reply,
    since, stream_in, stream_ref, with_subs,
};
use crate::keyspace::types::stream::{EntryView, StreamId, Trim};
use crate::keyspace::{Ttl, Value};
use crate::server::blocking::BlockRequest;
use crate::server::notify;

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "xadd",
            -5,
            WRITE | DENYOOM | FAST,
            KEY1,
            "@write @stream @fast",
            "stream",
            "Appends a new entry to a stream",
            xadd,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xlen",
            2,
            READONLY | FAST,
            KEY1,
            "@read @stream @fast",
            "stream",
            "Return the number of entries in a stream",
            xlen,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xrange",
            -4,
            READONLY,
            KEY1,
            "@read @stream @slow",
            "stream",
            "Return a range of elements in a stream, with IDs matching the specified IDs interval",
            xrange,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xrevrange",
            -4,
            READONLY,
            KEY1,
            "@read @stream @slow",
            "stream",
            "Return a range of elements in a stream, with IDs matching the specified IDs interval, in reverse order (from greater to smaller IDs) compared to XRANGE",
            xrevrange,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xdel",
            -3,
            WRITE | FAST,
            KEY1,
            "@write @stream @fast",
            "stream",
            "Removes the specified entries from the stream. Returns the number of items actually deleted, that may be different from the number of IDs passed in case certain IDs do not exist.",
            xdel,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xtrim",
            -4,
            WRITE,
            KEY1,
            "@write @stream @slow",
            "stream",
            "Trims the stream to (approximately if '~' is passed) a certain size",
            xtrim,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xread",
            -4,
            READONLY | BLOCKING | MOVABLEKEYS,
            (0, 0, 0),
            "@read @stream @slow @blocking",
            "stream",
            "Return never seen elements in multiple streams, with IDs greater than the ones reported by the caller for each stream. Can block.",
            xread,
        ),
        "5.0.0",
    ),
    since(
        with_subs(
            cmd(
                "xinfo",
                -2,
                0,
                NOKEYS,
                "@slow",
                "stream",
                "A container for stream introspection commands",
                dispatch_sub,
            ),
            &[
                cmd(
                    "xinfo|consumers",
                    4,
                    READONLY,
                    (2, 2, 1),
                    "@read @stream @slow",
                    "stream",
                    "List the consumers in a consumer group",
                    xinfo_consumers,
                ),
                cmd(
                    "xinfo|groups",
                    3,
                    READONLY,
                    (2, 2, 1),
                    "@read @stream @slow",
                    "stream",
                    "List the consumer groups of a stream",
                    xinfo_groups,
                ),
                cmd(
                    "xinfo|help",
                    2,
                    LOADING | STALE,
                    NOKEYS,
                    "@stream @slow",
                    "stream",
                    "Show helpful text about the different subcommands",
                    xinfo_help,
                ),
                cmd(
                    "xinfo|stream",
                    -3,
                    READONLY,
                    (2, 2, 1),
                    "@read @stream @slow",
                    "stream",
                    "Get information about a stream",
                    xinfo_stream,
                ),
            ],
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xsetid",
            -3,
            WRITE | DENYOOM | FAST,
            KEY1,
            "@write @stream @fast",
            "stream",
            "An internal command for replicating stream values",
            xsetid,
        ),
        "5.0.0",
    ),
];

pub(super) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// Parse a stream ID (`streamGenericParseIDOrReply`): "ms-seq", or "ms"
/// with `missing_seq`; "-" and "+" unless `strict`. With `auto_seq`,
/// "ms-*" parses with `seq_given` false. Returns (id, seq_given).
pub(super) fn parse_id(
    s: &[u8],
    missing_seq: u64,
    strict: bool,
    auto_seq: bool,
) -> Result<(StreamId, bool), CmdError> {
    let bad = || CmdError::msg(INVALID_ID);
    if s.len() > 127 {
        return Err(bad());
    }
    if !strict && s == b"-" {
        return Ok((StreamId::MIN, true));
    }
    if !strict && s == b"+" {
        return Ok((StreamId::MAX, true));
    }
    // Redis's `string2ull`: decimal digits (leading zeros allowed).
    let num = |p: &[u8]| -> Result<u64, CmdError> {
        if p.is_empty() || !p.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        std::str::from_utf8(p)
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .ok_or_else(bad)
    };
    match s.iter().position(|&b| b == b'-') {
        None => Ok((StreamId::new(num(s)?, missing_seq), true)),
        Some(i) => {
            let ms = num(&s[..i])?;
            let seq = &s[i + 1..];
            if auto_seq && seq == b"*" {
                Ok((StreamId::new(ms, 0), false))
            } else {
                Ok((StreamId::new(ms, num(seq)?), true))
            }
        }
    }
}

pub(super) fn strict_id(s: &[u8]) -> Result<StreamId, CmdError> {
    Ok(parse_id(s, 0, true, false)?.0)
}

/// Trimming options of XADD and XTRIM (`streamParseAddOrTrimArgsOrReply`).
#[derive(Default)]
struct AddTrim {
    trim: Option<Trim>,
    approx: bool,
    limit: u64,
    no_mkstream: bool,
    /// XADD: the ID argument's position, the ID and whether its sequence
    /// was given (None: "*").
    id: Option<(StreamId, bool)>,
    id_pos: usize,
}

fn parse_add_trim(ctx: &Ctx, argv: &[&[u8]], xadd: bool) -> Result<AddTrim, CmdError> {
    let mut a = AddTrim::default();
    let mut limit_given = false;
    let mut i = 2;
    while i < argv.len() {
        let more = argv.len() - 1 - i;
        let opt = argv[i];
        let eq = |s: &str| opt.eq_ignore_ascii_case(s.as_bytes());
        if xadd && opt == b"*" {
            break;
        } else if (eq("maxlen") || eq("minid")) && more > 0 {
            if a.trim.is_some() {
                return Err(CmdError::msg(
                    "ERR syntax error, MAXLEN and MINID options at the same time are not compatible",
                ));
            }
            let maxlen = eq("maxlen");
            let next = argv[i + 1];
            if next == b"~" && more >= 2 {
                a.approx = true;
                i += 1;
            } else if next == b"=" && more >= 2 {
                i += 1;
            }
            let v = argv[i + 1];
            a.trim = Some(if maxlen {
                let n = arg_i64(v)?;
                if n < 0 {
                    return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
                }
                Trim::MaxLen(n as u64)
            } else {
                Trim::MinId(strict_id(v)?)
            });
            i += 1;
        } else if eq("limit") && more > 0 {
            let n = arg_i64(argv[i + 1])?;
            if n < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            a.limit = n as u64;
            limit_given = true;
            i += 1;
        } else if xadd && eq("nomkstream") {
            a.no_mkstream = true;
        } else if xadd {
            a.id = Some(parse_id(opt, 0, true, true)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    a.id_pos = i;
    if a.limit > 0 && a.trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && a.trim.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if limit_given {
        if !a.approx {
            return Err(CmdError::msg(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
    } else if a.approx {
        // Redis: 100 nodes' worth, or 10000 when that is not positive.
        let per_node = ctx.st.config.s.stream_nodes.max_entries as u64;
        a.limit = per_node
            .checked_mul(100)
            .filter(|l| *l > 0 && *l <= i64::MAX as u64)
            .unwrap_or(10_000);
    }
    Ok(a)
}

/// Trim as `a` says, log it and announce it. Returns the entries removed.
/// The log gets an exact trim, as Redis propagates one: an exact trim as
/// given; an approximate one as MAXLEN = the length left, or MINID = the
/// first entry left (so replay needs no node layout to decide).
fn trim_and_log(ctx: &mut Ctx, key: &[u8], a: &AddTrim) -> Result<u64, CmdError> {
    let Some(trim) = a.trim else { return Ok(0) };
    let Some(x) = stream_in(ctx.write(key))? else {
        return Ok(0);
    };
    let removed = x.trim(trim, a.approx, a.limit);
    if removed > 0 {
        let (strategy, threshold): (&[u8], Vec<u8>) = match (trim, a.approx) {
            (Trim::MaxLen(n), false) => (b"MAXLEN", n.to_string().into_bytes()),
            (Trim::MinId(id), false) => (b"MINID", id.to_bytes()),
            (Trim::MaxLen(_), true) => (b"MAXLEN", x.len().to_string().into_bytes()),
            (Trim::MinId(_), true) => (
                b"MINID",
                x.edge(false).map_or(StreamId::MAX, |e| e.0).to_bytes(),
            ),
        };
        ctx.propagate(&[b"XTRIM", key, strategy, b"=", &threshold]);
        ctx.notify(notify::STREAM, "xtrim", key);
    }
    Ok(removed)
}

fn xadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let a = parse_add_trim(ctx, argv, true)?;
    let fields = &argv[(a.id_pos + 1).min(argv.len())..];
    if fields.len() < 2 || fields.len() % 2 == 1 {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'xadd' command",
        ));
    }
    if let Some((id, true)) = a.id
        && id == StreamId::MIN
    {
        return Err(CmdError::msg(
            "ERR The ID specified in XADD must be greater than 0-0",
        ));
    }
    let key = argv[1];
    let limits = ctx.st.config.s.stream_nodes;
    let (db, now) = (ctx.db(), ctx.now);
    if stream_in(ctx.write(key))?.is_none() {
        if a.no_mkstream {
            ctx.out.null();
            return Ok(());
        }
        ctx.st
            .ks
            .set(db, key, Value::Stream(Box::default()), Ttl::Clear, now);
    }
    let x = stream_in(ctx.write(key))?.expect("created above");
    if x.last_id == StreamId::MAX {
        return Err(CmdError::msg(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let smaller = || {
        CmdError::msg(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let id = match a.id {
        Some((id, true)) => id,
        Some((id, false)) => {
            if x.last_id.ms == id.ms {
                if x.last_id.seq == u64::MAX {
                    return Err(smaller());
                }
                StreamId::new(id.ms, x.last_id.seq + 1)
            } else {
                id
            }
        }
        None => {
            if now > x.last_id.ms {
                StreamId::new(now, 0)
            } else {
                x.last_id.next().ok_or_else(smaller)?
            }
        }
    };
    if id <= x.last_id {
        return Err(smaller());
    }
    x.append(id, fields, limits);
    let id_s = id.to_bytes();
    let mut effect: Vec<&[u8]> = vec![b"XADD", key, &id_s];
    effect.extend_from_slice(fields);
    ctx.propagate(&effect);
    ctx.notify(notify::STREAM, "xadd", key);
    trim_and_log(ctx, key, &a)?;
    ctx.out.bulk(&id_s);
    Ok(())
}

fn xtrim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let a = parse_add_trim(ctx, argv, false)?;
    if a.id_pos < argv.len() {
        return Err(CmdError::Syntax);
    }
    stream_in(ctx.write(argv[1]))?;
    let removed = trim_and_log(ctx, argv[1], &a)?;
    ctx.out.int(removed as i64);
    Ok(())
}

fn xlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = stream_ref(ctx.read(argv[1]))?.map_or(0, |x| x.len());
    ctx.out.int(n as i64);
    Ok(())
}

/// Write entries as Redis does: [id, [field, value, ...]] each.
fn reply_entries(out: &mut crate::protocol::Reply, entries: &[EntryView]) {
    out.array(entries.len());
    for e in entries {
        reply_entry(out, e);
    }
}

fn range_generic(ctx: &mut Ctx, argv: &[&[u8]], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (argv[3], argv[2])
    } else {
        (argv[2], argv[3])
    };
    // An interval bound: "(" makes it exclusive (not with "-" or "+").
    let bound = |s: &[u8], missing: u64, start: bool| -> Result<StreamId, CmdError> {
        if let Some(rest) = s.strip_prefix(b"(") {
            if rest.len() == 1 && (rest == b"-" || rest == b"+") {
                return Err(CmdError::msg(INVALID_ID));
            }
            let (id, _) = parse_id(rest, missing, true, false)?;
            let moved = if start { id.next() } else { id.prev() };
            moved.ok_or_else(|| {
                CmdError::msg(if start {
                    "ERR invalid start ID for the interval"
                } else {
                    "ERR invalid end ID for the interval"
                })
            })
        } else {
            Ok(parse_id(s, missing, false, false)?.0)
        }
    };
    let start = bound(start_arg, 0, true)?;
    let end = bound(end_arg, u64::MAX, false)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"count") && j + 1 < argv.len() {
            count = arg_i64(argv[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (e, out) = ctx.read_with_out(argv[1]);
    // A missing key answers an empty array; then a COUNT of 0 or less a
    // null one (Redis's `count == 0`).
    let Some(x) = stream_ref(e)? else {
        out.array(0);
        return Ok(());
    };
    if count == 0 {
        out.null_array();
        return Ok(());
    }
    let entries = x.range(start, end, count.max(0) as usize, rev);
    reply_entries(out, &entries);
    Ok(())
}

fn xrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, false)
}

fn xrevrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    range_generic(ctx, argv, true)
}

fn xdel(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // Every ID is checked before anything is deleted.
    let ids = argv[2..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(x) = stream_in(ctx.write(argv[1]))? else {
        ctx.out.int(0);
        return Ok(());
    };
    let deleted = ids.iter().filter(|id| x.delete(**id)).count();
    if deleted > 0 {
        ctx.propagate(argv);
        ctx.notify(notify::STREAM, "xdel", argv[1]);
    }
    ctx.out.int(deleted as i64);
    Ok(())
}

fn xsetid(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let id = strict_id(argv[2])?;
    let mut added: Option<u64> = None;
    let mut max_deleted: Option<StreamId> = None;
    let mut j = 3;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv[j].eq_ignore_ascii_case(b"entriesadded") && more > 0 {
            let n = arg_i64(argv[j + 1])?;
            if n < 0 {
                return Err(CmdError::msg("ERR entries_added must be positive"));
            }
            added = Some(n as u64);
            j += 2;
        } else if argv[j].eq_ignore_ascii_case(b"maxdeletedid") && more > 0 {
            let m = strict_id(argv[j + 1])?;
            if id < m {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            max_deleted = Some(m);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(x) = stream_in(ctx.write(argv[1]))? else {
        return Err(CmdError::NoSuchKey);
    };
    let top = || {
        CmdError::msg("ERR The ID specified in XSETID is smaller than the target stream top item")
    };
    if !x.is_empty() {
        let last = x.edge(true).map_or(StreamId::MIN, |e| e.0);
        if id < last {
            return Err(top());
        }
        if let Some(n) = added
            && (x.len() as u64) > n
        {
            return Err(CmdError::msg(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    // Cairn also refuses an ID below a deleted entry still stored in the
    // last node (Redis 7.0 accepts it): the next XADD would put an entry
    // after a greater ID in that node, and entries stay in ID order here.
    if x.nodes().last().is_some_and(|n| id < n.last_id()) {
        return Err(top());
    }
    x.last_id = id;
    if let Some(n) = added {
        x.entries_added = n;
    }
    if let Some(m) = max_deleted {
        x.max_deleted_id = m;
    }
    ctx.propagate(argv);
    ctx.notify(notify::STREAM, "xsetid", argv[1]);
    ctx.out.ok();
    Ok(())
}

/// The COUNT of a blocked XREAD or XREADGROUP served without one
/// (Redis's `XREAD_BLOCKED_DEFAULT_COUNT`).
pub(super) const BLOCKED_DEFAULT_COUNT: usize = 1000;

/// XREAD's and XREADGROUP's options (`xreadCommand`).
pub(super) struct ReadArgs<'a> {
    pub count: usize,
    /// BLOCK's deadline (Unix ms, 0: forever).
    pub block: Option<u64>,
    pub noack: bool,
    /// XREADGROUP's group and consumer.
    pub group: Option<(&'a [u8], &'a [u8])>,
    /// Where the keys start (after STREAMS).
    pub streams_at: usize,
}

pub(super) fn parse_read<'a>(
    ctx: &Ctx,
    argv: &[&'a [u8]],
    xreadgroup: bool,
) -> Result<ReadArgs<'a>, CmdError> {
    let mut a = ReadArgs {
        count: 0,
        block: None,
        noack: false,
        group: None,
        streams_at: 0,
    };
    let mut j = 1;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let o = argv[j];
        if o.eq_ignore_ascii_case(b"block") && more > 0 {
            a.block = Some(super::blocking::parse_timeout_ms(argv[j + 1], ctx.now)?);
            j += 1;
        } else if o.eq_ignore_ascii_case(b"count") && more > 0 {
            a.count = arg_i64(argv[j + 1])?.max(0) as usize;
            j += 1;
        } else if o.eq_ignore_ascii_case(b"streams") && more > 0 {
            a.streams_at = j + 1;
            break;
        } else if o.eq_ignore_ascii_case(b"group") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            a.group = Some((argv[j + 1], argv[j + 2]));
            j += 2;
        } else if o.eq_ignore_ascii_case(b"noack") {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            a.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if a.streams_at == 0 {
        return Err(CmdError::Syntax);
    }
    if (argv.len() - a.streams_at) % 2 == 1 {
        return Err(CmdError::msg(
            "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
        ));
    }
    if xreadgroup && a.group.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(a)
}

fn xread(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let a = parse_read(ctx, argv, false)?;
    let (mut count, block, first) = (a.count, a.block, a.streams_at);
    if ctx.client.serving.is_some() && count == 0 {
        count = BLOCKED_DEFAULT_COUNT;
    }
    let rest = &argv[first..];
    let n = rest.len() / 2;
    let (keys, id_args) = rest.split_at(n);
    // Resolve the IDs first ("$": the stream's last ID now).
    let mut ids = Vec::with_capacity(n);
    // Every key is looked up here and again below, as Redis does (two
    // hits or two key-miss events per key).
    for (k, a) in keys.iter().zip(id_args) {
        let last = stream_ref(ctx.read(k))?.map_or(StreamId::MIN, |x| x.last_id);
        let id = if *a == b"$" {
            last
        } else if *a == b">" {
            return Err(CmdError::msg(
                "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
            ));
        } else {
            strict_id(a)?
        };
        ids.push(id);
    }
    // Each stream's new entries, written to a buffer of their own as they
    // are found (the reply's header needs their number first).
    let mut found = 0;
    let mut body = crate::protocol::Reply::new(ctx.out.resp3);
    for (k, id) in keys.iter().zip(&ids) {
        if !served_key(ctx, k) {
            continue;
        }
        let Some(x) = stream_ref(ctx.read(k))? else {
            continue;
        };
        if !x.is_empty()
            && x.last_id > *id
            && let Some(from) = id.next()
        {
            let entries = x.range(from, StreamId::MAX, count, false);
            if !entries.is_empty() {
                found += 1;
                if !body.resp3 {
                    body.array(2);
                }
                body.bulk(k);
                reply_entries(&mut body, &entries);
            }
        }
    }
    if found == 0 {
        match block {
            Some(deadline) if !ctx.client.no_block => {
                // Wait with the IDs resolved: a "$" must not move on to
                // the entry that wakes the client.
                let mut again: Vec<Vec<u8>> = argv[..first].iter().map(|a| a.to_vec()).collect();
                again.extend(keys.iter().map(|k| k.to_vec()));
                again.extend(ids.iter().map(|id| id.to_bytes()));
                ctx.client.block = Some(BlockRequest {
                    argv: Some(again),
                    ..BlockRequest::new(keys, deadline)
                });
            }
            _ => ctx.out.null_array(),
        }
        return Ok(());
    }
    reply_streams(ctx.out, found, &body);
    Ok(())
}

/// Whether a read serves stream `k`: any, unless it is a blocked read
/// being served for one key that became ready (Redis answers such a read
/// with that stream alone).
pub(super) fn served_key(ctx: &Ctx, k: &[u8]) -> bool {
    ctx.client.serving.as_deref().is_none_or(|ready| ready == k)
}

/// XREAD's and XREADGROUP's reply: `found` streams (key and entries each,
/// already in `body`), as an array (RESP2) or a map (RESP3).
pub(super) fn reply_streams(
    out: &mut crate::protocol::Reply,
    found: usize,
    body: &crate::protocol::Reply,
) {
    if out.resp3 {
        out.map(found);
    } else {
        out.array(found);
    }
    out.buf.extend_from_slice(&body.buf);
}

fn xinfo_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "xinfo",
        &[
            "CONSUMERS <key> <groupname>",
            "    Show consumers of <groupname>.",
            "GROUPS <key>",
            "    Show the stream consumer groups.",
            "STREAM <key> [FULL [COUNT <count>]",
            "    Show information about the stream.",
        ],
    );
    Ok(())
}

use super::stream_group::{xinfo_consumers, xinfo_groups};

fn xinfo_stream(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // [FULL [COUNT n]]: COUNT 0 shows every entry, default 10.
    let full = match argv.len() {
        3 => None,
        4 if argv[3].eq_ignore_ascii_case(b"full") => Some(10),
        6 if argv[3].eq_ignore_ascii_case(b"full") && argv[4].eq_ignore_ascii_case(b"count") => {
            // A negative COUNT means the default (Redis).
            let n = arg_i64(argv[5])?;
            Some(if n < 0 { 10 } else { n as usize })
        }
        _ => return Err(super::subcommand_syntax(argv)),
    };
    let (e, out) = ctx.read_with_out(argv[2]);
    let x = stream_ref(e)?.ok_or(CmdError::NoSuchKey)?;
    let id = |out: &mut crate::protocol::Reply, k: &str, id: StreamId| {
        out.bulk(k.as_bytes());
        out.bulk(&id.to_bytes());
    };
    let num = |out: &mut crate::protocol::Reply, k: &str, n: u64| {
        out.bulk(k.as_bytes());
        out.int(n as i64);
    };
    out.map(if full.is_some() { 9 } else { 10 });
    num(out, "length", x.len() as u64);
    num(out, "radix-tree-keys", x.node_count() as u64);
    num(out, "radix-tree-nodes", x.rax_node_count() as u64);
    id(out, "last-generated-id", x.last_id);
    id(out, "max-deleted-entry-id", x.max_deleted_id);
    num(out, "entries-added", x.entries_added);
    id(out, "recorded-first-entry-id", x.first_id);
    match full {
        Some(count) => {
            out.bulk(b"entries");
            reply_entries(out, &x.range(StreamId::MIN, StreamId::MAX, count, false));
            out.bulk(b"groups");
            super::stream_group::xinfo_full_groups(out, x, count);
        }
        None => {
            num(out, "groups", x.groups.len() as u64);
            for (name, last) in [("first-entry", false), ("last-entry", true)] {
                out.bulk(name.as_bytes());
                match x.edge(last) {
                    Some(e) => reply_entry(out, &e),
                    None => out.null(),
                }
            }
        }
    }
    Ok(())
}

/// One entry as [id, [field, value, ...]].
pub(super) fn reply_entry(out: &mut crate::protocol::Reply, e: &EntryView) {
    out.array(2);
    out.bulk(&e.0.to_bytes());
    out.array(e.1.len() * 2);
    for (f, v) in &e.1 {
        out.bulk(f);
        out.bulk(v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_as_redis_parses_them() {
        let id = |s: &str, strict| parse_id(s.as_bytes(), 0, strict, true).map(|r| r.0);
        assert_eq!(id("5", true).unwrap(), StreamId::new(5, 0));
        assert_eq!(id("5-3", true).unwrap(), StreamId::new(5, 3));
        assert_eq!(
            parse_id(b"5-*", 0, true, true).unwrap(),
            (StreamId::new(5, 0), false)
        );
        assert!(id("-", true).is_err());
        assert_eq!(id("-", false).unwrap(), StreamId::MIN);
        assert_eq!(id("+", false).unwrap(), StreamId::MAX);
        for bad in [
            "",
            "x",
            "1-x",
            "-1",
            "1--1",
            "1-2-3",
            "18446744073709551616",
        ] {
            assert!(id(bad, true).is_err(), "{bad}");
        }
        assert_eq!(
            parse_id(b"7", u64::MAX, false, false).unwrap().0,
            StreamId::new(7, u64::MAX)
        );
    }
}
