//! Set commands.

use super::hash::{sample_distinct, scan_opts};
use super::{CmdError, CmdResult, Ctx, KEY1, cmd, flag::*};
use crate::commands::Cmd;
use crate::commands::keys::parse_cursor;
use crate::commands::{set_in, set_ref};
use crate::keyspace::types::Set;
use crate::keyspace::{Ttl, Value};
use crate::server::notify;
use crate::util::{eq_ic, glob_match};

const WF: u32 = WRITE | DENYOOM | FAST;
const RF: u32 = READONLY | FAST;
const R: u32 = READONLY;
const W: u32 = WRITE | DENYOOM;
const ALL: (i32, i32, i32) = (1, -1, 1);

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "sadd",
        -3,
        WF,
        KEY1,
        "@write @set @fast",
        "set",
        "Add one or more members to a set",
        sadd,
    ),
    cmd(
        "srem",
        -3,
        WRITE | FAST,
        KEY1,
        "@write @set @fast",
        "set",
        "Remove one or more members from a set",
        srem,
    ),
    cmd(
        "smembers",
        2,
        R,
        KEY1,
        "@read @set @slow",
        "set",
        "Get all the members in a set",
        smembers,
    ),
    cmd(
        "sismember",
        3,
        RF,
        KEY1,
        "@read @set @fast",
        "set",
        "Determine if a given value is a member of a set",
        sismember,
    ),
    cmd(
        "smismember",
        -3,
        RF,
        KEY1,
        "@read @set @fast",
        "set",
        "Returns the membership associated with the given elements for a set",
        smismember,
    ),
    cmd(
        "scard",
        2,
        RF,
        KEY1,
        "@read @set @fast",
        "set",
        "Get the number of members in a set",
        scard,
    ),
    cmd(
        "spop",
        -2,
        WRITE | FAST,
        KEY1,
        "@write @set @fast",
        "set",
        "Remove and return one or multiple random members from a set",
        spop,
    ),
    cmd(
        "srandmember",
        -2,
        R,
        KEY1,
        "@read @set @slow",
        "set",
        "Get one or multiple random members from a set",
        srandmember,
    ),
    cmd(
        "smove",
        4,
        WRITE | FAST,
        (1, 2, 1),
        "@write @set @fast",
        "set",
        "Move a member from one set to another",
        smove,
    ),
    cmd(
        "sinter",
        -2,
        R,
        ALL,
        "@read @set @slow",
        "set",
        "Intersect multiple sets",
        sinter,
    ),
    cmd(
        "sintercard",
        -3,
        R | MOVABLEKEYS,
        (0, 0, 0),
        "@read @set @slow",
        "set",
        "Intersect multiple sets and return the cardinality of the result",
        sintercard,
    ),
    cmd(
        "sunion",
        -2,
        R,
        ALL,
        "@read @set @slow",
        "set",
        "Add multiple sets",
        sunion,
    ),
    cmd(
        "sdiff",
        -2,
        R,
        ALL,
        "@read @set @slow",
        "set",
        "Subtract multiple sets",
        sdiff,
    ),
    cmd(
        "sinterstore",
        -3,
        W,
        ALL,
        "@write @set @slow",
        "set",
        "Intersect multiple sets and store the resulting set in a key",
        sinterstore,
    ),
    cmd(
        "sunionstore",
        -3,
        W,
        ALL,
        "@write @set @slow",
        "set",
        "Add multiple sets and store the resulting set in a key",
        sunionstore,
    ),
    cmd(
        "sdiffstore",
        -3,
        W,
        ALL,
        "@write @set @slow",
        "set",
        "Subtract multiple sets and store the resulting set in a key",
        sdiffstore,
    ),
    cmd(
        "sscan",
        -3,
        R,
        KEY1,
        "@read @set @slow",
        "set",
        "Incrementally iterate Set elements",
        sscan,
    ),
];

