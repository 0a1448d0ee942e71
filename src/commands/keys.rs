//! Generic key commands: existence, expiry, iteration, renaming, OBJECT.

use super::{
    CmdError, CmdResult, Ctx, KEY1, NOKEYS, arg_i64, cmd, dispatch_sub, flag::*, help_reply,
    with_subs,
};
use crate::commands::Cmd;
use crate::keyspace::{ValueType, is_expired};
use crate::server::notify;
use crate::util::{eq_ic, glob_match};

const RF: u32 = READONLY | FAST;
const WF: u32 = WRITE | FAST;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "del",
        -2,
        WRITE,
        (1, -1, 1),
        "@keyspace @write @slow",
        "generic",
        "Delete a key",
        del,
    ),
    cmd(
        "unlink",
        -2,
        WF,
        (1, -1, 1),
        "@keyspace @write @fast",
        "generic",
        "Delete a key asynchronously in another thread. Otherwise it is just as DEL, but non blocking.",
        del,
    ),
    cmd(
        "exists",
        -2,
        RF,
        (1, -1, 1),
        "@keyspace @read @fast",
        "generic",
        "Determine if a key exists",
        exists,
    ),
    cmd(
        "type",
        2,
        RF,
        KEY1,
        "@keyspace @read @fast",
        "generic",
        "Determine the type stored at key",
        type_cmd,
    ),
    cmd(
        "expire",
        -3,
        WF,
        KEY1,
        "@keyspace @write @fast",
        "generic",
        "Set a key's time to live in seconds",
        expire,
    ),
    cmd(
        "pexpire",
        -3,
        WF,
        KEY1,
        "@keyspace @write @fast",
        "generic",
        "Set a key's time to live in milliseconds",
        pexpire,
    ),
    cmd(
        "expireat",
        -3,
        WF,
        KEY1,
        "@keyspace @write @fast",
        "generic",
        "Set the expiration for a key as a UNIX timestamp",
        expireat,
    ),
    cmd(
        "pexpireat",
        -3,
        WF,
        KEY1,
        "@keyspace @write @fast",
        "generic",
        "Set the expiration for a key as a UNIX timestamp specified in milliseconds",
        pexpireat,
    ),
    cmd(
        "ttl",
        2,
        RF,
        KEY1,
        "@keyspace @read @fast",
        "generic",
        "Get the time to live for a key in seconds",
        ttl,
    ),
    cmd(
        "pttl",
        2,
        RF,
        KEY1,
        "@keyspace @read @fast",
        "generic",
        "Get the time to live for a key in milliseconds",
        pttl,
    ),
    cmd(
        "expiretime",
        2,
        RF,
        KEY1,
        "@keyspace @read @fast",
        "generic",
        "Get the expiration Unix timestamp for a key",
        expiretime,
    ),
    cmd(
        "pexpiretime",
        2,
        RF,
        KEY1,
        "@keyspace @read @fast",
        "generic",
        "Get the expiration Unix timestamp for a key in milliseconds",
        pexpiretime,
    ),
    cmd(
        "persist",
        2,
        WF,
        KEY1,
        "@keyspace @write @fast",
        "generic",
        "Remove the expiration from a key",
        persist,
    ),
    cmd(
        "keys",
        2,
        READONLY,
        NOKEYS,
        "@keyspace @read @slow @dangerous",
        "generic",
        "Find all keys matching the given pattern",
        keys,
    ),
    cmd(
        "scan",
        -2,
        READONLY,
        NOKEYS,
        "@keyspace @read @slow",
        "generic",
        "Incrementally iterate the keys space",
        scan,
    ),
    cmd(
        "randomkey",
        1,
        READONLY,
        NOKEYS,
        "@keyspace @read @slow",
        "generic",
        "Return a random key from the keyspace",
        randomkey,
    ),
    cmd(
        "rename",
        3,
        WRITE,
        (1, 2, 1),
        "@keyspace @write @slow",
        "generic",
        "Rename a key",
        rename,
    ),
    cmd(
        "renamenx",
        3,
        WF,
        (1, 2, 1),
        "@keyspace @write @fast",
        "generic",
        "Rename a key, only if the new key does not exist",
        renamenx,
    ),
    cmd(
        "copy",
        -3,
        WRITE | DENYOOM,
        (1, 2, 1),
        "@keyspace @write @slow",
        "generic",
        "Copy a key",
        copy,
    ),
    cmd(
        "move",
        3,
        WF,
        KEY1,
        "@keyspace @write @fast",
        "generic",
        "Move a key to another database",
        move_cmd,
    ),
    cmd(
        "touch",
        -2,
        RF,
        (1, -1, 1),
        "@keyspace @read @fast",
        "generic",
        "Alters the last access time of a key(s). Returns the number of existing keys specified.",
        touch,
    ),
    with_subs(
        cmd(
            "object",
            -2,
            0,
            NOKEYS,
            "@slow",
            "generic",
            "A container for object introspection commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "object|encoding",
                3,
                READONLY,
                (2, 2, 1),
                "@keyspace @read @slow",
                "generic",
                "Inspect the internal encoding of a Redis object",
                object_encoding,
            ),
            cmd(
                "object|freq",
                3,
                READONLY,
                (2, 2, 1),
                "@keyspace @read @slow",
                "generic",
                "Get the logarithmic access frequency counter of a Redis object",
                object_freq,
            ),
            cmd(
                "object|idletime",
                3,
                READONLY,
                (2, 2, 1),
                "@keyspace @read @slow",
                "generic",
                "Get the time since a Redis object was last accessed",
                object_idletime,
            ),
            cmd(
                "object|refcount",
                3,
                READONLY,
                (2, 2, 1),
                "@keyspace @read @slow",
                "generic",
                "Get the number of references to the value of the key",
                object_refcount,
            ),
            cmd(
                "object|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@keyspace @slow",
                "generic",
                "Show helpful text about the different subcommands",
                object_help,
            ),
        ],
    ),
];

