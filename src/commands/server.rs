//! Server commands: INFO CONFIG COMMAND DBSIZE FLUSH* SWAPDB TIME LASTSAVE
//! DEBUG SHUTDOWN MONITOR SLOWLOG LATENCY.

use super::{
    Cmd, CmdError, CmdResult, Ctx, NOKEYS, arg_i64, cmd, dispatch_sub, flag, flag::*, help_reply,
    lookup, since, table, with_subs,
};
use crate::config::ConfigSetError;
use crate::server::state::ShutdownMode;
use crate::util::{eq_ic, glob_match};

const ADM: u32 = ADMIN | NOSCRIPT | LOADING | STALE;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "info",
        -1,
        LOADING | STALE,
        NOKEYS,
        "@slow @dangerous",
        "server",
        "Get information and statistics about the server",
        info,
    ),
    cmd(
        "dbsize",
        1,
        READONLY | FAST,
        NOKEYS,
        "@keyspace @read @fast",
        "server",
        "Return the number of keys in the selected database",
        dbsize,
    ),
    cmd(
        "flushdb",
        -1,
        WRITE,
        NOKEYS,
        "@keyspace @write @slow @dangerous",
        "server",
        "Remove all keys from the current database",
        flushdb,
    ),
    cmd(
        "flushall",
        -1,
        WRITE,
        NOKEYS,
        "@keyspace @write @slow @dangerous",
        "server",
        "Remove all keys from all databases",
        flushall,
    ),
    cmd(
        "swapdb",
        3,
        WRITE | FAST,
        NOKEYS,
        "@keyspace @write @fast @dangerous",
        "server",
        "Swaps two Redis databases",
        swapdb,
    ),
    cmd(
        "time",
        1,
        LOADING | STALE | FAST,
        NOKEYS,
        "@fast",
        "server",
        "Return the current server time",
        time,
    ),
    since(
        cmd(
            "wait",
            3,
            NOSCRIPT,
            NOKEYS,
            "@slow @connection",
            "generic",
            "Wait for the synchronous replication of all the write commands sent in the context of the current connection",
            wait,
        ),
        "3.0.0",
    ),
    since(
        cmd(
            "role",
            1,
            NOSCRIPT | LOADING | STALE | FAST,
            NOKEYS,
            "@admin @fast @dangerous",
            "server",
            "Return the role of the instance in the context of replication",
            role,
        ),
        "2.8.12",
    ),
    cmd(
        "lastsave",
        1,
        LOADING | STALE | FAST,
        NOKEYS,
        "@admin @fast @dangerous",
        "server",
        "Get the UNIX time stamp of the last successful save to disk",
        lastsave,
    ),
    cmd(
        "shutdown",
        -1,
        ADM | NO_MULTI | ALLOW_BUSY,
        NOKEYS,
        "@admin @slow @dangerous",
        "server",
        "Synchronously save the dataset to disk and then shut down the server",
        shutdown,
    ),
    cmd(
        "monitor",
        1,
        ADM,
        NOKEYS,
        "@admin @slow @dangerous",
        "server",
        "Listen for all requests received by the server in real time",
        monitor,
    ),
    with_subs(
        cmd(
            "config",
            -2,
            0,
            NOKEYS,
            "@slow",
            "server",
            "A container for server configuration commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "config|get",
                -3,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Get the values of configuration parameters",
                config_get,
            ),
            cmd(
                "config|set",
                -4,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Set configuration parameters to the given values",
                config_set,
            ),
            cmd(
                "config|resetstat",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Reset the stats returned by INFO",
                config_resetstat,
            ),
            cmd(
                "config|rewrite",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Rewrite the configuration file with the in memory configuration",
                config_rewrite,
            ),
            cmd(
                "config|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow",
                "server",
                "Show helpful text about the different subcommands",
                config_help,
            ),
        ],
    ),
    with_subs(
        cmd(
            "command",
            -1,
            LOADING | STALE,
            NOKEYS,
            "@slow @connection",
            "server",
            "Get array of Redis command details",
            command,
        ),
        &[
            cmd(
                "command|count",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow @connection",
                "server",
                "Get total number of Redis commands",
                command_count,
            ),
            cmd(
                "command|info",
                -2,
                LOADING | STALE,
                NOKEYS,
                "@slow @connection",
                "server",
                "Get array of specific Redis command details, or all when no argument is given.",
                command_info,
            ),
            cmd(
                "command|docs",
                -2,
                LOADING | STALE,
                NOKEYS,
                "@slow @connection",
                "server",
                "Get array of specific Redis command documentation",
                command_docs,
            ),
            cmd(
                "command|list",
                -2,
                LOADING | STALE,
                NOKEYS,
                "@slow @connection",
                "server",
                "Get an array of Redis command names",
                command_list,
            ),
            cmd(
                "command|getkeys",
                -4,
                LOADING | STALE,
                NOKEYS,
                "@slow @connection",
                "server",
                "Extract keys given a full Redis command",
                command_getkeys,
            ),
            cmd(
                "command|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow @connection",
                "server",
                "Show helpful text about the different subcommands",
                command_help,
            ),
        ],
    ),
    with_subs(
        cmd(
            "debug",
            -2,
            ADM,
            NOKEYS,
            "@admin @slow @dangerous",
            "server",
            "A container for debugging commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "debug|sleep",
                3,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Block the server for the given seconds",
                debug_sleep,
            ),
            cmd(
                "debug|panic",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Crash the server (to test recovery)",
                debug_panic,
            ),
            cmd(
                "debug|log",
                3,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Write a message to the server log",
                debug_log,
            ),
            cmd(
                "debug|set-active-expire",
                3,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Turn the active expiry cycle on or off",
                debug_active_expire,
            ),
            cmd(
                "debug|help",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Show helpful text about the different subcommands",
                debug_help,
            ),
        ],
    ),
    with_subs(
        cmd(
            "memory",
            -2,
            0,
            NOKEYS,
            "@slow",
            "server",
            "A container for memory diagnostics commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "memory|usage",
                -3,
                READONLY,
                (2, 2, 1),
                "@read @slow",
                "server",
                "Estimate the memory usage of a key",
                memory_usage,
            ),
            cmd(
                "memory|stats",
                2,
                0,
                NOKEYS,
                "@slow",
                "server",
                "Show memory usage details",
                memory_stats,
            ),
            cmd(
                "memory|doctor",
                2,
                0,
                NOKEYS,
                "@slow",
                "server",
                "Outputs memory problems report",
                memory_doctor,
            ),
            cmd(
                "memory|malloc-stats",
                2,
                0,
                NOKEYS,
                "@slow",
                "server",
                "Show allocator internal stats",
                memory_malloc_stats,
            ),
            cmd(
                "memory|purge",
                2,
                0,
                NOKEYS,
                "@slow",
                "server",
                "Ask the allocator to release memory",
                memory_purge,
            ),
            cmd(
                "memory|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow",
                "server",
                "Show helpful text about the different subcommands",
                memory_help,
            ),
        ],
    ),
    with_subs(
        cmd(
            "slowlog",
            -2,
            0,
            NOKEYS,
            "@slow",
            "server",
            "A container for slow log commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "slowlog|get",
                -2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Get the slow log's entries",
                slowlog_get,
            ),
            cmd(
                "slowlog|len",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Get the slow log's length",
                slowlog_len,
            ),
            cmd(
                "slowlog|reset",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Clear all entries from the slow log",
                slowlog_reset,
            ),
            cmd(
                "slowlog|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow",
                "server",
                "Show helpful text about the different subcommands",
                slowlog_help,
            ),
        ],
    ),
    with_subs(
        cmd(
            "latency",
            -2,
            0,
            NOKEYS,
            "@slow",
            "server",
            "A container for latency diagnostics commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "latency|latest",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Return the latest latency samples for all events.",
                latency_empty,
            ),
            cmd(
                "latency|history",
                3,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Return timestamp-latency samples for the event.",
                latency_empty,
            ),
            cmd(
                "latency|reset",
                -2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Reset latency data for one or more events.",
                latency_reset,
            ),
            cmd(
                "latency|doctor",
                2,
                ADM,
                NOKEYS,
                "@admin @slow @dangerous",
                "server",
                "Return a human readable latency analysis report.",
                latency_doctor,
            ),
            cmd(
                "latency|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow",
                "server",
                "Show helpful text about the different subcommands",
                latency_help,
            ),
        ],
    ),
];

