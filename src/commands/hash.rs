//! Hash commands.

use super::{CmdError, CmdResult, Ctx, KEY1, arg_i64, cmd, flag::*};
use crate::commands::Cmd;
use crate::commands::keys::parse_cursor;
use crate::commands::{hash_in, hash_ref};
use crate::keyspace::types::Hash;
use crate::keyspace::{Ttl, Value};
use crate::server::notify;
use crate::util::{IncrFloat, eq_ic, glob_match, incr_float};

const WF: u32 = WRITE | DENYOOM | FAST;
const RF: u32 = READONLY | FAST;
const R: u32 = READONLY;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "hset",
        -4,
        WF,
        KEY1,
        "@write @hash @fast",
        "hash",
        "Set the string value of a hash field",
        hset,
    ),
    cmd(
        "hsetnx",
        4,
        WF,
        KEY1,
        "@write @hash @fast",
        "hash",
        "Set the value of a hash field, only if the field does not exist",
        hsetnx,
    ),
    cmd(
        "hget",
        3,
        RF,
        KEY1,
        "@read @hash @fast",
        "hash",
        "Get the value of a hash field",
        hget,
    ),
    cmd(
        "hmget",
        -3,
        RF,
        KEY1,
        "@read @hash @fast",
        "hash",
        "Get the values of all the given hash fields",
        hmget,
    ),
    cmd(
        "hmset",
        -4,
        WF,
        KEY1,
        "@write @hash @fast",
        "hash",
        "Set multiple hash fields to multiple values",
        hset,
    ),
    cmd(
        "hdel",
        -3,
        WRITE | FAST,
        KEY1,
        "@write @hash @fast",
        "hash",
        "Delete one or more hash fields",
        hdel,
    ),
    cmd(
        "hlen",
        2,
        RF,
        KEY1,
        "@read @hash @fast",
        "hash",
        "Get the number of fields in a hash",
        hlen,
    ),
    cmd(
        "hstrlen",
        3,
        RF,
        KEY1,
        "@read @hash @fast",
        "hash",
        "Get the length of the value of a hash field",
        hstrlen,
    ),
    cmd(
        "hexists",
        3,
        RF,
        KEY1,
        "@read @hash @fast",
        "hash",
        "Determine if a hash field exists",
        hexists,
    ),
    cmd(
        "hkeys",
        2,
        R,
        KEY1,
        "@read @hash @slow",
        "hash",
        "Get all the fields in a hash",
        hkeys,
    ),
    cmd(
        "hvals",
        2,
        R,
        KEY1,
        "@read @hash @slow",
        "hash",
        "Get all the values in a hash",
        hvals,
    ),
    cmd(
        "hgetall",
        2,
        R,
        KEY1,
        "@read @hash @slow",
        "hash",
        "Get all the fields and values in a hash",
        hgetall,
    ),
    cmd(
        "hincrby",
        4,
        WF,
        KEY1,
        "@write @hash @fast",
        "hash",
        "Increment the integer value of a hash field by the given number",
        hincrby,
    ),
    cmd(
        "hincrbyfloat",
        4,
        WF,
        KEY1,
        "@write @hash @fast",
        "hash",
        "Increment the float value of a hash field by the given amount",
        hincrbyfloat,
    ),
    cmd(
        "hrandfield",
        -2,
        R,
        KEY1,
        "@read @hash @slow",
        "hash",
        "Get one or multiple random fields from a hash",
        hrandfield,
    ),
    cmd(
        "hscan",
        -3,
        R,
        KEY1,
        "@read @hash @slow",
        "hash",
        "Incrementally iterate hash fields and associated values",
        hscan,
    ),
];

/// (hash-max-listpack-entries, hash-max-listpack-value).
fn limits(ctx: &Ctx) -> (usize, usize) {
    let s = &ctx.st.config.s;
    (s.hash_max_listpack_entries, s.hash_max_listpack_value)
}

/// The hash at `key` for reading; `None` if missing.
fn read_hash<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c Hash>, CmdError> {
    hash_ref(ctx.read(key))
}

/// The hash at `key` for writing; `None` if missing.
fn write_hash<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut Hash>, CmdError> {
    hash_in(ctx.write(key))
}

/// The hash at `key`, created empty if missing.
fn hash_or_create<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<&'c mut Hash, CmdError> {
    if write_hash(ctx, key)?.is_none() {
        let db = ctx.db();
        let v = Value::Hash(Box::default());
        ctx.st.ks.set(db, key, v, Ttl::Clear, ctx.now);
    }
    Ok(write_hash(ctx, key)?.expect("just created"))
}