fn del(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut n = 0;
    let db = ctx.db();
    for k in &argv[1..] {
        ctx.st.ks.expire_if_needed(db, k, ctx.now);
        if ctx.st.ks.delete(db, k) {
            ctx.propagate(&[b"DEL", k]);
            ctx.notify(notify::GENERIC, "del", k);
            n += 1;
        }
    }
    ctx.out.int(n);
    Ok(())
}

fn exists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    let n = argv[1..]
        .iter()
        .filter(|k| ctx.st.ks.lookup_read_notouch(db, k, ctx.now).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

fn type_cmd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    let t = match ctx.st.ks.lookup_read_notouch(db, argv[1], ctx.now) {
        Some(e) => e.value.value_type().name(),
        None => "none",
    };
    ctx.out.simple(t);
    Ok(())
}

fn expire_generic(ctx: &mut Ctx, argv: &[&[u8]], seconds: bool, relative: bool) -> CmdResult {
    let (mut nx, mut xx, mut gt, mut lt) = (false, false, false, false);
    for o in &argv[3..] {
        if eq_ic(o, b"nx") {
            nx = true;
        } else if eq_ic(o, b"xx") {
            xx = true;
        } else if eq_ic(o, b"gt") {
            gt = true;
        } else if eq_ic(o, b"lt") {
            lt = true;
        } else {
            // addReplyErrorFormat trims trailing CR/LF of the message.
            let msg = format!("ERR Unsupported option {}", super::trunc(o, usize::MAX));
            return Err(CmdError::Msg(
                msg.trim_end_matches(['\r', '\n']).to_string(),
            ));
        }
    }
    if nx && (xx || gt || lt) {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if gt && lt {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let name = ctx.cmd.name;
    let mut when = arg_i64(argv[2])?;
    if seconds {
        if !(i64::MIN / 1000..=i64::MAX / 1000).contains(&when) {
            return Err(CmdError::InvalidExpire(name));
        }
        when *= 1000;
    }
    let base = if relative { ctx.now as i64 } else { 0 };
    if when > i64::MAX - base {
        return Err(CmdError::InvalidExpire(name));
    }
    when += base;
    let db = ctx.db();
    let key = argv[1];
    let Some(e) = ctx.write(key) else {
        ctx.out.int(0);
        return Ok(());
    };
    let cur: i64 = if e.expire_at() == 0 {
        -1
    } else {
        e.expire_at() as i64
    };
    if (nx && cur != -1)
        || (xx && cur == -1)
        || (gt && (when <= cur || cur == -1))
        || (lt && cur != -1 && when >= cur)
    {
        ctx.out.int(0);
        return Ok(());
    }
    if when <= ctx.now as i64 && !ctx.st.ks.loading {
        ctx.st.ks.delete(db, key);
        ctx.propagate(&[b"DEL", key]);
        ctx.notify(notify::GENERIC, "del", key);
    } else {
        ctx.st.ks.set_expire(db, key, when as u64);
        let mut b = itoa::Buffer::new();
        ctx.propagate(&[b"PEXPIREAT", key, b.format(when).as_bytes()]);
        ctx.notify(notify::GENERIC, "expire", key);
    }
    ctx.out.int(1);
    Ok(())
}

fn expire(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, true, true)
}
fn pexpire(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, false, true)
}
fn expireat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, true, false)
}
fn pexpireat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    expire_generic(ctx, argv, false, false)
}