// ---------------------------------------------------------------- keyspace-wide

fn dbsize(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let n = ctx.st.ks.dbs[ctx.db()].len();
    ctx.out.int(n as i64);
    Ok(())
}

fn flush_mode(argv: &[&[u8]]) -> CmdResult {
    match argv.len() {
        1 => Ok(()),
        2 if eq_ic(argv[1], b"async") || eq_ic(argv[1], b"sync") => Ok(()),
        _ => Err(CmdError::Syntax),
    }
}

/// Free a dropped database off the executor (like Redis's lazyfree), so a
/// flush of millions of keys does not stall other clients.
fn flushdb(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    flush_mode(argv)?;
    let db = ctx.db();
    crate::keyspace::lazyfree::free_db(ctx.st.ks.flush_db(db));
    ctx.propagate(&[b"FLUSHDB"]);
    ctx.out.ok();
    Ok(())
}

fn flushall(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    flush_mode(argv)?;
    for i in 0..ctx.st.ks.dbs.len() {
        crate::keyspace::lazyfree::free_db(ctx.st.ks.flush_db(i));
    }
    ctx.propagate(&[b"FLUSHALL"]);
    ctx.out.ok();
    Ok(())
}

fn swapdb(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let parse = |a: &[u8], which: &str| {
        crate::util::parse_i64(a)
            .filter(|n| *n >= i32::MIN as i64 && *n <= i32::MAX as i64)
            .ok_or_else(|| CmdError::Msg(format!("ERR invalid {which} DB index")))
    };
    let a = parse(argv[1], "first")?;
    let b = parse(argv[2], "second")?;
    let n = ctx.st.ks.dbs.len() as i64;
    if a < 0 || a >= n || b < 0 || b >= n {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.st.ks.dbs.swap(a as usize, b as usize);
    ctx.propagate(&[b"SWAPDB", argv[1], argv[2]]);
    ctx.out.ok();
    Ok(())
}

fn time(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let us = crate::util::now_us();
    ctx.out.array(2);
    ctx.out.bulk_int((us / 1_000_000) as i64);
    ctx.out.bulk_int((us % 1_000_000) as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.st.lastsave as i64);
    Ok(())
}

fn shutdown(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut mode = ShutdownMode::Default;
    let mut abort = false;
    for a in &argv[1..] {
        if eq_ic(a, b"nosave") {
            mode = ShutdownMode::NoSave;
        } else if eq_ic(a, b"save") {
            mode = ShutdownMode::Save;
        } else if eq_ic(a, b"now") || eq_ic(a, b"force") {
        } else if eq_ic(a, b"abort") {
            abort = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if abort {
        // ABORT takes no other flag (Redis).
        if argv.len() > 2 {
            return Err(CmdError::Syntax);
        }
        return Err(CmdError::msg("ERR No shutdown in progress."));
    }
    tracing::warn!("User requested shutdown...");
    ctx.st.shutdown = Some(mode);
    ctx.client.close_after_reply = true;
    Ok(())
}

fn monitor(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    if !ctx.client.monitor {
        ctx.client.monitor = true;
        ctx.st
            .monitors
            .push((ctx.client.id, ctx.client.push_tx.clone()));
    }
    ctx.out.ok();
    Ok(())
}

// ---------------------------------------------------------------- CONFIG

fn config_get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let pairs = ctx.st.config.get_matching(&argv[2..]);
    ctx.out.map(pairs.len());
    for (k, v) in pairs {
        ctx.out.bulk(k.as_bytes());
        ctx.out.bulk(v.as_bytes());
    }
    Ok(())
}

fn config_set(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if !argv.len().is_multiple_of(2) {
        return Err(CmdError::msg(
            "ERR wrong number of arguments for 'config|set' command",
        ));
    }
    // Validate all first on a copy, then commit: CONFIG SET is all-or-nothing.
    let mut next = ctx.st.config.clone();
    let mut seen: Vec<String> = Vec::new();
    for pair in argv[2..].chunks(2) {
        let name = String::from_utf8_lossy(pair[0]).into_owned();
        let value = String::from_utf8_lossy(pair[1]).into_owned();
        let canonical = crate::config::canonical_name(&name);
        if let Some(c) = &canonical {
            if seen.contains(c) {
                return Err(CmdError::Msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - duplicate parameter"
                )));
            }
            seen.push(c.clone());
        }
        match next.set(&name, &value) {
            Ok(()) => {}
            Err(ConfigSetError::Unknown) => {
                return Err(CmdError::Msg(format!(
                    "ERR Unknown option or number of arguments for CONFIG SET - '{name}'"
                )));
            }
            Err(ConfigSetError::Invalid(why)) => {
                return Err(CmdError::Msg(format!(
                    "ERR CONFIG SET failed (possibly related to argument '{name}') - {why}"
                )));
            }
        }
    }
    let level_changed = next.s.loglevel != ctx.st.config.s.loglevel;
    let max = next.s.maxmemory;
    let lowered = max != ctx.st.config.s.maxmemory && max > 0;
    ctx.st.config = next;
    if lowered {
        let used = crate::server::evict::used(ctx.st);
        if max < used {
            tracing::warn!(
                "WARNING: the new maxmemory value set via CONFIG SET ({max}) is smaller than the current memory usage ({used}). This will result in key eviction and/or the inability to accept new write commands depending on the maxmemory-policy."
            );
        }
    }
    ctx.st.apply_settings();
    if level_changed {
        crate::server::set_log_level(&ctx.st.config.s.loglevel);
    }
    if lowered {
        crate::server::evict::perform(ctx.st);
    }
    ctx.out.ok();
    Ok(())
}