fn max_intset(ctx: &Ctx) -> usize {
    ctx.st.config.s.set_max_intset_entries
}

fn read_set<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c Set>, CmdError> {
    set_ref(ctx.read(key))
}

fn write_set<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<Option<&'c mut Set>, CmdError> {
    set_in(ctx.write(key))
}

fn set_or_create<'c>(ctx: &'c mut Ctx, key: &[u8]) -> Result<&'c mut Set, CmdError> {
    if write_set(ctx, key)?.is_none() {
        let db = ctx.db();
        ctx.st
            .ks
            .set(db, key, Value::Set(Box::default()), Ttl::Clear, ctx.now);
    }
    Ok(write_set(ctx, key)?.expect("just created"))
}

fn members_of(s: &Set) -> Vec<Vec<u8>> {
    s.iter().map(|m| m.to_vec()).collect()
}

fn reply_set(ctx: &mut Ctx, items: &[Vec<u8>]) {
    ctx.out.set(items.len());
    for m in items {
        ctx.out.bulk(m);
    }
}

fn sadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let max = max_intset(ctx);
    let s = set_or_create(ctx, argv[1])?;
    let mut added = 0i64;
    for m in &argv[2..] {
        added += s.insert(m, max) as i64;
    }
    if added > 0 {
        ctx.propagate(argv);
        ctx.notify(notify::SET, "sadd", argv[1]);
    }
    ctx.out.int(added);
    Ok(())
}

fn srem(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (removed, empty) = match write_set(ctx, argv[1])? {
        None => (0, false),
        Some(s) => {
            let mut n = 0i64;
            for m in &argv[2..] {
                n += s.remove(m) as i64;
            }
            (n, s.is_empty())
        }
    };
    if removed > 0 {
        ctx.notify(notify::SET, "srem", argv[1]);
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

fn smembers(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let items = read_set(ctx, argv[1])?.map(members_of).unwrap_or_default();
    reply_set(ctx, &items);
    Ok(())
}

fn sismember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let b = read_set(ctx, argv[1])?.is_some_and(|s| s.contains(argv[2]));
    ctx.out.int(b as i64);
    Ok(())
}

fn smismember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r: Vec<bool> = match read_set(ctx, argv[1])? {
        None => vec![false; argv.len() - 2],
        Some(s) => argv[2..].iter().map(|m| s.contains(m)).collect(),
    };
    ctx.out.array(r.len());
    for b in r {
        ctx.out.int(b as i64);
    }
    Ok(())
}

fn scard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = read_set(ctx, argv[1])?.map_or(0, |s| s.len());
    ctx.out.int(n as i64);
    Ok(())
}

fn spop(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = argv[1];
    let count = if argv.len() == 3 {
        match crate::util::parse_i64(argv[2]) {
            Some(n) if n >= 0 => Some(n as u64),
            _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
        }
    } else {
        None
    };
    let db = ctx.db();
    let Some(s) = write_set(ctx, key)? else {
        if count.is_some() {
            ctx.out.set(0);
        } else {
            ctx.out.null();
        }
        return Ok(());
    };
    let popped: Vec<Vec<u8>> = match count {
        None => {
            let m = s.at(rand::random_range(0..s.len())).to_vec();
            s.remove(&m);
            vec![m]
        }
        Some(0) => Vec::new(),
        Some(n) if n >= s.len() as u64 => {
            let all = members_of(s);
            for m in &all {
                s.remove(m);
            }
            all
        }
        Some(n) => {
            let picks: Vec<Vec<u8>> = sample_distinct(s.len(), n as usize)
                .into_iter()
                .map(|i| s.at(i).to_vec())
                .collect();
            for m in &picks {
                s.remove(m);
            }
            picks
        }
    };
    let empty = s.is_empty();
    if !popped.is_empty() {
        ctx.notify(notify::SET, "spop", key);
    }
    if empty {
        ctx.st.ks.remove(db, key);
        ctx.propagate(&[b"DEL", key]);
        ctx.notify(notify::GENERIC, "del", key);
    } else if !popped.is_empty() {
        let mut args: Vec<&[u8]> = vec![b"SREM", key];
        args.extend(popped.iter().map(Vec::as_slice));
        ctx.propagate(&args);
    }
    match count {
        None => ctx.out.bulk(&popped[0]),
        Some(_) => reply_set(ctx, &popped),
    }
    Ok(())
}

