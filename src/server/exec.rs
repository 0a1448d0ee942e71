//! Executes one parsed command against the state: lookup, arity, auth,
//! handler, statistics, MONITOR feed, CLIENT REPLY handling.

use crate::commands::{self, Ctx, arity_ok, flag};
use crate::protocol::Reply;
use crate::server::state::{Client, CmdStat, ReplyMode, SlowEntry, State};
use std::time::Instant;

/// Run `argv` for `client`, appending the reply to `out`: a batch of one
/// command (its effects are sealed into a record of their own).
pub fn execute(st: &mut State, client: &mut Client, out: &mut Reply, argv: &[&[u8]]) {
    st.clock = None;
    execute_at(st, client, out, argv, crate::util::now_ms());
    st.ks.journal.seal();
}

/// `execute` with the command time given (a connection reads the clock
/// once per batch of pipelined commands).
pub fn execute_at(st: &mut State, client: &mut Client, out: &mut Reply, argv: &[&[u8]], now: u64) {
    client.last_ms = now;
    let mark = out.len();
    out.resp3 = client.resp3;
    let found = commands::lookup(argv[0]);
    if client.multi.is_some() && !found.is_some_and(|c| commands::multi::runs_inside_multi(c.name))
    {
        queue(st, client, out, argv, found);
    } else {
        dispatch(st, client, out, argv, found, now);
    }
    match client.reply_mode {
        ReplyMode::On => {}
        ReplyMode::Off => out.truncate(mark),
        ReplyMode::SkipNext => client.reply_mode = ReplyMode::Skip,
        ReplyMode::Skip => {
            out.truncate(mark);
            client.reply_mode = ReplyMode::On;
        }
    }
}

/// The checks Redis makes before it runs or queues a command: unknown
/// command, arity, authentication, and writes refused while the log or a
/// snapshot is failing (MISCONF). The command if it may go on; else the
/// error to answer (counted as a rejected call of a known command).
fn admit(
    st: &mut State,
    client: &mut Client,
    argv: &[&[u8]],
    found: Option<&'static commands::Cmd>,
) -> Result<&'static commands::Cmd, String> {
    let Some(cmd) = found else {
        return Err(commands::unknown_command(argv));
    };
    let refused = if !arity_ok(cmd.arity, argv.len()) {
        Some(format!(
            "ERR wrong number of arguments for '{}' command",
            cmd.name
        ))
    } else if !client.authenticated && cmd.flags & flag::NO_AUTH == 0 {
        if st.config.s.requirepass.is_none() {
            client.authenticated = true;
            None
        } else {
            Some("NOAUTH Authentication required.".into())
        }
    } else if refused_for_memory(st, client, cmd, argv) {
        Some(super::evict::OOM_ERROR.into())
    } else if cmd.is_write() && log_failed(st) {
        let why = st
            .log
            .as_ref()
            .and_then(|l| l.last_error())
            .unwrap_or_default();
        Some(format!(
            "MISCONF Errors writing to the AOF file: {}",
            strerror(&why)
        ))
    } else if cmd.is_write() && super::persist::refuses_writes(st) {
        Some(super::persist::MISCONF_BGSAVE.into())
    } else if client.pubsub.is_some()
        && !client.resp3
        && !commands::pubsub::allowed_subscribed(cmd)
        && sub_resolves(cmd, argv)
    {
        Some(format!(
            "ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context",
            effective(cmd, argv).name
        ))
    } else {
        None
    };
    match refused {
        Some(msg) => {
            st.stats.cmdstats.entry(cmd.name).or_default().rejected += 1;
            Err(msg)
        }
        None => Ok(cmd),
    }
}

/// Redis's `maxmemory` step of `processCommand`: before a client's
/// command (not one EXEC or a script runs, not replay), evict as the
/// policy says (`evict::perform`); if memory stays full, refuse the
/// commands that may add memory and any command queued in MULTI. The
/// outcome is kept for the scripts the command runs (`Evictor::oom`).
fn refused_for_memory(
    st: &mut State,
    client: &Client,
    cmd: &'static commands::Cmd,
    argv: &[&[u8]],
) -> bool {
    // (A blocked client being served is not checked again, as in Redis.)
    if st.config.s.maxmemory == 0
        || st.in_exec
        || st.in_script
        || st.replaying
        || client.serving.is_some()
    {
        return false;
    }
    let oom = super::evict::perform(st) == super::evict::Outcome::Fail;
    st.evict.oom = oom;
    if !oom {
        return false;
    }
    // Queuing may take any amount of memory; EXEC is judged by what it
    // would run.
    let queuing =
        client.multi.is_some() && !matches!(cmd.name, "exec" | "discard" | "quit" | "reset");
    queuing
        || denies_oom(st, cmd, argv)
        || (cmd.name == "exec"
            && client.multi.as_ref().is_some_and(|m| {
                m.queue.iter().any(|q| {
                    let refs: Vec<&[u8]> = q.iter().map(|a| a.as_slice()).collect();
                    commands::lookup(&q[0]).is_some_and(|c| denies_oom(st, c, &refs))
                })
            }))
}

