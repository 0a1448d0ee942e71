//! Pub/sub commands: SUBSCRIBE PSUBSCRIBE SSUBSCRIBE and their UN- forms,
//! PUBLISH SPUBLISH, PUBSUB CHANNELS/NUMSUB/NUMPAT/SHARDCHANNELS/SHARDNUMSUB.
//! The registry and delivery are in `server/pubsub.rs`.
//!
//! Replies as Redis 7.0: one `[verb, name, count]` per name (a push in
//! RESP3), where the count is the client's channels plus patterns (shard
//! channels count on their own). Messages are not written to the log:
//! they are not data (Redis propagates PUBLISH to replicas only).

use super::{CmdResult, Ctx, KEY1, NOKEYS, cmd, dispatch_sub, flag::*, help_reply, with_subs};
use crate::commands::Cmd;
use crate::server::pubsub::{Kind, PubSub};

const SUB: u32 = PUBSUB | NOSCRIPT | LOADING | STALE;
const INTROSPECT: u32 = PUBSUB | LOADING | STALE;
/// Key positions of the shard commands (COMMAND INFO; the "keys" are
/// channel names, flagged `not_key` by Redis).
const ALL_ARGS: (i32, i32, i32) = (1, -1, 1);

pub static COMMANDS: &[Cmd] = &[
    cmd(
        "subscribe",
        -2,
        SUB,
        NOKEYS,
        "@pubsub @slow",
        "pubsub",
        "Listen for messages published to the given channels",
        subscribe,
    ),
    cmd(
        "unsubscribe",
        -1,
        SUB,
        NOKEYS,
        "@pubsub @slow",
        "pubsub",
        "Stop listening for messages posted to the given channels",
        unsubscribe,
    ),
    cmd(
        "psubscribe",
        -2,
        SUB,
        NOKEYS,
        "@pubsub @slow",
        "pubsub",
        "Listen for messages published to channels matching the given patterns",
        psubscribe,
    ),
    cmd(
        "punsubscribe",
        -1,
        SUB,
        NOKEYS,
        "@pubsub @slow",
        "pubsub",
        "Stop listening for messages posted to channels matching the given patterns",
        punsubscribe,
    ),
    cmd(
        "ssubscribe",
        -2,
        SUB,
        ALL_ARGS,
        "@pubsub @slow",
        "pubsub",
        "Listen for messages published to the given shard channels",
        ssubscribe,
    ),
    cmd(
        "sunsubscribe",
        -1,
        SUB,
        ALL_ARGS,
        "@pubsub @slow",
        "pubsub",
        "Stop listening for messages posted to the given shard channels",
        sunsubscribe,
    ),
    cmd(
        "publish",
        3,
        INTROSPECT | FAST,
        NOKEYS,
        "@pubsub @fast",
        "pubsub",
        "Post a message to a channel",
        publish,
    ),
    cmd(
        "spublish",
        3,
        INTROSPECT | FAST,
        KEY1,
        "@pubsub @fast",
        "pubsub",
        "Post a message to a shard channel",
        spublish,
    ),
    with_subs(
        cmd(
            "pubsub",
            -2,
            0,
            NOKEYS,
            "@slow",
            "pubsub",
            "A container for Pub/Sub commands",
            dispatch_sub,
        ),
        &[
            cmd(
                "pubsub|channels",
                -2,
                INTROSPECT,
                NOKEYS,
                "@pubsub @slow",
                "pubsub",
                "List active channels",
                pubsub_channels,
            ),
            cmd(
                "pubsub|numsub",
                -2,
                INTROSPECT,
                NOKEYS,
                "@pubsub @slow",
                "pubsub",
                "Get the count of subscribers for channels",
                pubsub_numsub,
            ),
            cmd(
                "pubsub|numpat",
                2,
                INTROSPECT,
                NOKEYS,
                "@pubsub @slow",
                "pubsub",
                "Get the count of unique patterns pattern subscriptions",
                pubsub_numpat,
            ),
            cmd(
                "pubsub|shardchannels",
                -2,
                INTROSPECT,
                NOKEYS,
                "@pubsub @slow",
                "pubsub",
                "List active shard channels",
                pubsub_shardchannels,
            ),
            cmd(
                "pubsub|shardnumsub",
                -2,
                INTROSPECT,
                NOKEYS,
                "@pubsub @slow",
                "pubsub",
                "Get the count of subscribers for shard channels",
                pubsub_shardnumsub,
            ),
            cmd(
                "pubsub|help",
                2,
                LOADING | STALE,
                NOKEYS,
                "@slow",
                "pubsub",
                "Show helpful text about the different subcommands",
                pubsub_help,
            ),
        ],
    ),
];

