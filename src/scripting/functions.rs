//! Redis 7.0 functions: libraries loaded with FUNCTION LOAD, their
//! functions called with FCALL/FCALL_RO, FUNCTION DUMP/RESTORE payloads,
//! and the file that keeps the libraries across restarts.
//!
//! A library is Lua code whose first line is `#!lua name=<library>`. Its
//! code runs once, at load, in `env.lua`'s load mode, where the only API
//! is `redis.register_function` (and `redis.log` and the version
//! constants); each registered callback is kept (an mlua `Function`) and
//! runs later with `(keys, args)`, like an EVAL script but without the
//! KEYS and ARGV globals. Function names are case-insensitive, as in
//! Redis.
//!
//! Durability: FCALL's effects are logged as the commands it runs, as
//! EVAL's are, so the log never needs a function to replay. The libraries
//! themselves are kept in `functions.cfn` in the data dir, rewritten (a
//! temporary file, synced, renamed, the directory synced) by every
//! FUNCTION command that changes them before it replies:
//!
//! ```text
//! magic "CAIRNFN1" | count: u32 LE | count x (len: u32 LE, code) | CRC32C (u32 LE) of all before
//! ```
//!
//! A server refuses to start on a file that fails its checks or holds a
//! library that does not load.

use super::{Scripting, push_strings};
use crate::commands::{CmdError, CmdResult, Ctx};
use crate::rdb::payload;
use mlua::{Function, Table, Value};
use std::collections::HashMap;

