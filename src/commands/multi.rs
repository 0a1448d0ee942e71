//! Transactions: MULTI EXEC DISCARD WATCH UNWATCH.
//!
//! Between MULTI and EXEC the dispatcher (`server/exec.rs`) queues every
//! command except these and QUIT/RESET, answering `+QUEUED`, or an error
//! that also dooms the transaction (unknown command, wrong arity, ...).
//! EXEC runs the queue under the one state lock it already holds, so no
//! other client's command interleaves; the effects of all its commands
//! become one log record (atomic on replay), and clients blocked on keys it
//! filled are served only after it. Blocking commands inside answer as if
//! they timed out. WATCHed keys changed by any write (`server/watched.rs`)
//! make EXEC answer a null array.

use super::{CmdError, CmdResult, Ctx, NOKEYS, cmd, flag::*};
use crate::commands::Cmd;
use crate::server::state::Multi;

const TX: u32 = NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "multi",
        1,
        TX | FAST | ALLOW_BUSY,
        NOKEYS,
        "@fast @transaction",
        "transactions",
        "Mark the start of a transaction block",
        multi,
    ),
    cmd(
        "exec",
        1,
        TX | SKIP_SLOWLOG,
        NOKEYS,
        "@slow @transaction",
        "transactions",
        "Execute all commands issued after MULTI",
        exec,
    ),
    cmd(
        "discard",
        1,
        TX | FAST | ALLOW_BUSY,
        NOKEYS,
        "@fast @transaction",
        "transactions",
        "Discard all commands issued after MULTI",
        discard,
    ),
    cmd(
        "watch",
        -2,
        TX | FAST | ALLOW_BUSY,
        (1, -1, 1),
        "@fast @transaction",
        "transactions",
        "Watch the given keys to determine execution of the MULTI/EXEC block",
        watch,
    ),
    cmd(
        "unwatch",
        1,
        TX | FAST | ALLOW_BUSY,
        NOKEYS,
        "@fast @transaction",
        "transactions",
        "Forget about all watched keys",
        unwatch,
    ),
];

/// Commands that run at once even inside MULTI.
pub fn runs_inside_multi(name: &str) -> bool {
    matches!(
        name,
        "exec" | "discard" | "multi" | "watch" | "quit" | "reset"
    )
}

fn multi(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR MULTI calls can not be nested"));
    }
    ctx.client.multi = Some(Multi::default());
    ctx.out.ok();
    Ok(())
}

/// Forget the client's watched keys.
pub fn unwatch_all(ctx: &mut Ctx) {
    let keys = std::mem::take(&mut ctx.client.watched);
    ctx.st.watch.unwatch(ctx.client.id, &keys);
}

fn exec(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let Some(m) = ctx.client.multi.take() else {
        return Err(CmdError::msg("ERR EXEC without MULTI"));
    };
    let aborted = ctx.st.watch.is_dirty(ctx.client.id)
        || ctx.client.watched.iter().any(|(db, k)| {
            ctx.st.ks.dbs[*db]
                .table
                .get(k)
                .is_some_and(|e| e.expire_at() != 0 && e.expire_at() <= ctx.now)
        });
    unwatch_all(ctx);
    if m.failed {
        return Err(CmdError::msg(
            "EXECABORT Transaction discarded because of previous errors.",
        ));
    }
    if aborted {
        ctx.out.null_array();
        return Ok(());
    }
    ctx.out.array(m.queue.len());
    let (no_block, in_exec) = (ctx.client.no_block, ctx.st.in_exec);
    ctx.client.no_block = true;
    ctx.st.in_exec = true;
    for argv in &m.queue {
        let args: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
        crate::server::exec::execute_at(ctx.st, ctx.client, ctx.out, &args, ctx.now);
    }
    ctx.client.no_block = no_block;
    ctx.st.in_exec = in_exec;
    Ok(())
}

fn discard(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if ctx.client.multi.take().is_none() {
        return Err(CmdError::msg("ERR DISCARD without MULTI"));
    }
    unwatch_all(ctx);
    ctx.out.ok();
    Ok(())
}

fn watch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if ctx.client.multi.is_some() {
        return Err(CmdError::msg("ERR WATCH inside MULTI is not allowed"));
    }
    let db = ctx.client.db;
    for &k in &argv[1..] {
        if ctx.st.watch.watch(ctx.client.id, db, k) {
            ctx.client.watched.push((db, k.to_vec()));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn unwatch(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    unwatch_all(ctx);
    ctx.out.ok();
    Ok(())
}
