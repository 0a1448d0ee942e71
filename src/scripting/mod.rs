//! Lua scripting: EVAL/EVALSHA and the script cache, as in Redis 7.0.
//!
//! One Lua 5.1 state per server (`Scripting`, in `State`, created on first
//! use), with the libraries and protections Redis gives scripts
//! (`env.lua`): base, string, table, math, coroutine, bit, cjson; no io,
//! os, debug, require; globals and library tables read-only.
//!
//! A script runs under the state lock from start to end, so no other
//! client's command interleaves (Redis's atomicity). `redis.call` runs a
//! command through the ordinary dispatcher (`server::exec::execute_at`)
//! for the calling client, with its database, as EXEC runs its queue:
//! blocking commands do not block, and the effects of every command the
//! script runs land in the log as ordinary effects inside the one record
//! of the EVAL (atomic on replay). Scripts are never replayed themselves,
//! so a script may be non-deterministic (Redis 7.0's effects replication).
//!
//! Invariants:
//! * While a script runs, `Scripting` is out of `State` (taken by the
//!   caller and put back after), so `redis.call` can borrow the state.
//! * SELECT inside a script changes the database for the rest of the
//!   script only; the client's database and CLIENT REPLY mode are
//!   restored when it ends (`Saved`), its protocol after each call.

mod convert;
pub mod functions;
pub mod libs;
mod rawcall;

use crate::commands::{CmdError, CmdResult, Ctx};
use crate::protocol::Reply;
use crate::server::state::{Client, ReplyMode, State};
use mlua::{Function, Lua, LuaOptions, StdLib, Table, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

/// The error when a script is called by a SHA the cache does not hold.
pub const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Redis's version as a number (`redis.REDIS_VERSION_NUM`).
fn version_num() -> i64 {
    let mut parts = crate::REDIS_VERSION
        .split('.')
        .map(|p| p.parse::<i64>().unwrap_or(0));
    let (a, b, c) = (
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
        parts.next().unwrap_or(0),
    );
    (a << 16) | (b << 8) | c
}

/// Stops a script that runs past `busy-reply-threshold` (`lua-time-limit`)
/// without having written anything. Redis answers other clients BUSY
/// meanwhile and lets one send SCRIPT KILL; here the script holds the one
/// state lock, so no other command can arrive, and the server stops it
/// itself. A script that wrote runs to its end (Redis too refuses to kill
/// one: its effects would be half applied).
#[derive(Default)]
struct Watchdog {
    start: parking_lot::Mutex<Option<std::time::Instant>>,
    limit_ms: AtomicU64,
    wrote: AtomicBool,
    /// The per-line hook is on (set by an overdue check; `arm` puts the
    /// cheap one back before the next script).
    line_mode: AtomicBool,
}

/// The message of a script stopped by the watchdog.
const TIMED_OUT: &str = "Script ran past busy-reply-threshold without writing and was stopped (Cairn has no SCRIPT KILL)";

impl Watchdog {
    /// The normal hook: a look at the clock every 100k instructions.
    fn arm(self: &Arc<Self>, lua: &Lua) -> mlua::Result<()> {
        self.line_mode.store(false, Ordering::Relaxed);
        let wd = self.clone();
        lua.set_hook(
            mlua::HookTriggers::new().every_nth_instruction(100_000),
            move |lua, _| {
                if !wd.overdue() {
                    return Ok(mlua::VmState::Continue);
                }
                // Overdue: raise on every line from now on, so that a pcall
                // inside a loop cannot catch it for good (the loop's own
                // line raises outside the pcall, as with Redis's kill).
                wd.line_mode.store(true, Ordering::Relaxed);
                let again = wd.clone();
                lua.set_hook(mlua::HookTriggers::EVERY_LINE, move |_, _| {
                    if again.overdue() {
                        Err(mlua::Error::RuntimeError(TIMED_OUT.into()))
                    } else {
                        Ok(mlua::VmState::Continue)
                    }
                })?;
                Err(mlua::Error::RuntimeError(TIMED_OUT.into()))
            },
        )
    }

    fn overdue(&self) -> bool {
        let limit = self.limit_ms.load(Ordering::Relaxed);
        limit > 0
            && !self.wrote.load(Ordering::Relaxed)
            && self
                .start
                .lock()
                .is_some_and(|t| t.elapsed().as_millis() as u64 >= limit)
    }
}

/// What the `redis.call` worker (made once per Lua state) reaches while a
/// script runs.
#[derive(Default)]
struct Current {
    /// The running script's `CallCtx` (a `*mut CallCtx`), 0 between
    /// scripts. Set and cleared by `Scripting::run` around the script,
    /// while the `CallCtx` lives on its stack and nothing else touches it.
    ctx: AtomicUsize,
    /// The script called `redis.setresp(3)`.
    resp3: AtomicBool,
}

pub struct Scripting {
    lua: Lua,
    watchdog: Arc<Watchdog>,
    current: Arc<Current>,
    /// Script body -> SHA1, so that an EVAL of a cached body is a hash
    /// lookup, not a SHA1 (both hold only what `scripts` holds).
    by_body: HashMap<Box<[u8]>, String>,
    /// The environment scripts are compiled with (`env.lua`'s read-only
    /// proxy of the globals).
    env: Table,
    /// `env.lua`'s `priv.run`: runs a script under the error handler.
    run: Function,
    /// SHA1 (lowercase hex) -> compiled script.
    scripts: HashMap<String, Script>,
    /// Bytes of script bodies in the cache (INFO `used_memory_scripts`).
    pub body_bytes: usize,
    /// The environment function libraries are compiled with (`env.lua`'s
    /// `priv.fenv`).
    fenv: Table,
    /// `priv.load_library`: runs a library's code in load mode.
    load_lib: Function,
    /// `priv.end_load`: leaves load mode (however the load ended).
    end_load: Function,
    /// `priv.call_function`: calls a function's callback under the error
    /// handler.
    call_fn: Function,
    /// Function libraries by name (`functions.rs`).
    libraries: BTreeMap<String, functions::Library>,
    /// Function name, lowercase (FCALL is case-insensitive) -> its library
    /// and position in it.
    functions: HashMap<String, (String, usize)>,
}

struct Script {
    func: Function,
    /// What its shebang line (`#!lua flags=...`) said; `None` without one.
    shebang: Option<Shebang>,
}

/// The flags of a Redis 7.0 script shebang that change how Cairn runs the
/// script. The others (allow-stale, no-cluster, allow-cross-slot-keys)
/// are accepted: they concern replicas and cluster, which Cairn has not.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Shebang {
    no_writes: bool,
    /// May write when memory is full (`server::evict`).
    allow_oom: bool,
}

