//! Conversions between Redis replies and Lua values, by Redis 7.0's rules
//! (`script_lua.c`).
//!
//! Reply -> Lua (what `redis.call` returns): integer -> number, bulk ->
//! string, null bulk or array -> false, array -> table, status -> `{ok=s}`,
//! error -> `{err=s}`. With `redis.setresp(3)` also map -> `{map={...}}`,
//! set -> `{set={m=true}}`, double -> `{double=n}`, null -> nil, boolean
//! -> boolean, big number -> `{big_number=s}`, verbatim ->
//! `{verbatim_string={format=f, string=s}}`.
//!
//! Lua -> reply (what a script returns): number -> integer (truncated),
//! string -> bulk, true -> 1 and false -> null (RESP3 scripts: booleans),
//! nil -> null, a table with a string `err` -> error, with a string `ok`
//! -> status, `double`, `big_number`, `map`, `set`, `verbatim_string` as
//! above, any other table -> the array of its elements 1..n up to the
//! first nil.

use crate::protocol::Reply;
use mlua::{Table, Value, ffi};

/// Tables nested deeper than this in a script's reply end in an error
/// element (Redis stops at its Lua C-stack limit the same way).
const MAX_DEPTH: usize = 1000;

/// The most elements a Lua 5.1 table can hold in its array part
/// (`MAXASIZE`); a reply with an aggregate longer than this would make
/// Lua raise "table overflow" while it is converted.
const MAX_LUA_ELEMENTS: i64 = 1 << 26;

/// Push the RESP reply at `buf[*pos..]` onto the Lua stack as Redis
/// converts replies for scripts (RESP2 and RESP3 types), moving `*pos`
/// past it. Works on the raw stack: `redis.call` runs once per command a
/// script sends, and this is its reply path. False, with partial values
/// left on the stack for the caller to drop, if an aggregate is longer
/// than a Lua table can hold: checked before the table is made, so Lua
/// never raises "table overflow" across Rust frames.
///
/// # Safety
/// `l` is a valid Lua state, inside a C function Lua called (so its stack
/// may grow). Lua raises an error
/// (a longjmp) only when it runs out of memory, which mlua turns into an
/// abort (no memory limit is set). Nesting is that of command replies (a
/// few levels), well within the stack `lua_checkstack` grows.
#[must_use]
pub unsafe fn push_reply(l: *mut ffi::lua_State, buf: &[u8], pos: &mut usize) -> bool {
    // SAFETY: per the function's contract; every push is preceded by
    // enough stack (`lua_checkstack`), and tables are filled with raw sets
    // on the table just made.
    unsafe {
        ffi::lua_checkstack(l, 4);
        let Some(&tag) = buf.get(*pos) else {
            ffi::lua_pushnil(l);
            return true;
        };
        let line = read_line(buf, pos);
        let text = line.get(1..).unwrap_or_default();
        let num = || -> i64 {
            std::str::from_utf8(text)
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        let push_bytes = |b: &[u8]| ffi::lua_pushlstring(l, b.as_ptr() as *const _, b.len());
        // `{key = <value on the stack top>}`.
        let wrap = |key: &str| {
            ffi::lua_createtable(l, 0, 1);
            ffi::lua_pushlstring(l, key.as_ptr() as *const _, key.len());
            ffi::lua_pushvalue(l, -3);
            ffi::lua_rawset(l, -3);
            ffi::lua_replace(l, -2);
        };
        match tag {
            b'+' => {
                push_bytes(text);
                wrap("ok");
            }
            b'-' => {
                push_bytes(text);
                wrap("err");
            }
            b':' => ffi::lua_pushnumber(l, num() as f64),
            b'$' | b'=' => {
                let n = num();
                if n < 0 {
                    ffi::lua_pushboolean(l, 0);
                    return true;
                }
                let data = take(buf, pos, n as usize);
                if tag == b'=' && data.len() >= 4 {
                    ffi::lua_createtable(l, 0, 2);
                    push_bytes(b"format");
                    push_bytes(&data[..3]);
                    ffi::lua_rawset(l, -3);
                    push_bytes(b"string");
                    push_bytes(&data[4..]);
                    ffi::lua_rawset(l, -3);
                    wrap("verbatim_string");
                } else {
                    push_bytes(data);
                }
            }
            b'*' | b'>' | b'%' | b'~' if num() > MAX_LUA_ELEMENTS => return false,
            b'*' | b'>' => {
                let n = num();
                if n < 0 {
                    ffi::lua_pushboolean(l, 0);
                    return true;
                }
                ffi::lua_createtable(l, n.min(1 << 20) as i32, 0);
                // A count past the buffer's end (malformed input only)
                // stops with the buffer.
                for i in 1..=n {
                    if *pos >= buf.len() {
                        break;
                    }
                    if !push_reply(l, buf, pos) {
                        return false;
                    }
                    ffi::lua_rawseti(l, -2, i);
                }
            }
            b'%' => {
                ffi::lua_createtable(l, 0, num().clamp(0, 1 << 20) as i32);
                for _ in 0..num() {
                    if *pos >= buf.len() {
                        break;
                    }
                    if !push_reply(l, buf, pos) || !push_reply(l, buf, pos) {
                        return false;
                    }
                    set_unless_nil_key(l);
                }
                wrap("map");
            }
            b'~' => {
                ffi::lua_createtable(l, 0, num().clamp(0, 1 << 20) as i32);
                for _ in 0..num() {
                    if *pos >= buf.len() {
                        break;
                    }
                    if !push_reply(l, buf, pos) {
                        return false;
                    }
                    ffi::lua_pushboolean(l, 1);
                    set_unless_nil_key(l);
                }
                wrap("set");
            }
            b',' => {
                ffi::lua_pushnumber(l, crate::util::parse_f64(text).unwrap_or(0.0));
                wrap("double");
            }
            b'#' => ffi::lua_pushboolean(l, (text == b"t") as i32),
            b'(' => {
                push_bytes(text);
                wrap("big_number");
            }
            _ => ffi::lua_pushnil(l),
        }
        true
    }
}

/// `t[k] = v` for the table, key and value on the stack top (popping the
/// key and value); a nil key (a null element) sets nothing, as a raw set
/// would raise.
unsafe fn set_unless_nil_key(l: *mut ffi::lua_State) {
    // SAFETY: the caller pushed a table, a key and a value.
    unsafe {
        if ffi::lua_type(l, -2) == ffi::LUA_TNIL {
            ffi::lua_settop(l, -3);
        } else {
            ffi::lua_rawset(l, -3);
        }
    }
}

/// Push `{err = msg}` as Redis's `luaPushErrorBuff` makes it from an error
/// reply's text (see `error_text`), with `ignore_error_stats_update` set
/// when `counted`.
///
/// # Safety
/// As `push_reply`.
pub unsafe fn push_error_table(l: *mut ffi::lua_State, text: &[u8], counted: bool) {
    let msg = error_text(text);
    // SAFETY: per the function's contract.
    unsafe {
        ffi::lua_checkstack(l, 3);
        ffi::lua_createtable(l, 0, 2);
        ffi::lua_pushlstring(l, b"err".as_ptr() as *const _, 3);
        ffi::lua_pushlstring(l, msg.as_ptr() as *const _, msg.len());
        ffi::lua_rawset(l, -3);
        if counted {
            let k = b"ignore_error_stats_update";
            ffi::lua_pushlstring(l, k.as_ptr() as *const _, k.len());
            ffi::lua_pushboolean(l, 1);
            ffi::lua_rawset(l, -3);
        }
    }
}

/// The line at `*pos` (without CRLF); moves past it.
fn read_line<'a>(buf: &'a [u8], pos: &mut usize) -> &'a [u8] {
    let start = *pos;
    let end = buf[start..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map_or(buf.len(), |i| start + i);
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

/// `n` bytes of bulk data at `*pos` and their CRLF.
fn take<'a>(buf: &'a [u8], pos: &mut usize, n: usize) -> &'a [u8] {
    let start = (*pos).min(buf.len());
    let end = (start + n).min(buf.len());
    *pos = (end + 2).min(buf.len());
    &buf[start..end]
}