fn srandmember(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if argv.len() == 2 {
        let m = read_set(ctx, argv[1])?
            .filter(|s| !s.is_empty())
            .map(|s| s.at(rand::random_range(0..s.len())).to_vec());
        match m {
            Some(m) => ctx.out.bulk(&m),
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
    let items: Vec<Vec<u8>> = match read_set(ctx, argv[1])? {
        None => Vec::new(),
        Some(_) if l == 0 => Vec::new(),
        Some(s) if l < 0 => (0..l.unsigned_abs())
            .map(|_| s.at(rand::random_range(0..s.len())).to_vec())
            .collect(),
        Some(s) if l as u64 >= s.len() as u64 => members_of(s),
        Some(s) => sample_distinct(s.len(), l as usize)
            .into_iter()
            .map(|i| s.at(i).to_vec())
            .collect(),
    };
    ctx.out.array(items.len());
    for m in &items {
        ctx.out.bulk(m);
    }
    Ok(())
}

fn smove(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (src, dst, m) = (argv[1], argv[2], argv[3]);
    let db = ctx.db();
    if ctx.write(src).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    write_set(ctx, src)?;
    write_set(ctx, dst)?;
    if src == dst {
        let b = read_set(ctx, src)?.is_some_and(|s| s.contains(m));
        ctx.out.int(b as i64);
        return Ok(());
    }
    let s = write_set(ctx, src)?.expect("checked");
    if !s.remove(m) {
        ctx.out.int(0);
        return Ok(());
    }
    let emptied = s.is_empty();
    ctx.notify(notify::SET, "srem", src);
    if emptied {
        ctx.st.ks.remove(db, src);
        ctx.notify(notify::GENERIC, "del", src);
    }
    let max = max_intset(ctx);
    if set_or_create(ctx, dst)?.insert(m, max) {
        ctx.notify(notify::SET, "sadd", dst);
    }
    ctx.propagate(argv);
    ctx.out.int(1);
    Ok(())
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Look up all the keys (type-checking every one) and compute `op`.
/// With `limit` (SINTERCARD), the intersection stops at that many.
fn compute(ctx: &mut Ctx, keys: &[&[u8]], op: Op, limit: usize) -> Result<Vec<Vec<u8>>, CmdError> {
    let db = ctx.db();
    let now = ctx.now;
    let mut sets: Vec<Option<Set>> = Vec::with_capacity(keys.len());
    for k in keys {
        let s = match ctx.st.ks.lookup_read(db, k, now) {
            None => None,
            Some(e) => match &e.value {
                Value::Set(s) => Some((**s).clone()),
                _ => return Err(CmdError::WrongType),
            },
        };
        sets.push(s);
    }
    let out = match op {
        Op::Inter => {
            if sets.iter().any(Option::is_none) {
                return Ok(Vec::new());
            }
            let mut sets: Vec<Set> = sets.into_iter().flatten().collect();
            sets.sort_by_key(Set::len);
            let mut r = Vec::new();
            for m in sets[0].iter() {
                if sets[1..].iter().all(|s| s.contains(&m)) {
                    r.push(m.to_vec());
                    if limit != 0 && r.len() >= limit {
                        break;
                    }
                }
            }
            r
        }
        Op::Union => {
            let mut acc = Set::new();
            for s in sets.iter().flatten() {
                for m in s.iter() {
                    acc.insert(&m, usize::MAX);
                }
            }
            members_of(&acc)
        }
        Op::Diff => match &sets[0] {
            None => Vec::new(),
            Some(first) => first
                .iter()
                .filter(|m| !sets[1..].iter().flatten().any(|s| s.contains(m)))
                .map(|m| m.to_vec())
                .collect(),
        },
    };
    Ok(out)
}

fn sinter(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = compute(ctx, &argv[1..], Op::Inter, 0)?;
    reply_set(ctx, &r);
    Ok(())
}

fn sunion(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = compute(ctx, &argv[1..], Op::Union, 0)?;
    reply_set(ctx, &r);
    Ok(())
}

fn sdiff(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let r = compute(ctx, &argv[1..], Op::Diff, 0)?;
    reply_set(ctx, &r);
    Ok(())
}

fn store(ctx: &mut Ctx, argv: &[&[u8]], op: Op) -> CmdResult {
    let r = compute(ctx, &argv[2..], op, 0)?;
    let db = ctx.db();
    let dst = argv[1];
    if r.is_empty() {
        if ctx.st.ks.remove(db, dst).is_some() {
            ctx.propagate(&[b"DEL", dst]);
            ctx.notify(notify::GENERIC, "del", dst);
        }
    } else {
        let max = max_intset(ctx);
        let mut s = Set::new();
        for m in &r {
            s.insert(m, max);
        }
        ctx.st
            .ks
            .set(db, dst, Value::Set(Box::new(s)), Ttl::Clear, ctx.now);
        let mut args: Vec<&[u8]> = vec![b"DEL", dst];
        ctx.propagate(&args);
        args[0] = b"SADD";
        args.extend(r.iter().map(Vec::as_slice));
        ctx.propagate(&args);
        let event = match op {
            Op::Inter => "sinterstore",
            Op::Union => "sunionstore",
            Op::Diff => "sdiffstore",
        };
        ctx.notify(notify::SET, event, dst);
    }
    ctx.out.int(r.len() as i64);
    Ok(())
}

fn sinterstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    store(ctx, argv, Op::Inter)
}

fn sunionstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    store(ctx, argv, Op::Union)
}

fn sdiffstore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    store(ctx, argv, Op::Diff)
}