/// The command may add memory (Redis's `denyoom` flag; for EVAL, EVALSHA
/// and FCALL, what their script's declared flags make of them).
fn denies_oom(st: &State, cmd: &'static commands::Cmd, argv: &[&[u8]]) -> bool {
    if effective(cmd, argv).flags & flag::DENYOOM != 0 {
        return true;
    }
    let Some(arg) = argv.get(1) else {
        return false;
    };
    let engine = st.scripting.as_deref();
    match cmd.name {
        "eval" | "eval_ro" => crate::scripting::body_denies_oom(arg),
        "evalsha" | "evalsha_ro" => engine.is_some_and(|e| {
            e.script_denies_oom(&String::from_utf8_lossy(arg).to_ascii_lowercase())
        }),
        "fcall" | "fcall_ro" => engine.is_some_and(|e| e.function_denies_oom(arg)),
        _ => false,
    }
}

/// Inside MULTI: admit the command as the dispatcher would and queue it
/// (`+QUEUED`), or refuse it and doom the transaction (EXECABORT), as
/// Redis 7.0's `processCommand` does.
fn queue(
    st: &mut State,
    client: &mut Client,
    out: &mut Reply,
    argv: &[&[u8]],
    found: Option<&'static commands::Cmd>,
) {
    let admitted = admit(st, client, argv, found).and_then(|cmd| {
        if cmd.flags & flag::NO_MULTI != 0 {
            st.stats.cmdstats.entry(cmd.name).or_default().rejected += 1;
            Err("ERR Command not allowed inside a transaction".into())
        } else {
            Ok(cmd)
        }
    });
    let m = client.multi.as_mut().expect("inside MULTI");
    match admitted {
        Err(msg) => {
            m.failed = true;
            reply_error(st, out, &msg);
        }
        Ok(_) => {
            m.queue.push(argv.iter().map(|a| a.to_vec()).collect());
            out.simple("QUEUED");
        }
    }
}

fn dispatch(
    st: &mut State,
    client: &mut Client,
    out: &mut Reply,
    argv: &[&[u8]],
    found: Option<&'static commands::Cmd>,
    now: u64,
) {
    client.last_cmd = found.map_or("NULL", |c| c.name);
    match admit(st, client, argv, found) {
        Ok(cmd) => run(st, client, out, argv, cmd, now),
        Err(msg) => reply_error(st, out, &msg),
    }
}

