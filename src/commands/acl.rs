//! ACL, as far as Cairn has it: one user, `default`, allowed everything,
//! with `requirepass` as its password. The reading subcommands answer as
//! Redis 7.0 answers for that user (WHOAMI, USERS, LIST, GETUSER, CAT,
//! DRYRUN, LOG, GENPASS, HELP); the ones that would create or change
//! users (SETUSER, DELUSER, LOAD, SAVE) are refused with an error that
//! says so.

use super::{
    Cmd, CmdError, CmdResult, Ctx, NOKEYS, arg_i64, cmd, dispatch_sub, flag::*, help_reply,
    with_subs,
};

const ADMIN_SUB: u32 = ADMIN | NOSCRIPT | LOADING | STALE;
const PLAIN_SUB: u32 = NOSCRIPT | LOADING | STALE;
const ADMIN_ACL: &str = "@admin @slow @dangerous";

pub static COMMANDS: &[Cmd] = &[with_subs(
    cmd(
        "acl",
        -2,
        0,
        NOKEYS,
        "@slow",
        "server",
        "A container for Access List Control commands",
        dispatch_sub,
    ),
    &[
        cmd(
            "acl|cat",
            -2,
            PLAIN_SUB,
            NOKEYS,
            "@slow",
            "server",
            "List the ACL categories or the commands inside a category",
            cat,
        ),
        cmd(
            "acl|deluser",
            -3,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "Remove the specified ACL users and the associated rules",
            deluser,
        ),
        cmd(
            "acl|dryrun",
            -4,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "Returns whether the user can execute the given command without executing the command.",
            dryrun,
        ),
        cmd(
            "acl|genpass",
            -2,
            PLAIN_SUB,
            NOKEYS,
            "@slow",
            "server",
            "Generate a pseudorandom secure password to use for ACL users",
            genpass,
        ),
        cmd(
            "acl|getuser",
            3,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "Get the rules for a specific ACL user",
            getuser,
        ),
        cmd(
            "acl|help",
            2,
            LOADING | STALE,
            NOKEYS,
            "@slow",
            "server",
            "Show helpful text about the different subcommands",
            help,
        ),
        cmd(
            "acl|list",
            2,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "List the current ACL rules in ACL config file format",
            list,
        ),
        cmd(
            "acl|load",
            2,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "Reload the ACLs from the configured ACL file",
            no_file,
        ),
        cmd(
            "acl|log",
            -2,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "List latest events denied because of ACLs in place",
            log,
        ),
        cmd(
            "acl|save",
            2,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "Save the current ACL rules in the configured ACL file",
            no_file,
        ),
        cmd(
            "acl|setuser",
            -3,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "Modify or create the rules for a specific ACL user",
            setuser,
        ),
        cmd(
            "acl|users",
            2,
            ADMIN_SUB,
            NOKEYS,
            ADMIN_ACL,
            "server",
            "List the username of all the configured ACL rules",
            users,
        ),
        cmd(
            "acl|whoami",
            2,
            PLAIN_SUB,
            NOKEYS,
            "@slow",
            "server",
            "Return the name of the user associated to the current connection",
            whoami,
        ),
    ],
)];

/// Redis 7.0's ACL categories, in its order.
const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

fn whoami(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.bulk(b"default");
    Ok(())
}

fn users(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    ctx.out.array(1);
    ctx.out.bulk(b"default");
    Ok(())
}

/// The default user's password hash, if `requirepass` sets one.
fn password_hash(ctx: &Ctx) -> Option<String> {
    use sha2::Digest;
    let p = ctx.st.config.s.requirepass.as_ref()?;
    Some(
        sha2::Sha256::digest(p)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect(),
    )
}

fn list(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    let pass = password_hash(ctx).map_or("nopass".to_string(), |h| format!("#{h}"));
    ctx.out.array(1);
    ctx.out
        .bulk(format!("user default on {pass} ~* &* +@all").as_bytes());
    Ok(())
}

fn getuser(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv[2] != b"default" {
        ctx.out.null();
        return Ok(());
    }
    let hash = password_hash(ctx);
    let out = &mut *ctx.out;
    out.map(6);
    out.bulk(b"flags");
    match hash {
        Some(_) => {
            out.set(1);
            out.bulk(b"on");
        }
        None => {
            out.set(2);
            out.bulk(b"on");
            out.bulk(b"nopass");
        }
    }
    out.bulk(b"passwords");
    match &hash {
        Some(h) => {
            out.array(1);
            out.bulk(h.as_bytes());
        }
        None => out.array(0),
    }
    for (k, v) in [("commands", "+@all"), ("keys", "~*"), ("channels", "&*")] {
        out.bulk(k.as_bytes());
        out.bulk(v.as_bytes());
    }
    out.bulk(b"selectors");
    out.array(0);
    Ok(())
}

