//! The Rust halves of the libraries Redis gives scripts: `bit` (LuaBitOp),
//! `cjson` (lua-cjson 2.1's encode/decode rules) and the primitives under
//! `redis.sha1hex` and `redis.log`. `env.lua` wraps the ones that can fail
//! so that their errors carry the script's line, as Redis's do.

use crate::util::fmt_double_g14;
use mlua::{LightUserData, Lua, Table, Value, Variadic};

/// `redis`'s constants and the Rust primitives `env.lua` builds on.
pub fn install_redis(
    lua: &Lua,
    redis: &Table,
    version: &str,
    version_num: i64,
) -> mlua::Result<()> {
    redis.raw_set("REDIS_VERSION", version)?;
    redis.raw_set("REDIS_VERSION_NUM", version_num)?;
    for (name, v) in [
        ("LOG_DEBUG", 0),
        ("LOG_VERBOSE", 1),
        ("LOG_NOTICE", 2),
        ("LOG_WARNING", 3),
        ("REPL_NONE", 0),
        ("REPL_AOF", 1),
        ("REPL_SLAVE", 2),
        ("REPL_REPLICA", 2),
        ("REPL_ALL", 3),
    ] {
        redis.raw_set(name, v)?;
    }
    let sha1 = lua.create_function(|_, s: mlua::LuaString| Ok(super::sha1_hex(&s.as_bytes())))?;
    redis.raw_set("__sha1", sha1)?;
    let log = lua.create_function(|_, (level, msg): (i64, mlua::LuaString)| {
        let msg = String::from_utf8_lossy(&msg.as_bytes()).into_owned();
        match level {
            0 => tracing::debug!("{msg}"),
            1 | 2 => tracing::info!("{msg}"),
            _ => tracing::warn!("{msg}"),
        }
        Ok(())
    })?;
    redis.raw_set("__log", log)?;
    Ok(())
}

/// LuaBitOp's argument normalisation: to a 32-bit signed integer, modulo
/// 2^32, rounding to nearest.
fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    n.round_ties_even().rem_euclid(4_294_967_296.0) as u32 as i32
}

/// The `bit` library (LuaBitOp 1.0, as bundled with Redis).
pub fn bit(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("tobit", lua.create_function(|_, x: f64| Ok(tobit(x)))?)?;
    t.raw_set("bnot", lua.create_function(|_, x: f64| Ok(!tobit(x)))?)?;
    type Fold = fn(i32, i32) -> i32;
    for (name, f) in [
        ("band", (|a, b| a & b) as Fold),
        ("bor", |a, b| a | b),
        ("bxor", |a, b| a ^ b),
    ] {
        t.raw_set(
            name,
            lua.create_function(move |_, (x, rest): (f64, Variadic<f64>)| {
                Ok(rest.iter().fold(tobit(x), |acc, &y| f(acc, tobit(y))))
            })?,
        )?;
    }
    type Shift = fn(i32, u32) -> i32;
    for (name, f) in [
        ("lshift", (|a: i32, n| ((a as u32) << n) as i32) as Shift),
        ("rshift", |a, n| ((a as u32) >> n) as i32),
        ("arshift", |a, n| a >> n),
        ("rol", |a, n| (a as u32).rotate_left(n) as i32),
        ("ror", |a, n| (a as u32).rotate_right(n) as i32),
    ] {
        t.raw_set(
            name,
            lua.create_function(move |_, (x, n): (f64, f64)| {
                Ok(f(tobit(x), (tobit(n) & 31) as u32))
            })?,
        )?;
    }
    t.raw_set(
        "bswap",
        lua.create_function(|_, x: f64| Ok(tobit(x).swap_bytes()))?,
    )?;
    t.raw_set(
        "tohex",
        lua.create_function(|_, (x, n): (f64, Option<f64>)| {
            let mut n = n.map_or(8, tobit);
            let upper = n < 0;
            if upper {
                n = -n;
            }
            let n = n.clamp(0, 8) as usize;
            let v = tobit(x) as u32;
            let s = if upper {
                format!("{v:08X}")
            } else {
                format!("{v:08x}")
            };
            Ok(s[8 - n..].to_string())
        })?,
    )?;
    Ok(t)
}