fn hset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::Msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    let (me, mv) = limits(ctx);
    let is_hmset = ctx.cmd.name == "hmset";
    let h = hash_or_create(ctx, argv[1])?;
    let mut added = 0;
    for pair in argv[2..].chunks(2) {
        h.convert_if_needed(me, mv, pair);
        added += h.insert(pair[0], pair[1]) as i64;
    }
    h.convert_if_needed(me, mv, &[]);
    if is_hmset {
        // Logged as HSET (Redis rewrites it for its AOF and replicas too).
        let mut args: Vec<&[u8]> = argv.to_vec();
        args[0] = b"HSET";
        ctx.propagate(&args);
    } else {
        ctx.propagate(argv);
    }
    ctx.notify(notify::HASH, "hset", argv[1]);
    if is_hmset {
        ctx.out.ok();
    } else {
        ctx.out.int(added);
    }
    Ok(())
}

fn hsetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (me, mv) = limits(ctx);
    let h = hash_or_create(ctx, argv[1])?;
    if h.contains(argv[2]) {
        ctx.out.int(0);
        return Ok(());
    }
    h.convert_if_needed(me, mv, &argv[2..4]);
    h.insert(argv[2], argv[3]);
    h.convert_if_needed(me, mv, &[]);
    ctx.propagate(&[b"HSET", argv[1], argv[2], argv[3]]);
    ctx.notify(notify::HASH, "hset", argv[1]);
    ctx.out.int(1);
    Ok(())
}