fn run(
    st: &mut State,
    client: &mut Client,
    out: &mut Reply,
    argv: &[&[u8]],
    cmd: &'static commands::Cmd,
    now: u64,
) {
    // The previous command of the batch ended when this one starts (the
    // parse in between is tens of nanoseconds; the clock read is two
    // percent of a pipelined command's CPU).
    let t0 = if st.replaying {
        None
    } else {
        Some(st.clock.take().unwrap_or_else(Instant::now))
    };
    let effects_before = st.ks.journal.effects;
    st.touch = super::state::Touch::Keys;
    st.ks.command_start();
    // FLUSHDB/FLUSHALL/SWAPDB change every key of their databases: the
    // watchers of keys that exist now are marked if the command runs.
    let flushed_watchers =
        if !st.watch.is_empty() && matches!(cmd.name, "flushdb" | "flushall" | "swapdb") {
            watchers_of_replaced(st, client.db, cmd.name, argv)
        } else {
            Vec::new()
        };
    let result = {
        let mut ctx = Ctx {
            st: &mut *st,
            client: &mut *client,
            out: &mut *out,
            now,
            cmd,
        };
        (cmd.handler)(&mut ctx, argv)
    };
    // The keyspace's own events (expired, new, keymiss) are published.
    if !st.ks.events.is_empty() {
        super::notify::flush_keyspace_events(st, client.id, out);
    }
    // The batch's effects become one log record (atomic on replay), sealed
    // by whoever ran the batch (`State::flush_journal`); a record is only
    // closed between commands, never inside EXEC.
    if !st.in_exec {
        st.ks.journal.end_command();
    }
    // Only a command that changed data can make a waited-on key ready
    // (a served command that drained nothing must not re-mark its keys).
    // Counted even when no log is configured.
    // A script's commands did this for their own keys as they ran (its
    // arguments are no key positions: ARGV values would be taken as keys).
    if st.ks.journal.effects != effects_before && !commands::scripting::is_eval(cmd) {
        if st.touch != super::state::Touch::Groups {
            st.blocking.touched(client.db, &argv[1..]);
        }
        if !st.watch.is_empty() && st.touch == super::state::Touch::Keys {
            st.watch.mark(flushed_watchers);
            if cmd.flags & flag::MOVABLEKEYS != 0 {
                for k in &argv[1..] {
                    st.watch.touch(client.db, k);
                }
            } else {
                // A container's keys are its subcommand's (XGROUP CREATE).
                let keyed = match (cmd.subs.is_empty(), argv.get(1)) {
                    (false, Some(sub)) => commands::lookup_sub(cmd, sub).unwrap_or(cmd),
                    _ => cmd,
                };
                for k in commands::key_args(keyed, argv) {
                    st.watch.touch(client.db, k);
                }
            }
        }
    }
    if client.serving.is_none()
        && let Some(req) = client.block.take()
    {
        let slot = st
            .blocking
            .register(client.id, client.db, req.clone(), argv, client.resp3);
        client.blocked = Some((slot, req.deadline));
    }
    let Some(t0) = t0 else {
        // Replay (`Replayer`): Redis calls a loaded command's handler
        // directly, without `call()`'s statistics, slowlog or monitors,
        // and so does this; it also saves two clock reads per command
        // (5% of a log replay's time in perf).
        if let Err(e) = result {
            reply_error(st, out, &e.reply());
        }
        return;
    };
    let t1 = Instant::now();
    let usec = t1.duration_since(t0).as_micros() as u64;
    // The next command of the batch starts at `t1`, unless work below
    // (neither this command's time nor the next one's) comes between.
    let mut clock = Some(t1);
    st.stats.total_commands += 1;
    // Subcommands have their own statistics ("cmdstat_config|get").
    let eff = effective(cmd, argv);
    let stat: &mut CmdStat = st.stats.cmdstats.entry(eff.name).or_default();
    stat.calls += 1;
    stat.usec += usec;
    if let Err(e) = result {
        stat.failed += 1;
        reply_error(st, out, &e.reply());
    }
    // Like Redis 7.0 (`call()`): fed after execution (so SELECT shows the
    // new database), never for admin commands (CONFIG SET requirepass ...).
    if !st.monitors.is_empty() && eff.flags & (flag::SKIP_MONITOR | flag::ADMIN) == 0 {
        feed_monitors(st, client, cmd, argv);
        clock = None;
    }
    let threshold = st.config.s.slowlog_log_slower_than;
    // A script's commands are not logged apart from the script (Redis).
    if threshold >= 0
        && usec >= threshold as u64
        && cmd.flags & flag::SKIP_SLOWLOG == 0
        && !st.in_script
    {
        slowlog_push(st, client, argv, usec, now);
        clock = None;
    }
    // Clients blocked on keys this command filled get served before any
    // other command runs (after the whole transaction, inside EXEC).
    if !st.in_exec && super::blocking::serve(st, now) {
        clock = None;
    }
    st.clock = clock;
}

/// Clients watching keys that exist now in the databases FLUSHDB,
/// FLUSHALL or SWAPDB is about to replace.
fn watchers_of_replaced(st: &State, db: usize, name: &str, argv: &[&[u8]]) -> Vec<u64> {
    let dbs: Vec<usize> = match name {
        "flushdb" => vec![db],
        "flushall" => (0..st.ks.dbs.len()).collect(),
        _ => argv[1..]
            .iter()
            .filter_map(|a| std::str::from_utf8(a).ok()?.parse().ok())
            .filter(|&d: &usize| d < st.ks.dbs.len())
            .collect(),
    };
    let mut out = Vec::new();
    for &d in &dbs {
        // SWAPDB: a key counts if it exists on either side.
        out.extend(st.watch.watchers_of_existing(d, |k| {
            dbs.iter().any(|&x| st.ks.dbs[x].table.get(k).is_some())
        }));
    }
    out
}

/// The log cannot take writes (failed write or fsync, disk full).
#[inline]
fn log_failed(st: &State) -> bool {
    st.log.as_ref().is_some_and(|l| l.is_failed())
}

/// "No space left on device (os error 28)" -> "No space left on device".
fn strerror(e: &str) -> &str {
    match e.rfind(" (os error") {
        Some(i) => &e[..i],
        None => e,
    }
}