/// `cjson`: `encode`/`decode` return (true, result) or (false, message);
/// `env.lua` raises the message. `null` is the NULL light userdata, as in
/// lua-cjson.
pub fn cjson(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "null",
        Value::LightUserData(LightUserData(std::ptr::null_mut())),
    )?;
    t.raw_set(
        "encode",
        lua.create_function(|lua, v: Value| {
            let mut out = Vec::new();
            Ok(match encode(&mut out, &v, 0) {
                Ok(()) => (true, Value::String(lua.create_string(&out)?)),
                Err(msg) => (false, Value::String(lua.create_string(msg)?)),
            })
        })?,
    )?;
    t.raw_set(
        "decode",
        lua.create_function(|lua, s: mlua::LuaString| {
            let bytes = s.as_bytes();
            let mut d = Decoder {
                lua,
                s: &bytes,
                pos: 0,
                depth: 0,
            };
            Ok(match d.document() {
                Ok(v) => (true, v),
                Err(msg) => (false, Value::String(lua.create_string(msg)?)),
            })
        })?,
    )?;
    Ok(t)
}

const MAX_NESTING: usize = 1000;

/// For the `cjson` fuzz target: decode `data` as `cjson.decode` does;
/// whatever decodes must encode (unless it holds a non-finite number, which
/// JSON cannot hold either way), and the encoding decode again to a value
/// that encodes the same.
pub fn json_round_trip(data: &[u8]) -> Result<(), String> {
    let lua = Lua::new();
    let mut d = Decoder {
        lua: &lua,
        s: data,
        pos: 0,
        depth: 0,
    };
    let Ok(v) = d.document() else {
        return Ok(());
    };
    let mut first = Vec::new();
    if let Err(e) = encode(&mut first, &v, 0) {
        // Numbers that overflow to infinity ("1e999") cannot be encoded;
        // sparse arrays neither ({"1": ...} decodes to a string key, so
        // only arrays with nulls: those encode).
        if e.starts_with("Cannot serialise number") {
            return Ok(());
        }
        return Err(format!("decoded but does not encode: {e}"));
    }
    let mut d = Decoder {
        lua: &lua,
        s: &first,
        pos: 0,
        depth: 0,
    };
    let v2 = d
        .document()
        .map_err(|e| format!("own output does not decode: {e}"))?;
    let mut second = Vec::new();
    encode(&mut second, &v2, 0).map_err(|e| format!("second encode: {e}"))?;
    if first.len() != second.len() {
        return Err("encodings differ in length".into());
    }
    Ok(())
}

fn encode(out: &mut Vec<u8>, v: &Value, depth: usize) -> Result<(), String> {
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::LightUserData(p) if p.0.is_null() => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        // Lua 5.1 numbers are all doubles (mlua hands integral ones over as
        // integers): one format for both.
        Value::Integer(i) => out.extend_from_slice(fmt_double_g14(*i as f64).as_bytes()),
        Value::Number(n) => {
            if !n.is_finite() {
                return Err("Cannot serialise number: must not be NaN or Inf".into());
            }
            out.extend_from_slice(fmt_double_g14(*n).as_bytes());
        }
        Value::String(s) => encode_string(out, &s.as_bytes()),
        Value::Table(t) => {
            if depth + 1 > MAX_NESTING {
                return Err(format!(
                    "Cannot serialise, excessive nesting ({})",
                    depth + 1
                ));
            }
            let pairs: Vec<(Value, Value)> =
                t.pairs::<Value, Value>().filter_map(Result::ok).collect();
            // An array: only positive integer keys, not excessively sparse
            // (lua-cjson's defaults: ratio 2, safe up to index 10).
            let mut max = 0usize;
            let mut array = true;
            for (k, _) in &pairs {
                let idx = match k {
                    Value::Integer(i) if *i >= 1 => Some(*i as usize),
                    Value::Number(n) if *n >= 1.0 && n.fract() == 0.0 => Some(*n as usize),
                    _ => None,
                };
                match idx {
                    Some(i) => max = max.max(i),
                    None => {
                        array = false;
                        break;
                    }
                }
            }
            if array && max > 0 {
                if max > 10 && max > pairs.len() * 2 {
                    return Err("Cannot serialise table: excessively sparse array".into());
                }
                out.push(b'[');
                for i in 1..=max {
                    if i > 1 {
                        out.push(b',');
                    }
                    let v = t.raw_get::<Value>(i).unwrap_or(Value::Nil);
                    encode(out, &v, depth + 1)?;
                }
                out.push(b']');
            } else {
                out.push(b'{');
                for (n, (k, v)) in pairs.iter().enumerate() {
                    if n > 0 {
                        out.push(b',');
                    }
                    match k {
                        Value::String(s) => encode_string(out, &s.as_bytes()),
                        Value::Integer(i) => {
                            encode_string(out, fmt_double_g14(*i as f64).as_bytes())
                        }
                        Value::Number(x) => encode_string(out, fmt_double_g14(*x).as_bytes()),
                        other => {
                            return Err(format!(
                                "Cannot serialise {}: table key must be a number or string",
                                other.type_name()
                            ));
                        }
                    }
                    out.push(b':');
                    encode(out, v, depth + 1)?;
                }
                out.push(b'}');
            }
        }
        other => {
            return Err(format!(
                "Cannot serialise {}: type not supported",
                other.type_name()
            ));
        }
    }
    Ok(())
}

