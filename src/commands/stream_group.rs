//! Stream consumer group commands: XGROUP, XREADGROUP, XACK, XPENDING,
//! XCLAIM, XAUTOCLAIM (the data is `keyspace::types::cgroup`).
//!
//! Replies and errors are Redis 7.0's (`t_stream.c`). Effects are logged
//! so that replay rebuilds every group exactly, without a clock: a
//! delivery or claim as `XCLAIM key group consumer 0 id TIME t RETRYCOUNT
//! n FORCE JUSTID LASTID last` (Redis's own form for its replicas), a
//! moved last ID as `XGROUP SETID key group id ENTRIESREAD n`, a consumer
//! created on the way as `XGROUP CREATECONSUMER`. (Redis 7.0 propagates
//! less: a history read's new delivery counts, or a consumer created by a
//! read that delivered nothing, do not reach its AOF.)

use super::stream::{parse_id, reply_entry, strict_id};
use super::{
    Cmd, CmdError, CmdResult, Ctx, NOKEYS, arg_i64, cmd, dispatch_sub, flag::*, help_reply, since,
    stream_in, stream_ref, with_subs,
};
use crate::keyspace::types::cgroup::{Group, INVALID_ENTRIES_READ, Meta, Nack};
use crate::keyspace::types::stream::StreamId;
use crate::keyspace::{Ttl, Value};
use crate::protocol::Reply;
use crate::server::notify;
use crate::server::state::Touch;

const KEY2: (i32, i32, i32) = (2, 2, 1);

pub static COMMANDS: &[Cmd] = &[
    since(
        with_subs(
            cmd(
                "xgroup",
                -2,
                0,
                NOKEYS,
                "@slow",
                "stream",
                "A container for consumer groups commands",
                dispatch_sub,
            ),
            &[
                cmd(
                    "xgroup|create",
                    -5,
                    WRITE | DENYOOM,
                    KEY2,
                    "@write @stream @slow",
                    "stream",
                    "Create a consumer group.",
                    xgroup_create,
                ),
                cmd(
                    "xgroup|createconsumer",
                    5,
                    WRITE | DENYOOM,
                    KEY2,
                    "@write @stream @slow",
                    "stream",
                    "Create a consumer in a consumer group.",
                    xgroup_createconsumer,
                ),
                cmd(
                    "xgroup|delconsumer",
                    5,
                    WRITE,
                    KEY2,
                    "@write @stream @slow",
                    "stream",
                    "Delete a consumer from a consumer group.",
                    xgroup_delconsumer,
                ),
                cmd(
                    "xgroup|destroy",
                    4,
                    WRITE,
                    KEY2,
                    "@write @stream @slow",
                    "stream",
                    "Destroy a consumer group.",
                    xgroup_destroy,
                ),
                cmd(
                    "xgroup|help",
                    2,
                    LOADING | STALE,
                    NOKEYS,
                    "@stream @slow",
                    "stream",
                    "Show helpful text about the different subcommands",
                    xgroup_help,
                ),
                cmd(
                    "xgroup|setid",
                    -5,
                    WRITE,
                    KEY2,
                    "@write @stream @slow",
                    "stream",
                    "Set a consumer group to an arbitrary last delivered ID value.",
                    xgroup_setid,
                ),
            ],
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xreadgroup",
            -7,
            WRITE | BLOCKING | MOVABLEKEYS,
            (0, 0, 0),
            "@write @stream @slow @blocking",
            "stream",
            "Return new entries from a stream using a consumer group, or access the history of the pending entries for a given consumer. Can block.",
            xreadgroup,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xack",
            -4,
            WRITE | FAST,
            (1, 1, 1),
            "@write @stream @fast",
            "stream",
            "Marks a pending message as correctly processed, effectively removing it from the pending entries list of the consumer group. Return value of the command is the number of messages successfully acknowledged, that is, the IDs we were actually able to resolve in the PEL.",
            xack,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xpending",
            -3,
            READONLY,
            (1, 1, 1),
            "@read @stream @slow",
            "stream",
            "Return information and entries from a stream consumer group pending entries list, that are messages fetched but never acknowledged.",
            xpending,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xclaim",
            -6,
            WRITE | FAST,
            (1, 1, 1),
            "@write @stream @fast",
            "stream",
            "Changes (or acquires) ownership of a message in a consumer group, as if the message was delivered to the specified consumer.",
            xclaim,
        ),
        "5.0.0",
    ),
    since(
        cmd(
            "xautoclaim",
            -6,
            WRITE | FAST,
            (1, 1, 1),
            "@write @stream @fast",
            "stream",
            "Changes (or acquires) ownership of messages in a consumer group, as if the messages were delivered to the specified consumer.",
            xautoclaim,
        ),
        "6.2.0",
    ),
];

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// XGROUP's and XINFO CONSUMERS' missing group.
pub fn no_group_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::Msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        lossy(group),
        lossy(key)
    ))
}

