//! `redis.call`'s worker as a Lua C function on the raw stack: it reads
//! the arguments where Lua keeps them, runs the command through the
//! ordinary dispatcher, and pushes the reply as Lua values. A script's
//! commands go through here one by one, so this path skips mlua's value
//! handles (a registry reference and a lock per value); measured against
//! the mlua closure it replaced, see the README's scripting figures.
//!
//! It returns `true, reply` or `false, error table` (`env.lua`'s
//! `redis.call` raises the table, `redis.pcall` returns it), and raises no
//! Lua error itself: a reply too long for a Lua table is refused before
//! its table is made (`convert::push_reply`), and running out of
//! memory aborts (mlua, no memory limit), as Redis does.

use super::{CallCtx, Current, convert};
use crate::commands::{self, flag};
use crate::protocol::Reply;
use mlua::ffi;
use std::borrow::Cow;
use std::ffi::c_int;
use std::sync::atomic::Ordering;

/// Lua calls this with the command's arguments; upvalue 1 is a light
/// userdata pointing at the `Current` of the running `Scripting`.
pub unsafe extern "C-unwind" fn raw_call(l: *mut ffi::lua_State) -> c_int {
    // SAFETY: Lua calls with a valid state; the upvalue was set when the
    // closure was made and the `Current` outlives the Lua state. A Rust
    // panic must not unwind into Lua's C frames: it becomes an error.
    unsafe {
        let cur = &*(ffi::lua_touserdata(l, ffi::lua_upvalueindex(1)) as *const Current);
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| call(l, cur)));
        if r.is_err() {
            ffi::lua_settop(l, 0);
            ffi::lua_pushboolean(l, 0);
            convert::push_error_table(l, b"-ERR internal error running the command", true);
        }
        2
    }
}

/// The command's arguments as bytes: strings as they are, numbers as
/// Redis formats them (`%.17g`); `None` for any other type.
unsafe fn arguments<'a>(l: *mut ffi::lua_State, n: c_int) -> Option<Vec<Cow<'a, [u8]>>> {
    let mut argv = Vec::with_capacity(n as usize);
    for i in 1..=n {
        // SAFETY: `i` is a valid stack index; a string's bytes stay valid
        // while it is on the stack, which it is until this call returns.
        unsafe {
            match ffi::lua_type(l, i) {
                ffi::LUA_TSTRING => {
                    let mut len = 0usize;
                    let p = ffi::lua_tolstring(l, i, &mut len);
                    argv.push(Cow::Borrowed(std::slice::from_raw_parts(
                        p as *const u8,
                        len,
                    )));
                }
                ffi::LUA_TNUMBER => {
                    let d = ffi::lua_tonumber(l, i);
                    argv.push(Cow::Owned(crate::util::fmt_double_g17(d).into_bytes()));
                }
                _ => return None,
            }
        }
    }
    Some(argv)
}

/// Push `false` and an error table (replacing the arguments).
unsafe fn fail(l: *mut ffi::lua_State, msg: &str, counted: bool) {
    // SAFETY: a valid state inside a C function.
    unsafe {
        ffi::lua_settop(l, 0);
        ffi::lua_pushboolean(l, 0);
        convert::push_error_table(l, format!("-{msg}").as_bytes(), counted);
    }
}

unsafe fn call(l: *mut ffi::lua_State, cur: &Current) {
    // SAFETY: a valid state inside a C function; the `CallCtx` pointer is
    // set by `Scripting::invoke` for exactly the duration of the script,
    // to a value on its stack nothing else touches meanwhile (scripts
    // never nest: EVAL and FCALL are refused inside one).
    unsafe {
        let p = cur.ctx.load(Ordering::Acquire);
        if p == 0 {
            return fail(l, "ERR redis.call is only available in a script", false);
        }
        let c = &mut *(p as *mut CallCtx<'static>);
        let n = ffi::lua_gettop(l);
        if n == 0 {
            return fail(
                l,
                "ERR Please specify at least one argument for this redis lib call",
                false,
            );
        }
        let Some(argv) = arguments(l, n) else {
            return fail(
                l,
                "ERR Lua redis lib command arguments must be strings or integers",
                false,
            );
        };
        let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_ref()).collect();
        // Past the argument checks, errors are marked as already counted
        // in the error statistics (Redis 7.0 sets the same field).
        let Some(mut cmd) = commands::lookup(refs[0]) else {
            return fail(l, "ERR Unknown Redis command called from script", true);
        };
        if !commands::arity_ok(cmd.arity, refs.len()) {
            return fail(
                l,
                "ERR Wrong number of args calling Redis command from script",
                true,
            );
        }
        if !cmd.subs.is_empty()
            && refs.len() > 1
            && let Some(sub) = commands::lookup_sub(cmd, refs[1])
        {
            cmd = sub;
        }
        if cmd.flags & flag::NOSCRIPT != 0 {
            return fail(l, "ERR This Redis command is not allowed from script", true);
        }
        if c.read_only && cmd.is_write() {
            return fail(
                l,
                "ERR Write commands are not allowed from read-only scripts.",
                true,
            );
        }
        // Memory was full when the script started (`server::evict`): a
        // script that declared no `allow-oom` may not begin writing with
        // a command that may add memory (Redis's `scriptVerifyOOM`).
        if c.st.evict.oom
            && c.st.config.s.maxmemory > 0
            && !c.allow_oom
            && cmd.flags & flag::DENYOOM != 0
            && !c.watchdog.wrote.load(Ordering::Relaxed)
        {
            return fail(l, crate::server::evict::OOM_ERROR, true);
        }
        if cmd.is_write() {
            c.watchdog.wrote.store(true, Ordering::Relaxed);
        }
        let resp3 = cur.resp3.load(Ordering::Relaxed);
        // Most replies are short: no 1 KiB buffer per call (`Reply::new`).
        let mut out = Reply {
            buf: Vec::with_capacity(64),
            resp3,
        };
        let caller_resp3 = c.client.resp3;
        c.client.resp3 = resp3;
        crate::server::exec::execute_at(c.st, c.client, &mut out, &refs, c.now);
        c.client.resp3 = caller_resp3;
        drop(refs);
        drop(argv);
        ffi::lua_settop(l, 0);
        if out.buf.first() == Some(&b'-') {
            let end = out.buf.len().saturating_sub(2);
            ffi::lua_pushboolean(l, 0);
            convert::push_error_table(l, &out.buf[..end], true);
            return;
        }
        ffi::lua_pushboolean(l, 1);
        let mut pos = 0;
        if !convert::push_reply(l, &out.buf, &mut pos) {
            fail(
                l,
                "ERR reply too long to become a Lua table (over 2^26 elements)",
                true,
            );
        }
    }
}
