//! The command table and dispatcher.
//!
//! Each command is one `Cmd` row: name, arity (Redis convention: N exact,
//! -N at least N), flags, key positions, ACL categories for COMMAND, and the
//! handler. Flags are data the dispatcher acts on (auth, write refusal,
//! stats), not habits inside handlers. One file per command family:
//!
//! * `string.rs`  GET SET INCR APPEND LCS ...
//! * `keys.rs`    DEL EXPIRE TTL KEYS SCAN RENAME COPY OBJECT ...
//! * `list.rs`    LPUSH LPOP LRANGE LMOVE ...
//! * `blocking.rs` BLPOP BLMOVE BLMPOP BZPOPMIN ... (see server/blocking.rs)
//! * `hash.rs`    HSET HGET HGETALL HINCRBY HSCAN ...
//! * `set.rs`     SADD SREM SMEMBERS SINTER SSCAN ...
//! * `zset.rs`    ZADD ZRANGE ZRANK ZUNIONSTORE ZSCAN ...
//! * `geo.rs`     GEOADD GEOPOS GEODIST GEOSEARCH GEORADIUS ... (positions
//!   in sorted sets; the arithmetic in `geohash.rs`)
//! * `bitmap.rs`  SETBIT GETBIT BITCOUNT BITPOS BITOP BITFIELD
//! * `hll.rs`     PFADD PFCOUNT PFMERGE
//! * `sort.rs`    SORT SORT_RO
//! * `dump.rs`    DUMP RESTORE
//! * `conn.rs`    PING ECHO HELLO AUTH SELECT CLIENT QUIT RESET
//! * `pubsub.rs`  SUBSCRIBE PSUBSCRIBE PUBLISH PUBSUB ... (see server/pubsub.rs)
//! * `server.rs`  INFO CONFIG COMMAND DEBUG FLUSH* SHUTDOWN SLOWLOG ...
//!
//! A handler writes its reply into `ctx.out` and journals its effect with
//! `ctx.propagate` once it has changed data; it returns `Err` only before
//! writing anything, and the dispatcher turns the error into a reply.

pub mod acl;
pub mod bitmap;
pub mod blocking;
pub mod conn;
pub mod dump;
pub mod geo;
pub mod geohash;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub mod multi;
pub mod persist;
pub mod pubsub;
pub mod scripting;
pub mod server;
pub mod set;
pub mod sort;
pub mod stream;
pub mod stream_group;
pub mod string;
pub mod zset;

use crate::keyspace::types::{Hash, Set, Stream, ZSet};
use crate::keyspace::{Entry, Value};
use crate::protocol::Reply;
use crate::server::state::{Client, State};
use std::sync::OnceLock;

/// Command flags (COMMAND INFO names them).
pub mod flag {
    pub const WRITE: u32 = 1 << 0;
    pub const READONLY: u32 = 1 << 1;
    pub const DENYOOM: u32 = 1 << 2;
    pub const ADMIN: u32 = 1 << 3;
    pub const PUBSUB: u32 = 1 << 4;
    pub const NOSCRIPT: u32 = 1 << 5;
    pub const LOADING: u32 = 1 << 6;
    pub const STALE: u32 = 1 << 7;
    pub const FAST: u32 = 1 << 8;
    /// May run before AUTH.
    pub const NO_AUTH: u32 = 1 << 9;
    pub const NO_MULTI: u32 = 1 << 10;
    pub const SKIP_MONITOR: u32 = 1 << 11;
    pub const SKIP_SLOWLOG: u32 = 1 << 12;
    pub const ALLOW_BUSY: u32 = 1 << 13;
    pub const BLOCKING: u32 = 1 << 14;
    /// Key positions depend on the arguments (COMMAND GETKEYS would parse).
    pub const MOVABLEKEYS: u32 = 1 << 15;
    /// Refused while a replica loads asynchronously (COMMAND INFO only).
    pub const NO_ASYNC_LOADING: u32 = 1 << 16;
    /// May be called with no key arguments at all (COMMAND INFO only).
    pub const NO_MANDATORY_KEYS: u32 = 1 << 17;

