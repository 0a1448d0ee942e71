//! Scripting commands: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO, SCRIPT.
//! The engine is `crate::scripting`.

use super::{CmdError, CmdResult, Ctx, NOKEYS, cmd, dispatch_sub, flag::*, help_reply, with_subs};
use crate::commands::Cmd;
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
];

/// The engine, created on first use.
fn engine(ctx: &mut Ctx) -> Result<Box<Scripting>, CmdError> {
    match ctx.st.scripting.take() {
        Some(e) => Ok(e),
        None => Scripting::new()
            .map(Box::new)
            .map_err(|e| CmdError::msg(format!("ERR cannot start Lua: {e}"))),
    }
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

/// Whether `cmd` is one of the EVAL commands: they run other commands,
/// which touch (for WATCH and blocked clients) the keys they write; the
/// EVAL's own arguments are no key positions.
pub fn is_eval(cmd: &Cmd) -> bool {
    // The group first: one comparison for every other command (this runs
    // after each write).
    cmd.group == "scripting" && cmd.name.starts_with("eval")
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
    // A new Lua state, created on next use.
    ctx.st.scripting = None;
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
