//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT, and
//! Redis 7.0's functions: FCALL, FCALL_RO, FUNCTION. The engine is
//! `crate::scripting` (functions: `crate::scripting::functions`).

use super::{CmdError, CmdResult, Ctx, NOKEYS, cmd, dispatch_sub, flag::*, help_reply, with_subs};
use crate::commands::Cmd;
use crate::scripting::functions::{self, FILE as FUNCTIONS_FILE};
use crate::scripting::{NOSCRIPT as NO_SCRIPT, Scripting};

const EVAL: u32 = NOSCRIPT | STALE | SKIP_MONITOR | NO_MANDATORY_KEYS | MOVABLEKEYS;
const SCRIPT: u32 = NOSCRIPT;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "eval",
        -3,
        EVAL,
        NOKEYS,
        "@slow @scripting",
        "scripting",
        "Execute a Lua script server side",
        eval,
    ),
    cmd(
        "evalsha",
        -3,
        EVAL,
        NOKEYS,
        "@slow @scripting",
        "scripting",
        "Execute a Lua script server side",
        evalsha,
    ),
    cmd(
        "eval_ro",
        -3,
        EVAL | READONLY,
        NOKEYS,
        "@slow @scripting",
        "scripting",
        "Execute a read-only Lua script server side",
        eval_ro,
    ),
    cmd(
        "evalsha_ro",
        -3,
        EVAL | READONLY,
        NOKEYS,
        "@slow @scripting",
        "scripting",
        "Execute a read-only Lua script server side",
        evalsha_ro,
    ),
    with_subs(
        cmd(
            "script",
            -2,
            0,
            NOKEYS,
            "@slow",
            "scripting",
            "A container for Lua scripts management commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "script|load",
                3,
                SCRIPT | STALE,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Load the specified Lua script into the script cache.",
                script_load,
            ),
            cmd(
                "script|exists",
                -3,
                SCRIPT,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Check existence of scripts in the script cache.",
                script_exists,
            ),
            cmd(
                "script|flush",
                -2,
                SCRIPT,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Remove all the scripts from the script cache.",
                script_flush,
            ),
            cmd(
                "script|kill",
                2,
                SCRIPT | ALLOW_BUSY,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Kill the script currently in execution.",
                script_kill,
            ),
            cmd(
                "script|debug",
                3,
                SCRIPT,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Set the debug mode for executed scripts.",
                script_debug,
            ),
            cmd(
                "script|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Show helpful text about the different subcommands",
                script_help,
            ),
        ],
    ),
    cmd(
        "fcall",
        -3,
        EVAL,
        NOKEYS,
        "@slow @scripting",
        "scripting",
        "Invoke a function",
        fcall,
    ),
    cmd(
        "fcall_ro",
        -3,
        EVAL | READONLY,
        NOKEYS,
        "@slow @scripting",
        "scripting",
        "Invoke a read-only function",
        fcall_ro,
    ),
    with_subs(
        cmd(
            "function",
            -2,
            0,
            NOKEYS,
            "@slow",
            "scripting",
            "A container for function commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "function|load",
                -3,
                WRITE | DENYOOM | NOSCRIPT,
                NOKEYS,
                "@write @slow @scripting",
                "scripting",
                "Create a function with the given arguments (name, code, description)",
                function_load,
            ),
            cmd(
                "function|delete",
                3,
                WRITE | NOSCRIPT,
                NOKEYS,
                "@write @slow @scripting",
                "scripting",
                "Delete a function by name",
                function_delete,
            ),
            cmd(
                "function|dump",
                2,
                NOSCRIPT,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Dump all functions into a serialized binary payload",
                function_dump,
            ),
            cmd(
                "function|flush",
                -2,
                WRITE | NOSCRIPT,
                NOKEYS,
                "@write @slow @scripting",
                "scripting",
                "Deleting all functions",
                function_flush,
            ),
            cmd(
                "function|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Show helpful text about the different subcommands",
                function_help,
            ),
            cmd(
                "function|kill",
                2,
                NOSCRIPT | ALLOW_BUSY,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Kill the function currently in execution.",
                script_kill,
            ),
            cmd(
                "function|list",
                -2,
                NOSCRIPT,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "List information about all the functions",
                function_list,
            ),
            cmd(
                "function|restore",
                -3,
                WRITE | DENYOOM | NOSCRIPT,
                NOKEYS,
                "@write @slow @scripting",
                "scripting",
                "Restore all the functions on the given payload",
                function_restore,
            ),
            cmd(
                "function|stats",
                2,
                NOSCRIPT | ALLOW_BUSY,
                NOKEYS,
                "@slow @scripting",
                "scripting",
                "Return information about the function currently running (name, description, duration)",
                function_stats,
            ),
        ],
    ),
];