    pub const NAMES: &[(u32, &str)] = &[
        (WRITE, "write"),
        (READONLY, "readonly"),
        (DENYOOM, "denyoom"),
        (ADMIN, "admin"),
        (PUBSUB, "pubsub"),
        (NOSCRIPT, "noscript"),
        (BLOCKING, "blocking"),
        (LOADING, "loading"),
        (STALE, "stale"),
        (FAST, "fast"),
        (NO_AUTH, "no_auth"),
        (NO_ASYNC_LOADING, "no_async_loading"),
        (NO_MULTI, "no_multi"),
        (SKIP_MONITOR, "skip_monitor"),
        (SKIP_SLOWLOG, "skip_slowlog"),
        (ALLOW_BUSY, "allow_busy"),
        (NO_MANDATORY_KEYS, "no_mandatory_keys"),
        (MOVABLEKEYS, "movablekeys"),
    ];
}

/// A command error; `reply()` is the exact Redis error line (without '-').
#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    WrongType,
    NotInteger,
    NotFloat,
    Syntax,
    NoSuchKey,
    DbIndexOutOfRange,
    Overflow,
    /// "invalid expire time in '<cmd>' command"
    InvalidExpire(&'static str),
    StringTooLong,
    SameObject,
    /// Any other message, full text including the "ERR "/code prefix.
    Msg(String),
}

impl CmdError {
    pub fn msg(s: impl Into<String>) -> Self {
        CmdError::Msg(s.into())
    }

    pub fn reply(&self) -> String {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::InvalidExpire(c) => format!("ERR invalid expire time in '{c}' command"),
            CmdError::StringTooLong => {
                "ERR string exceeds maximum allowed size (proto-max-bulk-len)".into()
            }
            CmdError::SameObject => "ERR source and destination objects are the same".into(),
            CmdError::Msg(m) => m.clone(),
        }
    }
}

pub type CmdResult = Result<(), CmdError>;
pub type Handler = fn(&mut Ctx, &[&[u8]]) -> CmdResult;

/// One row of the command table.
pub struct Cmd {
    /// Lowercase name (Redis's `fullname` for messages).
    pub name: &'static str,
    pub arity: i32,
    pub flags: u32,
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    pub acl: &'static str,
    pub group: &'static str,
    pub summary: &'static str,
    pub since: &'static str,
    pub handler: Handler,
    /// Subcommands (CONFIG GET, CLIENT LIST, ...), dispatched by the parent.
    pub subs: &'static [Cmd],
}

impl Cmd {
    pub fn is_write(&self) -> bool {
        self.flags & flag::WRITE != 0
    }

    /// A subcommand's own name ("config|get" -> "get"); the name otherwise.
    pub fn sub_name(&self) -> &'static str {
        self.name.rsplit('|').next().unwrap_or(self.name)
    }
}

/// Helper to declare table rows compactly.
#[allow(clippy::too_many_arguments)]
pub const fn cmd(
    name: &'static str,
    arity: i32,
    flags: u32,
    keys: (i32, i32, i32),
    acl: &'static str,
    group: &'static str,
    summary: &'static str,
    handler: Handler,
) -> Cmd {
    Cmd {
        name,
        arity,
        flags,
        first_key: keys.0,
        last_key: keys.1,
        step: keys.2,
        acl,
        group,
        summary,
        since: "1.0.0",
        handler,
        subs: &[],
    }
}

pub const fn with_subs(mut c: Cmd, subs: &'static [Cmd]) -> Cmd {
    c.subs = subs;
    c
}

pub const NOKEYS: (i32, i32, i32) = (0, 0, 0);
pub const KEY1: (i32, i32, i32) = (1, 1, 1);

/// All top-level commands.
pub fn table() -> &'static [&'static [Cmd]] {
    static FAMILIES: &[&[Cmd]] = &[
        string::COMMANDS,
        acl::COMMANDS,
        blocking::COMMANDS,
        keys::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        bitmap::COMMANDS,
        hll::COMMANDS,
        sort::COMMANDS,
        stream::COMMANDS,
        stream_group::COMMANDS,
        dump::COMMANDS,
        conn::COMMANDS,
        server::COMMANDS,
        persist::COMMANDS,
        multi::COMMANDS,
        pubsub::COMMANDS,
        scripting::COMMANDS,
    ];
    FAMILIES
}