/// XPENDING's, XCLAIM's and XAUTOCLAIM's missing key or group.
fn no_key_or_group(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::Msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        lossy(key),
        lossy(group)
    ))
}

/// Effects a group command logs once the stream is no longer borrowed:
/// their arguments in one buffer (`spans` marks each argument, `ends`
/// where each effect's arguments end), so a delivery costs no allocation
/// per argument.
#[derive(Default)]
struct Effects {
    bytes: Vec<u8>,
    spans: Vec<(usize, usize)>,
    ends: Vec<usize>,
}

impl Effects {
    fn push(&mut self, args: &[&[u8]]) {
        for a in args {
            let at = self.bytes.len();
            self.bytes.extend_from_slice(a);
            self.spans.push((at, self.bytes.len()));
        }
        self.ends.push(self.spans.len());
    }

    fn claim(&mut self, key: &[u8], group: &[u8], id: StreamId, n: &Nack, last: StreamId) {
        let (mut t, mut c) = (itoa::Buffer::new(), itoa::Buffer::new());
        self.push(&[
            b"XCLAIM",
            key,
            group,
            &n.consumer,
            b"0",
            &id.to_bytes(),
            b"TIME",
            t.format(n.delivery_time).as_bytes(),
            b"RETRYCOUNT",
            c.format(n.delivery_count).as_bytes(),
            b"FORCE",
            b"JUSTID",
            b"LASTID",
            &last.to_bytes(),
        ]);
    }

    fn setid(&mut self, key: &[u8], group: &[u8], g: &Group) {
        let mut n = itoa::Buffer::new();
        self.push(&[
            b"XGROUP",
            b"SETID",
            key,
            group,
            &g.last_id.to_bytes(),
            b"ENTRIESREAD",
            n.format(g.entries_read).as_bytes(),
        ]);
    }

    fn create_consumer(&mut self, key: &[u8], group: &[u8], consumer: &[u8]) {
        self.push(&[b"XGROUP", b"CREATECONSUMER", key, group, consumer]);
    }

    /// Consumer `consumer` seen now: created (and logged) if new; true if
    /// created. Redis 7.0 does this only when a read is served or a claim
    /// made, so a read or claim of nothing leaves no consumer behind.
    fn seen_consumer(
        &mut self,
        g: &mut Group,
        key: &[u8],
        group: &[u8],
        consumer: &[u8],
        now: i64,
    ) -> bool {
        let (c, created) = g.consumer_or_create(consumer, now);
        c.seen_time = now;
        if created {
            self.create_consumer(key, group, consumer);
        }
        created
    }

    /// Log them all; then the consumer-created event if one was.
    fn apply(self, ctx: &mut Ctx, key: &[u8], created: bool) {
        let mut refs: Vec<&[u8]> = Vec::new();
        let mut from = 0;
        for &end in &self.ends {
            refs.clear();
            refs.extend(
                self.spans[from..end]
                    .iter()
                    .map(|&(a, b)| &self.bytes[a..b]),
            );
            ctx.propagate(&refs);
            from = end;
        }
        if created {
            ctx.notify(notify::STREAM, "xgroup-createconsumer", key);
        }
    }
}

fn xgroup_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "xgroup",
        &[
            "CREATE <key> <groupname> <id|$> [option]",
            "    Create a new consumer group. Options are:",
            "    * MKSTREAM",
            "      Create the empty stream if it does not exist.",
            "    * ENTRIESREAD entries_read",
            "      Set the group's entries_read counter (internal use).",
            "CREATECONSUMER <key> <groupname> <consumer>",
            "    Create a new consumer in the specified group.",
            "DELCONSUMER <key> <groupname> <consumer>",
            "    Remove the specified consumer.",
            "DESTROY <key> <groupname>",
            "    Remove the specified group.",
            "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
            "    Set the current group ID and entries_read counter.",
        ],
    );
    Ok(())
}