/// The engine, created on first use.
fn engine(ctx: &mut Ctx) -> Result<Box<Scripting>, CmdError> {
    Scripting::take_or_start(&mut ctx.st.scripting)
        .map_err(|e| CmdError::msg(format!("ERR cannot start Lua: {e}")))
}

fn eval(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, false, false)
}

fn evalsha(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, true, false)
}

fn eval_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, false, true)
}

fn evalsha_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    eval_generic(ctx, argv, true, true)
}

/// Whether `cmd` is one of the EVAL or FCALL commands: they run other
/// commands, which touch (for WATCH and blocked clients) the keys they
/// write; their own arguments are no key positions.
pub fn is_eval(cmd: &Cmd) -> bool {
    // The group first: one comparison for every other command (this runs
    // after each write).
    cmd.group == "scripting" && (cmd.name.starts_with("eval") || cmd.name.starts_with("fcall"))
}

/// A command's arguments, or a run of them.
type Args<'a> = &'a [&'a [u8]];

/// An EVAL command's `KEYS` and `ARGV` (after its `numkeys`), with Redis's
/// errors for a bad count. Also COMMAND GETKEYS's answer.
pub fn keys_and_args<'a>(argv: Args<'a>) -> Result<(Args<'a>, Args<'a>), CmdError> {
    let numkeys = crate::util::parse_i64(argv[2]).ok_or(CmdError::NotInteger)?;
    if numkeys < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    if numkeys as usize > argv.len() - 3 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(argv[3..].split_at(numkeys as usize))
}

fn eval_generic(ctx: &mut Ctx, argv: &[&[u8]], by_sha: bool, read_only: bool) -> CmdResult {
    // Shown in MONITOR before the commands it runs (even one
    // refused for its arguments), as Redis shows it
    // (the command table's skip_monitor keeps it from the usual feed,
    // which comes after execution).
    if !ctx.st.monitors.is_empty() {
        crate::server::exec::feed_monitors(ctx.st, ctx.client, ctx.cmd, argv);
    }
    let (keys, args) = keys_and_args(argv)?;
    // No engine yet: no script either (and no Lua state made to say so).
    if by_sha && ctx.st.scripting.is_none() {
        return Err(CmdError::msg(NO_SCRIPT));
    }
    let mut eng = engine(ctx)?;
    let result = if by_sha {
        let sha = String::from_utf8_lossy(argv[1]).to_ascii_lowercase();
        eng.run(ctx, &sha, keys, args, read_only)
    } else {
        eng.load(argv[1])
            .and_then(|sha| eng.run(ctx, &sha, keys, args, read_only))
    };
    ctx.st.scripting = Some(eng);
    result
}

fn script_load(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut eng = engine(ctx)?;
    let r = eng.load(argv[2]);
    ctx.st.scripting = Some(eng);
    ctx.out.bulk(r?.as_bytes());
    Ok(())
}

fn script_exists(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.out.array(argv.len() - 2);
    for sha in &argv[2..] {
        let found = ctx.st.scripting.as_ref().is_some_and(|e| e.exists(sha));
        ctx.out.int(found as i64);
    }
    Ok(())
}

fn script_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mode_ok = |m: &&[u8]| m.eq_ignore_ascii_case(b"async") || m.eq_ignore_ascii_case(b"sync");
    if argv.len() > 3 || !argv.get(2).is_none_or(mode_ok) {
        return Err(CmdError::msg(
            "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
        ));
    }
    // Function libraries stay (Redis keeps them in a Lua state of their
    // own).
    if let Some(e) = ctx.st.scripting.as_mut() {
        e.flush_scripts();
    }
    ctx.out.ok();
    Ok(())
}

fn script_kill(_ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    // A script runs under the state lock to its end, so none is ever
    // running when another command is served.
    Err(CmdError::msg("NOTBUSY No scripts in execution right now."))
}

