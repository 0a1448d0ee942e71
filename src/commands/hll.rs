//! HyperLogLog commands: PFADD PFCOUNT PFMERGE PFDEBUG PFSELFTEST.
//!
//! An HLL is a string value in Redis's exact byte format
//! (`keyspace::types::hll`). Modifications happen on the stored bytes (a
//! heap string is taken out as a `Vec` and put back, no copy). Effects:
//! PFADD and PFMERGE log their argv (deterministic given the keyspace);
//! PFDEBUG GETREG/TODENSE log `PFDEBUG TODENSE key` when they convert.
//! PFCOUNT refreshes the cached cardinality in memory only and logs
//! nothing: a replayed HLL may hold a stale-marked cache where the live one
//! held a fresh one, which PFCOUNT answers identically.

use super::{CmdError, CmdResult, Ctx, KEY1, cmd, flag::*, since};
use crate::commands::Cmd;
use crate::keyspace::types::hll::{self, Max};
use crate::keyspace::{CompactBytes, Ttl, Value};
use crate::server::notify;

const INVALID: &str = "WRONGTYPE Key is not a valid HyperLogLog string value.";
const CORRUPT: &str = "INVALIDOBJ Corrupted HLL object detected";
const ALL: (i32, i32, i32) = (1, -1, 1);

pub static COMMANDS: &[Cmd] = &[
    since(
        cmd(
            "pfadd",
            -2,
            WRITE | DENYOOM | FAST,
            KEY1,
            "@write @hyperloglog @fast",
            "hyperloglog",
            "Adds the specified elements to the specified HyperLogLog.",
            pfadd,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "pfcount",
            -2,
            READONLY,
            ALL,
            "@read @hyperloglog @slow",
            "hyperloglog",
            "Return the approximated cardinality of the set(s) observed by the HyperLogLog at key(s).",
            pfcount,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "pfmerge",
            -2,
            WRITE | DENYOOM,
            ALL,
            "@write @hyperloglog @slow",
            "hyperloglog",
            "Merge N different HyperLogLogs into a single one.",
            pfmerge,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "pfdebug",
            3,
            WRITE | DENYOOM | ADMIN,
            (2, 2, 1),
            "@write @hyperloglog @admin @slow @dangerous",
            "hyperloglog",
            "Internal commands for debugging HyperLogLog values",
            pfdebug,
        ),
        "2.8.9",
    ),
    since(
        cmd(
            "pfselftest",
            1,
            ADMIN,
            super::NOKEYS,
            "@hyperloglog @admin @slow @dangerous",
            "hyperloglog",
            "An internal command for testing HyperLogLog values",
            pfselftest,
        ),
        "2.8.9",
    ),
];

/// The HLL bytes of a stored value (Redis's `isHLLObjectOrReply`).
fn check(v: &Value) -> Result<&[u8], CmdError> {
    match v.compact_str() {
        Some(b) if hll::is_valid(b) => Ok(b),
        Some(_) => Err(CmdError::msg(INVALID)),
        None if matches!(v, Value::Int(_)) => Err(CmdError::msg(INVALID)),
        None => Err(CmdError::WrongType),
    }
}

/// Take the bytes of a checked HLL value out for modification.
fn take(v: &mut Value) -> Vec<u8> {
    match std::mem::replace(v, Value::Int(0)) {
        Value::Str(b) => b.into_vec(),
        Value::Raw(b) => b.into_vec(),
        other => unreachable!("take() on a checked HLL, got {:?}", other.value_type()),
    }
}

/// Store modified HLL bytes back (Redis keeps them in the "raw" encoding).
fn put(v: &mut Value, h: Vec<u8>) {
    *v = Value::raw(CompactBytes::from_vec(h));
}

/// Add `elems` to `h`: whether a register changed, and how many elements
/// were added before a corrupt sparse stream stopped the loop (all of them
/// if none did). Redis keeps what those did, so the caller stores `h`
/// either way.
fn add_all(h: &mut Vec<u8>, elems: &[&[u8]], max: usize) -> (bool, usize) {
    let mut updated = false;
    for (j, ele) in elems.iter().enumerate() {
        match hll::add(h, ele, max) {
            Ok(changed) => updated |= changed,
            Err(hll::Corrupt) => return (updated, j),
        }
    }
    (updated, elems.len())
}

fn pfadd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let max = ctx.st.config.s.hll_sparse_max_bytes;
    let elems = &argv[2..];
    let (updated, done) = match ctx.write(argv[1]) {
        Some(e) => {
            check(&e.value)?;
            let mut h = take(&mut e.value);
            let r = add_all(&mut h, elems, max);
            put(&mut e.value, h);
            r
        }
        None => {
            let mut h = hll::new_sparse();
            let (_, done) = add_all(&mut h, elems, max);
            // Creating the key counts as an update, even with no elements:
            // the cache is marked stale, as in Redis.
            hll::invalidate(&mut h);
            let db = ctx.db();
            let v = Value::raw(CompactBytes::from_vec(h));
            ctx.st.ks.set(db, argv[1], v, Ttl::Clear, ctx.now);
            (true, done)
        }
    };
    // Elements before a corrupt-HLL failure may have changed registers in
    // place (as in Redis): log exactly those so replay matches.
    if updated {
        ctx.propagate(&argv[..2 + done]);
    }
    if done < elems.len() {
        return Err(CmdError::msg(CORRUPT));
    }
    if updated {
        ctx.notify(notify::STRING, "pfadd", argv[1]);
    }
    ctx.out.int(updated as i64);
    Ok(())
}