fn config_resetstat(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let st = &mut *ctx.st;
    st.stats.cmdstats.clear();
    st.stats.errorstats.clear();
    st.stats.error_replies = 0;
    st.stats.total_commands = 0;
    st.stats.total_connections = 0;
    st.stats.rejected_connections = 0;
    st.stats.net_input_bytes = 0;
    st.stats.net_output_bytes = 0;
    st.ks.stats = Default::default();
    ctx.out.ok();
    Ok(())
}

fn config_rewrite(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let Some(path) = ctx.st.config.file.clone() else {
        return Err(CmdError::msg(
            "ERR The server is running without a config file",
        ));
    };
    let text = ctx.st.config.render();
    let tmp = path.with_extension("tmp-rewrite");
    let res = std::fs::write(&tmp, text)
        .and_then(|_| std::fs::File::open(&tmp)?.sync_all())
        .and_then(|_| std::fs::rename(&tmp, &path));
    match res {
        Ok(()) => {
            ctx.out.ok();
            Ok(())
        }
        Err(e) => Err(CmdError::Msg(format!("ERR Rewriting config file: {e}"))),
    }
}

fn config_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "config",
        &[
            "GET <pattern>",
            "    Return parameters matching the glob-like <pattern> and their values.",
            "SET <directive> <value>",
            "    Set the configuration <directive> to <value>.",
            "RESETSTAT",
            "    Reset statistics reported by the INFO command.",
            "REWRITE",
            "    Rewrite the configuration file.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- COMMAND

fn all_commands() -> impl Iterator<Item = &'static Cmd> {
    table().iter().flat_map(|f| f.iter())
}