/// A script that declared flags without `allow-oom` or `no-writes` is
/// refused as a whole when memory is full (Redis's `scriptFlagsToCmdFlags`
/// makes its command denyoom); one without a shebang is checked at each
/// call instead (`rawcall`).
pub fn flags_deny_oom(no_writes: bool, allow_oom: bool) -> bool {
    !no_writes && !allow_oom
}

/// For the memory check before EVAL: whether `body`'s shebang makes the
/// command denyoom (false without a shebang, or with a bad one: EVAL
/// refuses that itself).
pub fn body_denies_oom(body: &[u8]) -> bool {
    matches!(parse_shebang(body), Ok(Some(s)) if flags_deny_oom(s.no_writes, s.allow_oom))
}

const SHEBANG_FLAGS: &[&str] = &[
    "no-writes",
    "allow-oom",
    "allow-stale",
    "no-cluster",
    "allow-cross-slot-keys",
];

/// Parse a body's shebang line as Redis 7.0 does
/// (`evalExtractShebangFlags`), with its error messages.
fn parse_shebang(body: &[u8]) -> Result<Option<Shebang>, CmdError> {
    if !body.starts_with(b"#!") {
        return Ok(None);
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err(CmdError::msg("ERR Invalid script shebang"));
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(CmdError::msg(format!(
            "ERR Unexpected engine in script shebang: {engine}"
        )));
    }
    let mut flags = Shebang {
        no_writes: false,
        allow_oom: false,
    };
    for part in parts {
        let Some(list) = part.strip_prefix("flags=") else {
            return Err(CmdError::msg(format!(
                "ERR Unknown lua shebang option: {part}"
            )));
        };
        if list.is_empty() {
            continue;
        }
        for flag in list.split(',') {
            if !SHEBANG_FLAGS.contains(&flag) {
                return Err(CmdError::msg(format!(
                    "ERR Unexpected flag in script shebang: {flag}"
                )));
            }
            flags.no_writes |= flag == "no-writes";
            flags.allow_oom |= flag == "allow-oom";
        }
    }
    Ok(Some(flags))
}

