//! SORT and SORT_RO (Redis 7.0 `sort.c`).
//!
//! Behaviour worth knowing, all as in Redis:
//! * `BY` with a pattern without '*' ("nosort") skips sorting: lists and
//!   sorted sets come out in their own order (reversed by DESC), sets in
//!   their iteration order, except that a set with STORE is sorted ALPHA
//!   (so the stored result is deterministic).
//! * Numeric sort parses with C `strtod` (leading spaces, hex, "inf"; an
//!   empty string is 0); equal scores are ordered by the elements' bytes,
//!   and DESC reverses that too. A missing BY key scores 0. (Redis never
//!   clears `errno` before `strtod`, so after one out-of-range score its
//!   next numeric sorts may fail too; Cairn judges each value alone.)
//! * ALPHA without STORE compares as C strings (`strcoll` in the C locale:
//!   bytes up to the first NUL); with STORE it compares whole byte strings.
//!   Elements that compare equal keep their input order (glibc's qsort is
//!   a stable merge sort), except with BY and a LIMIT, where Redis's
//!   partial quicksort (`pqsort`, reproduced here) decides.
//! * STORE replaces the destination with a list (TTL cleared), or deletes
//!   it when the result is empty; the effect is journaled as DEL + RPUSH of
//!   the result, never as a re-run of SORT.

use super::{CmdError, CmdResult, Ctx, KEY1, arg_i64, c_str, cmd, flag::*, since};
use crate::commands::Cmd;
use crate::keyspace::types::List;
use crate::keyspace::{Ttl, Value};
use crate::server::notify;
use crate::util::{eq_ic, sort_score};
use std::cmp::Ordering;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "sort",
        -2,
        WRITE | DENYOOM | MOVABLEKEYS,
        KEY1,
        "@write @set @sortedset @list @slow @dangerous",
        "generic",
        "Sort the elements in a list, set or sorted set",
        sort,
    ),
    since(
        cmd(
            "sort_ro",
            -2,
            READONLY | MOVABLEKEYS,
            KEY1,
            "@read @set @sortedset @list @slow @dangerous",
            "generic",
            "Sort the elements in a list, set or sorted set. Read-only variant of SORT.",
            sort_ro,
        ),
        "7.0.0",
    ),
];

fn sort(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, argv, false)
}

fn sort_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    sort_generic(ctx, argv, true)
}

/// RPUSH batch size for journaling a STORE result.
const STORE_BATCH: usize = 1024;

/// The parsed options.
struct Opts<'a> {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<&'a [u8]>,
    by: Option<&'a [u8]>,
    /// BY a pattern without '*' was given (sticky, as in Redis).
    dontsort: bool,
    gets: Vec<&'a [u8]>,
}