fn write_cmd_info(out: &mut crate::protocol::Reply, c: &Cmd) {
    out.array(10);
    out.bulk(c.name.as_bytes());
    out.int(c.arity as i64);
    let flags: Vec<&str> = flag::NAMES
        .iter()
        .filter(|(f, _)| c.flags & f != 0)
        .map(|(_, n)| *n)
        .collect();
    out.set(flags.len());
    for f in flags {
        out.simple(f);
    }
    out.int(c.first_key as i64);
    out.int(c.last_key as i64);
    out.int(c.step as i64);
    let cats: Vec<&str> = c.acl.split_whitespace().collect();
    out.set(cats.len());
    for cat in cats {
        out.simple(cat);
    }
    out.set(0); // tips
    out.array(0); // key specs
    out.array(c.subs.len());
    for s in c.subs {
        write_cmd_info(out, s);
    }
}

fn command(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 1 {
        return super::dispatch_sub(ctx, argv);
    }
    let all: Vec<&Cmd> = all_commands().collect();
    ctx.out.array(all.len());
    for c in all {
        write_cmd_info(ctx.out, c);
    }
    Ok(())
}

fn command_count(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(all_commands().count() as i64);
    Ok(())
}

/// Find a command or a subcommand ("config|get").
fn find_any(name: &[u8]) -> Option<&'static Cmd> {
    let s = String::from_utf8_lossy(name).to_ascii_lowercase();
    match s.split_once('|') {
        None => lookup(name),
        Some((p, sub)) => lookup(p.as_bytes()).and_then(|c| super::lookup_sub(c, sub.as_bytes())),
    }
}