impl std::fmt::Debug for Scripting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scripting")
            .field("scripts", &self.scripts.len())
            .finish()
    }
}

/// What a script may change of its caller (SELECT, CLIENT REPLY), or sets
/// up for its calls: taken when it starts, put back when it ends. (The
/// protocol its calls use is set and put back around each call, in
/// `raw_call`; HELLO cannot run in a script.)
struct Saved {
    db: usize,
    reply_mode: ReplyMode,
    no_block: bool,
    in_exec: bool,
    last_cmd: &'static str,
}

impl Saved {
    fn enter(ctx: &mut Ctx) -> Saved {
        let saved = Saved {
            db: ctx.client.db,
            reply_mode: ctx.client.reply_mode,
            no_block: ctx.client.no_block,
            in_exec: ctx.st.in_exec,
            last_cmd: ctx.client.last_cmd,
        };
        ctx.client.reply_mode = ReplyMode::On;
        ctx.client.no_block = true;
        ctx.st.in_exec = true;
        ctx.st.in_script = true;
        saved
    }

    fn leave(self, ctx: &mut Ctx) {
        ctx.client.db = self.db;
        ctx.client.reply_mode = self.reply_mode;
        ctx.client.no_block = self.no_block;
        ctx.st.in_exec = self.in_exec;
        ctx.client.last_cmd = self.last_cmd;
        ctx.st.in_script = false;
    }
}

/// What a script's `redis.call` needs of the caller, reached by its
/// worker through `Current` while the script runs.
struct CallCtx<'a> {
    st: &'a mut State,
    client: &'a mut Client,
    now: u64,
    read_only: bool,
    /// Declared `allow-oom`: its calls are not refused when memory is
    /// full.
    allow_oom: bool,
    watchdog: &'a Watchdog,
}

/// The SHA1 of a script body, lowercase hex (Redis's script name).
pub fn sha1_hex(body: &[u8]) -> String {
    sha1_smol::Sha1::from(body).digest().to_string()
}

impl Scripting {
    pub fn new() -> Result<Scripting, mlua::Error> {
        // SAFETY: the debug library is needed by `env.lua`'s error handler
        // (getinfo), which keeps a local copy and removes it from scripts'
        // reach before any script runs.
        let lua = unsafe {
            Lua::unsafe_new_with(
                StdLib::TABLE | StdLib::STRING | StdLib::MATH | StdLib::DEBUG,
                LuaOptions::default(),
            )
        };
        let g = lua.globals();
        let redis = lua.create_table()?;
        libs::install_redis(&lua, &redis, crate::REDIS_VERSION, version_num())?;
        g.raw_set("redis", redis)?;
        g.raw_set("bit", libs::bit(&lua)?)?;
        g.raw_set("cjson", libs::cjson(&lua)?)?;
        let private = lua.create_table()?;
        let current = Arc::new(Current::default());
        // redis.call's worker: a C function on the raw stack (the
        // `Current` it reads is its upvalue; `Scripting` keeps the Arc
        // alive longer than the Lua state, which it drops first).
        let cur_ptr = Arc::as_ptr(&current) as *mut std::ffi::c_void;
        // SAFETY: pushes a light userdata and makes a C closure of it.
        let raw: Function = unsafe {
            lua.exec_raw((), |state| {
                mlua::ffi::lua_pushlightuserdata(state, cur_ptr);
                mlua::ffi::lua_pushcclosure(state, rawcall::raw_call, 1);
            })?
        };
        private.raw_set("raw", raw)?;
        let cur = current.clone();
        private.raw_set(
            "set_resp",
            lua.create_function(move |_, v: i64| {
                cur.resp3.store(v == 3, Ordering::Relaxed);
                Ok(())
            })?,
        )?;
        let wrap = lua.create_function(|lua, f: Function| {
            // SAFETY: `f` is on the stack; the closure takes it as its one
            // upvalue and replaces it.
            unsafe {
                lua.exec_raw::<Function>(f, |state| {
                    mlua::ffi::lua_pushcclosure(state, trampoline, 1);
                })
            }
        })?;
        private.raw_set("wrap", wrap)?;
        lua.load(include_str!("env.lua"))
            .set_name("=cairn")
            .call::<()>(private.clone())?;
        let run = private.raw_get("run")?;
        let env = private.raw_get("env")?;
        let fenv = private.raw_get("fenv")?;
        let load_lib = private.raw_get("load_library")?;
        let end_load = private.raw_get("end_load")?;
        let call_fn = private.raw_get("call_function")?;
        let watchdog = Arc::new(Watchdog::default());
        watchdog.arm(&lua)?;
        Ok(Scripting {
            lua,
            watchdog,
            current,
            by_body: HashMap::new(),
            env,
            run,
            scripts: HashMap::new(),
            body_bytes: 0,
            fenv,
            load_lib,
            end_load,
            call_fn,
            libraries: BTreeMap::new(),
            functions: HashMap::new(),
        })
    }