/// The message of `{err = msg}` as Redis's `luaPushErrorBuff` makes it
/// from an error reply's text: a leading '-' is dropped, a message without
/// an error code (no space) gets "ERR ", trailing CR/LF are trimmed.
fn error_text(text: &[u8]) -> Vec<u8> {
    let (code, msg): (&[u8], &[u8]) = match text.strip_prefix(b"-") {
        Some(rest) => match rest.iter().position(|&b| b == b' ') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (b"ERR", rest),
        },
        None => (b"ERR", text),
    };
    let mut msg = msg;
    while let Some((&last, rest)) = msg.split_last() {
        if last == b'\r' || last == b'\n' {
            msg = rest;
        } else {
            break;
        }
    }
    let mut out = code.to_vec();
    out.push(b' ');
    out.extend_from_slice(msg);
    out
}

/// A Lua number as Redis turns it into a reply integer (a C cast: out of
/// range or NaN gives i64::MIN, as on x86).
pub fn number_to_i64(n: f64) -> i64 {
    if !(-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&n) {
        i64::MIN
    } else {
        n as i64
    }
}

/// Write `v`, a script's result, as a reply. `resp3_script`: the script
/// called `redis.setresp(3)` (its booleans become RESP3 booleans).
pub fn lua_to_reply(out: &mut Reply, v: &Value, resp3_script: bool, depth: usize) {
    match v {
        Value::Nil => out.null(),
        Value::Boolean(b) => {
            if resp3_script {
                out.boolean(*b);
            } else if *b {
                out.int(1);
            } else {
                out.null();
            }
        }
        Value::Integer(i) => out.int(*i),
        Value::Number(n) => out.int(number_to_i64(*n)),
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Table(t) => table_to_reply(out, t, resp3_script, depth),
        _ => out.null(),
    }
}