/// The key arguments of `argv` by the table's key positions (first, last,
/// step; COMMAND GETKEYS's rule). Commands with movable keys report the
/// positions their table row gives, like Redis's legacy range.
pub fn key_args<'a>(c: &Cmd, argv: &[&'a [u8]]) -> Vec<&'a [u8]> {
    let mut keys = Vec::new();
    if c.first_key <= 0 {
        return keys;
    }
    let last = if c.last_key < 0 {
        argv.len() as i32 + c.last_key
    } else {
        c.last_key
    };
    let mut i = c.first_key;
    while i <= last && (i as usize) < argv.len() {
        keys.push(argv[i as usize]);
        i += c.step.max(1);
    }
    keys
}

/// The keys of a command with movable keys, as Redis 7.0's COMMAND
/// GETKEYS finds them (its key specs, or the command's own key finder);
/// `None` where Redis answers "Invalid arguments specified for command"
/// (a `numkeys` that is not a positive count of the arguments left).
/// Commands with fixed key positions go through `key_args`.
pub fn movable_keys<'a>(c: &Cmd, argv: &[&'a [u8]]) -> Option<Vec<&'a [u8]>> {
    // `numkeys` at `at`, the keys after it.
    let numkeys = |at: usize| -> Option<Vec<&'a [u8]>> {
        let n = crate::util::parse_i64(argv.get(at)?)?;
        let keys = argv.get(at + 1..)?;
        (n > 0 && n as usize <= keys.len()).then(|| keys[..n as usize].to_vec())
    };
    // The argument after the first `word` from `from` on (not counting
    // the last argument), as a keyword key spec finds it.
    let after_keyword = |word: &[u8], from: usize| -> Option<&'a [u8]> {
        (from..argv.len().saturating_sub(1))
            .find(|&i| argv[i].eq_ignore_ascii_case(word))
            .map(|i| argv[i + 1])
    };
    match c.name {
        "zunionstore" | "zinterstore" | "zdiffstore" => {
            let mut keys = vec![argv[1]];
            keys.extend(numkeys(2)?);
            Some(keys)
        }
        "zunion" | "zinter" | "zdiff" | "zintercard" | "sintercard" | "lmpop" | "zmpop" => {
            numkeys(1)
        }
        "blmpop" | "bzmpop" => numkeys(2),
        "xread" | "xreadgroup" => {
            // The first half of what follows STREAMS, searched from the
            // key spec's start (XREADGROUP's GROUP takes two arguments).
            let from = if c.name == "xread" { 1 } else { 4 };
            let at = (from..argv.len()).find(|&i| argv[i].eq_ignore_ascii_case(b"streams"))?;
            let rest = &argv[at + 1..];
            Some(rest[..rest.len() / 2].to_vec())
        }
        "sort" => {
            // sortGetKeys: the last STORE with an argument after it,
            // stepping over the arguments of LIMIT, GET and BY.
            let mut store = None;
            let mut i = 2;
            while i < argv.len() {
                let a = argv[i];
                if a.eq_ignore_ascii_case(b"limit") {
                    i += 2;
                } else if a.eq_ignore_ascii_case(b"get") || a.eq_ignore_ascii_case(b"by") {
                    i += 1;
                } else if a.eq_ignore_ascii_case(b"store") && i + 1 < argv.len() {
                    store = Some(argv[i + 1]);
                }
                i += 1;
            }
            Some(std::iter::once(argv[1]).chain(store).collect())
        }
        "georadius" | "georadiusbymember" => {
            let from = if c.name == "georadius" { 6 } else { 5 };
            let mut keys = vec![argv[1]];
            keys.extend(after_keyword(b"store", from));
            keys.extend(after_keyword(b"storedist", from));
            Some(keys)
        }
        _ => Some(key_args(c, argv)),
    }
}