fn hget(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let v = read_hash(ctx, argv[1])?.and_then(|h| h.get(argv[2]).map(<[u8]>::to_vec));
    match v {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn hmget(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let vals: Vec<Option<Vec<u8>>> = match read_hash(ctx, argv[1])? {
        None => vec![None; argv.len() - 2],
        Some(h) => argv[2..]
            .iter()
            .map(|f| h.get(f).map(<[u8]>::to_vec))
            .collect(),
    };
    ctx.out.array(vals.len());
    for v in vals {
        match v {
            Some(v) => ctx.out.bulk(&v),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn hdel(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (removed, empty) = match write_hash(ctx, argv[1])? {
        None => (0, false),
        Some(h) => {
            let mut n = 0i64;
            for f in &argv[2..] {
                n += h.remove(f) as i64;
            }
            (n, h.is_empty())
        }
    };
    if removed > 0 {
        ctx.notify(notify::HASH, "hdel", argv[1]);
    }
    if empty {
        let db = ctx.db();
        ctx.st.ks.remove(db, argv[1]);
        ctx.notify(notify::GENERIC, "del", argv[1]);
    }
    if removed > 0 {
        ctx.propagate(argv);
    }
    ctx.out.int(removed);
    Ok(())
}

fn hlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_hash(ctx, argv[1])?.map_or(0, |h| h.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hstrlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_hash(ctx, argv[1])?
        .and_then(|h| h.get(argv[2]))
        .map_or(0, |v| v.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn hexists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_hash(ctx, argv[1])?.is_some_and(|h| h.contains(argv[2]));
    ctx.out.int(n as i64);
    Ok(())
}

fn hkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(ctx, argv[1], true, false)
}

fn hvals(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(ctx, argv[1], false, true)
}

fn hgetall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    hgetall_generic(ctx, argv[1], true, true)
}

fn hgetall_generic(ctx: &mut Ctx, key: &[u8], keys: bool, vals: bool) -> CmdResult {
    let (e, out) = ctx.read_with_out(key);
    let h = hash_ref(e)?;
    let n = h.map_or(0, |h| h.len());
    if keys && vals {
        out.map(n);
    } else {
        out.array(n);
    }
    if let Some(h) = h {
        for (f, v) in h.iter() {
            if keys {
                out.bulk(f);
            }
            if vals {
                out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hincrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let by = arg_i64(argv[3])?;
    let (me, mv) = limits(ctx);
    let h = hash_or_create(ctx, argv[1])?;
    let cur = match h.get(argv[2]) {
        None => 0,
        Some(v) => {
            crate::util::parse_i64(v).ok_or(CmdError::msg("ERR hash value is not an integer"))?
        }
    };
    let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
    let mut b = itoa::Buffer::new();
    let s = b.format(new).as_bytes();
    h.convert_if_needed(me, mv, &[argv[2]]);
    h.insert(argv[2], s);
    h.convert_if_needed(me, mv, &[]);
    ctx.propagate(&[b"HSET", argv[1], argv[2], s]);
    ctx.notify(notify::HASH, "hincrby", argv[1]);
    ctx.out.int(new);
    Ok(())
}

fn hincrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match incr_float(None, argv[3]) {
        IncrFloat::Ok(_) => {}
        IncrFloat::NanOrInf => return Err(CmdError::msg("ERR value is NaN or Infinity")),
        _ => return Err(CmdError::NotFloat),
    }
    let (me, mv) = limits(ctx);
    let h = hash_or_create(ctx, argv[1])?;
    let res = match incr_float(h.get(argv[2]), argv[3]) {
        IncrFloat::Ok(v) => v,
        IncrFloat::BadCurrent => return Err(CmdError::msg("ERR hash value is not a float")),
        IncrFloat::BadIncrement => return Err(CmdError::NotFloat),
        IncrFloat::NanOrInf => {
            return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
        }
    };
    h.convert_if_needed(me, mv, &[argv[2], &res]);
    h.insert(argv[2], &res);
    h.convert_if_needed(me, mv, &[]);
    ctx.propagate(&[b"HSET", argv[1], argv[2], &res]);
    ctx.notify(notify::HASH, "hincrbyfloat", argv[1]);
    ctx.out.bulk(&res);
    Ok(())
}

/// `n` distinct positions in 0..len, in random order.
pub(crate) fn sample_distinct(len: usize, n: usize) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..len).collect();
    for i in 0..n.min(len) {
        let j = rand::random_range(i..len);
        idx.swap(i, j);
    }
    idx.truncate(n.min(len));
    idx
}

fn hrandfield(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        let f = read_hash(ctx, argv[1])?
            .filter(|h| !h.is_empty())
            .map(|h| h.at(rand::random_range(0..h.len())).0.to_vec());
        match f {
            Some(f) => ctx.out.bulk(&f),
            None => ctx.out.null(),
        }
        return Ok(());
    }
    let l = crate::util::parse_i64(argv[2]).ok_or(CmdError::NotInteger)?;
    if l == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = if argv.len() > 4 || (argv.len() == 4 && !eq_ic(argv[3], b"withvalues")) {
        return Err(CmdError::Syntax);
    } else if argv.len() == 4 {
        if !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&l) {
            return Err(CmdError::msg("ERR value is out of range"));
        }
        true
    } else {
        false
    };
    let resp3 = ctx.out.resp3;
    let (e, out) = ctx.read_with_out(argv[1]);
    let h = hash_ref(e)?;
    let Some(h) = h.filter(|_| l != 0) else {
        out.array(0);
        return Ok(());
    };
    let picks: Vec<usize> = if l < 0 {
        (0..l.unsigned_abs())
            .map(|_| rand::random_range(0..h.len()))
            .collect()
    } else if l as u64 >= h.len() as u64 {
        (0..h.len()).collect()
    } else {
        sample_distinct(h.len(), l as usize)
    };
    if withvalues && !resp3 {
        out.array(picks.len() * 2);
    } else {
        out.array(picks.len());
    }
    for i in picks {
        let (f, v) = h.at(i);
        if withvalues && resp3 {
            out.array(2);
        }
        out.bulk(f);
        if withvalues {
            out.bulk(v);
        }
    }
    Ok(())
}

/// Parse SCAN-family options after the cursor: (pattern, count).
pub(crate) fn scan_opts<'a>(args: &[&'a [u8]]) -> Result<(Option<&'a [u8]>, usize), CmdError> {
    let mut count = 10usize;
    let mut pat = None;
    let mut j = 0;
    while j < args.len() {
        let more = args.len() - j - 1;
        if eq_ic(args[j], b"count") && more >= 1 {
            let n = arg_i64(args[j + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = n as usize;
        } else if eq_ic(args[j], b"match") && more >= 1 {
            pat = Some(args[j + 1]).filter(|p| *p != b"*");
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    Ok((pat, count))
}

fn hscan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2])?;
    let (e, out) = ctx.read_with_out(argv[1]);
    let h = hash_ref(e)?;
    let Some(h) = h else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let (pat, count) = scan_opts(&argv[3..])?;
    let mut items: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let mut keep = |f: &[u8], v: &[u8]| {
        if pat.is_none_or(|p| glob_match(p, f, false)) {
            items.push((f.to_vec(), v.to_vec()));
        }
    };
    // The compact encoding is returned whole, as Redis does.
    let next = if h.is_compact() {
        h.iter().for_each(|(f, v)| keep(f, v));
        0
    } else {
        h.scan(cursor, count, keep)
    };
    out.array(2);
    let mut b = itoa::Buffer::new();
    out.bulk(b.format(next).as_bytes());
    out.array(items.len() * 2);
    for (f, v) in &items {
        out.bulk(f);
        out.bulk(v);
    }
    Ok(())
}