fn command_info(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() == 2 {
        let all: Vec<&Cmd> = all_commands().collect();
        ctx.out.array(all.len());
        for c in all {
            write_cmd_info(ctx.out, c);
        }
        return Ok(());
    }
    ctx.out.array(argv.len() - 2);
    for name in &argv[2..] {
        match find_any(name) {
            Some(c) => write_cmd_info(ctx.out, c),
            None => ctx.out.null(),
        }
    }
    Ok(())
}

fn write_cmd_docs(out: &mut crate::protocol::Reply, c: &Cmd) {
    out.bulk(c.name.as_bytes());
    let n = if c.subs.is_empty() { 3 } else { 4 };
    out.map(n);
    out.bulk(b"summary");
    out.bulk(c.summary.as_bytes());
    out.bulk(b"since");
    out.bulk(c.since.as_bytes());
    out.bulk(b"group");
    out.bulk(c.group.as_bytes());
    if !c.subs.is_empty() {
        out.bulk(b"subcommands");
        out.map(c.subs.len());
        for s in c.subs {
            write_cmd_docs(out, s);
        }
    }
}

fn command_docs(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let list: Vec<&Cmd> = if argv.len() == 2 {
        all_commands().collect()
    } else {
        argv[2..].iter().filter_map(|n| find_any(n)).collect()
    };
    ctx.out.map(list.len());
    for c in list {
        write_cmd_docs(ctx.out, c);
    }
    Ok(())
}

