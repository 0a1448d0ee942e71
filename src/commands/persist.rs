//! Persistence commands: SAVE BGSAVE BGREWRITEAOF (LASTSAVE and SHUTDOWN
//! live with the server commands). The work is in `server/persist.rs`.

use super::{Cmd, CmdError, CmdResult, Ctx, NOKEYS, cmd, flag::*};
use crate::server::persist::{self, JobKind};
use crate::util::eq_ic;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "save",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING | NO_MULTI,
        NOKEYS,
        "@admin @slow @dangerous",
        "server",
        "Synchronously save the dataset to disk",
        save,
    ),
    cmd(
        "bgsave",
        -1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        NOKEYS,
        "@admin @slow @dangerous",
        "server",
        "Asynchronously save the dataset to disk",
        bgsave,
    ),
    cmd(
        "bgrewriteaof",
        1,
        ADMIN | NOSCRIPT | NO_ASYNC_LOADING,
        NOKEYS,
        "@admin @slow @dangerous",
        "server",
        "Asynchronously rewrite the append-only file",
        bgrewriteaof,
    ),
];

fn save(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if ctx.st.persist.running(JobKind::Save) {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    match persist::save_sync(ctx.st) {
        Ok(()) => ctx.out.ok(),
        Err(_) => ctx.out.error("ERR"),
    }
    Ok(())
}

fn bgsave(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let schedule = match argv.len() {
        1 => false,
        2 if eq_ic(argv[1], b"schedule") => true,
        _ => return Err(CmdError::Syntax),
    };
    let p = &mut ctx.st.persist;
    if p.save_in_progress() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    // Inside EXEC the cut would fall in the middle of the transaction
    // (its first commands in the image and in a sealed record, the rest
    // after): Redis 7 schedules it, and so does Cairn.
    if ctx.st.in_exec {
        p.bgsave_scheduled = true;
        ctx.out.simple("Background saving scheduled");
        return Ok(());
    }
    if p.running(JobKind::Rewrite) && persist::preempt_auto_rewrite(ctx.st) {
        ctx.out.simple("Background saving started");
        return Ok(());
    }
    let p = &mut ctx.st.persist;
    if p.running(JobKind::Rewrite) {
        if schedule {
            p.bgsave_scheduled = true;
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::msg(
            "ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible.",
        ));
    }
    persist::start(ctx.st, JobKind::Save).map_err(|e| CmdError::Msg(format!("ERR {e}")))?;
    ctx.out.simple("Background saving started");
    Ok(())
}

fn bgrewriteaof(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let p = &mut ctx.st.persist;
    if p.running(JobKind::Rewrite) {
        return Err(CmdError::msg(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    // Inside EXEC: scheduled, as BGSAVE is (and as Redis 7 does).
    if p.running(JobKind::Save) || ctx.st.in_exec {
        p.rewrite_scheduled = true;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    persist::start(ctx.st, JobKind::Rewrite).map_err(|e| CmdError::Msg(format!("ERR {e}")))?;
    ctx.out
        .simple("Background append only file rewriting started");
    Ok(())
}