fn parse<'a>(argv: &[&'a [u8]], readonly: bool) -> Result<Opts<'a>, CmdError> {
    let mut o = Opts {
        desc: false,
        alpha: false,
        limit_start: 0,
        limit_count: -1,
        store: None,
        by: None,
        dontsort: false,
        gets: Vec::new(),
    };
    let mut j = 2;
    while j < argv.len() {
        let left = argv.len() - j - 1;
        let a = argv[j];
        if eq_ic(a, b"asc") {
            o.desc = false;
        } else if eq_ic(a, b"desc") {
            o.desc = true;
        } else if eq_ic(a, b"alpha") {
            o.alpha = true;
        } else if eq_ic(a, b"limit") && left >= 2 {
            o.limit_start = arg_i64(argv[j + 1])?;
            o.limit_count = arg_i64(argv[j + 2])?;
            j += 2;
        } else if !readonly && eq_ic(a, b"store") && left >= 1 {
            o.store = Some(argv[j + 1]);
            j += 1;
        } else if eq_ic(a, b"by") && left >= 1 {
            o.by = Some(argv[j + 1]);
            if !c_str(argv[j + 1]).contains(&b'*') {
                o.dontsort = true;
            }
            j += 1;
        } else if eq_ic(a, b"get") && left >= 1 {
            o.gets.push(argv[j + 1]);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// What is being sorted.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// One element of the sort vector.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// The BY value for ALPHA sorts (None if the key or field is missing).
    cmp: Option<Vec<u8>>,
}

/// The elements of the key to sort, in the order Redis loads them, or
/// WRONGTYPE. A missing key sorts as an empty list.
fn load(ctx: &mut Ctx, key: &[u8]) -> Result<(Kind, Vec<Vec<u8>>), CmdError> {
    // One read lookup (statistics, `keymiss`), as Redis's.
    let (kind, items, compact_zset) = match ctx.read(key).map(|e| &e.value) {
        None => return Ok((Kind::List, Vec::new())),
        Some(Value::List(l)) => (Kind::List, l.iter().map(|i| i.to_vec()).collect(), false),
        Some(Value::Set(s)) => {
            let mut v: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            if s.is_compact() {
                // Redis iterates an intset in ascending numeric order.
                v.sort_by_cached_key(|m| crate::util::parse_i64(m).unwrap_or(0));
            }
            (Kind::Set, v, false)
        }
        // Ascending by score: Redis's order with BY nosort; when sorting,
        // equal keys keep this order (Redis's is its dict's).
        Some(Value::ZSet(z)) => (
            Kind::ZSet,
            z.iter().map(|(m, _)| m.to_vec()).collect(),
            z.is_compact(),
        ),
        Some(_) => return Err(CmdError::WrongType),
    };
    // Redis converts a sorted set it sorts to its full encoding, for good
    // (a change of representation only: nothing to log).
    if compact_zset
        && let Some(e) = ctx.write(key)
        && let Value::ZSet(z) = &mut e.value
    {
        z.convert();
    }
    Ok((kind, items))
}

/// `lookupKeyByPattern`: "#" is the element itself; otherwise the first
/// '*' is replaced by the element and the key read, as a string, or as a
/// hash field when the pattern continues with "->field" after the '*'.
/// Patterns are read as C strings for '#', '*' and "->" (as in Redis), but
/// the key and field keep all their bytes.
fn lookup_pattern(ctx: &mut Ctx, pat: &[u8], subst: &[u8]) -> Option<Vec<u8>> {
    if pat.first() == Some(&b'#') && pat.get(1).is_none_or(|&c| c == 0) {
        return Some(subst.to_vec());
    }
    let cpat = c_str(pat);
    let star = cpat.iter().position(|&c| c == b'*')?;
    let arrow = cpat[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < cpat.len());
    let fieldlen = arrow.map_or(0, |f| pat.len() - f - 2);
    let postfix = pat.len() - (star + 1) - arrow.map_or(0, |_| fieldlen + 2);
    let mut key = Vec::with_capacity(pat.len() + subst.len());
    key.extend_from_slice(&pat[..star]);
    key.extend_from_slice(subst);
    key.extend_from_slice(&pat[star + 1..star + 1 + postfix]);
    let e = ctx.read(&key)?;
    match (arrow, &e.value) {
        (Some(f), Value::Hash(h)) => h.get(&pat[f + 2..]).map(|v| v.to_vec()),
        (Some(_), _) => None,
        (None, v) => v.to_bytes(),
    }
}

/// Redis's `sortCompare` for one pair (before DESC).
fn compare(a: &Item, b: &Item, alpha: bool, by: bool, store: bool) -> Ordering {
    if !alpha {
        return a
            .score
            .partial_cmp(&b.score)
            .unwrap_or(Ordering::Equal)
            .then_with(|| a.elem.cmp(&b.elem));
    }
    let (x, y) = if by {
        match (&a.cmp, &b.cmp) {
            (None, None) => return Ordering::Equal,
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(x), Some(y)) => (x, y),
        }
    } else {
        (&a.elem, &b.elem)
    };
    if store {
        x.cmp(y)
    } else {
        c_str(x).cmp(c_str(y))
    }
}

