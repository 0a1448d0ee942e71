//! Connection commands: PING ECHO QUIT RESET HELLO AUTH SELECT CLIENT.

use super::{CmdError, CmdResult, Ctx, NOKEYS, cmd, dispatch_sub, flag::*, help_reply, with_subs};
use crate::commands::Cmd;
use crate::server::state::{ClientInfo, ReplyMode};
use crate::util::eq_ic;

const CONN: u32 = NOSCRIPT | LOADING | STALE | FAST;

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "ping",
        -1,
        FAST,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Ping the server",
        ping,
    ),
    cmd(
        "echo",
        2,
        FAST | LOADING | STALE,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Echo the given string",
        echo,
    ),
    cmd(
        "quit",
        -1,
        CONN | NO_AUTH | ALLOW_BUSY,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Close the connection",
        quit,
    ),
    cmd(
        "reset",
        1,
        CONN | NO_AUTH | ALLOW_BUSY,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Reset the connection",
        reset,
    ),
    cmd(
        "hello",
        -1,
        CONN | NO_AUTH | ALLOW_BUSY,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Handshake with Redis",
        hello,
    ),
    cmd(
        "auth",
        -2,
        CONN | NO_AUTH | ALLOW_BUSY,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Authenticate to the server",
        auth,
    ),
    cmd(
        "select",
        2,
        LOADING | STALE | FAST,
        NOKEYS,
        "@fast @connection",
        "connection",
        "Change the selected database for the current connection",
        select,
    ),
    with_subs(
        cmd(
            "client",
            -2,
            0,
            NOKEYS,
            "@slow",
            "connection",
            "A container for client connection commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "client|id",
                2,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Returns the client ID for the current connection",
                client_id,
            ),
            cmd(
                "client|setname",
                3,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Set the current connection name",
                client_setname,
            ),
            cmd(
                "client|getname",
                2,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Get the current connection name",
                client_getname,
            ),
            cmd(
                "client|list",
                -2,
                ADMIN | CONN,
                NOKEYS,
                "@admin @slow @dangerous @connection",
                "connection",
                "Get the list of client connections",
                client_list,
            ),
            cmd(
                "client|info",
                2,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Returns information about the current client connection.",
                client_info,
            ),
            cmd(
                "client|kill",
                -3,
                ADMIN | CONN,
                NOKEYS,
                "@admin @slow @dangerous @connection",
                "connection",
                "Kill the connection of a client",
                client_kill,
            ),
            cmd(
                "client|unblock",
                -3,
                ADMIN | NOSCRIPT | LOADING | STALE,
                NOKEYS,
                "@admin @slow @dangerous @connection",
                "connection",
                "Unblock a client blocked in a blocking command from a different connection",
                client_unblock,
            ),
            cmd(
                "client|reply",
                3,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Instruct the server whether to reply to commands",
                client_reply,
            ),
            cmd(
                "client|setinfo",
                4,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Set client or connection specific info",
                client_setinfo,
            ),
            cmd(
                "client|no-evict",
                3,
                ADMIN | CONN,
                NOKEYS,
                "@admin @slow @dangerous @connection",
                "connection",
                "Set client eviction mode for the current connection",
                client_noevict,
            ),
            cmd(
                "client|no-touch",
                3,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Controls whether commands sent by the client will alter the LRU/LFU of the keys they access.",
                client_notouch,
            ),
            cmd(
                "client|help",
                2,
                CONN,
                NOKEYS,
                "@slow @connection",
                "connection",
                "Show helpful text about the different subcommands",
                client_help,
            ),
        ],
    ),
];

fn ping(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() <= 2 && ctx.client.pubsub.is_some() && !ctx.client.resp3 {
        // A subscribed RESP2 client gets ["pong", message] (Redis).
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(argv.get(1).copied().unwrap_or(b""));
        return Ok(());
    }
    match argv.len() {
        1 => ctx.out.simple("PONG"),
        2 => ctx.out.bulk(argv[1]),
        _ => {
            return Err(CmdError::msg(
                "ERR wrong number of arguments for 'ping' command",
            ));
        }
    }
    Ok(())
}