/// XGROUP's common start (`xgroupCommand`): the options of CREATE and
/// SETID, then the key (which must exist, unless MKSTREAM) and, for every
/// subcommand but CREATE and DESTROY, the group. Returns (entries_read,
/// whether the stream exists).
fn xgroup_check(ctx: &mut Ctx, argv: &[&[u8]]) -> Result<(i64, bool), CmdError> {
    let sub = argv[1];
    let create = sub.eq_ignore_ascii_case(b"create");
    let setid = sub.eq_ignore_ascii_case(b"setid");
    let (mut mkstream, mut entries_read) = (false, INVALID_ENTRIES_READ);
    let mut i = 5;
    while i < argv.len() {
        if create && argv[i].eq_ignore_ascii_case(b"mkstream") {
            mkstream = true;
            i += 1;
        } else if (create || setid)
            && argv[i].eq_ignore_ascii_case(b"entriesread")
            && i + 1 < argv.len()
        {
            entries_read = arg_i64(argv[i + 1])?;
            // A replayed log may hold any counter (it wraps, as in Redis).
            if entries_read < 0 && entries_read != INVALID_ENTRIES_READ && !ctx.st.replaying {
                return Err(CmdError::msg(
                    "ERR value for ENTRIESREAD must be positive or -1",
                ));
            }
            i += 2;
        } else {
            return Err(super::subcommand_syntax(argv));
        }
    }
    let x = stream_in(ctx.write(argv[2]))?;
    let exists = x.is_some();
    if !exists && !mkstream {
        return Err(CmdError::msg(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        ));
    }
    if let Some(x) = x
        && !create
        && !sub.eq_ignore_ascii_case(b"destroy")
        && !x.groups.contains_key(argv[3])
    {
        return Err(no_group_for_key(argv[3], argv[2]));
    }
    // SETID takes 5 or 7 arguments, CREATE 5 to 8.
    if (setid && argv.len() != 5 && argv.len() != 7) || (create && argv.len() > 8) {
        return Err(super::subcommand_syntax(argv));
    }
    // Only CREATE with MKSTREAM on a missing key changes the key itself.
    if exists {
        ctx.st.touch = Touch::Groups;
    }
    Ok((entries_read, exists))
}

fn xgroup_create(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (entries_read, exists) = xgroup_check(ctx, argv)?;
    let (key, name) = (argv[2], argv[3]);
    let id = if argv[4] == b"$" {
        // A write lookup, as Redis's (no key-miss event).
        stream_in(ctx.write(key))?.map_or(StreamId::MIN, |x| x.last_id)
    } else {
        strict_id(argv[4])?
    };
    let (db, now) = (ctx.db(), ctx.now);
    if !exists {
        ctx.st
            .ks
            .set(db, key, Value::Stream(Box::default()), Ttl::Clear, now);
    }
    let x = stream_in(ctx.write(key))?.expect("exists");
    if x.groups.contains_key(name) {
        return Err(CmdError::msg(
            "BUSYGROUP Consumer Group name already exists",
        ));
    }
    x.groups.insert(name.into(), Group::new(id, entries_read));
    let (id_s, er) = (id.to_bytes(), entries_read.to_string());
    let mut effect: Vec<&[u8]> = vec![b"XGROUP", b"CREATE", key, name, &id_s];
    if !exists {
        effect.push(b"MKSTREAM");
    }
    effect.extend_from_slice(&[b"ENTRIESREAD", er.as_bytes()]);
    ctx.propagate(&effect);
    ctx.notify(notify::STREAM, "xgroup-create", key);
    ctx.out.ok();
    Ok(())
}

fn xgroup_setid(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (entries_read, _) = xgroup_check(ctx, argv)?;
    let (key, name) = (argv[2], argv[3]);
    let x = stream_in(ctx.write(key))?.expect("checked");
    let id = if argv[4] == b"$" {
        x.last_id
    } else {
        parse_id(argv[4], 0, false, false)?.0
    };
    let g = x.groups.get_mut(name).expect("checked");
    g.last_id = id;
    g.entries_read = entries_read;
    let (id_s, er) = (id.to_bytes(), entries_read.to_string());
    ctx.propagate(&[
        b"XGROUP",
        b"SETID",
        key,
        name,
        &id_s,
        b"ENTRIESREAD",
        er.as_bytes(),
    ]);
    ctx.notify(notify::STREAM, "xgroup-setid", key);
    ctx.out.ok();
    Ok(())
}

fn xgroup_destroy(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    xgroup_check(ctx, argv)?;
    let x = stream_in(ctx.write(argv[2]))?.expect("checked");
    if x.groups.remove(argv[3]).is_none() {
        ctx.out.int(0);
        return Ok(());
    }
    // Clients blocked on the group are told it is gone.
    ctx.st.touch = Touch::GroupGone;
    ctx.propagate(argv);
    ctx.notify(notify::STREAM, "xgroup-destroy", argv[2]);
    ctx.out.int(1);
    Ok(())
}