/// Name → command, built once.
pub fn lookup(name: &[u8]) -> Option<&'static Cmd> {
    type Map = hashbrown::HashMap<&'static str, &'static Cmd, foldhash::fast::FixedState>;
    static MAP: OnceLock<Map> = OnceLock::new();
    let map = MAP.get_or_init(|| {
        let mut m = Map::default();
        for fam in table() {
            for c in fam.iter() {
                m.insert(c.name, c);
            }
        }
        m
    });
    if name.len() > 32 {
        return None;
    }
    let mut buf = [0u8; 32];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower)
        .ok()
        .and_then(|s| map.get(s).copied())
}

/// Find a subcommand of `parent`.
pub fn lookup_sub(parent: &'static Cmd, name: &[u8]) -> Option<&'static Cmd> {
    parent
        .subs
        .iter()
        .find(|c| c.sub_name().as_bytes().eq_ignore_ascii_case(name))
}

pub fn arity_ok(arity: i32, argc: usize) -> bool {
    (arity > 0 && argc as i32 == arity) || (arity < 0 && argc as i32 >= -arity)
}

/// Execution context of one command.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub client: &'a mut Client,
    pub out: &'a mut Reply,
    /// Command time in Unix ms (fixed for the whole command, like Redis's
    /// `commandTimeSnapshot`).
    pub now: u64,
    /// The command being executed.
    pub cmd: &'static Cmd,
}

impl<'a> Ctx<'a> {
    #[inline]
    pub fn db(&self) -> usize {
        self.client.db
    }

    /// Journal an effect in the client's current database and count it as
    /// a change (`dirty`).
    #[inline]
    pub fn propagate(&mut self, args: &[&[u8]]) {
        self.st.ks.journal.append(self.client.db, args);
        self.st.dirty += 1;
    }

    /// A keyspace notification (`server::notify`): `event` of `class`
    /// about `key` in the client's database, where Redis calls
    /// `notifyKeyspaceEvent`. One branch when notifications are off.
    #[inline]
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        self.notify_db(class, event, key, db);
    }

    /// `notify` in a specific database.
    #[inline]
    pub fn notify_db(&mut self, class: u32, event: &str, key: &[u8], db: usize) {
        if self.st.config.s.notify_flags & class != 0 {
            crate::server::notify::emit(self.st, event, key, db, self.client.id, self.out);
        }
    }

    /// Journal an effect in a specific database.
    pub fn propagate_db(&mut self, db: usize, args: &[&[u8]]) {
        self.st.ks.journal.append(db, args);
        self.st.dirty += 1;
    }

    #[inline]
    pub fn read(&mut self, key: &[u8]) -> Option<&Entry> {
        self.st.ks.lookup_read(self.client.db, key, self.now)
    }

    /// `read` for a handler that changes the value in a way clients
    /// cannot see (PFCOUNT's cached count): the entry passes the snapshot
    /// hook, as for a write.
    #[inline]
    pub fn read_mut(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.st.ks.lookup_read_mut(self.client.db, key, self.now)
    }

    #[inline]
    pub fn write(&mut self, key: &[u8]) -> Option<&mut Entry> {
        self.st.ks.lookup_write(self.client.db, key, self.now)
    }

    /// `read` that also hands back the reply buffer, so a handler can stream
    /// a stored value into its reply without copying it first.
    pub fn read_with_out(&mut self, key: &[u8]) -> (Option<&Entry>, &mut Reply) {
        (
            self.st.ks.lookup_read(self.client.db, key, self.now),
            &mut *self.out,
        )
    }
}

