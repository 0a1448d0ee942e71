//! String commands.

use super::{CmdError, CmdResult, Ctx, KEY1, arg_i64, cmd, flag::*, string_bytes};
use crate::commands::Cmd;
use crate::keyspace::{CompactBytes, Ttl, Value};
use crate::server::notify;
use crate::util::{IncrFloat, eq_ic, incr_float};

const W: u32 = WRITE | DENYOOM;
const WF: u32 = WRITE | DENYOOM | FAST;
const RF: u32 = READONLY | FAST;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "get",
        2,
        RF,
        KEY1,
        "@read @string @fast",
        "string",
        "Get the value of a key",
        get,
    ),
    cmd(
        "set",
        -3,
        W,
        KEY1,
        "@write @string @slow",
        "string",
        "Set the string value of a key",
        set,
    ),
    cmd(
        "setnx",
        3,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Set the value of a key, only if the key does not exist",
        setnx,
    ),
    cmd(
        "setex",
        4,
        W,
        KEY1,
        "@write @string @slow",
        "string",
        "Set the value and expiration of a key",
        setex,
    ),
    cmd(
        "psetex",
        4,
        W,
        KEY1,
        "@write @string @slow",
        "string",
        "Set the value and expiration in milliseconds of a key",
        psetex,
    ),
    cmd(
        "mget",
        -2,
        RF,
        (1, -1, 1),
        "@read @string @fast",
        "string",
        "Get the values of all the given keys",
        mget,
    ),
    cmd(
        "mset",
        -3,
        W,
        (1, -1, 2),
        "@write @string @slow",
        "string",
        "Set multiple keys to multiple values",
        mset,
    ),
    cmd(
        "msetnx",
        -3,
        W,
        (1, -1, 2),
        "@write @string @slow",
        "string",
        "Set multiple keys to multiple values, only if none of the keys exist",
        msetnx,
    ),
    cmd(
        "getset",
        3,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Set the string value of a key and return its old value",
        getset,
    ),
    cmd(
        "getdel",
        2,
        WRITE | FAST,
        KEY1,
        "@write @string @fast",
        "string",
        "Get the value of a key and delete the key",
        getdel,
    ),
    cmd(
        "getex",
        -2,
        WRITE | FAST,
        KEY1,
        "@write @string @fast",
        "string",
        "Get the value of a key and optionally set its expiration",
        getex,
    ),
    cmd(
        "append",
        3,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Append a value to a key",
        append,
    ),
    cmd(
        "strlen",
        2,
        RF,
        KEY1,
        "@read @string @fast",
        "string",
        "Get the length of the value stored in a key",
        strlen,
    ),
    cmd(
        "incr",
        2,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Increment the integer value of a key by one",
        incr,
    ),
    cmd(
        "decr",
        2,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Decrement the integer value of a key by one",
        decr,
    ),
    cmd(
        "incrby",
        3,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Increment the integer value of a key by the given amount",
        incrby,
    ),
    cmd(
        "decrby",
        3,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Decrement the integer value of a key by the given number",
        decrby,
    ),
    cmd(
        "incrbyfloat",
        3,
        WF,
        KEY1,
        "@write @string @fast",
        "string",
        "Increment the float value of a key by the given amount",
        incrbyfloat,
    ),
    cmd(
        "getrange",
        4,
        READONLY,
        KEY1,
        "@read @string @slow",
        "string",
        "Get a substring of the string stored at a key",
        getrange,
    ),
    cmd(
        "substr",
        4,
        READONLY,
        KEY1,
        "@read @string @slow",
        "string",
        "Get a substring of the string stored at a key",
        getrange,
    ),
    cmd(
        "setrange",
        4,
        W,
        KEY1,
        "@write @string @slow",
        "string",
        "Overwrite part of a string at key starting at the specified offset",
        setrange,
    ),
    cmd(
        "lcs",
        -3,
        READONLY,
        (1, 2, 1),
        "@read @string @slow",
        "string",
        "Find longest common substring",
        lcs,
    ),
];

/// Fetch a string value for reading: Ok(None) if absent, WRONGTYPE if not a string.
fn read_string(ctx: &mut Ctx, key: &[u8]) -> Result<Option<Vec<u8>>, CmdError> {
    match ctx.read(key) {
        None => Ok(None),
        Some(e) => e.value.to_bytes().map(Some).ok_or(CmdError::WrongType),
    }
}