fn xgroup_createconsumer(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    xgroup_check(ctx, argv)?;
    let now = ctx.now as i64;
    let x = stream_in(ctx.write(argv[2]))?.expect("checked");
    let g = x.groups.get_mut(argv[3]).expect("checked");
    let (_, created) = g.consumer_or_create(argv[4], now);
    if created {
        ctx.propagate(argv);
        ctx.notify(notify::STREAM, "xgroup-createconsumer", argv[2]);
    }
    ctx.out.int(created as i64);
    Ok(())
}

fn xgroup_delconsumer(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    xgroup_check(ctx, argv)?;
    let x = stream_in(ctx.write(argv[2]))?.expect("checked");
    let g = x.groups.get_mut(argv[3]).expect("checked");
    let pending = g.delete_consumer(argv[4]);
    if pending.is_some() {
        ctx.propagate(argv);
        ctx.notify(notify::STREAM, "xgroup-delconsumer", argv[2]);
    }
    ctx.out.int(pending.unwrap_or(0) as i64);
    Ok(())
}

/// XREADGROUP GROUP group consumer [COUNT n] [BLOCK ms] [NOACK] STREAMS
/// key... id... (Redis's `xreadCommand` with a group).
fn xreadgroup(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.st.touch = Touch::Groups;
    let mut a = super::stream::parse_read(ctx, argv, true)?;
    if ctx.client.serving.is_some() && a.count == 0 {
        a.count = super::stream::BLOCKED_DEFAULT_COUNT;
    }
    let (group, consumer) = a.group.expect("checked");
    let rest = &argv[a.streams_at..];
    let n = rest.len() / 2;
    let (keys, id_args) = rest.split_at(n);
    // None: ">" (new entries); Some(id): this consumer's history after id.
    let mut ids: Vec<Option<StreamId>> = Vec::with_capacity(n);
    let serving = ctx.client.serving.is_some();
    for (k, arg) in keys.iter().zip(id_args) {
        if !super::stream::served_key(ctx, k) {
            // Not the key being served: left alone (its slot kept).
            ids.push(None);
            continue;
        }
        // Some(has the group), None: no stream; a wrong type is an error.
        let found = stream_ref(ctx.read(k)).map(|x| x.map(|x| x.groups.contains_key(group)));
        // A blocked read being served ends with Redis's reasons.
        match (found, serving) {
            (Ok(Some(true)), _) => {}
            (Ok(Some(false)), true) => {
                ctx.client.final_error = true;
                return Err(CmdError::msg(
                    "NOGROUP the consumer group this client was blocked on no longer exists",
                ));
            }
            (Ok(None) | Err(_), true) => {
                ctx.client.final_error = true;
                return Err(CmdError::msg("UNBLOCKED the stream key no longer exists"));
            }
            (Err(e), false) => return Err(e),
            (Ok(_), false) => {
                return Err(CmdError::Msg(format!(
                    "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
                    lossy(k),
                    lossy(group)
                )));
            }
        }
        ids.push(if *arg == b">" {
            None
        } else if *arg != b"$" && strict_id(arg).ok() == Some(StreamId::MAX) {
            // Redis's own marker for ">".
            None
        } else if *arg == b"$" {
            return Err(CmdError::msg(
                "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
            ));
        } else {
            Some(strict_id(arg)?)
        });
    }
    let now = ctx.now as i64;
    let mut found = 0;
    let mut body = Reply::new(ctx.out.resp3);
    for (k, id) in keys.iter().zip(&ids) {
        if !super::stream::served_key(ctx, k) {
            continue;
        }
        let mut fx = Effects::default();
        let x = stream_in(ctx.write(k))?.expect("checked");
        let meta = Meta::of(x);
        let last_live = x.edge(true).map(|e| e.0);
        let g = x.groups.get_mut(group).expect("checked");
        let serve = match id {
            Some(_) => true,
            None => last_live.is_some_and(|l| l > g.last_id),
        };
        let mut created = false;
        if serve {
            created = fx.seen_consumer(g, k, group, consumer, now);
            found += 1;
            if !body.resp3 {
                body.array(2);
            }
            body.bulk(k);
            match id {
                Some(after) => history(
                    x, group, consumer, *after, a.count, now, k, &mut fx, &mut body,
                ),
                None => deliver_new(
                    x, meta, group, consumer, a.count, a.noack, now, k, &mut fx, &mut body,
                ),
            }
        }
        fx.apply(ctx, k, created);
    }
    if found == 0 {
        match a.block {
            Some(deadline) if !ctx.client.no_block => {
                ctx.client.block = Some(crate::server::blocking::BlockRequest::new(keys, deadline));
            }
            _ => ctx.out.null_array(),
        }
        return Ok(());
    }
    super::stream::reply_streams(ctx.out, found, &body);
    Ok(())
}