fn sintercard(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let bad_numkeys = || CmdError::msg("ERR numkeys should be greater than 0");
    let n = crate::util::parse_i64(argv[1]).ok_or_else(bad_numkeys)?;
    if n < 1 {
        return Err(bad_numkeys());
    }
    if n as u64 > (argv.len() - 2) as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    let n = n as usize;
    let mut limit = 0usize;
    let mut j = 2 + n;
    while j < argv.len() {
        if eq_ic(argv[j], b"limit") && j + 1 < argv.len() {
            match crate::util::parse_i64(argv[j + 1]) {
                Some(l) if l >= 0 => limit = l as usize,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let r = compute(ctx, &argv[2..2 + n], Op::Inter, limit)?;
    ctx.out.int(r.len() as i64);
    Ok(())
}

fn sscan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[2])?;
    let (e, out) = ctx.read_with_out(argv[1]);
    let s = set_ref(e)?;
    let Some(s) = s else {
        out.array(2);
        out.bulk(b"0");
        out.array(0);
        return Ok(());
    };
    let (pat, count) = scan_opts(&argv[3..])?;
    let mut items: Vec<Vec<u8>> = Vec::new();
    let mut keep = |m: &[u8]| {
        if pat.is_none_or(|p| glob_match(p, m, false)) {
            items.push(m.to_vec());
        }
    };
    // The compact encoding is returned whole, as Redis does.
    let next = if s.is_compact() {
        s.iter().for_each(|m| keep(&m));
        0
    } else {
        s.scan(cursor, count, keep)
    };
    out.array(2);
    let mut b = itoa::Buffer::new();
    out.bulk(b.format(next).as_bytes());
    out.array(items.len());
    for m in &items {
        out.bulk(m);
    }
    Ok(())
}