/// The collection of one type held by a looked-up entry: `None` if the key
/// is missing, WRONGTYPE if it holds something else. `$mut_fn` takes a
/// write lookup (`Ctx::write`), `$ref_fn` a read one (`Ctx::read`).
macro_rules! typed_lookup {
    ($mut_fn:ident, $ref_fn:ident, $variant:ident, $ty:ty) => {
        pub fn $mut_fn(e: Option<&mut Entry>) -> Result<Option<&mut $ty>, CmdError> {
            match e.map(|e| &mut e.value) {
                None => Ok(None),
                Some(Value::$variant(x)) => Ok(Some(x)),
                Some(_) => Err(CmdError::WrongType),
            }
        }

        pub fn $ref_fn(e: Option<&Entry>) -> Result<Option<&$ty>, CmdError> {
            match e.map(|e| &e.value) {
                None => Ok(None),
                Some(Value::$variant(x)) => Ok(Some(x)),
                Some(_) => Err(CmdError::WrongType),
            }
        }
    };
}

typed_lookup!(hash_in, hash_ref, Hash, Hash);
typed_lookup!(set_in, set_ref, Set, Set);
typed_lookup!(zset_in, zset_ref, ZSet, ZSet);
typed_lookup!(stream_in, stream_ref, Stream, Stream);

/// Delete `key` if it holds a collection that became empty, as Redis does
/// after every removal.
pub fn drop_if_empty(ctx: &mut Ctx, key: &[u8]) -> bool {
    let db = ctx.client.db;
    if ctx
        .st
        .ks
        .lookup_write(db, key, ctx.now)
        .is_some_and(|e| e.value.is_empty_collection())
    {
        ctx.st.ks.remove(db, key);
        return true;
    }
    false
}

/// After a change to a collection: announce `event`, then remove the key
/// if the change emptied it and announce that as `del`, in Redis's order.
pub fn notify_drop(ctx: &mut Ctx, class: u32, event: &str, key: &[u8]) {
    ctx.notify(class, event, key);
    if drop_if_empty(ctx, key) {
        ctx.notify(crate::server::notify::GENERIC, "del", key);
    }
}

/// The arguments LMPOP and ZMPOP share (and BLMPOP/BZMPOP after their
/// timeout): `numkeys key [key ...] <side> [COUNT count]`.
pub struct MpopArgs<'a> {
    pub keys: &'a [&'a [u8]],
    /// The second of the two side words was given (RIGHT, MAX).
    pub second: bool,
    pub count: usize,
}