/// Function flags in the order Redis lists them (FUNCTION LIST).
pub const FLAGS: &[&str] = &[
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// The file name, in the data dir.
pub const FILE: &str = "functions.cfn";
const MAGIC: &[u8; 8] = b"CAIRNFN1";
/// RDB opcode of a function library in DUMP payloads (RDB_OPCODE_FUNCTION2).
const OPCODE_FUNCTION2: u8 = 245;
/// The pre-7.0-GA form, refused as Redis refuses it.
const OPCODE_FUNCTION_PRE_GA: u8 = 246;
/// How long a library's code may run at load (Redis's load timeout).
const LOAD_TIMEOUT_MS: u64 = 500;

#[derive(Clone)]
pub struct Func {
    pub name: String,
    callback: Function,
    /// In `FLAGS` order.
    pub flags: Vec<&'static str>,
    pub description: Option<Vec<u8>>,
}

#[derive(Clone)]
pub struct Library {
    pub name: String,
    /// The whole code, shebang line included (FUNCTION LIST WITHCODE,
    /// DUMP, the file).
    pub code: Vec<u8>,
    /// In registration order.
    pub functions: Vec<Func>,
}

/// The shebang line's library name, and where the code after it starts
/// (`functionExtractLibMetaData`).
fn metadata(code: &[u8]) -> Result<(String, usize), CmdError> {
    if !code.starts_with(b"#!") {
        return Err(CmdError::msg("ERR Missing library metadata"));
    }
    let Some(end) = code.iter().position(|&b| b == b'\n') else {
        return Err(CmdError::msg("ERR Invalid library metadata"));
    };
    let line = String::from_utf8_lossy(&code[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("#!").trim_start_matches("#!");
    let mut name: Option<String> = None;
    for part in parts {
        // Bytes, not chars: the line may hold any bytes.
        if part
            .as_bytes()
            .get(..5)
            .is_some_and(|p| p.eq_ignore_ascii_case(b"name="))
        {
            if name.is_some() {
                return Err(CmdError::msg(
                    "ERR Invalid metadata value, name argument was given multiple times",
                ));
            }
            name = Some(part[5..].to_string());
            continue;
        }
        return Err(CmdError::msg(format!(
            "ERR Invalid metadata value given: {part}"
        )));
    }
    let Some(name) = name else {
        return Err(CmdError::msg("ERR Library name was not given"));
    };
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(CmdError::msg(
            "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long",
        ));
    }
    if !engine.eq_ignore_ascii_case("lua") {
        return Err(CmdError::msg(format!("ERR Engine '{engine}' not found")));
    }
    Ok((name, end))
}

impl Scripting {
    /// FUNCTION LOAD: compile and run a library's code, register its
    /// functions (replacing a library of the same name with `replace`);
    /// the library's name.
    pub fn load_library(&mut self, code: &[u8], replace: bool) -> Result<String, CmdError> {
        let (name, end) = metadata(code)?;
        if self.libraries.contains_key(&name) && !replace {
            return Err(CmdError::msg(format!(
                "ERR Library '{name}' already exists"
            )));
        }
        let lib = self.compile_library(&name, code, end)?;
        // No function may take the name of another library's.
        for f in &lib.functions {
            if let Some((owner, _)) = self.functions.get(&f.name.to_ascii_lowercase())
                && *owner != name
            {
                return Err(CmdError::msg(format!(
                    "ERR Function {} already exists",
                    f.name
                )));
            }
        }
        self.libraries.insert(name.clone(), lib);
        self.reindex();
        Ok(name)
    }

    /// Compile `code` (its shebang line ends at `end`) and run it in load
    /// mode: the library, not yet registered.
    fn compile_library(
        &mut self,
        name: &str,
        code: &[u8],
        end: usize,
    ) -> Result<Library, CmdError> {
        // The code from the shebang's newline on: line numbers stay the
        // code's.
        let chunk = self.compile(&code[end..], "@user_function", &self.fenv, "function")?;
        let wd = &self.watchdog;
        wd.limit_ms
            .store(LOAD_TIMEOUT_MS, std::sync::atomic::Ordering::Relaxed);
        wd.wrote.store(false, std::sync::atomic::Ordering::Relaxed);
        if wd.line_mode.load(std::sync::atomic::Ordering::Relaxed) {
            wd.arm(&self.lua).map_err(super::lua_err)?;
        }
        let started = std::time::Instant::now();
        *wd.start.lock() = Some(started);
        let r = self.load_lib.call::<(bool, Value)>(chunk);
        // Watchdog off first, then load mode off: an error that escaped the
        // load handler (the watchdog's) must not leave functions resolving
        // their globals to the load API.
        *self.watchdog.start.lock() = None;
        self.end_load.call::<()>(()).map_err(super::lua_err)?;
        let failed = |msg: &str| CmdError::msg(format!("ERR Error registering functions: {msg}"));
        let regs = match r {
            Ok((true, Value::Table(t))) => t,
            // The watchdog stopped code that ran too long (its error may
            // come out of the error handler itself, which it also stops).
            _ if started.elapsed().as_millis() as u64 >= LOAD_TIMEOUT_MS => {
                return Err(failed("ERR FUNCTION LOAD timeout"));
            }
            Ok((_, Value::String(s))) => {
                return Err(failed(&String::from_utf8_lossy(&s.as_bytes())));
            }
            Ok((_, other)) => return Err(failed(&format!("{other:?}"))),
            Err(e) => return Err(super::lua_err(e)),
        };
        let mut functions = Vec::new();
        for r in regs.sequence_values::<Table>() {
            let r = r.map_err(super::lua_err)?;
            let fname: String = r.raw_get("name").map_err(super::lua_err)?;
            let callback: Function = r.raw_get("callback").map_err(super::lua_err)?;
            let set: Table = r.raw_get("flags").map_err(super::lua_err)?;
            let flags = FLAGS
                .iter()
                .copied()
                .filter(|f| set.raw_get::<bool>(*f).unwrap_or(false))
                .collect();
            let description: Option<mlua::LuaString> =
                r.raw_get("description").map_err(super::lua_err)?;
            functions.push(Func {
                name: fname,
                callback,
                flags,
                description: description.map(|d| d.as_bytes().to_vec()),
            });
        }
        if functions.is_empty() {
            return Err(CmdError::msg("ERR No functions registered"));
        }
        Ok(Library {
            name: name.to_string(),
            code: code.to_vec(),
            functions,
        })
    }

    fn reindex(&mut self) {
        self.functions.clear();
        for (lib, l) in &self.libraries {
            for (i, f) in l.functions.iter().enumerate() {
                self.functions
                    .insert(f.name.to_ascii_lowercase(), (lib.clone(), i));
            }
        }
    }

    /// FUNCTION DELETE.
    pub fn delete_library(&mut self, name: &[u8]) -> Result<(), CmdError> {
        let name = String::from_utf8_lossy(name);
        if self.libraries.remove(name.as_ref()).is_none() {
            return Err(CmdError::msg("ERR Library not found"));
        }
        self.reindex();
        Ok(())
    }

    /// FUNCTION FLUSH.
    pub fn flush_libraries(&mut self) {
        self.libraries.clear();
        self.functions.clear();
        let _ = self.lua.gc_collect();
    }

    pub fn libraries(&self) -> impl Iterator<Item = &Library> {
        self.libraries.values()
    }

    /// Every library's code, in name order.
    pub fn library_codes(&self) -> Vec<Vec<u8>> {
        self.libraries.values().map(|l| l.code.clone()).collect()
    }

    /// Functions in all libraries (names that differ only in case
    /// count apart, as in Redis's FUNCTION STATS).
    pub fn function_count(&self) -> usize {
        self.libraries.values().map(|l| l.functions.len()).sum()
    }

    /// The libraries as they are (to put back with `restore_libraries`
    /// if a change cannot be saved).
    pub fn saved_libraries(&self) -> std::collections::BTreeMap<String, Library> {
        self.libraries.clone()
    }

    pub fn restore_libraries(&mut self, libs: std::collections::BTreeMap<String, Library>) {
        self.libraries = libs;
        self.reindex();
    }

    /// FUNCTION RESTORE: the payload's libraries (`codes`), all loaded or
    /// none. `flush` drops the current libraries first; otherwise a
    /// library of the same name is an error, or with `replace` is
    /// replaced (`libraryJoin`).
    pub fn restore_payload(
        &mut self,
        codes: &[Vec<u8>],
        flush: bool,
        replace: bool,
    ) -> Result<(), CmdError> {
        let mut incoming: std::collections::BTreeMap<String, Library> = Default::default();
        // Function name (lowercase) -> its library: names clash across
        // libraries, not within one (FUNCTION LOAD's rule).
        let mut names: HashMap<String, String> = HashMap::new();
        for code in codes {
            let (name, end) = metadata(code)?;
            if incoming.contains_key(&name) {
                return Err(CmdError::msg(format!(
                    "ERR Library '{name}' already exists"
                )));
            }
            let lib = self.compile_library(&name, code, end)?;
            for f in &lib.functions {
                let owner = names
                    .entry(f.name.to_ascii_lowercase())
                    .or_insert_with(|| name.clone());
                if *owner != name {
                    return Err(CmdError::msg(format!(
                        "ERR Function {} already exists",
                        f.name
                    )));
                }
            }
            incoming.insert(name, lib);
        }
        let mut next = if flush {
            Default::default()
        } else {
            self.libraries.clone()
        };
        for name in incoming.keys() {
            if next.contains_key(name) {
                if !replace {
                    return Err(CmdError::msg(format!("ERR Library {name} already exists")));
                }
                next.remove(name);
            }
        }
        for l in next.values() {
            for f in &l.functions {
                if names.contains_key(&f.name.to_ascii_lowercase()) {
                    return Err(CmdError::msg(format!(
                        "ERR Function {} already exists",
                        f.name
                    )));
                }
            }
        }
        next.extend(incoming);
        self.restore_libraries(next);
        Ok(())
    }

    /// For the memory check before FCALL: whether function `name` exists
    /// and its flags make it denyoom (a function always declares flags,
    /// none meaning it may write and may not run out of memory).
    pub fn function_denies_oom(&self, name: &[u8]) -> bool {
        let key = String::from_utf8_lossy(name).to_ascii_lowercase();
        self.functions.get(&key).is_some_and(|(lib, i)| {
            let f = &self.libraries[lib].functions[*i];
            super::flags_deny_oom(
                f.flags.contains(&"no-writes"),
                f.flags.contains(&"allow-oom"),
            )
        })
    }

    /// FCALL and FCALL_RO. `keys_and_args` reads the command's key count
    /// and splits its arguments; it runs once the function is found, as
    /// Redis checks them in that order.
    pub fn fcall<'a>(
        &mut self,
        ctx: &mut Ctx,
        name: &[u8],
        keys_and_args: impl FnOnce() -> Result<(&'a [&'a [u8]], &'a [&'a [u8]]), CmdError>,
        read_only: bool,
    ) -> CmdResult {
        let key = String::from_utf8_lossy(name).to_ascii_lowercase();
        let Some((lib, i)) = self.functions.get(&key) else {
            return Err(CmdError::msg("ERR Function not found"));
        };
        let (keys, args) = keys_and_args()?;
        let f = &self.libraries[lib].functions[*i];
        let no_writes = f.flags.contains(&"no-writes");
        if read_only && !no_writes {
            return Err(CmdError::msg(
                "ERR Can not execute a script with write flag using *_ro command.",
            ));
        }
        let allow_oom = f.flags.contains(&"allow-oom");
        let (callback, fname) = (f.callback.clone(), f.name.clone());
        let call = self.call_fn.clone();
        let lua = self.lua.clone();
        self.invoke(ctx, &fname, read_only || no_writes, allow_oom, move || {
            // SAFETY: the stack holds `call` and `callback` (pushed by
            // `exec_raw`); the keys and arguments tables are pushed after
            // them and `call` leaves its two results (see `Scripting::run`).
            unsafe {
                lua.exec_raw::<(bool, Value)>((call, callback), |l| {
                    push_strings(l, keys);
                    push_strings(l, args);
                    mlua::ffi::lua_call(l, 3, 2);
                })
            }
        })
    }
}