fn encode_string(out: &mut Vec<u8>, s: &[u8]) {
    out.push(b'"');
    for &b in s {
        match b {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'/' => out.extend_from_slice(b"\\/"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            b'\t' => out.extend_from_slice(b"\\t"),
            0x08 => out.extend_from_slice(b"\\b"),
            0x0c => out.extend_from_slice(b"\\f"),
            0..=0x1f | 0x7f => out.extend_from_slice(format!("\\u{b:04x}").as_bytes()),
            _ => out.push(b),
        }
    }
    out.push(b'"');
}

struct Decoder<'a> {
    lua: &'a Lua,
    s: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Decoder<'_> {
    fn document(&mut self) -> Result<Value, String> {
        let v = self.value()?;
        self.ws();
        if self.pos < self.s.len() {
            return Err(self.expected("the end", self.token_name()));
        }
        Ok(v)
    }

    fn ws(&mut self) {
        while self.pos < self.s.len() && matches!(self.s[self.pos], b' ' | b'\t' | b'\n' | b'\r') {
            self.pos += 1;
        }
    }

    fn expected(&self, what: &str, found: &str) -> String {
        format!(
            "Expected {what} but found {found} at character {}",
            self.pos + 1
        )
    }

    fn token_name(&self) -> &'static str {
        match self.s.get(self.pos) {
            None => "T_END",
            Some(b'{') => "T_OBJ_BEGIN",
            Some(b'}') => "T_OBJ_END",
            Some(b'[') => "T_ARR_BEGIN",
            Some(b']') => "T_ARR_END",
            Some(b',') => "T_COMMA",
            Some(b':') => "T_COLON",
            Some(b'"') => "T_STRING",
            Some(b'-' | b'0'..=b'9') if self.number().is_some() => "T_NUMBER",
            Some(b'-' | b'0'..=b'9') => "invalid number",
            _ if self.s[self.pos..].starts_with(b"true") => "T_BOOLEAN",
            _ if self.s[self.pos..].starts_with(b"false") => "T_BOOLEAN",
            _ if self.s[self.pos..].starts_with(b"null") => "T_NULL",
            _ => "invalid token",
        }
    }

    /// The number at `pos` and its length: the longest prefix that parses,
    /// as lua-cjson's `strtod` takes it ("1.2.3" is 1.2, then ".3" is left).
    fn number(&self) -> Option<(f64, usize)> {
        let run = self.s[self.pos..]
            .iter()
            .take_while(|b| matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'))
            .count();
        let text = std::str::from_utf8(&self.s[self.pos..self.pos + run]).ok()?;
        (1..=run)
            .rev()
            .find_map(|len| text[..len].parse::<f64>().ok().map(|n| (n, len)))
    }

    fn lua_err(e: mlua::Error) -> String {
        e.to_string()
    }

    fn value(&mut self) -> Result<Value, String> {
        self.ws();
        let Some(&c) = self.s.get(self.pos) else {
            return Err(self.expected("value", "T_END"));
        };
        match c {
            b'{' => self.container(b'}', "comma or object end", |d, t, _| {
                d.ws();
                if d.s.get(d.pos) != Some(&b'"') {
                    return Err(d.expected("object key string", d.token_name()));
                }
                let k = d.string()?;
                d.ws();
                if d.s.get(d.pos) != Some(&b':') {
                    return Err(d.expected("colon", d.token_name()));
                }
                d.pos += 1;
                let v = d.value()?;
                let k = d.lua.create_string(&k).map_err(Self::lua_err)?;
                t.raw_set(k, v).map_err(Self::lua_err)
            }),
            b'[' => self.container(b']', "comma or array end", |d, t, i| {
                let v = d.value()?;
                t.raw_set(i, v).map_err(Self::lua_err)
            }),
            b'"' => {
                let s = self.string()?;
                Ok(Value::String(
                    self.lua.create_string(&s).map_err(Self::lua_err)?,
                ))
            }
            b't' if self.s[self.pos..].starts_with(b"true") => {
                self.pos += 4;
                Ok(Value::Boolean(true))
            }
            b'f' if self.s[self.pos..].starts_with(b"false") => {
                self.pos += 5;
                Ok(Value::Boolean(false))
            }
            b'n' if self.s[self.pos..].starts_with(b"null") => {
                self.pos += 4;
                Ok(Value::LightUserData(LightUserData(std::ptr::null_mut())))
            }
            b'-' | b'0'..=b'9' => match self.number() {
                Some((n, len)) => {
                    self.pos += len;
                    Ok(Value::Number(n))
                }
                None => Err(self.expected("value", "invalid number")),
            },
            _ => Err(self.expected("value", self.token_name())),
        }
    }

    /// An object or array at `pos` (on its opening bracket): `item` reads
    /// the `n`th member (from 1) into the table, then a comma or `close`
    /// must follow.
    fn container(
        &mut self,
        close: u8,
        what: &str,
        mut item: impl FnMut(&mut Self, &Table, usize) -> Result<(), String>,
    ) -> Result<Value, String> {
        self.enter()?;
        self.pos += 1;
        let t = self.lua.create_table().map_err(Self::lua_err)?;
        self.ws();
        if self.s.get(self.pos) == Some(&close) {
            self.pos += 1;
            self.depth -= 1;
            return Ok(Value::Table(t));
        }
        for n in 1.. {
            item(self, &t, n)?;
            self.ws();
            match self.s.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(&c) if c == close => {
                    self.pos += 1;
                    break;
                }
                _ => return Err(self.expected(what, self.token_name())),
            }
        }
        self.depth -= 1;
        Ok(Value::Table(t))
    }

    fn enter(&mut self) -> Result<(), String> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err(format!(
                "Found too many nested data structures ({}) at character {}",
                self.depth,
                self.pos + 1
            ));
        }
        Ok(())
    }

    /// A JSON string at `pos` (on its opening quote), unescaped.
    fn string(&mut self) -> Result<Vec<u8>, String> {
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.s.get(self.pos) else {
                return Err(self.expected("value", "unexpected end of string"));
            };
            self.pos += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    // Escape errors point at the backslash (lua-cjson).
                    let backslash = self.pos - 1;
                    let Some(&e) = self.s.get(self.pos) else {
                        self.pos = backslash;
                        return Err(self.expected("value", "invalid escape code"));
                    };
                    self.pos += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'b' => out.push(0x08),
                        b'f' => out.push(0x0c),
                        b'n' => out.push(b'\n'),
                        b'r' => out.push(b'\r'),
                        b't' => out.push(b'\t'),
                        b'u' => {
                            let mut cp = self.hex4(backslash)?;
                            if (0xD800..0xDC00).contains(&cp)
                                && self.s[self.pos..].starts_with(b"\\u")
                            {
                                self.pos += 2;
                                let lo = self.hex4(backslash)?;
                                cp = 0x10000
                                    + ((cp - 0xD800) << 10)
                                    + (lo.wrapping_sub(0xDC00) & 0x3ff);
                            }
                            let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                            let mut b = [0u8; 4];
                            out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                        }
                        _ => {
                            self.pos = backslash;
                            return Err(self.expected("value", "invalid escape code"));
                        }
                    }
                }
                _ => out.push(c),
            }
        }
    }

    /// Four hex digits at `pos`; an error points at `backslash`, where the
    /// escape began (lua-cjson).
    fn hex4(&mut self, backslash: usize) -> Result<u32, String> {
        let Some(h) = self
            .s
            .get(self.pos..self.pos + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
        else {
            self.pos = backslash;
            return Err(self.expected("value", "invalid unicode escape code"));
        };
        self.pos += 4;
        Ok(h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tobit_wraps_like_luabitop() {
        assert_eq!(tobit(4294967296.0 + 5.0), 5);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
    }

    #[test]
    fn numbers_format_as_g14() {
        let fmt_g14 = fmt_double_g14;
        assert_eq!(fmt_g14(1.0), "1");
        assert_eq!(fmt_g14(1.5), "1.5");
        assert_eq!(fmt_g14(0.1), "0.1");
        assert_eq!(fmt_g14(1e100), "1e+100");
        assert_eq!(fmt_g14(-1500.0), "-1500");
        assert_eq!(fmt_g14(1.0 / 3.0), "0.33333333333333");
        assert_eq!(fmt_g14(1e-7), "1e-07");
        assert_eq!(fmt_g14(1.2345678901234567e-5), "1.2345678901235e-05");
        assert_eq!(fmt_g14(0.0001), "0.0001");
        assert_eq!(fmt_g14(999999999999999.9), "1e+15");
        assert_eq!(fmt_g14(123456789012345.0), "1.2345678901234e+14");
        assert_eq!(fmt_g14(99999999999999.0), "99999999999999");
        assert_eq!(fmt_g14(99999999999999.5), "1e+14");
        // Found by the fuzz target: an integral double past 1e15 prints in
        // exponent form whether Lua hands it over as integer or float.
        assert_eq!(fmt_g14(1244441244444200.0), "1.2444412444442e+15");
        // Negative zero keeps its sign, as in lua-cjson (Redis: "-0").
        assert_eq!(fmt_g14(-0.0), "-0");
    }
}