/// Entries after the group's last ID, delivered to `consumer`.
#[allow(clippy::too_many_arguments)]
fn deliver_new(
    x: &mut crate::keyspace::types::Stream,
    meta: Meta,
    group: &[u8],
    consumer: &[u8],
    count: usize,
    noack: bool,
    now: i64,
    key: &[u8],
    fx: &mut Effects,
    body: &mut Reply,
) {
    let from = x.groups[group].last_id.next();
    let Some(from) = from else {
        body.array(0);
        return;
    };
    let entries = x.range(from, StreamId::MAX, count, false);
    body.array(entries.len());
    for e in &entries {
        reply_entry(body, e);
    }
    let delivered: Vec<StreamId> = entries.iter().map(|e| e.0).collect();
    drop(entries);
    let g = x.groups.get_mut(group).expect("checked");
    for id in delivered {
        meta.advance(g, id);
        if !noack {
            g.deliver(id, consumer, now);
            fx.claim(key, group, id, &g.pel[&id], g.last_id);
        }
    }
    fx.setid(key, group, g);
}

/// `consumer`'s pending entries after `after` (`streamReplyWithRangeFromConsumerPEL`):
/// each with its fields, or a null if the entry is gone; each delivered again.
#[allow(clippy::too_many_arguments)]
fn history(
    x: &mut crate::keyspace::types::Stream,
    group: &[u8],
    consumer: &[u8],
    after: StreamId,
    count: usize,
    now: i64,
    key: &[u8],
    fx: &mut Effects,
    body: &mut Reply,
) {
    let Some(start) = after.next() else {
        body.array(0);
        return;
    };
    let mine: Vec<StreamId> = x.groups[group].consumers[consumer]
        .pel
        .range(start, None)
        .take(if count == 0 { usize::MAX } else { count })
        .map(|(id, _)| *id)
        .collect();
    body.array(mine.len());
    let mut again = Vec::new();
    for id in mine {
        match x.range(id, id, 1, false).first() {
            Some(e) => {
                reply_entry(body, e);
                again.push(id);
            }
            None => {
                body.array(2);
                body.bulk(&id.to_bytes());
                body.null_array();
            }
        }
    }
    let g = x.groups.get_mut(group).expect("checked");
    let last = g.last_id;
    for id in again {
        let n = g.pel.get_mut(&id).expect("pending");
        n.delivery_time = now;
        n.delivery_count = n.delivery_count.wrapping_add(1);
        fx.claim(key, group, id, n, last);
    }
}