fn get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.client.db;
    match ctx.st.ks.lookup_read(db, argv[1], ctx.now) {
        None => ctx.out.null(),
        Some(e) => {
            let mut b = itoa::Buffer::new();
            let s = string_bytes(&e.value, &mut b)?;
            ctx.out.bulk(s);
        }
    }
    Ok(())
}

/// Expiry option of SET/GETEX, with its still-unparsed value.
#[derive(Clone, Copy, PartialEq)]
enum Exp<'a> {
    None,
    Ex(&'a [u8]),
    Px(&'a [u8]),
    ExAt(&'a [u8]),
    PxAt(&'a [u8]),
    KeepTtl,
    Persist,
}

impl Exp<'_> {
    fn is_absolute(self) -> bool {
        matches!(self, Exp::ExAt(_) | Exp::PxAt(_))
    }
}

/// Turn an expiry option into an absolute ms time (Redis
/// `getExpireMillisecondsOrReply`): the value must be an integer > 0, and
/// neither the unit conversion nor adding the current time may overflow.
fn expire_ms(exp: Exp, now: u64, name: &'static str) -> Result<Option<u64>, CmdError> {
    let (v, seconds, relative) = match exp {
        Exp::Ex(v) => (v, true, true),
        Exp::Px(v) => (v, false, true),
        Exp::ExAt(v) => (v, true, false),
        Exp::PxAt(v) => (v, false, false),
        _ => return Ok(None),
    };
    let v = arg_i64(v)?;
    if v <= 0 || (seconds && v > i64::MAX / 1000) {
        return Err(CmdError::InvalidExpire(name));
    }
    let mut ms = if seconds { v * 1000 } else { v };
    if relative {
        if ms > i64::MAX - now as i64 {
            return Err(CmdError::InvalidExpire(name));
        }
        ms += now as i64;
    }
    if ms <= 0 {
        return Err(CmdError::InvalidExpire(name));
    }
    Ok(Some(ms as u64))
}

/// Parse the options of SET (is_set) or GETEX exactly like Redis's
/// `parseExtendedStringArgumentsOrReply`: only the syntax is checked here
/// (the expiry value is validated later, by `expire_ms`); an expiry option
/// may be repeated (the last value wins) but not mixed with another one,
/// and NX/XX, KEEPTTL and PERSIST may be repeated.
fn parse_exp_opts<'a>(
    args: &[&'a [u8]],
    is_set: bool,
) -> Result<(Exp<'a>, bool, bool, bool), CmdError> {
    let (mut exp, mut nx, mut xx, mut get) = (Exp::None, false, false, false);
    let mut j = 0;
    while j < args.len() {
        let o = args[j];
        let next = args.get(j + 1).copied();
        let timed = |e: Exp| matches!(e, Exp::Ex(_) | Exp::Px(_) | Exp::ExAt(_) | Exp::PxAt(_));
        if is_set && eq_ic(o, b"nx") && !xx {
            nx = true;
        } else if is_set && eq_ic(o, b"xx") && !nx {
            xx = true;
        } else if is_set && eq_ic(o, b"get") {
            get = true;
        } else if is_set && eq_ic(o, b"keepttl") && !timed(exp) {
            exp = Exp::KeepTtl;
        } else if !is_set && eq_ic(o, b"persist") && !timed(exp) {
            exp = Exp::Persist;
        } else if let Some(n) = next
            && !matches!(exp, Exp::KeepTtl | Exp::Persist)
        {
            let same = |want: fn(&Exp) -> bool| exp == Exp::None || want(&exp);
            exp = if eq_ic(o, b"ex") && same(|e| matches!(e, Exp::Ex(_))) {
                Exp::Ex(n)
            } else if eq_ic(o, b"px") && same(|e| matches!(e, Exp::Px(_))) {
                Exp::Px(n)
            } else if eq_ic(o, b"exat") && same(|e| matches!(e, Exp::ExAt(_))) {
                Exp::ExAt(n)
            } else if eq_ic(o, b"pxat") && same(|e| matches!(e, Exp::PxAt(_))) {
                Exp::PxAt(n)
            } else {
                return Err(CmdError::Syntax);
            };
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok((exp, nx, xx, get))
}

/// Journal a SET of `val` at `key` with the given absolute expiry.
/// Journal a SET and announce it (`set`, then `expire` with a TTL, as
/// Redis's `setGenericCommand`).
fn propagate_set(ctx: &mut Ctx, key: &[u8], val: &[u8], at: Option<u64>, keepttl: bool) {
    ctx.notify(notify::STRING, "set", key);
    if at.is_some() {
        ctx.notify(notify::GENERIC, "expire", key);
    }
    match at {
        Some(ms) => {
            let mut b = itoa::Buffer::new();
            ctx.propagate(&[b"SET", key, val, b"PXAT", b.format(ms).as_bytes()]);
        }
        None if keepttl => ctx.propagate(&[b"SET", key, val, b"KEEPTTL"]),
        None => ctx.propagate(&[b"SET", key, val]),
    }
}

fn set(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (exp, nx, xx, get) = parse_exp_opts(&argv[3..], true)?;
    let at = expire_ms(exp, ctx.now, "set")?;
    let key = argv[1];
    let old = if get {
        Some(read_string(ctx, key)?)
    } else {
        None
    };
    // Plain SET overwrites whatever is there, expired or not, so it skips
    // the lookup; KEEPTTL must not keep the TTL of an expired key.
    let found = (nx || xx || exp == Exp::KeepTtl) && ctx.st.ks.exists(ctx.client.db, key, ctx.now);
    if (nx && found) || (xx && !found) {
        match old {
            Some(Some(v)) => ctx.out.bulk(&v),
            _ => ctx.out.null(),
        }
        return Ok(());
    }
    let ttl = match (at, exp) {
        (Some(ms), _) => Ttl::At(ms),
        (None, Exp::KeepTtl) => Ttl::Keep,
        _ => Ttl::Clear,
    };
    ctx.st
        .ks
        .set_string(ctx.client.db, key, argv[2], ttl, ctx.now);
    propagate_set(ctx, key, argv[2], at, exp == Exp::KeepTtl);
    match old {
        Some(Some(v)) => ctx.out.bulk(&v),
        Some(None) => ctx.out.null(),
        None => ctx.out.ok(),
    }
    Ok(())
}

fn setnx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if ctx.st.ks.exists(ctx.client.db, argv[1], ctx.now) {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.st
        .ks
        .set_string(ctx.client.db, argv[1], argv[2], Ttl::Clear, ctx.now);
    propagate_set(ctx, argv[1], argv[2], None, false);
    ctx.out.int(1);
    Ok(())
}

fn setex_generic(ctx: &mut Ctx, argv: &[&[u8]], ms_unit: bool, name: &'static str) -> CmdResult {
    let exp = if ms_unit {
        Exp::Px(argv[2])
    } else {
        Exp::Ex(argv[2])
    };
    let at = expire_ms(exp, ctx.now, name)?.expect("relative expiry");
    ctx.st
        .ks
        .set_string(ctx.client.db, argv[1], argv[3], Ttl::At(at), ctx.now);
    propagate_set(ctx, argv[1], argv[3], Some(at), false);
    ctx.out.ok();
    Ok(())
}

fn setex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setex_generic(ctx, argv, false, "setex")
}

fn psetex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    setex_generic(ctx, argv, true, "psetex")
}

fn mget(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.out.array(argv.len() - 1);
    let db = ctx.client.db;
    for k in &argv[1..] {
        match ctx.st.ks.lookup_read(db, k, ctx.now) {
            Some(e) => {
                let mut b = itoa::Buffer::new();
                match e.value.str_bytes(&mut b) {
                    Some(s) => ctx.out.bulk(s),
                    None => ctx.out.null(),
                }
            }
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) -> CmdResult {
    if argv.len().is_multiple_of(2) {
        return Err(CmdError::Msg(format!(
            "ERR wrong number of arguments for '{}' command",
            ctx.cmd.name
        )));
    }
    if nx {
        for pair in argv[1..].chunks(2) {
            if ctx.st.ks.exists(ctx.client.db, pair[0], ctx.now) {
                ctx.out.int(0);
                return Ok(());
            }
        }
    }
    for pair in argv[1..].chunks(2) {
        ctx.st
            .ks
            .set_string(ctx.client.db, pair[0], pair[1], Ttl::Clear, ctx.now);
        ctx.notify(notify::STRING, "set", pair[0]);
    }
    let mut args: Vec<&[u8]> = Vec::with_capacity(argv.len());
    args.push(b"MSET");
    args.extend_from_slice(&argv[1..]);
    ctx.propagate(&args);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn mset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    mset_generic(ctx, argv, false)
}

fn msetnx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    mset_generic(ctx, argv, true)
}

fn getset(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let old = read_string(ctx, argv[1])?;
    ctx.st
        .ks
        .set_string(ctx.client.db, argv[1], argv[2], Ttl::Clear, ctx.now);
    propagate_set(ctx, argv[1], argv[2], None, false);
    match old {
        Some(v) => ctx.out.bulk(&v),
        None => ctx.out.null(),
    }
    Ok(())
}

fn getdel(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match read_string(ctx, argv[1])? {
        Some(v) => {
            ctx.st.ks.remove(ctx.client.db, argv[1]);
            ctx.propagate(&[b"DEL", argv[1]]);
            ctx.notify(notify::GENERIC, "del", argv[1]);
            ctx.out.bulk(&v);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn getex(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    // Redis order: option syntax, then the key (a missing key replies nil
    // even with an invalid expiry), then the expiry value.
    let (exp, ..) = parse_exp_opts(&argv[2..], false)?;
    let Some(v) = read_string(ctx, argv[1])? else {
        ctx.out.null();
        return Ok(());
    };
    let at = expire_ms(exp, ctx.now, "getex")?;
    let db = ctx.client.db;
    let key = argv[1];
    if let Some(ms) = at {
        if exp.is_absolute() && ms <= ctx.now && !ctx.st.ks.loading {
            ctx.st.ks.remove(db, key);
            ctx.propagate(&[b"DEL", key]);
            ctx.notify(notify::GENERIC, "del", key);
        } else {
            ctx.st.ks.set_expire(db, key, ms);
            let mut b = itoa::Buffer::new();
            ctx.propagate(&[b"PEXPIREAT", key, b.format(ms).as_bytes()]);
            ctx.notify(notify::GENERIC, "expire", key);
        }
    } else if exp == Exp::Persist
        && ctx.st.ks.dbs[db]
            .table
            .get(key)
            .is_some_and(|e| e.expire_at() != 0)
    {
        ctx.st.ks.set_expire(db, key, 0);
        ctx.propagate(&[b"PERSIST", key]);
        ctx.notify(notify::GENERIC, "persist", key);
    }
    ctx.out.bulk(&v);
    Ok(())
}

fn check_len(ctx: &Ctx, len: usize) -> CmdResult {
    if len as u128 > ctx.st.config.s.proto_max_bulk_len.max(0) as u128 {
        return Err(CmdError::StringTooLong);
    }
    Ok(())
}

fn append(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let max = ctx.st.config.s.proto_max_bulk_len;
    let newlen = match ctx.write(argv[1]) {
        None => {
            // A new key stores the argument as SET would (int/embstr/raw).
            ctx.st
                .ks
                .set_string(ctx.client.db, argv[1], argv[2], Ttl::Clear, ctx.now);
            argv[2].len()
        }
        Some(e) => {
            let mut b = itoa::Buffer::new();
            let cur = string_bytes(&e.value, &mut b)?;
            let total = cur.len() + argv[2].len();
            if total as i64 > max {
                return Err(CmdError::StringTooLong);
            }
            let mut v = Vec::with_capacity(total);
            v.extend_from_slice(cur);
            v.extend_from_slice(argv[2]);
            e.value = Value::raw(CompactBytes::from_vec(v));
            total
        }
    };
    ctx.propagate(&[b"APPEND", argv[1], argv[2]]);
    ctx.notify(notify::STRING, "append", argv[1]);
    ctx.out.int(newlen as i64);
    Ok(())
}

fn strlen(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = match ctx.read(argv[1]) {
        None => 0,
        Some(e) => {
            let mut b = itoa::Buffer::new();
            string_bytes(&e.value, &mut b)?.len()
        }
    };
    ctx.out.int(n as i64);
    Ok(())
}

fn incr_decr(ctx: &mut Ctx, key: &[u8], by: i64) -> CmdResult {
    // One lookup: update in place when the key exists.
    let new = match ctx.write(key) {
        Some(e) => {
            let cur = match &e.value {
                Value::Int(n) => *n,
                v => match v.compact_str() {
                    Some(s) => crate::util::parse_i64(s).ok_or(CmdError::NotInteger)?,
                    None => return Err(CmdError::WrongType),
                },
            };
            let new = cur.checked_add(by).ok_or(CmdError::Overflow)?;
            e.value = Value::Int(new);
            new
        }
        None => {
            let db = ctx.client.db;
            ctx.st.ks.set(db, key, Value::Int(by), Ttl::Clear, ctx.now);
            by
        }
    };
    // Journaled as the increment, as Redis propagates it: replayed on the
    // same state it gives the same result, and `INCR k` is a third shorter
    // than `SET k <n> KEEPTTL` (a third fewer log bytes under INCR load).
    match by {
        1 => ctx.propagate(&[b"INCR", key]),
        -1 => ctx.propagate(&[b"DECR", key]),
        _ => {
            let mut b = itoa::Buffer::new();
            ctx.propagate(&[b"INCRBY", key, b.format(by).as_bytes()]);
        }
    }
    ctx.notify(notify::STRING, "incrby", key);
    ctx.out.int(new);
    Ok(())
}

fn incr(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    incr_decr(ctx, argv[1], 1)
}

fn decr(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    incr_decr(ctx, argv[1], -1)
}

fn incrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let by = arg_i64(argv[2])?;
    incr_decr(ctx, argv[1], by)
}

fn decrby(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let by = arg_i64(argv[2])?;
    if by == i64::MIN {
        return Err(CmdError::msg("ERR decrement would overflow"));
    }
    incr_decr(ctx, argv[1], -by)
}

fn incrbyfloat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cur = match ctx.write(argv[1]) {
        None => None,
        Some(e) => Some(e.value.to_bytes().ok_or(CmdError::WrongType)?),
    };
    let res = match incr_float(cur.as_deref(), argv[2]) {
        IncrFloat::Ok(v) => v,
        IncrFloat::BadCurrent | IncrFloat::BadIncrement => return Err(CmdError::NotFloat),
        IncrFloat::NanOrInf => {
            return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
        }
    };
    let db = ctx.client.db;
    ctx.st.ks.set(
        db,
        argv[1],
        Value::Str(CompactBytes::new(&res)),
        Ttl::Keep,
        ctx.now,
    );
    ctx.propagate(&[b"SET", argv[1], &res, b"KEEPTTL"]);
    ctx.notify(notify::STRING, "incrbyfloat", argv[1]);
    ctx.out.bulk(&res);
    Ok(())
}

fn getrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut start = arg_i64(argv[2])?;
    let mut end = arg_i64(argv[3])?;
    let Some(e) = ctx.read(argv[1]) else {
        ctx.out.bulk(b"");
        return Ok(());
    };
    let mut b = itoa::Buffer::new();
    let s = string_bytes(&e.value, &mut b)?;
    let len = s.len() as i64;
    if start < 0 && end < 0 && start > end {
        ctx.out.bulk(b"");
        return Ok(());
    }
    if start < 0 {
        start += len;
    }
    if end < 0 {
        end += len;
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    if start > end || len == 0 {
        ctx.out.bulk(b"");
    } else {
        let r = s[start as usize..=end as usize].to_vec();
        ctx.out.bulk(&r);
    }
    Ok(())
}

fn setrange(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let offset = arg_i64(argv[2])?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let val = argv[3];
    let offset = offset as usize;
    let cur = match ctx.write(argv[1]) {
        None => None,
        Some(e) => Some(e.value.to_bytes().ok_or(CmdError::WrongType)?),
    };
    let newlen = match cur {
        None => {
            if val.is_empty() {
                ctx.out.int(0);
                return Ok(());
            }
            check_len(ctx, offset.saturating_add(val.len()))?;
            let mut v = vec![0u8; offset + val.len()];
            v[offset..].copy_from_slice(val);
            let n = v.len();
            ctx.st.ks.set(
                ctx.client.db,
                argv[1],
                Value::raw(CompactBytes::from_vec(v)),
                Ttl::Clear,
                ctx.now,
            );
            n
        }
        Some(mut v) => {
            if val.is_empty() {
                ctx.out.int(v.len() as i64);
                return Ok(());
            }
            check_len(ctx, offset.saturating_add(val.len()))?;
            if v.len() < offset + val.len() {
                v.resize(offset + val.len(), 0);
            }
            v[offset..offset + val.len()].copy_from_slice(val);
            let n = v.len();
            ctx.st.ks.set(
                ctx.client.db,
                argv[1],
                Value::raw(CompactBytes::from_vec(v)),
                Ttl::Keep,
                ctx.now,
            );
            n
        }
    };
    ctx.propagate(&[b"SETRANGE", argv[1], argv[2], argv[3]]);
    ctx.notify(notify::STRING, "setrange", argv[1]);
    ctx.out.int(newlen as i64);
    Ok(())
}

fn lcs(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mut getlen, mut getidx, mut withmatchlen) = (false, false, false);
    let mut minmatchlen: i64 = 0;
    let mut j = 3;
    while j < argv.len() {
        let o = argv[j];
        let more = argv.len() - 1 - j;
        if eq_ic(o, b"idx") {
            getidx = true;
        } else if eq_ic(o, b"len") {
            getlen = true;
        } else if eq_ic(o, b"withmatchlen") {
            withmatchlen = true;
        } else if eq_ic(o, b"minmatchlen") && more > 0 {
            minmatchlen = arg_i64(argv[j + 1])?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let db = ctx.client.db;
    let mut fetch = |k: &[u8]| -> Result<Vec<u8>, CmdError> {
        match ctx.st.ks.lookup_read(db, k, ctx.now) {
            None => Ok(Vec::new()),
            Some(e) => e
                .value
                .to_bytes()
                .ok_or_else(|| CmdError::msg("ERR The specified keys must contain string values")),
        }
    };
    let a = fetch(argv[1])?;
    let b = fetch(argv[2])?;
    if getidx && getlen {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u128 + 1) * (blen as u128 + 1) * 4;
    if alen >= u32::MAX as usize - 1 || blen >= u32::MAX as usize - 1 {
        return Err(CmdError::msg("ERR String too long for LCS"));
    }
    if cells > ctx.st.config.s.proto_max_bulk_len as u128 {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    let w = blen + 1;
    let mut dp = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for jj in 1..=blen {
            dp[i * w + jj] = if a[i - 1] == b[jj - 1] {
                dp[(i - 1) * w + jj - 1] + 1
            } else {
                dp[(i - 1) * w + jj].max(dp[i * w + jj - 1])
            };
        }
    }
    let total = dp[alen * w + blen];
    let computelcs = getidx || !getlen;
    let mut result = vec![0u8; total as usize];
    let mut idx = total as usize;
    let mut ranges: Vec<[i64; 5]> = Vec::new();
    let (mut i, mut jj) = (alen, blen);
    let (mut as_, mut ae, mut bs, mut be) = (alen, 0usize, 0usize, 0usize);
    while computelcs && i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            if as_ == alen {
                as_ = i - 1;
                ae = i - 1;
                bs = jj - 1;
                be = jj - 1;
            } else if as_ == i && bs == jj {
                as_ -= 1;
                bs -= 1;
            } else {
                emit = true;
            }
            if as_ == 0 || bs == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            let l1 = dp[(i - 1) * w + jj];
            let l2 = dp[i * w + jj - 1];
            if l1 > l2 {
                i -= 1;
            } else {
                jj -= 1;
            }
            if as_ != alen {
                emit = true;
            }
        }
        let mlen = ae as i64 - as_ as i64 + 1;
        if emit {
            if (minmatchlen == 0 || mlen >= minmatchlen) && getidx {
                ranges.push([as_ as i64, ae as i64, bs as i64, be as i64, mlen]);
            }
            as_ = alen;
        }
    }
    let out = &mut *ctx.out;
    if getidx {
        out.map(2);
        out.bulk(b"matches");
        out.array(ranges.len());
        for r in &ranges {
            out.array(if withmatchlen { 3 } else { 2 });
            out.array(2);
            out.int(r[0]);
            out.int(r[1]);
            out.array(2);
            out.int(r[2]);
            out.int(r[3]);
            if withmatchlen {
                out.int(r[4]);
            }
        }
        out.bulk(b"len");
        out.int(total as i64);
    } else if getlen {
        out.int(total as i64);
    } else {
        out.bulk(&result);
    }
    Ok(())
}