fn cat(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv.len() > 3 {
        return Err(super::subcommand_syntax(argv));
    }
    let Some(&want) = argv.get(2) else {
        ctx.out.array(CATEGORIES.len());
        for c in CATEGORIES {
            ctx.out.bulk(c.as_bytes());
        }
        return Ok(());
    };
    let lower = String::from_utf8_lossy(want).to_ascii_lowercase();
    if !CATEGORIES.contains(&lower.as_str()) {
        return Err(CmdError::Msg(format!(
            "ERR Unknown category '{}'",
            String::from_utf8_lossy(want)
        )));
    }
    let tag = format!("@{lower}");
    let mut names: Vec<&str> = Vec::new();
    for fam in super::table() {
        for c in fam.iter() {
            for x in std::iter::once(c).chain(c.subs.iter()) {
                if x.acl.split_whitespace().any(|t| t == tag) {
                    names.push(x.name);
                }
            }
        }
    }
    ctx.out.array(names.len());
    for n in names {
        ctx.out.bulk(n.as_bytes());
    }
    Ok(())
}

fn dryrun(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv[2] != b"default" {
        return Err(CmdError::Msg(format!(
            "ERR User '{}' not found",
            String::from_utf8_lossy(argv[2])
        )));
    }
    let Some(c) = super::lookup(argv[3]) else {
        return Err(CmdError::Msg(format!(
            "ERR Command '{}' not found",
            String::from_utf8_lossy(argv[3])
        )));
    };
    if !super::arity_ok(c.arity, argv.len() - 3) {
        return Err(CmdError::Msg(format!(
            "ERR wrong number of arguments for '{}' command",
            c.name
        )));
    }
    ctx.out.ok();
    Ok(())
}

fn log(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    match argv.get(2) {
        Some(a) if a.eq_ignore_ascii_case(b"reset") => ctx.out.ok(),
        Some(a) => {
            arg_i64(a)?;
            ctx.out.array(0);
        }
        None => ctx.out.array(0),
    }
    Ok(())
}

fn genpass(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let bits = match argv.get(2) {
        Some(a) => Some(arg_i64(a)?)
            .filter(|b| (1..=4096).contains(b))
            .ok_or_else(|| {
                CmdError::msg(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                )
            })?,
        None => 256,
    };
    let chars = (bits as usize).div_ceil(4);
    let hex: String = (0..chars)
        .map(|_| char::from_digit(rand::random_range(0..16u32), 16).unwrap_or('0'))
        .collect();
    ctx.out.bulk(hex.as_bytes());
    Ok(())
}

fn setuser(_ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    Err(CmdError::msg(
        "ERR Cairn has only the default user (set its password with requirepass); ACL SETUSER is not supported",
    ))
}

fn deluser(_ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    if argv[2..].iter().any(|u| *u == b"default") {
        return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
    }
    Err(CmdError::msg(
        "ERR Cairn has only the default user; ACL DELUSER is not supported",
    ))
}

fn no_file(_ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    Err(CmdError::msg(
        "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.",
    ))
}

fn help(ctx: &mut Ctx, _argv: &[&[u8]]) -> CmdResult {
    help_reply(
        ctx.out,
        "acl",
        &[
            "CAT [<category>]",
            "    List all commands that belong to <category>, or all command categories",
            "    when no category is specified.",
            "DELUSER <username> [<username> ...]",
            "    Delete a list of users.",
            "DRYRUN <username> <command> [<arg> ...]",
            "    Returns whether the user can execute the given command without executing the command.",
            "GETUSER <username>",
            "    Get the user's details.",
            "GENPASS [<bits>]",
            "    Generate a secure 256-bit user password. The optional `bits` argument can",
            "    be used to specify a different size.",
            "LIST",
            "    Show users details in config file format.",
            "LOAD",
            "    Reload users from the ACL file.",
            "LOG [<count> | RESET]",
            "    Show the ACL log entries.",
            "SAVE",
            "    Save the current config to the ACL file.",
            "SETUSER <username> <attribute> [<attribute> ...]",
            "    Create or modify a user with the specified attributes.",
            "USERS",
            "    List all the registered usernames.",
            "WHOAMI",
            "    Return the current connection username.",
        ],
    );
    Ok(())
}