fn table_to_reply(out: &mut Reply, t: &Table, resp3_script: bool, depth: usize) {
    if depth >= MAX_DEPTH {
        out.error("ERR reached lua stack limit");
        return;
    }
    let field = |k: &str| t.raw_get::<Value>(k).unwrap_or(Value::Nil);
    if let Value::String(s) = field("err") {
        out.error(&String::from_utf8_lossy(&s.as_bytes()));
        return;
    }
    if let Value::String(s) = field("ok") {
        out.simple(&String::from_utf8_lossy(&s.as_bytes()).replace(['\r', '\n'], " "));
        return;
    }
    match field("double") {
        Value::Number(n) => return out.double(n),
        Value::Integer(i) => return out.double(i as f64),
        _ => {}
    }
    if let Value::String(s) = field("big_number") {
        out.big_number(&s.as_bytes());
        return;
    }
    if let Value::Table(m) = field("map") {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().filter_map(Result::ok).collect();
        out.map(pairs.len());
        for (k, v) in &pairs {
            lua_to_reply(out, k, resp3_script, depth + 1);
            lua_to_reply(out, v, resp3_script, depth + 1);
        }
        return;
    }
    if let Value::Table(s) = field("set") {
        let keys: Vec<Value> = s
            .pairs::<Value, Value>()
            .filter_map(|p| p.ok().map(|(k, _)| k))
            .collect();
        out.set(keys.len());
        for k in &keys {
            lua_to_reply(out, k, resp3_script, depth + 1);
        }
        return;
    }
    if let Value::Table(v) = field("verbatim_string")
        && let (Ok(Value::String(f)), Ok(Value::String(s))) =
            (v.raw_get::<Value>("format"), v.raw_get::<Value>("string"))
    {
        match <&[u8; 3]>::try_from(&f.as_bytes()[..]) {
            Ok(format) => out.verbatim_as(format, &s.as_bytes()),
            Err(_) => out.bulk(&s.as_bytes()),
        }
        return;
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i) {
            Ok(Value::Nil) | Err(_) => break,
            Ok(v) => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        lua_to_reply(out, v, resp3_script, depth + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_text_follows_redis() {
        assert_eq!(error_text(b"-WRONGTYPE Operation"), b"WRONGTYPE Operation");
        assert_eq!(error_text(b"-Oops"), b"ERR Oops");
        assert_eq!(error_text(b"My Error"), b"ERR My Error");
        assert_eq!(error_text(b"-ERR x\r\n"), b"ERR x");
    }

    #[test]
    fn numbers_truncate_like_a_c_cast() {
        assert_eq!(number_to_i64(3.99), 3);
        assert_eq!(number_to_i64(-3.7), -3);
        assert_eq!(number_to_i64(1e20), i64::MIN);
        assert_eq!(number_to_i64(f64::NAN), i64::MIN);
    }

    #[test]
    fn replies_round_trip_through_lua() {
        let lua = mlua::Lua::new();
        let cases: &[&[u8]] = &[
            b"*4\r\n:1\r\n$3\r\nabc\r\n$-1\r\n+OK\r\n",
            b"*2\r\n*1\r\n:-7\r\n$0\r\n\r\n",
        ];
        for buf in cases {
            let mut pos = 0;
            // SAFETY: `exec_raw` hands over a valid state with room for
            // the value pushed.
            let v: Value = unsafe {
                lua.exec_raw((), |l| {
                    assert!(push_reply(l, buf, &mut pos));
                })
            }
            .unwrap();
            assert_eq!(pos, buf.len());
            let mut out = Reply::new(false);
            lua_to_reply(&mut out, &v, false, 0);
            // The null bulk becomes false and is written back as a null.
            assert_eq!(&out.buf, buf);
        }
    }

    #[test]
    fn replies_too_long_for_lua_are_spotted() {
        let lua = mlua::Lua::new();
        let too_big_for_lua = |buf: &[u8]| {
            let mut pos = 0;
            let mut ok = true;
            // SAFETY: `exec_raw` hands over a valid state and drops what
            // the closure leaves on the stack.
            unsafe {
                lua.exec_raw::<()>((), |l| {
                    ok = push_reply(l, buf, &mut pos);
                    mlua::ffi::lua_settop(l, 0);
                })
            }
            .unwrap();
            !ok
        };
        assert!(!too_big_for_lua(b"*2\r\n:1\r\n$3\r\nabc\r\n"));
        assert!(too_big_for_lua(b"*67108865\r\n"));
        assert!(too_big_for_lua(b"*1\r\n%67108865\r\n"));
        // Bulk data that looks like a header is skipped.
        assert!(!too_big_for_lua(b"$11\r\n*99999999\r\n\r\n"));
        assert!(!too_big_for_lua(b"*3\r\n$0\r\n\r\n$-1\r\n+OK\r\n"));
    }
}