fn xack(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.st.touch = Touch::Groups;
    // A read lookup, as Redis's (a missing key is a key miss).
    if !stream_ref(ctx.read(argv[1]))?.is_some_and(|x| x.groups.contains_key(argv[2])) {
        ctx.out.int(0);
        return Ok(());
    }
    let x = stream_in(ctx.write(argv[1]))?.expect("checked");
    let g = x.groups.get_mut(argv[2]).expect("checked");
    // Every ID is checked before any is acknowledged.
    let ids = argv[3..]
        .iter()
        .map(|a| strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let acked = ids.iter().filter(|id| g.ack(**id)).count();
    if acked > 0 {
        ctx.propagate(argv);
    }
    ctx.out.int(acked as i64);
    Ok(())
}

/// An interval bound as XRANGE parses it ("(" excludes).
fn interval(s: &[u8], missing: u64, start: bool) -> Result<StreamId, CmdError> {
    if let Some(rest) = s.strip_prefix(b"(")
        && !rest.is_empty()
    {
        let id = strict_id_missing(rest, missing)?;
        let moved = if start { id.next() } else { id.prev() };
        return moved.ok_or_else(|| {
            CmdError::msg(if start {
                "ERR invalid start ID for the interval"
            } else {
                "ERR invalid end ID for the interval"
            })
        });
    }
    Ok(parse_id(s, missing, false, false)?.0)
}

fn strict_id_missing(s: &[u8], missing: u64) -> Result<StreamId, CmdError> {
    Ok(parse_id(s, missing, true, false)?.0)
}

fn xpending(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let summary = argv.len() == 3;
    if !summary && !(6..=9).contains(&argv.len()) {
        return Err(CmdError::Syntax);
    }
    let (mut start, mut end, mut count, mut min_idle) = (StreamId::MIN, StreamId::MAX, 0i64, 0i64);
    let mut consumer: Option<&[u8]> = None;
    if !summary {
        let mut at = 3;
        if argv[3].eq_ignore_ascii_case(b"idle") {
            min_idle = arg_i64(argv[4])?;
            if argv.len() < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        count = arg_i64(argv[at + 2])?.max(0);
        start = interval(argv[at], 0, true)?;
        end = interval(argv[at + 1], u64::MAX, false)?;
        consumer = argv.get(at + 3).copied();
    }
    let now = ctx.now as i64;
    let (e, out) = ctx.read_with_out(argv[1]);
    let x = stream_ref(e)?;
    let Some(g) = x.and_then(|x| x.groups.get(argv[2])) else {
        return Err(no_key_or_group(argv[1], argv[2]));
    };
    if summary {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.first_key(), g.pel.last_key()) {
            (Some(lo), Some(hi)) => {
                out.bulk(&lo.to_bytes());
                out.bulk(&hi.to_bytes());
                let owners: Vec<_> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                out.array(owners.len());
                for (name, c) in owners {
                    out.array(2);
                    out.bulk(name);
                    out.bulk(c.pel.len().to_string().as_bytes());
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    }
    // Walked lazily: a big PEL costs what the reply holds (and the
    // entries IDLE skips), not its whole size.
    let ids: Box<dyn Iterator<Item = StreamId>> = match consumer {
        _ if start > end => Box::new(std::iter::empty()),
        Some(name) => match g.consumers.get(name) {
            Some(c) => Box::new(c.pel.range(start, Some(end)).map(|(id, _)| *id)),
            None => {
                out.array(0);
                return Ok(());
            }
        },
        None => Box::new(g.pel.range(start, Some(end)).map(|(id, _)| *id)),
    };
    let mut rows = Vec::new();
    for id in ids {
        if count == 0 {
            break;
        }
        let n = &g.pel[&id];
        if min_idle != 0 && now.wrapping_sub(n.delivery_time) < min_idle {
            continue;
        }
        count -= 1;
        rows.push((id, n));
    }
    out.array(rows.len());
    for (id, n) in rows {
        out.array(4);
        out.bulk(&id.to_bytes());
        out.bulk(&n.consumer);
        out.int(now.wrapping_sub(n.delivery_time).max(0));
        out.int(n.delivery_count as i64);
    }
    Ok(())
}

fn xclaim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.st.touch = Touch::Groups;
    let (key, group, consumer) = (argv[1], argv[2], argv[3]);
    match stream_ref(ctx.read(key))? {
        Some(x) if x.groups.contains_key(group) => {}
        _ => return Err(no_key_or_group(key, group)),
    }
    let min_idle = arg_i64(argv[4])
        .map_err(|_| CmdError::msg("ERR Invalid min-idle-time argument for XCLAIM"))?
        .max(0);
    // IDs until the first argument that is not one; options after.
    let mut ids = Vec::new();
    let mut j = 5;
    while j < argv.len() {
        match parse_id(argv[j], 0, true, false) {
            Ok((id, _)) => ids.push(id),
            Err(_) => break,
        }
        j += 1;
    }
    let now = ctx.now as i64;
    let (mut force, mut justid) = (false, false);
    // RETRYCOUNT's count; a negative one counts as not given (Redis).
    let mut retry: Option<u64> = None;
    let mut time: Option<i64> = None;
    let mut last_id = StreamId::MIN;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        let opt = argv[j];
        let num = |a: &[u8], what: &str| {
            arg_i64(a).map_err(|_| {
                CmdError::Msg(format!("ERR Invalid {what} option argument for XCLAIM"))
            })
        };
        if opt.eq_ignore_ascii_case(b"force") {
            force = true;
        } else if opt.eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else if opt.eq_ignore_ascii_case(b"idle") && more > 0 {
            j += 1;
            time = Some(now.wrapping_sub(num(argv[j], "IDLE")?));
        } else if opt.eq_ignore_ascii_case(b"time") && more > 0 {
            j += 1;
            time = Some(num(argv[j], "TIME")?);
        } else if opt.eq_ignore_ascii_case(b"retrycount") && more > 0 {
            j += 1;
            // A replayed log may hold a count past i64::MAX (it wraps).
            retry = match (num(argv[j], "RETRYCOUNT"), ctx.st.replaying) {
                (Ok(r), _) => u64::try_from(r).ok(),
                (Err(_), true) => Some(
                    std::str::from_utf8(argv[j])
                        .ok()
                        .and_then(|t| t.parse::<u64>().ok())
                        .ok_or_else(|| {
                            CmdError::msg("ERR Invalid RETRYCOUNT option argument for XCLAIM")
                        })?,
                ),
                (Err(e), false) => return Err(e),
            };
        } else if opt.eq_ignore_ascii_case(b"lastid") && more > 0 {
            j += 1;
            last_id = strict_id(argv[j])?;
        } else {
            return Err(CmdError::Msg(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                lossy(opt)
            )));
        }
        j += 1;
    }
    // A time in the future or before 1970 means now (Redis's leniency).
    let time = match time {
        Some(t) if (0..=now).contains(&t) => t,
        _ => now,
    };
    let mut fx = Effects::default();
    let mut body = Reply::new(ctx.out.resp3);
    let x = stream_in(ctx.write(key))?.expect("checked");
    let live: Vec<bool> = ids.iter().map(|id| x.contains(*id)).collect();
    let g = x.groups.get_mut(group).expect("checked");
    let mut moved_last = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        moved_last = true;
    }
    let mut created = false;
    let mut claimed = Vec::new();
    for (id, live) in ids.iter().zip(live) {
        let id = *id;
        if !live {
            // Gone from the stream: dropped from the PEL.
            if let Some(n) = g.pel.get(&id) {
                fx.claim(key, group, id, n, g.last_id);
                g.ack(id);
            }
            continue;
        }
        let pending = g.pel.contains_key(&id);
        if !pending && !force {
            continue;
        }
        if pending && min_idle > 0 && now.wrapping_sub(g.pel[&id].delivery_time) < min_idle {
            continue;
        }
        if claimed.is_empty() {
            created = fx.seen_consumer(g, key, group, consumer, now);
        }
        if !pending {
            let name = g.name_of(consumer);
            g.pel.insert(
                id,
                Nack {
                    delivery_time: time,
                    delivery_count: 1,
                    consumer: name,
                },
            );
            g.consumers
                .get_mut(consumer)
                .expect("created")
                .pel
                .insert(id, ());
        } else {
            g.reassign(id, consumer);
        }
        let n = g.pel.get_mut(&id).expect("pending");
        n.delivery_time = time;
        match retry {
            Some(r) => n.delivery_count = r,
            _ if !justid => n.delivery_count = n.delivery_count.wrapping_add(1),
            _ => {}
        }
        fx.claim(key, group, id, n, g.last_id);
        claimed.push(id);
    }
    if moved_last {
        // The read counter stays; replayed XCLAIMs' LASTID would move
        // only the last ID, so the pair is logged.
        fx.setid(key, group, g);
    }
    reply_claimed(&mut body, x, &claimed, justid);
    fx.apply(ctx, key, created);
    ctx.out.buf.extend_from_slice(&body.buf);
    Ok(())
}