/// Parse `MpopArgs` from `args` (starting at numkeys) with the two side
/// words `sides`, with Redis's checks in Redis's order.
pub fn parse_mpop<'a>(args: &'a [&'a [u8]], sides: [&[u8]; 2]) -> Result<MpopArgs<'a>, CmdError> {
    let numkeys = match crate::util::parse_i64(args[0]) {
        Some(n) if n >= 1 => n as u64,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    let side_idx = match numkeys.checked_add(1) {
        Some(w) if w < args.len() as u64 => w as usize,
        _ => return Err(CmdError::Syntax),
    };
    let second = if crate::util::eq_ic(args[side_idx], sides[0]) {
        false
    } else if crate::util::eq_ic(args[side_idx], sides[1]) {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = side_idx + 1;
    while j < args.len() {
        if count.is_none() && crate::util::eq_ic(args[j], b"count") && j + 1 < args.len() {
            match crate::util::parse_i64(args[j + 1]) {
                Some(n) if n >= 1 => count = Some(n as usize),
                _ => return Err(CmdError::msg("ERR count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs {
        keys: &args[1..side_idx],
        second,
        count: count.unwrap_or(1),
    })
}

/// Set the "since" version of a table row (COMMAND DOCS).
pub const fn since(mut c: Cmd, v: &'static str) -> Cmd {
    c.since = v;
    c
}

/// Parse an integer argument (Redis `getLongLongFromObjectOrReply`).
#[inline]
pub fn arg_i64(a: &[u8]) -> Result<i64, CmdError> {
    crate::util::parse_i64(a).ok_or(CmdError::NotInteger)
}

/// Parse an int argument (Redis `getIntFromObjectOrReply` without a custom
/// message): not an integer, or outside the i32 range, are two errors.
pub fn arg_i32(a: &[u8]) -> Result<i32, CmdError> {
    let n = arg_i64(a)?;
    i32::try_from(n).map_err(|_| {
        CmdError::msg("ERR value is out of range, value must between -2147483648 and 2147483647")
    })
}

/// Parse a float argument (`getDoubleFromObjectOrReply`).
pub fn arg_f64(a: &[u8]) -> Result<f64, CmdError> {
    crate::util::parse_f64(a).ok_or(CmdError::NotFloat)
}

/// Bytes of a string value, or WRONGTYPE.
#[inline]
pub fn string_bytes<'v>(v: &'v Value, buf: &'v mut itoa::Buffer) -> Result<&'v [u8], CmdError> {
    v.str_bytes(buf).ok_or(CmdError::WrongType)
}

/// `ERR unknown command` text, as Redis formats it: the name cut at 128
/// bytes, then quoted arguments while the argument text is under 128 bytes,
/// each cut to the room left (`'%.*s' `). Arguments are C strings there, so
/// each stops at its first NUL byte.
pub fn unknown_command(argv: &[&[u8]]) -> String {
    let mut args: Vec<u8> = Vec::new();
    for a in &argv[1..] {
        if args.len() >= 128 {
            break;
        }
        let a = c_str(a);
        let room = 128 - args.len();
        args.push(b'\'');
        args.extend_from_slice(&a[..a.len().min(room)]);
        args.extend_from_slice(b"' ");
    }
    let mut s = b"ERR unknown command '".to_vec();
    let name = c_str(argv[0]);
    s.extend_from_slice(&name[..name.len().min(128)]);
    s.extend_from_slice(b"', with args beginning with: ");
    s.extend_from_slice(&args);
    String::from_utf8_lossy(&s).into_owned()
}

/// Redis's `addReplySubcommandSyntaxError`: a subcommand given options or
/// arguments it does not take. Names the subcommand as the client typed it.
pub fn subcommand_syntax(argv: &[&[u8]]) -> CmdError {
    CmdError::Msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {} HELP.",
        trunc(argv[1], 128),
        String::from_utf8_lossy(argv[0]).to_ascii_uppercase()
    ))
}

/// `ERR unknown subcommand` text.
pub fn unknown_subcommand(parent: &str, sub: &[u8]) -> String {
    format!(
        "ERR unknown subcommand '{}'. Try {} HELP.",
        trunc(sub, 128),
        parent.to_ascii_uppercase()
    )
}

/// The bytes of `b` up to its first NUL: what Redis's `%s` prints of an
/// argument.
pub fn c_str(b: &[u8]) -> &[u8] {
    match b.iter().position(|&c| c == 0) {
        Some(n) => &b[..n],
        None => b,
    }
}

/// An argument as Redis's `%.<n>s` prints it (stops at NUL, at most `n`
/// bytes). Bytes that are not UTF-8 are replaced (Reply::error takes text).
pub fn trunc(b: &[u8], n: usize) -> String {
    let b = c_str(b);
    String::from_utf8_lossy(&b[..b.len().min(n)]).into_owned()
}

/// Write Redis-style help: the first line is "<CMD> <subcommand> ..." and
/// the rest are given lines, as a status-string array.
pub fn help_reply(out: &mut Reply, name: &str, lines: &[&str]) {
    out.array(lines.len() + 3);
    out.simple(&format!(
        "{} <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        name.to_ascii_uppercase()
    ));
    for l in lines {
        out.simple(l);
    }
    out.simple("HELP");
    out.simple("    Prints this help.");
}

/// Dispatch a container command (CONFIG, CLIENT, OBJECT, ...) to its subcommand.
pub fn dispatch_sub(ctx: &mut Ctx, argv: &[&[u8]]) -> CmdResult {
    let parent = ctx.cmd;
    let Some(sub) = lookup_sub(parent, argv[1]) else {
        return Err(CmdError::Msg(unknown_subcommand(parent.name, argv[1])));
    };
    if !arity_ok(sub.arity, argv.len()) {
        return Err(CmdError::Msg(format!(
            "ERR wrong number of arguments for '{}' command",
            sub.name
        )));
    }
    ctx.cmd = sub;
    ctx.client.last_cmd = sub.name;
    let r = (sub.handler)(ctx, argv);
    ctx.cmd = parent;
    r
}
