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
use mlua::{Lua, Table, Value};

/// Tables nested deeper than this in a script's reply end in an error
/// element (Redis stops at its Lua C-stack limit the same way).
const MAX_DEPTH: usize = 1000;

/// The Lua value of the reply starting at `buf[*pos]` (a reply our own
/// encoder wrote, so well formed; anything else becomes nil).
pub fn reply_to_lua(lua: &Lua, buf: &[u8], pos: &mut usize) -> mlua::Result<Value> {
    let Some(&tag) = buf.get(*pos) else {
        return Ok(Value::Nil);
    };
    let line = read_line(buf, pos);
    let text = &line[1..];
    let num = || -> i64 {
        std::str::from_utf8(text)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    };
    Ok(match tag {
        b'+' => single(lua, "ok", Value::String(lua.create_string(text)?))?,
        b'-' => single(lua, "err", Value::String(lua.create_string(text)?))?,
        b':' => Value::Integer(num()),
        b'$' | b'=' => {
            let n = num();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let data = take(buf, pos, n as usize);
            if tag == b'=' && data.len() >= 4 {
                let v = lua.create_table()?;
                v.raw_set("format", lua.create_string(&data[..3])?)?;
                v.raw_set("string", lua.create_string(&data[4..])?)?;
                single(lua, "verbatim_string", Value::Table(v))?
            } else {
                Value::String(lua.create_string(data)?)
            }
        }
        b'*' | b'>' => {
            let n = num();
            if n < 0 {
                return Ok(Value::Boolean(false));
            }
            let t = lua.create_table()?;
            for i in 1..=n {
                let v = reply_to_lua(lua, buf, pos)?;
                t.raw_set(i, v)?;
            }
            Value::Table(t)
        }
        b'%' => {
            let t = lua.create_table()?;
            for _ in 0..num() {
                let k = reply_to_lua(lua, buf, pos)?;
                let v = reply_to_lua(lua, buf, pos)?;
                t.raw_set(k, v)?;
            }
            single(lua, "map", Value::Table(t))?
        }
        b'~' => {
            let t = lua.create_table()?;
            for _ in 0..num() {
                let k = reply_to_lua(lua, buf, pos)?;
                t.raw_set(k, true)?;
            }
            single(lua, "set", Value::Table(t))?
        }
        b',' => {
            let d = crate::util::parse_f64(text).unwrap_or(0.0);
            single(lua, "double", Value::Number(d))?
        }
        b'#' => Value::Boolean(text == b"t"),
        b'(' => single(lua, "big_number", Value::String(lua.create_string(text)?))?,
        _ => Value::Nil,
    })
}

fn single(lua: &Lua, key: &str, v: Value) -> mlua::Result<Value> {
    let t = lua.create_table()?;
    t.raw_set(key, v)?;
    Ok(Value::Table(t))
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

/// `{err = msg}` as Redis's `luaPushErrorBuff` makes it from an error
/// reply's text: a leading '-' is dropped, a message without an error
/// code (no space) gets "ERR ", trailing CR/LF are trimmed.
pub fn error_table(lua: &Lua, text: &[u8]) -> mlua::Result<Value> {
    single(
        lua,
        "err",
        Value::String(lua.create_string(error_text(text))?),
    )
}

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
        let lua = Lua::new();
        let mut pos = 0;
        let buf = b"*4\r\n:1\r\n$3\r\nabc\r\n$-1\r\n+OK\r\n";
        let v = reply_to_lua(&lua, buf, &mut pos).unwrap();
        assert_eq!(pos, buf.len());
        let mut out = Reply::new(false);
        lua_to_reply(&mut out, &v, false, 0);
        // false (the null bulk) ends the array for Lua? No: false is a
        // value, so it is kept and written as a null.
        assert_eq!(out.buf, b"*4\r\n:1\r\n$3\r\nabc\r\n$-1\r\n+OK\r\n");
    }
}