fn pfcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 2 {
        // Union of several HLLs: registers merged by maxima; no cache.
        let mut max = Max::default();
        for k in &argv[1..] {
            if let Some(e) = ctx.read(k) {
                let h = check(&e.value)?;
                max.merge(h).map_err(|_| CmdError::msg(CORRUPT))?;
            }
        }
        ctx.out.int(max.count() as i64);
        return Ok(());
    }
    // The cached count may be written back: a mutable read.
    let Some(e) = ctx.read_mut(argv[1]) else {
        ctx.out.int(0);
        return Ok(());
    };
    let h = check(&e.value)?;
    let card = match hll::cached(h) {
        Some(c) => c,
        None => {
            let c = hll::count(h).map_err(|_| CmdError::msg(CORRUPT))?;
            let b = e.value.raw_string_mut(0).expect("checked string");
            hll::set_cache(b.as_mut_slice(), c);
            c
        }
    };
    ctx.out.int(card as i64);
    Ok(())
}

fn pfmerge(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let sparse_max = ctx.st.config.s.hll_sparse_max_bytes;
    let mut max = Max::default();
    let mut use_dense = false;
    for k in &argv[1..] {
        if let Some(e) = ctx.read(k) {
            let h = check(&e.value)?;
            use_dense |= h[4] == hll::DENSE;
            max.merge(h).map_err(|_| CmdError::msg(CORRUPT))?;
        }
    }
    let db = ctx.db();
    if ctx.write(argv[1]).is_none() {
        let v = Value::raw(CompactBytes::from_vec(hll::new_sparse()));
        ctx.st.ks.set(db, argv[1], v, Ttl::Clear, ctx.now);
    }
    let e = ctx.write(argv[1]).expect("present");
    let mut h = take(&mut e.value);
    if use_dense && hll::to_dense(&mut h).is_err() {
        put(&mut e.value, h);
        return Err(CmdError::msg(CORRUPT));
    }
    for (i, &v) in max.0.iter().enumerate() {
        if v != 0 {
            // Redis ignores a corrupt destination here; so do we.
            let _ = hll::set_register(&mut h, i, v, sparse_max);
        }
    }
    hll::invalidate(&mut h);
    put(&mut e.value, h);
    ctx.propagate(argv);
    ctx.notify(notify::STRING, "pfadd", argv[1]);
    ctx.out.ok();
    Ok(())
}

fn pfdebug(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let sub = argv[1];
    let Some(e) = ctx.write(argv[2]) else {
        return Err(CmdError::msg("ERR The specified key does not exist"));
    };
    check(&e.value)?;
    // dbUnshareStringValue: the value is "raw" from here on.
    e.value.raw_string_mut(0);
    let is = |name: &str| sub.eq_ignore_ascii_case(name.as_bytes());
    if is("getreg") || is("todense") {
        let mut h = take(&mut e.value);
        let converted = h[4] == hll::SPARSE;
        let res = hll::to_dense(&mut h);
        put(&mut e.value, h);
        res.map_err(|_| CmdError::msg(CORRUPT))?;
        if converted {
            ctx.propagate(&[b"PFDEBUG", b"TODENSE", argv[2]]);
        }
        if is("todense") {
            ctx.out.int(converted as i64);
            return Ok(());
        }
        let e = ctx.write(argv[2]).expect("present");
        let Value::Raw(h) = &e.value else {
            unreachable!("stored as raw above")
        };
        let regs: Vec<u8> = (0..hll::REGISTERS)
            .map(|i| hll::dense_get(&h[hll::HDR..], i))
            .collect();
        ctx.out.array(regs.len());
        for r in regs {
            ctx.out.int(r as i64);
        }
    } else if is("decode") {
        let h = check(&e.value)?;
        if h[4] != hll::SPARSE {
            return Err(CmdError::msg("ERR HLL encoding is not sparse"));
        }
        let parts: Vec<String> = hll::sparse_ops(h)
            .into_iter()
            .map(|op| match op {
                hll::Op::Zeros { len, long: false } => format!("z:{len}"),
                hll::Op::Zeros { len, long: true } => format!("Z:{len}"),
                hll::Op::Val { value, len } => format!("v:{value},{len}"),
            })
            .collect();
        let s = parts.join(" ");
        ctx.out.bulk(s.as_bytes());
    } else if is("encoding") {
        let dense = check(&e.value)?[4] == hll::DENSE;
        ctx.out.simple(if dense { "dense" } else { "sparse" });
    } else {
        return Err(CmdError::msg(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            super::trunc(sub, usize::MAX)
        )));
    }
    Ok(())
}

/// A cheap self-test of the register packing and of sparse/dense
/// agreement (Redis's PFSELFTEST runs a longer version of the same ideas).
fn pfselftest(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let mut sparse = hll::new_sparse();
    let mut dense = hll::new_sparse();
    if hll::to_dense(&mut dense).is_err() {
        return Err(CmdError::msg("TESTFAILED dense conversion"));
    }
    for i in 0..20_000u32 {
        let ele = i.to_le_bytes();
        let a = hll::add(&mut sparse, &ele, 3000);
        let b = hll::add(&mut dense, &ele, 3000);
        if a.is_err() || a != b {
            return Err(CmdError::msg(format!(
                "TESTFAILED sparse/dense disagree at {i}"
            )));
        }
    }
    let (Ok(a), Ok(b)) = (hll::count(&sparse), hll::count(&dense)) else {
        return Err(CmdError::msg("TESTFAILED count"));
    };
    // 1.04/sqrt(16384) standard error: 5 sigmas is 4%.
    if a != b || a.abs_diff(20_000) > 800 {
        return Err(CmdError::msg(format!(
            "TESTFAILED too big error. card:20000 abserr:{}",
            a.abs_diff(20_000)
        )));
    }
    ctx.out.ok();
    Ok(())
}