fn xautoclaim(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    ctx.st.touch = Touch::Groups;
    let (key, group, consumer) = (argv[1], argv[2], argv[3]);
    // Redis 7.0 looks the key up first (a key miss even when an option is
    // wrong), and checks its type and group after the options.
    let found = stream_ref(ctx.read(key)).map(|x| x.is_some_and(|x| x.groups.contains_key(group)));
    let min_idle = arg_i64(argv[4])
        .map_err(|_| CmdError::msg("ERR Invalid min-idle-time argument for XAUTOCLAIM"))?
        .max(0);
    let start = interval(argv[5], 0, true)?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < argv.len() {
        let more = argv.len() - 1 - j;
        if argv[j].eq_ignore_ascii_case(b"count") && more > 0 {
            let max = i64::MAX / 16;
            count = match arg_i64(argv[j + 1]) {
                Ok(n) if (1..=max).contains(&n) => n,
                _ => return Err(CmdError::msg("ERR COUNT must be > 0")),
            };
            j += 1;
        } else if argv[j].eq_ignore_ascii_case(b"justid") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if !found? {
        return Err(no_key_or_group(key, group));
    }
    let now = ctx.now as i64;
    let mut fx = Effects::default();
    let mut body = Reply::new(ctx.out.resp3);
    let x = stream_in(ctx.write(key))?.expect("checked");
    let mut created = false;
    let mut attempts = count.saturating_mul(10);
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    // The PEL is walked from `from` on, one lookup a step (O(count), as
    // Redis's iterator); None once past its end.
    let mut from = Some(start);
    while attempts > 0 && count > 0 {
        attempts -= 1;
        let Some(id) =
            from.and_then(|f| x.groups[group].pel.range(f, None).next().map(|(k, _)| *k))
        else {
            from = None;
            break;
        };
        from = id.next();
        let live = x.contains(id);
        let g = x.groups.get_mut(group).expect("checked");
        if !live {
            fx.claim(key, group, id, &g.pel[&id], g.last_id);
            g.ack(id);
            deleted.push(id);
            count -= 1;
            continue;
        }
        if min_idle > 0 && now.wrapping_sub(g.pel[&id].delivery_time) < min_idle {
            continue;
        }
        if claimed.is_empty() {
            created = fx.seen_consumer(g, key, group, consumer, now);
        }
        g.reassign(id, consumer);
        let n = g.pel.get_mut(&id).expect("pending");
        n.delivery_time = now;
        if !justid {
            n.delivery_count = n.delivery_count.wrapping_add(1);
        }
        fx.claim(key, group, id, n, g.last_id);
        claimed.push(id);
        count -= 1;
    }
    // The next pending entry after the last one looked at, or 0-0.
    let cursor = from
        .and_then(|f| x.groups[group].pel.range(f, None).next().map(|(k, _)| *k))
        .unwrap_or(StreamId::MIN);
    body.array(3);
    body.bulk(&cursor.to_bytes());
    reply_claimed(&mut body, x, &claimed, justid);
    body.array(deleted.len());
    for id in &deleted {
        body.bulk(&id.to_bytes());
    }
    fx.apply(ctx, key, created);
    ctx.out.buf.extend_from_slice(&body.buf);
    Ok(())
}

/// XCLAIM's and XAUTOCLAIM's claimed entries: IDs (JUSTID) or entries.
fn reply_claimed(
    body: &mut Reply,
    x: &crate::keyspace::types::Stream,
    claimed: &[StreamId],
    justid: bool,
) {
    body.array(claimed.len());
    for id in claimed {
        if justid {
            body.bulk(&id.to_bytes());
        } else if let Some(e) = x.range(*id, *id, 1, false).first() {
            reply_entry(body, e);
        }
    }
}

/// XINFO GROUPS key.
pub fn xinfo_groups(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let (e, out) = ctx.read_with_out(argv[2]);
    let x = stream_ref(e)?.ok_or(CmdError::NoSuchKey)?;
    let meta = Meta::of(x);
    out.array(x.groups.len());
    for (name, g) in &x.groups {
        out.map(6);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"consumers");
        out.int(g.consumers.len() as i64);
        out.bulk(b"pending");
        out.int(g.pel.len() as i64);
        out.bulk(b"last-delivered-id");
        out.bulk(&g.last_id.to_bytes());
        reply_read_and_lag(out, meta, g);
    }
    Ok(())
}