fn script_debug(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv[2].eq_ignore_ascii_case(b"no") {
        ctx.out.ok();
        return Ok(());
    }
    if argv[2].eq_ignore_ascii_case(b"yes") || argv[2].eq_ignore_ascii_case(b"sync") {
        return Err(CmdError::msg(
            "ERR Cairn has no Lua debugger (SCRIPT DEBUG NO only)",
        ));
    }
    Err(CmdError::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"))
}

fn script_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "script",
        &[
            "DEBUG (YES|SYNC|NO)",
            "    Set the debug mode for subsequent scripts executed.",
            "EXISTS <sha1> [<sha1> ...]",
            "    Return information about the existence of the scripts in the script cache.",
            "FLUSH [ASYNC|SYNC]",
            "    Flush the Lua scripts cache. Very dangerous on replicas.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the scripts cache.",
            "    * SYNC: Synchronously flush the scripts cache.",
            "KILL",
            "    Kill the currently executing Lua script.",
            "LOAD <script>",
            "    Load a script into the scripts cache without executing it.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- functions

fn fcall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    fcall_generic(ctx, argv, false)
}

fn fcall_ro(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    fcall_generic(ctx, argv, true)
}

fn fcall_generic(ctx: &mut Ctx, argv: &[&[u8]], read_only: bool) -> CmdResult {
    if !ctx.st.monitors.is_empty() {
        crate::server::exec::feed_monitors(ctx.st, ctx.client, ctx.cmd, argv);
    }
    let Some(mut eng) = ctx.st.scripting.take() else {
        return Err(CmdError::msg("ERR Function not found"));
    };
    let keys = || {
        // A count that is no integer has FCALL's own message.
        if crate::util::parse_i64(argv[2]).is_none() {
            return Err(CmdError::msg("ERR Bad number of keys provided"));
        }
        keys_and_args(argv)
    };
    let r = eng.fcall(ctx, argv[1], keys, read_only);
    ctx.st.scripting = Some(eng);
    r
}

/// Write the libraries to the data dir's functions file (or remove it
/// when there are none), durably, before the change is acknowledged.
pub fn save_functions(
    fs: &dyn crate::storage::fs::Fs,
    dir: &std::path::Path,
    codes: &[Vec<u8>],
) -> std::io::Result<()> {
    let path = dir.join(FUNCTIONS_FILE);
    if codes.is_empty() {
        if fs.exists(&path) {
            fs.remove(&path)?;
            fs.sync_dir(dir)?;
        }
        return Ok(());
    }
    crate::storage::fs::replace_file(fs, &path, &functions::encode_file(codes))
}

/// Apply a change to the libraries (`change`), then save them; if they
/// cannot be saved, put them back and say why.
fn change_functions(
    ctx: &mut Ctx,
    change: impl FnOnce(&mut Scripting) -> Result<(), CmdError>,
) -> CmdResult {
    let mut eng = engine(ctx)?;
    let before = eng.saved_libraries();
    let r = change(&mut eng).and_then(|()| {
        let fs = ctx.st.persist.fs.clone();
        save_functions(&*fs, &ctx.st.config.s.dir, &eng.library_codes()).map_err(|e| {
            eng.restore_libraries(before);
            CmdError::msg(format!(
                "ERR the function libraries could not be saved, nothing changed: {e}"
            ))
        })
    });
    ctx.st.scripting = Some(eng);
    r
}

fn function_load(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut replace = false;
    let mut pos = 2;
    while pos < argv.len() - 1 {
        if argv[pos].eq_ignore_ascii_case(b"replace") {
            replace = true;
            pos += 1;
            continue;
        }
        return Err(CmdError::msg(format!(
            "ERR Unknown option given: {}",
            String::from_utf8_lossy(argv[pos])
        )));
    }
    let code = argv[pos];
    let mut name = String::new();
    change_functions(ctx, |e| {
        name = e.load_library(code, replace)?;
        Ok(())
    })?;
    ctx.out.bulk(name.as_bytes());
    Ok(())
}

fn function_delete(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if ctx.st.scripting.is_none() {
        return Err(CmdError::msg("ERR Library not found"));
    }
    change_functions(ctx, |e| e.delete_library(argv[2]))?;
    ctx.out.ok();
    Ok(())
}

fn function_flush(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(super::subcommand_syntax(argv));
    }
    let mode_ok = |m: &&[u8]| m.eq_ignore_ascii_case(b"async") || m.eq_ignore_ascii_case(b"sync");
    if !argv.get(2).is_none_or(mode_ok) {
        return Err(CmdError::msg(
            "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
        ));
    }
    change_functions(ctx, |e| {
        e.flush_libraries();
        Ok(())
    })?;
    ctx.out.ok();
    Ok(())
}

fn function_dump(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let codes = ctx
        .st
        .scripting
        .as_ref()
        .map(|e| e.library_codes())
        .unwrap_or_default();
    let p = functions::dump_payload(&codes, ctx.st.config.s.rdbcompression);
    ctx.out.bulk(&p);
    Ok(())
}