/// What a RESP2 client with subscriptions may still run (Redis's
/// `processCommand`): the subscription commands, PING, QUIT and RESET.
pub fn allowed_subscribed(c: &Cmd) -> bool {
    matches!(
        c.name,
        "subscribe"
            | "ssubscribe"
            | "unsubscribe"
            | "sunsubscribe"
            | "psubscribe"
            | "punsubscribe"
            | "ping"
            | "quit"
            | "reset"
    )
}

fn sub_reply(ctx: &mut Ctx, verb: &str, name: Option<&[u8]>, count: usize) {
    ctx.out.push(3);
    ctx.out.bulk(verb.as_bytes());
    match name {
        Some(n) => ctx.out.bulk(n),
        None => ctx.out.null(),
    }
    ctx.out.int(count as i64);
}

fn count(ctx: &Ctx, kind: Kind) -> usize {
    ctx.client.pubsub.as_ref().map_or(0, |s| s.count(kind))
}

fn subscribe_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> CmdResult {
    for name in &argv[1..] {
        ctx.st.pubsub.subscribe(ctx.client, kind, name);
        let n = count(ctx, kind);
        sub_reply(ctx, kind.verbs().0, Some(name), n);
    }
    Ok(())
}

fn unsubscribe_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> CmdResult {
    let verb = kind.verbs().1;
    let names: Vec<Vec<u8>> = if argv.len() > 1 {
        argv[1..].iter().map(|a| a.to_vec()).collect()
    } else {
        PubSub::names_of(ctx.client, kind)
    };
    if names.is_empty() {
        // Nothing to unsubscribe from: one reply with a null name.
        let n = count(ctx, kind);
        sub_reply(ctx, verb, None, n);
    }
    for name in &names {
        ctx.st.pubsub.unsubscribe(ctx.client, kind, name);
        let n = count(ctx, kind);
        sub_reply(ctx, verb, Some(name), n);
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    subscribe_kind(ctx, argv, Kind::Channel)
}

fn psubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    subscribe_kind(ctx, argv, Kind::Pattern)
}

fn ssubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    subscribe_kind(ctx, argv, Kind::Shard)
}

fn unsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    unsubscribe_kind(ctx, argv, Kind::Channel)
}

fn punsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    unsubscribe_kind(ctx, argv, Kind::Pattern)
}

fn sunsubscribe(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    unsubscribe_kind(ctx, argv, Kind::Shard)
}

fn publish_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> CmdResult {
    let limit = ctx.st.config.s.obuf_pubsub.hard;
    let n = ctx
        .st
        .pubsub
        .publish(kind, argv[1], argv[2], ctx.client.id, ctx.out, limit);
    ctx.out.int(n as i64);
    Ok(())
}

fn publish(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    publish_kind(ctx, argv, Kind::Channel)
}

fn spublish(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    publish_kind(ctx, argv, Kind::Shard)
}

fn channels_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> CmdResult {
    if argv.len() > 3 {
        return Err(super::subcommand_syntax(argv));
    }
    let names = ctx.st.pubsub.channel_names(kind, argv.get(2).copied());
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n);
    }
    Ok(())
}

fn numsub_kind(ctx: &mut Ctx, argv: &[&[u8]], kind: Kind) -> CmdResult {
    let chans = &argv[2..];
    ctx.out.array(chans.len() * 2);
    for c in chans {
        let n = ctx.st.pubsub.numsub(kind, c);
        ctx.out.bulk(c);
        ctx.out.int(n as i64);
    }
    Ok(())
}

fn pubsub_channels(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    channels_kind(ctx, argv, Kind::Channel)
}

fn pubsub_shardchannels(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    channels_kind(ctx, argv, Kind::Shard)
}

fn pubsub_numsub(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    numsub_kind(ctx, argv, Kind::Channel)
}

fn pubsub_shardnumsub(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    numsub_kind(ctx, argv, Kind::Shard)
}

fn pubsub_numpat(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let n = ctx.st.pubsub.counts().1;
    ctx.out.int(n as i64);
    Ok(())
}

fn pubsub_help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "pubsub",
        &[
            "CHANNELS [<pattern>]",
            "    Return the currently active channels matching a <pattern> (default: '*').",
            "NUMPAT",
            "    Return number of subscriptions to patterns.",
            "NUMSUB [<channel> ...]",
            "    Return the number of subscribers for the specified channels, excluding",
            "    pattern subscriptions(default: no channels).",
            "SHARDCHANNELS [<pattern>]",
            "    Return the currently active shard level channels matching a <pattern> (default: '*').",
            "SHARDNUMSUB [<shardchannel> ...]",
            "    Return the number of subscribers for the specified shard level channel(s)",
        ],
    );
    Ok(())
}