/// A group's entries-read and lag fields (nulls when unknown).
fn reply_read_and_lag(out: &mut Reply, meta: Meta, g: &Group) {
    out.bulk(b"entries-read");
    out.int_or_null((g.entries_read != INVALID_ENTRIES_READ).then_some(g.entries_read));
    out.bulk(b"lag");
    out.int_or_null(meta.lag(g));
}

/// XINFO CONSUMERS key group.
pub fn xinfo_consumers(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let now = ctx.now as i64;
    let (e, out) = ctx.read_with_out(argv[2]);
    let x = stream_ref(e)?.ok_or(CmdError::NoSuchKey)?;
    let g = x
        .groups
        .get(argv[3])
        .ok_or_else(|| no_group_for_key(argv[3], argv[2]))?;
    out.array(g.consumers.len());
    for (name, c) in &g.consumers {
        out.map(3);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"pending");
        out.int(c.pel.len() as i64);
        out.bulk(b"idle");
        out.int(now.wrapping_sub(c.seen_time).max(0));
    }
    Ok(())
}

/// XINFO STREAM FULL's groups: each with its PEL and consumers, every
/// list cut at `count` (0: whole).
pub fn xinfo_full_groups(out: &mut Reply, x: &crate::keyspace::types::Stream, count: usize) {
    let meta = Meta::of(x);
    let cap = if count == 0 { usize::MAX } else { count };
    out.array(x.groups.len());
    for (name, g) in &x.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        out.bulk(&g.last_id.to_bytes());
        reply_read_and_lag(out, meta, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(cap).collect();
        out.array(pel.len());
        for (id, n) in pel {
            out.array(4);
            out.bulk(&id.to_bytes());
            out.bulk(&n.consumer);
            out.int(n.delivery_time);
            out.int(n.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let mine: Vec<_> = c.pel.keys().take(cap).collect();
            out.array(mine.len());
            for id in mine {
                let n = &g.pel[id];
                out.array(3);
                out.bulk(&id.to_bytes());
                out.int(n.delivery_time);
                out.int(n.delivery_count as i64);
            }
        }
    }
}