fn ttl_generic(ctx: &mut Ctx, key: &[u8], ms: bool, abs: bool) -> CmdResult {
    let db = ctx.db();
    let now = ctx.now as i64;
    let Some(e) = ctx.st.ks.lookup_read_notouch(db, key, ctx.now) else {
        ctx.out.int(-2);
        return Ok(());
    };
    if e.expire_at() == 0 {
        ctx.out.int(-1);
        return Ok(());
    }
    let exp = e.expire_at() as i64;
    let t = if abs { exp } else { (exp - now).max(0) };
    // Redis rounds seconds as (t+500)/1000 for TTL and EXPIRETIME alike;
    // widen so a PXAT near i64::MAX cannot overflow.
    let secs = ((t as i128 + 500) / 1000) as i64;
    ctx.out.int(if ms { t } else { secs });
    Ok(())
}

fn ttl(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], false, false)
}
fn pttl(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], true, false)
}
fn expiretime(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], false, true)
}
fn pexpiretime(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ttl_generic(ctx, argv[1], true, true)
}

fn persist(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    let has = ctx.write(argv[1]).is_some_and(|e| e.expire_at() != 0);
    if has {
        ctx.st.ks.set_expire(db, argv[1], 0);
        ctx.propagate(&[b"PERSIST", argv[1]]);
        ctx.notify(notify::GENERIC, "persist", argv[1]);
    }
    ctx.out.int(has as i64);
    Ok(())
}

fn keys(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let pat = argv[1];
    let all = pat == b"*";
    let now = ctx.now;
    let loading = ctx.st.ks.loading;
    let found: Vec<&[u8]> = ctx.st.ks.dbs[ctx.client.db]
        .table
        .iter()
        .filter(|e| (loading || !is_expired(e, now)) && (all || glob_match(pat, &e.key, false)))
        .map(|e| e.key.as_slice())
        .collect();
    ctx.out.array(found.len());
    for k in found {
        ctx.out.bulk(k);
    }
    Ok(())
}

/// Parse a SCAN cursor like Redis: `strtoul` base 10 over the argument
/// as a C string, rejecting a leading space, trailing garbage and overflow.
/// So "" is 0, "+5" is 5 and "-1" wraps to u64::MAX.
pub fn parse_cursor(a: &[u8]) -> Result<u64, CmdError> {
    let invalid = || CmdError::msg("ERR invalid cursor");
    if a.first().is_some_and(|c| b" \t\n\x0b\x0c\r".contains(c)) {
        return Err(invalid());
    }
    let a = super::c_str(a);
    if a.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match a[0] {
        b'-' => (true, &a[1..]),
        b'+' => (false, &a[1..]),
        _ => (false, a),
    };
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(invalid());
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add((d - b'0') as u64))
            .ok_or_else(invalid)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