fn sort_generic(ctx: &mut Ctx, argv: &[&[u8]], readonly: bool) -> CmdResult {
    let mut o = parse(argv, readonly)?;
    let (kind, mut elems) = load(ctx, argv[1])?;
    if o.dontsort && kind == Kind::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = elems.len() as i64;
    let mut start = o.limit_start.max(0).min(len);
    let count = o.limit_count.max(-1).min(len);
    let mut end = if count < 0 { len } else { start + count - 1 };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    if end >= len {
        end = len - 1;
    }
    // Lists and sorted sets that are not sorted: their own order (DESC
    // reverses it), cut to the LIMIT range right away.
    if o.dontsort && kind != Kind::Set {
        if o.desc {
            elems.reverse();
        }
        if end >= start {
            elems = elems
                .drain(start as usize..=end as usize)
                .collect::<Vec<_>>();
            end -= start;
            start = 0;
        } else {
            elems.clear();
        }
    }
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();
    let mut bad_score = false;
    if !o.dontsort {
        for it in items.iter_mut() {
            let byval = match o.by {
                Some(p) => match lookup_pattern(ctx, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = Some(byval);
                }
            } else {
                match sort_score(&byval) {
                    Some(s) => it.score = s,
                    None => bad_score = true,
                }
            }
        }
        if !bad_score {
            let (alpha, by, store, desc) = (o.alpha, o.by.is_some(), o.store.is_some(), o.desc);
            let cmp = |a: &Item, b: &Item| {
                let c = compare(a, b, alpha, by, store);
                if desc { c.reverse() } else { c }
            };
            if by && (start != 0 || end != items.len() as i64 - 1) {
                crate::util::pqsort::pqsort(&mut items, &cmp, start, end);
            } else {
                // glibc's qsort, which Redis calls, is a stable merge sort.
                items.sort_by(cmp);
            }
        }
    }
    if bad_score {
        return Err(CmdError::msg(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let range = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &items[..0]
    };
    let per = if o.gets.is_empty() { 1 } else { o.gets.len() };
    let outputlen = range.len() * per;
    // The result: elements, or for each element the GET values.
    let mut result: Vec<Option<Vec<u8>>> = Vec::with_capacity(outputlen);
    for it in range {
        if o.gets.is_empty() {
            result.push(Some(it.elem.clone()));
        }
        for g in &o.gets {
            result.push(lookup_pattern(ctx, g, &it.elem));
        }
    }
    let Some(dst) = o.store else {
        ctx.out.array(result.len());
        for r in &result {
            match r {
                Some(b) => ctx.out.bulk(b),
                None => ctx.out.null(),
            }
        }
        return Ok(());
    };
    store(ctx, dst, result);
    ctx.out.int(outputlen as i64);
    Ok(())
}

/// Replace `dst` with the result as a list (missing GET values become
/// empty strings), or delete it when the result is empty.
fn store(ctx: &mut Ctx, dst: &[u8], result: Vec<Option<Vec<u8>>>) {
    let db = ctx.db();
    let now = ctx.now;
    ctx.st.ks.expire_if_needed(db, dst, now);
    if result.is_empty() {
        if ctx.st.ks.remove(db, dst).is_some() {
            ctx.propagate(&[b"DEL", dst]);
            ctx.notify(notify::GENERIC, "del", dst);
        }
        return;
    }
    let items: Vec<Vec<u8>> = result.into_iter().map(|r| r.unwrap_or_default()).collect();
    let mut list = List::with_fill(ctx.st.config.s.list_max_listpack_size);
    for i in &items {
        list.push(i, false);
    }
    ctx.st
        .ks
        .set(db, dst, Value::List(Box::new(list)), Ttl::Clear, now);
    ctx.propagate(&[b"DEL", dst]);
    for chunk in items.chunks(STORE_BATCH) {
        let mut args: Vec<&[u8]> = Vec::with_capacity(chunk.len() + 2);
        args.push(b"RPUSH");
        args.push(dst);
        args.extend(chunk.iter().map(|i| i.as_slice()));
        ctx.propagate(&args);
    }
    ctx.notify(notify::LIST, "sortstore", dst);
}