fn reply_error(st: &mut State, out: &mut Reply, msg: &str) {
    st.stats.error_replies += 1;
    let code = msg.split(' ').next().unwrap_or("ERR").to_string();
    *st.stats.errorstats.entry(code).or_insert(0) += 1;
    out.error(msg);
}

fn slowlog_push(st: &mut State, client: &Client, argv: &[&[u8]], usec: u64, now: u64) {
    let max = st.config.s.slowlog_max_len;
    if max == 0 {
        return;
    }
    // Redis keeps at most 32 args and 128 bytes per arg.
    let mut args: Vec<Vec<u8>> = argv
        .iter()
        .take(if argv.len() > 32 { 31 } else { 32 })
        .map(|a| {
            if a.len() > 128 {
                let mut v = a[..128].to_vec();
                v.extend_from_slice(format!("... ({} more bytes)", a.len() - 128).as_bytes());
                v
            } else {
                a.to_vec()
            }
        })
        .collect();
    if argv.len() > 32 {
        args.push(format!("... ({} more arguments)", argv.len() - 31).into_bytes());
    }
    let id = st.slowlog_next_id;
    st.slowlog_next_id += 1;
    st.slowlog.push_front(SlowEntry {
        id,
        time: now / 1000,
        usec,
        argv: args,
        addr: client.addr.clone(),
        name: client.name.clone().unwrap_or_default(),
    });
    while st.slowlog.len() > max {
        st.slowlog.pop_back();
    }
}

/// The subcommand actually run, if any (CONFIG GET is admin, CONFIG is
/// only a container).
fn effective(cmd: &'static commands::Cmd, argv: &[&[u8]]) -> &'static commands::Cmd {
    if !cmd.subs.is_empty()
        && argv.len() > 1
        && let Some(sub) = commands::lookup_sub(cmd, argv[1])
    {
        return sub;
    }
    cmd
}

/// A container command names a subcommand that exists, with its arity
/// (Redis refuses an unknown or malformed subcommand before its other
/// checks; here the container's handler does). True for other commands.
fn sub_resolves(cmd: &'static commands::Cmd, argv: &[&[u8]]) -> bool {
    cmd.subs.is_empty()
        || argv.len() > 1
            && commands::lookup_sub(cmd, argv[1]).is_some_and(|s| arity_ok(s.arity, argv.len()))
}

/// Which arguments MONITOR must not show (Redis `redactClientCommandArgument`).
fn redacted(cmd: &commands::Cmd, argv: &[&[u8]]) -> Vec<bool> {
    let mut r = vec![false; argv.len()];
    match cmd.name {
        "auth" => r.iter_mut().skip(1).for_each(|x| *x = true),
        "hello" => {
            let mut j = 2;
            while j < argv.len() {
                let more = argv.len() - 1 - j;
                if argv[j].eq_ignore_ascii_case(b"auth") && more >= 2 {
                    r[j + 1] = true;
                    r[j + 2] = true;
                    j += 3;
                } else if argv[j].eq_ignore_ascii_case(b"setname") && more >= 1 {
                    j += 2;
                } else {
                    break;
                }
            }
        }
        _ => {}
    }
    r
}

pub(crate) fn feed_monitors(st: &mut State, client: &Client, cmd: &commands::Cmd, argv: &[&[u8]]) {
    // One clock reading for seconds and microseconds, so the stamp never
    // goes backwards at a second boundary.
    let us = crate::util::now_us();
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        us / 1_000_000,
        us % 1_000_000,
        client.db,
        // Commands a script runs show as Redis shows them.
        if st.in_script { "lua" } else { &client.addr }
    );
    let hide = redacted(cmd, argv);
    for (i, a) in argv.iter().enumerate() {
        if hide[i] {
            line.push_str(" \"(redacted)\"");
            continue;
        }
        line.push_str(" \"");
        for &b in a.iter() {
            match b {
                b'\\' => line.push_str("\\\\"),
                b'"' => line.push_str("\\\""),
                b'\n' => line.push_str("\\n"),
                b'\r' => line.push_str("\\r"),
                b'\t' => line.push_str("\\t"),
                7 => line.push_str("\\a"),
                8 => line.push_str("\\b"),
                0x20..=0x7e => line.push(b as char),
                _ => line.push_str(&format!("\\x{b:02x}")),
            }
        }
        line.push('"');
    }
    line.push_str("\r\n");
    st.monitors
        .retain(|(id, tx)| *id == client.id || tx.send(line.as_bytes()));
}