fn scan(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let cursor = parse_cursor(argv[1])?;
    let mut count = 10usize;
    let mut pat: Option<&[u8]> = None;
    let mut typ: Option<Option<ValueType>> = None;
    let mut j = 2;
    while j < argv.len() {
        let more = argv.len() - j - 1;
        if eq_ic(argv[j], b"count") && more >= 1 {
            let n = arg_i64(argv[j + 1])?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = n as usize;
        } else if eq_ic(argv[j], b"match") && more >= 1 {
            pat = Some(argv[j + 1]).filter(|p| *p != b"*");
        } else if eq_ic(argv[j], b"type") && more >= 1 {
            typ = Some(ValueType::from_name(argv[j + 1]));
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    let db = ctx.db();
    let mut found: Vec<Vec<u8>> = Vec::new();
    let next = ctx.st.ks.dbs[db].table.scan(cursor, count, |e| {
        if pat.is_some_and(|p| !glob_match(p, &e.key, false)) {
            return;
        }
        if let Some(t) = typ
            && Some(e.value.value_type()) != t
        {
            return;
        }
        found.push(e.key.to_vec());
    });
    // Drop (and lazily delete) expired keys.
    found.retain(|k| !ctx.st.ks.expire_if_needed(db, k, ctx.now));
    ctx.out.array(2);
    let mut b = itoa::Buffer::new();
    ctx.out.bulk(b.format(next).as_bytes());
    ctx.out.array(found.len());
    for k in &found {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn randomkey(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    for _ in 0..100 {
        let key = match ctx.st.ks.dbs[db]
            .table
            .random_entry(|n| rand::random_range(0..n))
        {
            None => break,
            Some(e) => e.key.to_vec(),
        };
        if !ctx.st.ks.expire_if_needed(db, &key, ctx.now) {
            ctx.out.bulk(&key);
            return Ok(());
        }
    }
    ctx.out.null();
    Ok(())
}

fn rename_generic(ctx: &mut Ctx, argv: &[&[u8]], nx: bool) -> CmdResult {
    let (src, dst) = (argv[1], argv[2]);
    let db = ctx.db();
    if ctx.write(src).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            ctx.out.int(0);
        } else {
            ctx.out.ok();
        }
        return Ok(());
    }
    if ctx.st.ks.exists(db, dst, ctx.now) {
        if nx {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.st.ks.delete(db, dst);
    }
    let mut e = ctx.st.ks.remove(db, src).expect("checked above");
    e.key = crate::keyspace::CompactBytes::new(dst);
    ctx.st.ks.insert_entry(db, e);
    ctx.propagate(&[b"RENAME", src, dst]);
    ctx.notify(notify::GENERIC, "rename_from", src);
    ctx.notify(notify::GENERIC, "rename_to", dst);
    if nx {
        ctx.out.int(1);
    } else {
        ctx.out.ok();
    }
    Ok(())
}

fn rename(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, argv, false)
}
fn renamenx(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    rename_generic(ctx, argv, true)
}

fn db_index(ctx: &Ctx, a: &[u8]) -> Result<usize, CmdError> {
    let n = super::arg_i32(a)?;
    if n < 0 || n as usize >= ctx.st.ks.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    Ok(n as usize)
}

fn copy(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let src_db = ctx.db();
    let mut dst_db = src_db;
    let mut replace = false;
    let mut j = 3;
    while j < argv.len() {
        if eq_ic(argv[j], b"replace") {
            replace = true;
        } else if eq_ic(argv[j], b"db") && j + 1 < argv.len() {
            dst_db = db_index(ctx, argv[j + 1])?;
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (src, dst) = (argv[1], argv[2]);
    if src_db == dst_db && src == dst {
        return Err(CmdError::SameObject);
    }
    // A read lookup, as Redis's (hit/miss statistics, `keymiss`).
    let Some(e) = ctx.read(src).cloned() else {
        ctx.out.int(0);
        return Ok(());
    };
    if ctx.st.ks.exists(dst_db, dst, ctx.now) {
        if !replace {
            ctx.out.int(0);
            return Ok(());
        }
        ctx.st.ks.delete(dst_db, dst);
    }
    let mut e = e;
    e.key = crate::keyspace::CompactBytes::new(dst);
    ctx.st.ks.insert_entry(dst_db, e);
    let mut b = itoa::Buffer::new();
    ctx.propagate(&[
        b"COPY",
        src,
        dst,
        b"DB",
        b.format(dst_db).as_bytes(),
        b"REPLACE",
    ]);
    ctx.notify_db(notify::GENERIC, "copy_to", dst, dst_db);
    ctx.out.int(1);
    Ok(())
}

fn move_cmd(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let src_db = ctx.db();
    let dst_db = db_index(ctx, argv[2])?;
    if src_db == dst_db {
        return Err(CmdError::SameObject);
    }
    let key = argv[1];
    if ctx.write(key).is_none() || ctx.st.ks.exists(dst_db, key, ctx.now) {
        ctx.out.int(0);
        return Ok(());
    }
    let e = ctx.st.ks.remove(src_db, key).expect("checked above");
    ctx.st.ks.insert_entry(dst_db, e);
    let mut b = itoa::Buffer::new();
    ctx.propagate(&[b"MOVE", key, b.format(dst_db).as_bytes()]);
    ctx.notify_db(notify::GENERIC, "move_from", key, src_db);
    ctx.notify_db(notify::GENERIC, "move_to", key, dst_db);
    ctx.out.int(1);
    Ok(())
}

fn touch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    let n = argv[1..]
        .iter()
        // Touching the LRU clock is TOUCH's purpose.
        .filter(|k| ctx.st.ks.lookup_read(db, k, ctx.now).is_some())
        .count();
    ctx.out.int(n as i64);
    Ok(())
}

fn object_encoding(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    match ctx.st.ks.peek(db, argv[2], ctx.now) {
        Some(e) => {
            let enc = e.value.encoding();
            ctx.out.bulk(enc.as_bytes());
        }
        None => ctx.out.null(),
    }
    Ok(())
}

/// An LFU policy is on: the keyspace's clocks are LFU counters.
fn lfu(ctx: &Ctx) -> bool {
    ctx.st.ks.access.is_lfu()
}

fn object_freq(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    let Some(stamp) = ctx.st.ks.peek(db, argv[2], ctx.now).map(|e| e.lru) else {
        ctx.out.null();
        return Ok(());
    };
    if !lfu(ctx) {
        return Err(CmdError::msg(
            "ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    let counter = ctx.st.ks.access.counter(stamp, ctx.now);
    ctx.out.int(counter as i64);
    Ok(())
}

fn object_idletime(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    let now_s = crate::keyspace::lru_clock(ctx.now);
    let Some(e) = ctx.st.ks.peek(db, argv[2], ctx.now) else {
        ctx.out.null();
        return Ok(());
    };
    let idle = now_s.wrapping_sub(e.lru) as i64;
    if lfu(ctx) {
        return Err(CmdError::msg(
            "ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.",
        ));
    }
    ctx.out.int(idle);
    Ok(())
}

fn object_refcount(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let db = ctx.db();
    match ctx.st.ks.peek(db, argv[2], ctx.now) {
        // Redis shares the integers 0..9999 (refcount INT_MAX).
        Some(e) => {
            let shared =
                matches!(e.value, crate::keyspace::Value::Int(n) if (0..10000).contains(&n));
            ctx.out.int(if shared { i32::MAX as i64 } else { 1 });
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn object_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "object",
        &[
            "ENCODING <key>",
            "    Return the kind of internal representation used in order to store the value",
            "    associated with a <key>.",
            "FREQ <key>",
            "    Return the access frequency index of the <key>. The returned integer is",
            "    proportional to the logarithm of the recent access frequency of the key.",
            "IDLETIME <key>",
            "    Return the idle time of the <key>, that is the approximated number of",
            "    seconds elapsed since the last access to the key.",
            "REFCOUNT <key>",
            "    Return the number of references of the value associated with the specified",
            "    <key>.",
        ],
    );
    Ok(())
}