/// FUNCTION DUMP's payload: each library as RDB_OPCODE_FUNCTION2 and its
/// code (an RDB string), then the RDB version and CRC-64.
pub fn dump_payload(codes: &[Vec<u8>], compress: bool) -> Vec<u8> {
    let mut out = Vec::new();
    for c in codes {
        out.push(OPCODE_FUNCTION2);
        crate::rdb::put_string(&mut out, c, compress);
    }
    payload::seal(out)
}

/// The libraries' codes in a FUNCTION RESTORE payload (Redis's errors).
pub fn parse_payload(p: &[u8]) -> Result<Vec<Vec<u8>>, CmdError> {
    if !payload::verify(p) {
        return Err(CmdError::msg(
            "ERR DUMP payload version or checksum are wrong",
        ));
    }
    let body = &p[..p.len() - 10];
    let mut r = crate::rdb::Reader::new(body);
    let mut codes = Vec::new();
    while r.remaining() > 0 {
        match r.u8() {
            Ok(OPCODE_FUNCTION2) => {}
            Ok(OPCODE_FUNCTION_PRE_GA) => {
                return Err(CmdError::msg("ERR Pre-GA function format not supported"));
            }
            Ok(_) => return Err(CmdError::msg("ERR given type is not a function")),
            Err(_) => return Err(CmdError::msg("ERR can not read data type")),
        }
        let code = r
            .string()
            .map_err(|_| CmdError::msg("ERR Failed loading library payload"))?;
        codes.push(code);
    }
    Ok(codes)
}