fn function_restore(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 4 {
        return Err(super::subcommand_syntax(argv));
    }
    let (mut flush, mut replace) = (false, false);
    if let Some(p) = argv.get(3) {
        if p.eq_ignore_ascii_case(b"flush") {
            flush = true;
        } else if p.eq_ignore_ascii_case(b"replace") {
            replace = true;
        } else if !p.eq_ignore_ascii_case(b"append") {
            return Err(CmdError::msg(
                "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
            ));
        }
    }
    let codes = functions::parse_payload(argv[2])?;
    change_functions(ctx, |e| e.restore_payload(&codes, flush, replace))?;
    ctx.out.ok();
    Ok(())
}

fn function_list(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (mut with_code, mut pattern): (bool, Option<&[u8]>) = (false, None);
    let mut i = 2;
    while i < argv.len() {
        let a = argv[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= argv.len() {
                return Err(CmdError::msg("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(argv[i]);
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unknown argument {}",
                String::from_utf8_lossy(a)
            )));
        }
        i += 1;
    }
    let Some(eng) = ctx.st.scripting.as_ref() else {
        ctx.out.array(0);
        return Ok(());
    };
    let libs: Vec<_> = eng
        .libraries()
        .filter(|l| pattern.is_none_or(|p| crate::util::glob_match(p, l.name.as_bytes(), true)))
        .collect();
    let out = &mut *ctx.out;
    out.array(libs.len());
    for l in libs {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(l.name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.functions.len());
        for f in &l.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d),
                None => out.null(),
            }
            out.bulk(b"flags");
            out.set(f.flags.len());
            for fl in &f.flags {
                out.simple(fl);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}

fn function_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let (libs, funcs) = ctx
        .st
        .scripting
        .as_ref()
        .map_or((0, 0), |e| (e.libraries().count(), e.function_count()));
    let out = &mut *ctx.out;
    out.map(2);
    out.bulk(b"running_script");
    out.null();
    out.bulk(b"engines");
    out.map(1);
    out.bulk(b"LUA");
    out.map(2);
    out.bulk(b"libraries_count");
    out.int(libs as i64);
    out.bulk(b"functions_count");
    out.int(funcs as i64);
    Ok(())
}

fn function_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "function",
        &[
            "LOAD [REPLACE] <FUNCTION CODE>",
            "    Create a new library with the given library name and code.",
            "DELETE <LIBRARY NAME>",
            "    Delete the given library.",
            "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
            "    Return general information on all the libraries:",
            "    * Library name",
            "    * The engine used to run the Library",
            "    * Library description",
            "    * Functions list",
            "    * Library code (if WITHCODE is given)",
            "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
            "STATS",
            "    Return information about the current function running:",
            "    * Function name",
            "    * Command used to run the function",
            "    * Duration in MS that the function is running",
            "    If no function is running, return nil",
            "    In addition, returns a list of available engines.",
            "KILL",
            "    Kill the current running function.",
            "FLUSH [ASYNC|SYNC]",
            "    Delete all the libraries.",
            "    When called without the optional mode argument, the behavior is determined by the",
            "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
            "    * ASYNC: Asynchronously flush the libraries.",
            "    * SYNC: Synchronously flush the libraries.",
            "DUMP",
            "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
            "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
            "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
            "    control how to handle existing libraries (default APPEND):",
            "    * FLUSH: delete all existing libraries.",
            "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
            "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
            "      libraries with the new libraries (notice that even on this option there is a chance of failure",
            "      in case of functions name collision with another library).",
        ],
    );
    Ok(())
}

/// Start-up: load the data dir's function libraries, if it has any.
pub fn load_functions(st: &mut crate::server::state::State) -> Result<usize, String> {
    let path = st.config.s.dir.join(FUNCTIONS_FILE);
    let fs = st.persist.fs.clone();
    if !fs.exists(&path) {
        return Ok(0);
    }
    let bytes = fs
        .read(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let codes = functions::decode_file(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut eng = Scripting::take_or_start(&mut st.scripting)
        .map_err(|e| format!("cannot start Lua: {e}"))?;
    let r = codes.iter().try_for_each(|c| {
        eng.load_library(c, false)
            .map(|_| ())
            .map_err(|e| format!("{}: a library does not load: {}", path.display(), e.reply()))
    });
    st.scripting = Some(eng);
    r.map(|()| codes.len())
}