fn command_list(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut names: Vec<&str> = all_commands()
        .flat_map(|c| std::iter::once(c.name).chain(c.subs.iter().map(|s| s.name)))
        .collect();
    if argv.len() > 2 {
        if argv.len() != 5 || !eq_ic(argv[2], b"filterby") {
            return Err(CmdError::Syntax);
        }
        let v = argv[4];
        if eq_ic(argv[3], b"pattern") {
            names.retain(|n| glob_match(v, n.as_bytes(), true));
        } else if eq_ic(argv[3], b"aclcat") {
            let cat = format!("@{}", String::from_utf8_lossy(v).to_ascii_lowercase());
            names.retain(|n| {
                find_any(n.as_bytes()).is_some_and(|c| c.acl.split_whitespace().any(|x| x == cat))
            });
        } else if eq_ic(argv[3], b"module") {
            names.clear();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn command_getkeys(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let args = &argv[2..];
    let Some(mut c) = lookup(args[0]) else {
        return Err(CmdError::msg("ERR Invalid command specified"));
    };
    if !c.subs.is_empty()
        && args.len() > 1
        && let Some(s) = super::lookup_sub(c, args[1])
    {
        c = s;
    }
    if !super::arity_ok(c.arity, args.len()) {
        return Err(CmdError::msg(
            "ERR Invalid number of arguments specified for command",
        ));
    }
    // Scripts: the keys are the `numkeys` arguments after the script.
    if super::scripting::is_eval(c) {
        let keys = super::scripting::keys_and_args(args).map_or(&[][..], |(k, _)| k);
        ctx.out.bulks(keys.iter().copied());
        return Ok(());
    }
    // Shard channel names sit in key positions (cluster routing) but are
    // flagged `not_key`: Redis reports no keys for them.
    let keys = if c.flags & flag::MOVABLEKEYS != 0 {
        super::movable_keys(c, args)
            .ok_or_else(|| CmdError::msg("ERR Invalid arguments specified for command"))?
    } else if c.first_key == 0 || c.flags & flag::PUBSUB != 0 {
        return Err(CmdError::msg("ERR The command has no key arguments"));
    } else {
        super::key_args(c, args)
    };
    ctx.out.array(keys.len());
    for k in keys {
        ctx.out.bulk(k);
    }
    Ok(())
}

fn command_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "command",
        &[
            "(no subcommand)",
            "    Return details about all Redis commands.",
            "COUNT",
            "    Return the total number of commands in this Redis server.",
            "LIST",
            "    Return a list of all commands in this Redis server.",
            "INFO [<command-name> ...]",
            "    Return details about multiple Redis commands.",
            "DOCS [<command-name> ...]",
            "    Return documentation details about multiple Redis commands.",
            "GETKEYS <full-command>",
            "    Return the keys from a full Redis command.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- DEBUG

fn debug_sleep(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let secs = super::arg_f64(argv[2])?;
    if secs > 0.0 {
        // Blocks the whole server on purpose, as in Redis.
        std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
    }
    ctx.out.ok();
    Ok(())
}

/// DEBUG PANIC: panic in a command, as Redis's crashes the server. The
/// binary's panic hook stops the process (fail-stop: the log holds every
/// acknowledged write; memory may hold a half-done command).
fn debug_panic(_ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    panic!(
        "DEBUG PANIC called at Unix time {}",
        crate::util::now_ms() / 1000
    );
}

fn debug_log(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(argv[2]));
    ctx.out.ok();
    Ok(())
}

fn debug_active_expire(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let on = arg_i64(argv[2])? != 0;
    ctx.st.active_expire = on;
    ctx.out.ok();
    Ok(())
}

fn debug_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "debug",
        &[
            "PANIC",
            "    Crash the server (the log keeps every acknowledged write).",
            "LOG <message>",
            "    Write <message> to the server log.",
            "SET-ACTIVE-EXPIRE <0|1>",
            "    Setting it to 0 disables expiring keys in background when they are not",
            "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
            "    default.",
            "SLEEP <seconds>",
            "    Stop the server for <seconds>. Decimals allowed.",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- SLOWLOG / LATENCY

fn slowlog_get(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut count = 10i64;
    if argv.len() == 3 {
        count = crate::util::parse_i64(argv[2])
            .filter(|n| *n >= -1)
            .ok_or_else(|| CmdError::msg("ERR count should be greater than or equal to -1"))?;
        if count == -1 {
            count = i64::MAX;
        }
    } else if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let n = (count as usize).min(ctx.st.slowlog.len());
    let out = &mut *ctx.out;
    out.array(n);
    for e in ctx.st.slowlog.iter().take(n) {
        out.array(6);
        out.int(e.id as i64);
        out.int(e.time as i64);
        out.int(e.usec as i64);
        out.array(e.argv.len());
        for a in &e.argv {
            out.bulk(a);
        }
        out.bulk(e.addr.as_bytes());
        out.bulk(&e.name);
    }
    Ok(())
}

fn slowlog_len(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.st.slowlog.len() as i64);
    Ok(())
}

fn slowlog_reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.st.slowlog.clear();
    ctx.out.ok();
    Ok(())
}

fn slowlog_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "slowlog",
        &[
            "GET [<count>]",
            "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
            "    Entries are made of:",
            "    id, timestamp, time in microseconds, arguments array, client IP and port,",
            "    client name",
            "LEN",
            "    Return the length of the slowlog.",
            "RESET",
            "    Reset the slowlog.",
        ],
    );
    Ok(())
}