fn echo(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.out.bulk(argv[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.ok();
    ctx.client.close_after_reply = true;
    Ok(())
}

fn reset(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.client.multi = None;
    ctx.st.pubsub.drop_client(ctx.client);
    super::multi::unwatch_all(ctx);
    let c = &mut *ctx.client;
    c.db = 0;
    c.resp3 = false;
    c.name = None;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.no_touch = false;
    if c.monitor {
        c.monitor = false;
        let id = c.id;
        ctx.st.monitors.retain(|(m, _)| *m != id);
    }
    c.authenticated = ctx.st.config.s.requirepass.is_none();
    ctx.out.resp3 = false;
    ctx.out.simple("RESET");
    Ok(())
}

fn check_pass(ctx: &Ctx, user: Option<&[u8]>, pass: &[u8]) -> bool {
    if user.is_some_and(|u| u != b"default") {
        return false;
    }
    match &ctx.st.config.s.requirepass {
        None => true,
        Some(p) => p.as_slice() == pass,
    }
}

fn auth(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let (user, pass) = if argv.len() == 3 {
        (Some(argv[1]), argv[2])
    } else {
        (None, argv[1])
    };
    if user.is_none() && ctx.st.config.s.requirepass.is_none() {
        return Err(CmdError::msg(
            "ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?",
        ));
    }
    if check_pass(ctx, user, pass) {
        ctx.client.authenticated = true;
        ctx.out.ok();
        Ok(())
    } else {
        Err(CmdError::msg(
            "WRONGPASS invalid username-password pair or user is disabled.",
        ))
    }
}

fn hello(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut ver = None;
    let mut j = 1;
    if argv.len() >= 2 {
        let v = crate::util::parse_i64(argv[1]).ok_or_else(|| {
            CmdError::msg("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        ver = Some(v);
        j = 2;
    }
    let mut setname = None;
    while j < argv.len() {
        let more = argv.len() - j - 1;
        if eq_ic(argv[j], b"auth") && more >= 2 {
            if !check_pass(ctx, Some(argv[j + 1]), argv[j + 2]) {
                return Err(CmdError::msg(
                    "WRONGPASS invalid username-password pair or user is disabled.",
                ));
            }
            ctx.client.authenticated = true;
            j += 3;
        } else if eq_ic(argv[j], b"setname") && more >= 1 {
            validate_name(argv[j + 1])?;
            setname = Some(argv[j + 1]);
            j += 2;
        } else {
            return Err(CmdError::Msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                String::from_utf8_lossy(argv[j])
            )));
        }
    }
    if !ctx.client.authenticated && ctx.st.config.s.requirepass.is_some() {
        return Err(CmdError::msg(
            "NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time",
        ));
    }
    if let Some(n) = setname {
        ctx.client.name = (!n.is_empty()).then(|| n.to_vec());
    }
    if let Some(v) = ver {
        ctx.client.resp3 = v == 3;
        ctx.out.resp3 = v == 3;
        ctx.st.pubsub.set_resp3(ctx.client);
    }
    let out = &mut *ctx.out;
    out.map(7);
    out.bulk(b"server");
    out.bulk(b"redis");
    out.bulk(b"version");
    out.bulk(crate::REDIS_VERSION.as_bytes());
    out.bulk(b"proto");
    out.int(if ctx.client.resp3 { 3 } else { 2 });
    out.bulk(b"id");
    out.int(ctx.client.id as i64);
    out.bulk(b"mode");
    out.bulk(b"standalone");
    out.bulk(b"role");
    out.bulk(b"master");
    out.bulk(b"modules");
    out.array(0);
    Ok(())
}

fn select(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let n = super::arg_i32(argv[1])?;
    if n < 0 || n as usize >= ctx.st.ks.dbs.len() {
        return Err(CmdError::DbIndexOutOfRange);
    }
    ctx.client.db = n as usize;
    ctx.out.ok();
    Ok(())
}

/// CLIENT UNBLOCK id [TIMEOUT|ERROR]
fn client_unblock(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let id = super::arg_i64(argv[2])?;
    let error = match argv.get(3) {
        None => false,
        Some(a) if a.eq_ignore_ascii_case(b"timeout") => false,
        Some(a) if a.eq_ignore_ascii_case(b"error") => true,
        Some(_) => {
            return Err(CmdError::msg(
                "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
            ));
        }
    };
    let msg = error.then_some("UNBLOCKED client unblocked via CLIENT UNBLOCK");
    let done = u64::try_from(id).is_ok_and(|id| ctx.st.blocking.unblock(id, msg));
    ctx.out.int(done as i64);
    Ok(())
}

fn client_id(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.int(ctx.client.id as i64);
    Ok(())
}

fn validate_name(n: &[u8]) -> CmdResult {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

fn client_setname(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    validate_name(argv[2])?;
    ctx.client.name = (!argv[2].is_empty()).then(|| argv[2].to_vec());
    ctx.out.ok();
    Ok(())
}

fn client_getname(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    match &ctx.client.name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    Ok(())
}

/// CLIENT LIST's flags: O (monitor), P (pub/sub), N (none).
fn client_flags(c: &ClientInfo) -> &'static str {
    match (c.monitor, is_pubsub(c)) {
        (true, true) => "OP",
        (true, false) => "O",
        (false, true) => "P",
        (false, false) => "N",
    }
}

/// Redis's client type: `pubsub` while subscribed, else `normal`.
fn is_pubsub(c: &ClientInfo) -> bool {
    c.subs != (0, 0, 0)
}

/// The clients a `TYPE` option of CLIENT LIST / CLIENT KILL selects.
#[derive(Clone, Copy, PartialEq, Eq)]
enum ClientType {
    Normal,
    PubSub,
    /// master, replica, slave: no client here is one.
    Replication,
}

impl ClientType {
    fn parse(t: &[u8]) -> Result<ClientType, CmdError> {
        if eq_ic(t, b"normal") {
            Ok(ClientType::Normal)
        } else if eq_ic(t, b"pubsub") {
            Ok(ClientType::PubSub)
        } else if eq_ic(t, b"master") || eq_ic(t, b"replica") || eq_ic(t, b"slave") {
            Ok(ClientType::Replication)
        } else {
            Err(CmdError::Msg(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(t)
            )))
        }
    }

    fn has(self, c: &ClientInfo) -> bool {
        match self {
            ClientType::Normal => !is_pubsub(c),
            ClientType::PubSub => is_pubsub(c),
            ClientType::Replication => false,
        }
    }
}

/// One CLIENT LIST line (without the newline).
fn client_line(c: &ClientInfo, now_ms: u64) -> String {
    let s = |o: &Option<Vec<u8>>| {
        o.as_ref()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_default()
    };
    format!(
        "id={} addr={} laddr={} fd=8 name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi=-1 qbuf={} qbuf-free=0 argv-mem=0 multi-mem=0 rbs=16384 rbp=0 obl=0 oll=0 omem={} tot-mem=0 events=r cmd={} user=default redir=-1 resp={} lib-name={} lib-ver={}",
        c.id,
        c.addr,
        c.laddr,
        s(&c.name),
        now_ms.saturating_sub(c.created_ms) / 1000,
        now_ms.saturating_sub(c.last_ms) / 1000,
        client_flags(c),
        c.db,
        c.subs.0,
        c.subs.1,
        c.subs.2,
        c.qbuf,
        c.omem,
        c.last_cmd,
        c.resp,
        s(&c.lib_name),
        s(&c.lib_ver),
    )
}

fn client_list(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let mut ids: Option<Vec<u64>> = None;
    let mut kind: Option<ClientType> = None;
    let mut j = 2;
    while j < argv.len() {
        if eq_ic(argv[j], b"type") && j + 1 < argv.len() {
            kind = Some(ClientType::parse(argv[j + 1])?);
            j += 2;
        } else if eq_ic(argv[j], b"id") && j + 1 < argv.len() {
            let mut v = ids.take().unwrap_or_default();
            for a in &argv[j + 1..] {
                let n = crate::util::parse_i64(a)
                    .ok_or_else(|| CmdError::msg("ERR Invalid client ID"))?;
                // Redis: an id that cannot exist simply matches nothing.
                if n > 0 {
                    v.push(n as u64);
                }
            }
            ids = Some(v);
            j = argv.len();
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let me = ctx.client.info();
    let mut all: Vec<ClientInfo> = ctx
        .st
        .clients
        .values()
        .filter(|c| c.id != me.id)
        .cloned()
        .collect();
    all.push(me);
    all.sort_by_key(|c| c.id);
    let mut text = String::new();
    for c in all
        .iter()
        .filter(|c| ids.as_ref().is_none_or(|v| v.contains(&c.id)) && kind.is_none_or(|k| k.has(c)))
    {
        text.push_str(&client_line(c, ctx.now));
        text.push('\n');
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn client_info(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let mut line = client_line(&ctx.client.info(), ctx.now);
    line.push('\n');
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}

fn client_kill(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let me = ctx.client.id;
    if argv.len() == 3 {
        // Old form: CLIENT KILL addr:port
        let addr = String::from_utf8_lossy(argv[2]);
        let target = ctx.st.clients.values().find(|c| c.addr == addr).cloned();
        return match target {
            Some(c) => {
                if c.id == me {
                    ctx.client.close_after_reply = true;
                } else {
                    c.kill.kill();
                }
                ctx.out.ok();
                Ok(())
            }
            None => Err(CmdError::msg("ERR No such client")),
        };
    }
    let mut id: Option<u64> = None;
    let mut addr: Option<String> = None;
    let mut laddr: Option<String> = None;
    let mut skipme = true;
    let mut kind: Option<ClientType> = None;
    let mut j = 2;
    while j + 1 < argv.len() {
        let v = argv[j + 1];
        if eq_ic(argv[j], b"id") {
            id = Some(
                crate::util::parse_i64(v)
                    .filter(|n| *n > 0)
                    .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if eq_ic(argv[j], b"addr") {
            addr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(argv[j], b"laddr") {
            laddr = Some(String::from_utf8_lossy(v).into_owned());
        } else if eq_ic(argv[j], b"skipme") {
            skipme = if eq_ic(v, b"yes") {
                true
            } else if eq_ic(v, b"no") {
                false
            } else {
                return Err(CmdError::Syntax);
            };
        } else if eq_ic(argv[j], b"type") {
            kind = Some(ClientType::parse(v)?);
        } else if eq_ic(argv[j], b"user") {
            // Every client is a client of the default user.
        } else {
            return Err(CmdError::Syntax);
        }
        j += 2;
    }
    if j != argv.len() {
        return Err(CmdError::Syntax);
    }
    let mut n = 0;
    let mut all: Vec<ClientInfo> = ctx
        .st
        .clients
        .values()
        .filter(|c| c.id != me)
        .cloned()
        .collect();
    all.push(ctx.client.info());
    for c in all {
        if id.is_some_and(|i| i != c.id)
            || addr.as_ref().is_some_and(|a| *a != c.addr)
            || laddr.as_ref().is_some_and(|a| *a != c.laddr)
            || kind.is_some_and(|k| !k.has(&c))
        {
            continue;
        }
        if c.id == me {
            if skipme {
                continue;
            }
            ctx.client.close_after_reply = true;
        } else {
            c.kill.kill();
        }
        n += 1;
    }
    ctx.out.int(n);
    Ok(())
}

fn client_reply(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let a = argv[2];
    if eq_ic(a, b"on") {
        ctx.client.reply_mode = ReplyMode::On;
        ctx.out.ok();
    } else if eq_ic(a, b"off") {
        ctx.client.reply_mode = ReplyMode::Off;
    } else if eq_ic(a, b"skip") {
        if ctx.client.reply_mode == ReplyMode::On {
            ctx.client.reply_mode = ReplyMode::SkipNext;
        }
    } else {
        return Err(CmdError::Syntax);
    }
    Ok(())
}

fn client_setinfo(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let v = argv[3];
    if v.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::Msg(format!(
            "ERR {} cannot contain spaces, newlines or special characters.",
            String::from_utf8_lossy(argv[2]).to_ascii_lowercase()
        )));
    }
    let val = (!v.is_empty()).then(|| v.to_vec());
    if eq_ic(argv[2], b"lib-name") {
        ctx.client.lib_name = val;
    } else if eq_ic(argv[2], b"lib-ver") {
        ctx.client.lib_ver = val;
    } else {
        return Err(CmdError::Msg(format!(
            "ERR Unrecognized option '{}'",
            String::from_utf8_lossy(argv[2])
        )));
    }
    ctx.out.ok();
    Ok(())
}

fn on_off(a: &[u8]) -> Result<bool, CmdError> {
    if eq_ic(a, b"on") {
        Ok(true)
    } else if eq_ic(a, b"off") {
        Ok(false)
    } else {
        Err(CmdError::Syntax)
    }
}

fn client_noevict(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.client.no_evict = on_off(argv[2])?;
    ctx.out.ok();
    Ok(())
}

fn client_notouch(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.client.no_touch = on_off(argv[2])?;
    ctx.out.ok();
    Ok(())
}

fn client_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "client",
        &[
            "GETNAME",
            "    Return the name of the current connection.",
            "ID",
            "    Return the ID of the current connection.",
            "INFO",
            "    Return information about the current client connection.",
            "KILL <ip:port>",
            "    Kill connection made from <ip:port>.",
            "KILL <option> <value> [<option> <value> [...]]",
            "    Kill connections. Options are: ID, ADDR, LADDR, SKIPME (yes|no).",
            "LIST [options ...]",
            "    Return information about client connections. Options: TYPE, ID.",
            "REPLY (ON|OFF|SKIP)",
            "    Control the replies sent to the current connection.",
            "SETNAME <name>",
            "    Assign the name <name> to the current connection.",
            "UNBLOCK <clientid> [TIMEOUT|ERROR]",
            "    Unblock the specified blocked client.",
            "SETINFO <LIB-NAME|LIB-VER> <value>",
            "    Set client library name or version.",
            "NO-EVICT (ON|OFF)",
            "    Protect current client connection from eviction.",
            "NO-TOUCH (ON|OFF)",
            "    Will not touch LRU/LFU stats when this mode is on.",
        ],
    );
    Ok(())
}