/// The file's bytes for these libraries.
pub fn encode_file(codes: &[Vec<u8>]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend_from_slice(&(codes.len() as u32).to_le_bytes());
    for c in codes {
        out.extend_from_slice(&(c.len() as u32).to_le_bytes());
        out.extend_from_slice(c);
    }
    let crc = crc32c::crc32c(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// The libraries' codes in a file, or what is wrong with it.
pub fn decode_file(b: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    if b.len() < 16 || &b[..8] != MAGIC {
        return Err("not a Cairn functions file (bad magic or too short)".into());
    }
    let (body, crc) = b.split_at(b.len() - 4);
    if crc32c::crc32c(body) != u32::from_le_bytes(crc.try_into().expect("4 bytes")) {
        return Err("checksum mismatch".into());
    }
    let u32_at = |at: usize| -> Option<usize> {
        body.get(at..at + 4)
            .map(|s| u32::from_le_bytes(s.try_into().expect("4 bytes")) as usize)
    };
    let count = u32_at(8).ok_or("truncated")?;
    let mut pos = 12;
    let mut codes = Vec::new();
    for i in 0..count {
        let len = u32_at(pos).ok_or_else(|| format!("library {i}: truncated"))?;
        pos += 4;
        let code = body
            .get(pos..pos + len)
            .ok_or_else(|| format!("library {i}: truncated"))?;
        codes.push(code.to_vec());
        pos += len;
    }
    if pos != body.len() {
        return Err(format!("{} bytes after the last library", body.len() - pos));
    }
    Ok(codes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_round_trips_and_damage_is_refused() {
        let codes = vec![b"#!lua name=a\nx".to_vec(), b"#!lua name=b\n".to_vec()];
        let f = encode_file(&codes);
        assert_eq!(decode_file(&f).unwrap(), codes);
        assert_eq!(
            decode_file(&encode_file(&[])).unwrap(),
            Vec::<Vec<u8>>::new()
        );
        for i in 0..f.len() * 8 {
            let mut g = f.clone();
            g[i / 8] ^= 1 << (i % 8);
            assert!(decode_file(&g).is_err(), "bit {i}");
        }
        for n in 0..f.len() {
            assert!(decode_file(&f[..n]).is_err(), "cut at {n}");
        }
    }

    #[test]
    fn payloads_round_trip() {
        let codes = vec![b"#!lua name=a\n".repeat(10), b"#!lua name=b\n".to_vec()];
        for compress in [false, true] {
            let p = dump_payload(&codes, compress);
            assert_eq!(parse_payload(&p).unwrap(), codes);
        }
    }
}