    /// The engine in `slot` (taken out: a script runs with it out of the
    /// state), or a new one.
    pub fn take_or_start(slot: &mut Option<Box<Scripting>>) -> Result<Box<Scripting>, mlua::Error> {
        match slot.take() {
            Some(e) => Ok(e),
            None => Scripting::new().map(Box::new),
        }
    }

    /// For the memory check before EVALSHA: whether the cached script
    /// `sha` (lowercase) declared flags that make it denyoom.
    pub fn script_denies_oom(&self, sha: &str) -> bool {
        self.scripts
            .get(sha)
            .and_then(|s| s.shebang)
            .is_some_and(|s| flags_deny_oom(s.no_writes, s.allow_oom))
    }

    /// SCRIPT FLUSH: forget every cached script (function libraries stay).
    pub fn flush_scripts(&mut self) {
        self.scripts.clear();
        self.by_body.clear();
        self.body_bytes = 0;
        let _ = self.lua.gc_collect();
    }

    pub fn len(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes the Lua state holds (INFO `used_memory_lua`).
    pub fn lua_memory(&self) -> usize {
        self.lua.used_memory()
    }

    pub fn is_empty(&self) -> bool {
        self.scripts.is_empty()
    }

    pub fn exists(&self, sha: &[u8]) -> bool {
        std::str::from_utf8(sha)
            .map(|s| self.scripts.contains_key(&s.to_ascii_lowercase()))
            .unwrap_or(false)
    }

    /// Compile `body` into the cache (if not there yet); its SHA1.
    pub fn load(&mut self, body: &[u8]) -> Result<String, CmdError> {
        if let Some(sha) = self.by_body.get(body) {
            return Ok(sha.clone());
        }
        let sha = sha1_hex(body);
        if !self.scripts.contains_key(&sha) {
            let shebang = parse_shebang(body)?;
            // The shebang line becomes a Lua comment ("--"), so line
            // numbers in errors stay the body's, as in Redis.
            let mut source = body.to_vec();
            if shebang.is_some() {
                source[..2].copy_from_slice(b"--");
            }
            let func = self.compile(&source, "@user_script", &self.env, "script (new function)")?;
            self.body_bytes += body.len();
            self.scripts.insert(sha.clone(), Script { func, shebang });
            self.by_body.insert(body.into(), sha.clone());
        }
        Ok(sha)
    }

    /// Compile Lua code as chunk `name` in `env`; a syntax error is
    /// Redis's "Error compiling <what>".
    fn compile(
        &self,
        source: &[u8],
        name: &str,
        env: &Table,
        what: &str,
    ) -> Result<Function, CmdError> {
        self.lua
            .load(source)
            .set_name(name)
            .set_environment(env.clone())
            .into_function()
            .map_err(|e| {
                let msg = match e {
                    mlua::Error::SyntaxError { message, .. } => message,
                    other => other.to_string(),
                };
                CmdError::msg(format!("ERR Error compiling {what}: {msg}"))
            })
    }

    /// Run the cached script `sha` for the command in `ctx` (EVAL and
    /// friends), writing its result to `ctx.out`.
    pub fn run(
        &mut self,
        ctx: &mut Ctx,
        sha: &str,
        keys: &[&[u8]],
        args: &[&[u8]],
        read_only: bool,
    ) -> CmdResult {
        let Some(script) = self.scripts.get(sha) else {
            return Err(CmdError::msg(NOSCRIPT));
        };
        // A script with a shebang says whether it writes: the _RO commands
        // refuse one that does not say no-writes, and no-writes makes any
        // script read-only.
        let read_only = match script.shebang {
            Some(Shebang {
                no_writes: false, ..
            }) if read_only => {
                return Err(CmdError::msg(
                    "ERR Can not execute a script with write flag using *_ro command.",
                ));
            }
            Some(Shebang { no_writes, .. }) => read_only || no_writes,
            None => read_only,
        };
        let allow_oom = script.shebang.is_some_and(|s| s.allow_oom);
        let func = script.func.clone();
        let run = self.run.clone();
        let lua = self.lua.clone();
        self.invoke(ctx, sha, read_only, allow_oom, move || {
            // SAFETY: the stack holds `run` and `func` (pushed by
            // `exec_raw`); KEYS and ARGV are set with raw sets on the
            // globals (their metatable refuses assignments), then `run`
            // is called with `func` and leaves its two results. Errors
            // (out of memory only: `run` catches the script's) are caught
            // by `exec_raw`'s protected call.
            unsafe {
                lua.exec_raw::<(bool, Value)>((run, func), |l| {
                    set_global_strings(l, c"KEYS", keys);
                    set_global_strings(l, c"ARGV", args);
                    mlua::ffi::lua_call(l, 1, 2);
                })
            }
        })
    }

    /// Run a script or function (`call`) for the command in `ctx`, with
    /// the watchdog armed and `redis.call` pointed at the caller; its
    /// result goes to `ctx.out`, its errors name it (`name`: the script's
    /// SHA1 or the function's name).
    fn invoke(
        &mut self,
        ctx: &mut Ctx,
        name: &str,
        read_only: bool,
        allow_oom: bool,
        call: impl FnOnce() -> mlua::Result<(bool, Value)>,
    ) -> CmdResult {
        self.current.resp3.store(false, Ordering::Relaxed);
        self.watchdog
            .limit_ms
            .store(ctx.st.config.s.busy_reply_threshold, Ordering::Relaxed);
        self.watchdog.wrote.store(false, Ordering::Relaxed);
        if self.watchdog.line_mode.load(Ordering::Relaxed) {
            self.watchdog.arm(&self.lua).map_err(lua_err)?;
        }
        *self.watchdog.start.lock() = Some(std::time::Instant::now());
        let saved = Saved::enter(ctx);
        let mut cc = CallCtx {
            st: &mut *ctx.st,
            client: &mut *ctx.client,
            now: ctx.now,
            read_only,
            allow_oom,
            watchdog: &self.watchdog,
        };
        self.current
            .ctx
            .store(&mut cc as *mut CallCtx as usize, Ordering::Release);
        let result = call();
        self.current.ctx.store(0, Ordering::Release);
        *self.watchdog.start.lock() = None;
        saved.leave(ctx);
        let resp3_script = self.current.resp3.load(Ordering::Relaxed);
        match result {
            Ok((true, v)) => {
                convert::lua_to_reply(ctx.out, &v, resp3_script, 0);
                Ok(())
            }
            Ok((false, e)) => Err(CmdError::msg(script_error(&e, name))),
            Err(e) => Err(lua_err(e)),
        }
    }
}

fn lua_err(e: mlua::Error) -> CmdError {
    CmdError::msg(format!("ERR Error running script: {e}"))
}

/// For the `lua_reply` fuzz target: a RESP reply pushed onto the raw Lua
/// stack as `redis.call` pushes it (`convert::push_reply`), then written
/// back as a script's result (`convert::lua_to_reply`): `None` when the
/// reply is refused as too long for a Lua table, the bytes otherwise. Any
/// bytes are accepted, well-formed RESP or not.
pub fn reply_round_trip(buf: &[u8], resp3: bool) -> Option<Vec<u8>> {
    thread_local! {
        static LUA: Lua = Lua::new();
    }
    LUA.with(|lua| {
        let mut pos = 0;
        let mut fits = true;
        // SAFETY: `exec_raw` hands over a valid state and runs the closure
        // protected; what a refused reply left on the stack is dropped.
        let v: Value = unsafe {
            lua.exec_raw((), |l| {
                fits = convert::push_reply(l, buf, &mut pos);
                if !fits {
                    mlua::ffi::lua_settop(l, 0);
                    mlua::ffi::lua_pushnil(l);
                }
            })
        }
        .ok()?;
        if !fits {
            return None;
        }
        let mut out = Reply::new(resp3);
        convert::lua_to_reply(&mut out, &v, resp3, 0);
        Some(out.buf)
    })
}

/// A C function that calls its upvalue (a Lua function of `env.lua`) with
/// its arguments and returns what it returns. Scripts call the library
/// functions that raise errors through it: a C function is never the
/// target of a Lua tail call, so `return redis.call(...)` keeps the
/// script's frame, which the error handler reports (as Redis, whose
/// library is C, does).
unsafe extern "C-unwind" fn trampoline(state: *mut mlua::ffi::lua_State) -> std::ffi::c_int {
    // SAFETY: called by Lua with a valid state; the upvalue was set by
    // `lua_pushcclosure` in `Scripting::new`. Errors raised by the call
    // unwind (longjmp) through this frame, which owns nothing.
    unsafe {
        let n = mlua::ffi::lua_gettop(state);
        mlua::ffi::lua_pushvalue(state, mlua::ffi::lua_upvalueindex(1));
        mlua::ffi::lua_insert(state, 1);
        mlua::ffi::lua_call(state, n, mlua::ffi::LUA_MULTRET);
        mlua::ffi::lua_gettop(state)
    }
}

/// Push a table of `items` (a Lua array of strings).
///
/// # Safety
/// `l` is a valid Lua state with room for two more values.
unsafe fn push_strings(l: *mut mlua::ffi::lua_State, items: &[&[u8]]) {
    // SAFETY: per the function's contract.
    unsafe {
        use mlua::ffi;
        ffi::lua_createtable(l, items.len().min(1 << 24) as i32, 0);
        for (i, it) in items.iter().enumerate() {
            ffi::lua_pushlstring(l, it.as_ptr() as *const _, it.len());
            ffi::lua_rawseti(l, -2, i as i64 + 1);
        }
    }
}

/// `_G[name] = {items...}`, a raw set (scripts cannot assign globals).
///
/// # Safety
/// As `push_strings`.
unsafe fn set_global_strings(l: *mut mlua::ffi::lua_State, name: &std::ffi::CStr, items: &[&[u8]]) {
    // SAFETY: per the function's contract.
    unsafe {
        use mlua::ffi;
        ffi::lua_pushstring(l, name.as_ptr());
        push_strings(l, items);
        ffi::lua_rawset(l, ffi::LUA_GLOBALSINDEX);
    }
}

/// The final message of a script error (Redis's `luaCallFunction`): the
/// error table's `err`, then the script's name and where it failed.
fn script_error(e: &Value, sha: &str) -> String {
    let Value::Table(t) = e else {
        return format!("ERR unknown error script: {sha}");
    };
    let msg = match t.raw_get::<Value>("err") {
        Ok(Value::String(s)) => String::from_utf8_lossy(&s.as_bytes()).into_owned(),
        _ => "ERR unknown error".to_string(),
    };
    let source = t.raw_get::<Option<String>>("source").ok().flatten();
    let line = t.raw_get::<Option<i64>>("line").ok().flatten();
    match (source, line) {
        (Some(s), Some(l)) => format!("{msg} script: {sha}, on {s}:{l}."),
        _ => format!("{msg} script: {sha}"),
    }
}