fn latency_empty(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.array(0);
    Ok(())
}

fn latency_reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(0);
    Ok(())
}

fn latency_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.verbatim(
        b"Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep tonight.\n",
    );
    Ok(())
}

fn latency_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "latency",
        &[
            "DOCTOR",
            "    Return a human readable latency analysis report.",
            "HISTORY <event>",
            "    Return time-latency samples for the <event> class.",
            "LATEST",
            "    Return the latest latency samples for all events.",
            "RESET [<event> ...]",
            "    Reset latency data of one or more <event> classes.",
            "    (default: reset all data for all event classes)",
        ],
    );
    Ok(())
}

// ---------------------------------------------------------------- INFO

const DEFAULT_SECTIONS: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn info(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut want: Vec<String> = argv[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    if want.is_empty() || want.iter().any(|w| w == "default") {
        want.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
    }
    if want.iter().any(|w| w == "all" || w == "everything") {
        want.extend(DEFAULT_SECTIONS.iter().map(|s| s.to_string()));
        want.push("commandstats".into());
        want.push("latencystats".into());
    }
    let text = crate::server::info::render(ctx.st, &want, ctx.now);
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

// ---------------------------------------------------------------- MEMORY

/// Bytes a key takes besides its value: the table entry and the key.
fn entry_overhead(e: &crate::keyspace::Entry) -> usize {
    std::mem::size_of::<crate::keyspace::Entry>() + e.key.heap_size()
}

/// MEMORY USAGE key [SAMPLES count]: the value's heap bytes (counted
/// whole; SAMPLES is checked and has nothing to sample) plus the entry
/// and the key. Redis's figure is its own structures' and differs.
fn memory_usage(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut j = 3;
    while j < argv.len() {
        if argv[j].eq_ignore_ascii_case(b"samples") && j + 1 < argv.len() {
            if arg_i64(argv[j + 1])? < 0 {
                return Err(CmdError::Syntax);
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let db = ctx.db();
    match ctx.st.ks.peek(db, argv[2], ctx.now) {
        Some(e) => {
            let n = entry_overhead(e) + e.value.heap_size();
            ctx.out.int(n as i64);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn memory_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let allocated = crate::alloc::allocated();
    let peak = crate::alloc::peak().max(allocated);
    let rss = crate::alloc::rss();
    let st = &*ctx.st;
    let lua = st.scripting.as_ref().map_or(0, |e| e.body_bytes);
    let funcs = st
        .scripting
        .as_ref()
        .map_or(0, |e| e.libraries().map(|l| l.code.len()).sum::<usize>());
    let dbs: Vec<(usize, usize, usize)> = st
        .ks
        .dbs
        .iter()
        .enumerate()
        .filter(|(_, d)| !d.is_empty())
        .map(|(i, d)| (i, d.len(), d.expires))
        .collect();
    let keys: usize = dbs.iter().map(|d| d.1).sum();
    // The tables' share: an entry per key (the rest is values).
    let entry = std::mem::size_of::<crate::keyspace::Entry>();
    let overhead: usize = dbs.iter().map(|d| d.1 * entry).sum();
    let dataset = allocated.saturating_sub(overhead);
    let pct = |a: usize, b: usize| {
        if b == 0 {
            0.0
        } else {
            a as f64 * 100.0 / b as f64
        }
    };
    let ratio = |a: usize, b: usize| if b == 0 { 0.0 } else { a as f64 / b as f64 };
    let out = &mut *ctx.out;
    out.map(27 + dbs.len());
    let int = |out: &mut crate::protocol::Reply, k: &str, v: usize| {
        out.bulk(k.as_bytes());
        out.int(v as i64);
    };
    int(out, "peak.allocated", peak);
    int(out, "total.allocated", allocated);
    int(out, "startup.allocated", 0);
    int(out, "replication.backlog", 0);
    int(out, "clients.slaves", 0);
    int(out, "clients.normal", 0);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    int(out, "lua.caches", lua);
    int(out, "functions.caches", funcs);
    for (i, n, volatile) in &dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", n * entry);
        int(out, "overhead.hashtable.expires", volatile * 8);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", overhead);
    int(out, "keys.count", keys);
    int(
        out,
        "keys.bytes-per-key",
        allocated.checked_div(keys).unwrap_or(0),
    );
    int(out, "dataset.bytes", dataset);
    out.bulk(b"dataset.percentage");
    out.double(pct(dataset, allocated));
    out.bulk(b"peak.percentage");
    out.double(pct(allocated, peak));
    int(out, "allocator.allocated", allocated);
    int(out, "allocator.active", allocated);
    int(out, "allocator.resident", rss);
    out.bulk(b"allocator-fragmentation.ratio");
    out.double(1.0);
    int(out, "allocator-fragmentation.bytes", 0);
    out.bulk(b"allocator-rss.ratio");
    out.double(ratio(rss, allocated));
    int(out, "allocator-rss.bytes", rss.saturating_sub(allocated));
    out.bulk(b"rss-overhead.ratio");
    out.double(1.0);
    int(out, "rss-overhead.bytes", 0);
    out.bulk(b"fragmentation");
    out.double(ratio(rss, allocated));
    int(out, "fragmentation.bytes", rss.saturating_sub(allocated));
    Ok(())
}

fn memory_doctor(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    // Redis's empty-instance text below 5 MB; above, Cairn has no
    // detector of its own to report from.
    let text = if crate::alloc::allocated() < 5 << 20 {
        "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n"
    } else {
        "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n"
    };
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn memory_malloc_stats(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out
        .bulk(b"Stats not supported for the current allocator");
    Ok(())
}

fn memory_purge(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    crate::alloc::collect();
    ctx.out.ok();
    Ok(())
}

fn memory_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "memory",
        &[
            "DOCTOR",
            "    Return memory problems reports.",
            "MALLOC-STATS",
            "    Return internal statistics report from the memory allocator.",
            "PURGE",
            "    Attempt to purge dirty pages for reclamation by the allocator.",
            "STATS",
            "    Return information about the memory usage of the server.",
            "USAGE <key> [SAMPLES <count>]",
            "    Return memory in bytes used by <key> and its value. Nested values are",
            "    sampled up to <count> times (default: 5, 0 means sample all).",
        ],
    );
    Ok(())
}

/// ROLE: a primary with no replicas (Cairn has no replication yet).
/// WAIT numreplicas timeout: Cairn has no replicas, so no write is ever
/// acknowledged by one. As Redis answers without replicas: 0 at once when
/// asked for none (or where a client may not block: MULTI, scripts),
/// else 0 once `timeout` milliseconds have passed (0: never).
fn wait(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let wanted = arg_i64(argv[1])?;
    let deadline = super::blocking::parse_timeout_ms(argv[2], ctx.now)?;
    if wanted <= 0 || ctx.client.no_block {
        ctx.out.int(0);
        return Ok(());
    }
    ctx.client.block = Some(crate::server::blocking::BlockRequest {
        timeout_reply: Some(b":0\r\n".to_vec()),
        ..crate::server::blocking::BlockRequest::new(&[], deadline)
    });
    Ok(())
}

fn role(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(0);
    ctx.out.array(0);
    Ok(())
}
