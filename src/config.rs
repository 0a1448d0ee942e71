//! Configuration: redis.conf syntax, `--name value` command-line overrides,
//! CONFIG GET/SET.
//!
//! Every directive is one row of `SPECS`: its name (and old alias), its
//! kind (which says how a value is validated and printed), whether CONFIG
//! SET may change it at run time, and its default. Values are kept in the
//! canonical form CONFIG GET prints; `Settings` caches the typed values the
//! server reads on hot paths and is rebuilt after every change.

use crate::error::ConfigError;
use std::path::PathBuf;

#[derive(Clone, Copy, Debug)]
enum Kind {
    Bool,
    Int(i64, i64),
    /// A memory size ("1gb", "100mb", bytes) up to the given maximum.
    Mem(u64),
    /// A memory size within [min, max].
    MemRange(u64, u64),
    /// An integer within [min, max], stored clamped to [lo, hi].
    Clamp(i64, i64, i64, i64),
    Enum(&'static [&'static str]),
    Str,
    /// `save` rules: pairs of seconds and changes, or "".
    Save,
    /// `bind`: one or more addresses.
    Bind,
    /// `client-output-buffer-limit`: groups of `<class> <hard> <soft>
    /// <soft-seconds>`; a change replaces only the classes it names.
    ObufLimit,
    /// `notify-keyspace-events`: event class letters (`notify` module).
    Notify,
}

#[derive(Clone, Copy, Debug)]
struct Spec {
    name: &'static str,
    alias: Option<&'static str>,
    kind: Kind,
    mutable: bool,
    default: &'static str,
}

const fn spec(name: &'static str, kind: Kind, mutable: bool, default: &'static str) -> Spec {
    Spec {
        name,
        alias: None,
        kind,
        mutable,
        default,
    }
}

const fn alias(name: &'static str, alias: &'static str, kind: Kind, default: &'static str) -> Spec {
    Spec {
        name,
        alias: Some(alias),
        kind,
        mutable: true,
        default,
    }
}

const YESNO: Kind = Kind::Bool;
const I32: Kind = Kind::Int(i32::MIN as i64, i32::MAX as i64);
const NONNEG: Kind = Kind::Int(0, i64::MAX);
const LOGLEVELS: &[&str] = &["debug", "verbose", "notice", "warning"];
// Redis's order (its error message lists them so).
const FSYNC: &[&str] = &["everysec", "always", "no"];
const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

/// The directive table. Order is the order CONFIG GET * lists them.
static SPECS: &[Spec] = &[
    spec("port", Kind::Int(0, 65535), false, "6379"),
    spec("bind", Kind::Bind, false, "127.0.0.1"),
    spec("dir", Kind::Str, false, "./data"),
    spec("requirepass", Kind::Str, true, ""),
    spec("databases", Kind::Int(1, i32::MAX as i64), false, "16"),
    spec("loglevel", Kind::Enum(LOGLEVELS), true, "notice"),
    spec("logfile", Kind::Str, false, ""),
    spec("maxclients", Kind::Int(1, u32::MAX as i64), true, "10000"),
    spec("timeout", Kind::Int(0, i32::MAX as i64), true, "0"),
    spec("tcp-keepalive", Kind::Int(0, i32::MAX as i64), true, "300"),
    spec("tcp-backlog", Kind::Int(0, i32::MAX as i64), false, "511"),
    spec("protected-mode", YESNO, false, "yes"),
    spec("daemonize", Kind::Enum(&["no"]), false, "no"),
    spec("pidfile", Kind::Str, false, ""),
    spec("io-threads", Kind::Int(1, 128), false, "1"),
    // Cairn's own: how long an idle worker polls for work before it
    // sleeps (server/idle_spin.rs), set at start-up only.
    spec("io-idle-spin-us", Kind::Int(0, 100_000), false, "50"),
    // As Redis: on by default, set at start-up only (alloc::disable_thp).
    spec("disable-thp", YESNO, false, "yes"),
    // Redis accepts any hz and clamps it to 1..=500.
    spec("hz", Kind::Clamp(0, i32::MAX as i64, 1, 500), true, "10"),
    spec(
        "proto-max-bulk-len",
        Kind::MemRange(1 << 20, i64::MAX as u64),
        true,
        "536870912",
    ),
    spec(
        "client-query-buffer-limit",
        Kind::MemRange(1 << 20, i64::MAX as u64),
        true,
        "1073741824",
    ),
    spec(
        "client-output-buffer-limit",
        Kind::ObufLimit,
        true,
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
    spec("appendonly", YESNO, true, "yes"),
    spec("appendfsync", Kind::Enum(FSYNC), true, "always"),
    spec("appendfilename", Kind::Str, false, "appendonly.aof"),
    spec("appenddirname", Kind::Str, false, "appendonlydir"),
    spec("save", Kind::Save, true, "3600 1 300 100 60 10000"),
    spec("dbfilename", Kind::Str, true, "dump.rdb"),
    spec("rdbcompression", YESNO, true, "yes"),
    spec("rdbchecksum", YESNO, true, "yes"),
    spec("stop-writes-on-bgsave-error", YESNO, true, "yes"),
    spec(
        "auto-aof-rewrite-percentage",
        Kind::Int(0, i32::MAX as i64),
        true,
        "100",
    ),
    spec(
        "auto-aof-rewrite-min-size",
        Kind::Mem(i64::MAX as u64),
        true,
        "67108864",
    ),
    spec("aof-use-rdb-preamble", YESNO, true, "yes"),
    spec("aof-load-truncated", YESNO, true, "yes"),
    spec(
        "aof-load-corrupt",
        Kind::Enum(&["refuse", "truncate"]),
        false,
        "refuse",
    ),
    spec(
        "aof-segment-size",
        Kind::Mem(i64::MAX as u64),
        false,
        "67108864",
    ),
    spec("maxmemory", Kind::Mem(u64::MAX), true, "0"),
    spec("maxmemory-policy", Kind::Enum(POLICIES), true, "noeviction"),
    spec("maxmemory-samples", Kind::Int(1, 64), true, "5"),
    spec("maxmemory-eviction-tenacity", Kind::Int(0, 100), true, "10"),
    spec("maxmemory-clients", Kind::Mem(u64::MAX), true, "0"),
    spec(
        "stream-node-max-bytes",
        Kind::Mem(i64::MAX as u64),
        true,
        "4096",
    ),
    spec(
        "stream-node-max-entries",
        Kind::Int(0, i64::MAX),
        true,
        "100",
    ),
    spec("lfu-log-factor", Kind::Int(0, i32::MAX as i64), true, "10"),
    spec("lfu-decay-time", Kind::Int(0, i32::MAX as i64), true, "1"),
    spec("lazyfree-lazy-eviction", YESNO, true, "no"),
    spec("lazyfree-lazy-expire", YESNO, true, "no"),
    spec("lazyfree-lazy-server-del", YESNO, true, "no"),
    spec("lazyfree-lazy-user-del", YESNO, true, "no"),
    spec("lazyfree-lazy-user-flush", YESNO, true, "no"),
    spec(
        "slowlog-log-slower-than",
        Kind::Int(-1, i64::MAX),
        true,
        "10000",
    ),
    spec("slowlog-max-len", NONNEG, true, "128"),
    spec("latency-monitor-threshold", NONNEG, true, "0"),
    spec("notify-keyspace-events", Kind::Notify, true, ""),
    spec("activerehashing", YESNO, true, "yes"),
    alias(
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
        NONNEG,
        "512",
    ),
    alias(
        "hash-max-listpack-value",
        "hash-max-ziplist-value",
        NONNEG,
        "64",
    ),
    alias(
        "zset-max-listpack-entries",
        "zset-max-ziplist-entries",
        NONNEG,
        "128",
    ),
    alias(
        "zset-max-listpack-value",
        "zset-max-ziplist-value",
        NONNEG,
        "64",
    ),
    alias("list-max-listpack-size", "list-max-ziplist-size", I32, "-2"),
    spec(
        "list-compress-depth",
        Kind::Int(0, i32::MAX as i64),
        true,
        "0",
    ),
    spec("set-max-intset-entries", NONNEG, true, "512"),
    spec(
        "hll-sparse-max-bytes",
        Kind::MemRange(0, i64::MAX as u64),
        true,
        "3000",
    ),
    alias("busy-reply-threshold", "lua-time-limit", NONNEG, "5000"),
];

/// How the append-only log syncs (Redis `appendfsync`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// Reply only after the record is on stable storage.
    Always,
    /// Flush in the background at least once a second.
    EverySec,
    /// Never fsync on the write path; the OS decides.
    No,
}

/// Typed values the server reads on hot paths. Rebuilt after each change.
#[derive(Clone, Debug)]
pub struct Settings {
    pub port: u16,
    pub bind: Vec<String>,
    pub dir: PathBuf,
    pub requirepass: Option<Vec<u8>>,
    pub databases: usize,
    pub loglevel: String,
    pub maxclients: usize,
    pub timeout_secs: u64,
    pub hz: u32,
    pub io_threads: usize,
    /// Microseconds an idle worker polls for work before it sleeps.
    pub io_idle_spin_us: u64,
    /// Turn transparent huge pages off for the process (Redis's `disable-thp`).
    pub disable_thp: bool,
    pub proto_max_bulk_len: i64,
    pub client_query_buffer_limit: usize,
    pub appendonly: bool,
    pub appendfsync: FsyncPolicy,
    pub appenddirname: String,
    /// Truncate (instead of refusing) a log with real corruption.
    pub aof_load_corrupt_truncate: bool,
    pub aof_segment_size: u64,
    pub save: Vec<(u64, u64)>,
    pub dbfilename: String,
    pub rdbcompression: bool,
    pub stop_writes_on_bgsave_error: bool,
    pub auto_aof_rewrite_percentage: u64,
    pub auto_aof_rewrite_min_size: u64,
    /// Bytes of memory past which keys are evicted or writes refused
    /// (0: no limit; `server::evict`).
    pub maxmemory: u64,
    pub maxmemory_policy: String,
    pub maxmemory_samples: usize,
    pub maxmemory_eviction_tenacity: u64,
    pub lfu_log_factor: u64,
    pub lfu_decay_time: u64,
    /// `stream-node-max-entries` and `stream-node-max-bytes`.
    pub stream_nodes: crate::keyspace::types::stream::NodeLimits,
    /// Milliseconds a script may run without writing before the server
    /// stops it (`busy-reply-threshold`, alias `lua-time-limit`; 0: never).
    pub busy_reply_threshold: u64,
    pub slowlog_log_slower_than: i64,
    pub slowlog_max_len: usize,
    /// Largest sparse HyperLogLog before promotion to dense.
    pub hll_sparse_max_bytes: usize,
    /// Output buffer limits of normal clients.
    pub obuf_normal: ObufLimit,
    /// Output buffer limits of pub/sub clients.
    pub obuf_pubsub: ObufLimit,
    /// `notify-keyspace-events` as `server::notify` flags (0: off).
    pub notify_flags: u32,
    /// list-max-listpack-size: < 0 is a node byte limit (-1..-5 = 4..64 KB),
    /// > 0 a node entry count.
    pub list_max_listpack_size: i32,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
}

/// One class of `client-output-buffer-limit` (0 = no limit).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObufLimit {
    pub hard: u64,
    pub soft: u64,
    pub soft_secs: u64,
}

fn obuf_class(v: &str, class: &str) -> ObufLimit {
    let w: Vec<&str> = v.split_whitespace().collect();
    w.chunks(4)
        .find(|c| c.len() == 4 && c[0] == class)
        .map(|c| ObufLimit {
            hard: c[1].parse().unwrap_or(0),
            soft: c[2].parse().unwrap_or(0),
            soft_secs: c[3].parse().unwrap_or(0),
        })
        .unwrap_or_default()
}

/// Replace in `cur` the classes `new` names (both canonical).
fn merge_obuf(cur: &str, new: &str) -> String {
    let mut groups: Vec<Vec<String>> = cur
        .split_whitespace()
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    for g in new.split_whitespace().collect::<Vec<_>>().chunks(4) {
        match groups.iter_mut().find(|x| x[0] == g[0]) {
            Some(x) => *x = g.iter().map(|s| s.to_string()).collect(),
            None => groups.push(g.iter().map(|s| s.to_string()).collect()),
        }
    }
    groups
        .iter()
        .map(|g| g.join(" "))
        .collect::<Vec<_>>()
        .join(" ")
}

#[derive(Clone, Debug)]
pub struct Config {
    values: Vec<String>,
    pub s: Settings,
    /// Path of the config file the server started with (CONFIG REWRITE).
    pub file: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        let values: Vec<String> = SPECS.iter().map(|s| s.default.to_string()).collect();
        let s = settings(&values);
        Config {
            values,
            s,
            file: None,
        }
    }
}

fn find(name: &str) -> Option<usize> {
    SPECS.iter().position(|s| {
        s.name.eq_ignore_ascii_case(name) || s.alias.is_some_and(|a| a.eq_ignore_ascii_case(name))
    })
}

/// The canonical name of a directive (aliases resolved), if known.
pub fn canonical_name(name: &str) -> Option<String> {
    find(name).map(|i| SPECS[i].name.to_string())
}

fn get(values: &[String], name: &str) -> String {
    values[find(name).expect("known directive")].clone()
}

fn settings(v: &[String]) -> Settings {
    let int = |n: &str| get(v, n).parse::<i64>().unwrap_or(0);
    let yes = |n: &str| get(v, n) == "yes";
    let pass = get(v, "requirepass");
    let save_s = get(v, "save");
    let nums: Vec<u64> = save_s
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    Settings {
        port: int("port") as u16,
        bind: get(v, "bind")
            .split_whitespace()
            .map(String::from)
            .collect(),
        dir: PathBuf::from(get(v, "dir")),
        requirepass: (!pass.is_empty()).then(|| pass.into_bytes()),
        databases: int("databases") as usize,
        loglevel: get(v, "loglevel"),
        maxclients: int("maxclients") as usize,
        timeout_secs: int("timeout") as u64,
        hz: int("hz") as u32,
        io_threads: int("io-threads") as usize,
        io_idle_spin_us: int("io-idle-spin-us") as u64,
        disable_thp: yes("disable-thp"),
        proto_max_bulk_len: int("proto-max-bulk-len"),
        client_query_buffer_limit: int("client-query-buffer-limit") as usize,
        appendonly: yes("appendonly"),
        appendfsync: match get(v, "appendfsync").as_str() {
            "always" => FsyncPolicy::Always,
            "everysec" => FsyncPolicy::EverySec,
            _ => FsyncPolicy::No,
        },
        appenddirname: get(v, "appenddirname"),
        aof_load_corrupt_truncate: get(v, "aof-load-corrupt") == "truncate",
        aof_segment_size: int("aof-segment-size") as u64,
        dbfilename: get(v, "dbfilename"),
        rdbcompression: yes("rdbcompression"),
        stop_writes_on_bgsave_error: yes("stop-writes-on-bgsave-error"),
        auto_aof_rewrite_percentage: int("auto-aof-rewrite-percentage").max(0) as u64,
        auto_aof_rewrite_min_size: int("auto-aof-rewrite-min-size").max(0) as u64,
        save: nums
            .chunks(2)
            .filter(|c| c.len() == 2)
            .map(|c| (c[0], c[1]))
            .collect(),
        maxmemory: parse_memory(&get(v, "maxmemory")).unwrap_or(0),
        maxmemory_policy: get(v, "maxmemory-policy"),
        maxmemory_samples: int("maxmemory-samples").max(1) as usize,
        maxmemory_eviction_tenacity: int("maxmemory-eviction-tenacity").max(0) as u64,
        lfu_log_factor: int("lfu-log-factor").max(0) as u64,
        lfu_decay_time: int("lfu-decay-time").max(0) as u64,
        stream_nodes: crate::keyspace::types::stream::NodeLimits {
            max_entries: int("stream-node-max-entries").max(0) as usize,
            max_bytes: parse_memory(&get(v, "stream-node-max-bytes")).unwrap_or(0) as usize,
        },
        busy_reply_threshold: int("busy-reply-threshold") as u64,
        slowlog_log_slower_than: int("slowlog-log-slower-than"),
        slowlog_max_len: int("slowlog-max-len") as usize,
        obuf_normal: obuf_class(&get(v, "client-output-buffer-limit"), "normal"),
        obuf_pubsub: obuf_class(&get(v, "client-output-buffer-limit"), "pubsub"),
        notify_flags: crate::server::notify::parse_flags(&get(v, "notify-keyspace-events"))
            .unwrap_or(0),
        hll_sparse_max_bytes: int("hll-sparse-max-bytes") as usize,
        list_max_listpack_size: int("list-max-listpack-size") as i32,
        hash_max_listpack_entries: int("hash-max-listpack-entries") as usize,
        hash_max_listpack_value: int("hash-max-listpack-value") as usize,
        set_max_intset_entries: int("set-max-intset-entries") as usize,
        zset_max_listpack_entries: int("zset-max-listpack-entries") as usize,
        zset_max_listpack_value: int("zset-max-listpack-value") as usize,
    }
}

/// Parse a Redis memory value ("10mb", "1gb", "512k", "100").
pub fn parse_memory(s: &str) -> Option<u64> {
    let l = s.to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1u64 << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| l.strip_suffix(suf).map(|n| (n.to_string(), *m)))
    .unwrap_or((l.clone(), 1));
    let n: u64 = num.parse().ok()?;
    n.checked_mul(mul)
}

/// Validate `args` for directive `spec`; return the canonical value.
fn validate(spec: &Spec, args: &[String]) -> Result<String, String> {
    let one = || -> Result<&String, String> {
        if args.len() != 1 {
            Err("wrong number of arguments".to_string())
        } else {
            Ok(&args[0])
        }
    };
    match spec.kind {
        Kind::Bool => {
            let a = one()?.to_ascii_lowercase();
            if a == "yes" || a == "no" {
                Ok(a)
            } else {
                Err("argument must be 'yes' or 'no'".into())
            }
        }
        Kind::Int(min, max) => {
            let a = one()?;
            let n: i64 = a
                .parse()
                .map_err(|_| "argument couldn't be parsed into an integer".to_string())?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Clamp(min, max, lo, hi) => {
            let n = validate(
                &Spec {
                    kind: Kind::Int(min, max),
                    ..*spec
                },
                args,
            )?;
            Ok(n.parse::<i64>().unwrap_or(lo).clamp(lo, hi).to_string())
        }
        Kind::MemRange(min, max) => {
            let a = one()?;
            let n = parse_memory(a).ok_or("argument must be a memory value")?;
            if n < min || n > max {
                return Err(format!(
                    "argument must be between {min} and {max} inclusive"
                ));
            }
            Ok(n.to_string())
        }
        Kind::Mem(max) => {
            let a = one()?;
            let n = parse_memory(a).ok_or("argument must be a memory value")?;
            if n > max {
                return Err(format!("argument must be between 0 and {max} inclusive"));
            }
            Ok(n.to_string())
        }
        Kind::Enum(opts) => {
            let a = one()?.to_ascii_lowercase();
            if opts.contains(&a.as_str()) {
                Ok(a)
            } else {
                Err(format!(
                    "argument(s) must be one of the following: {}",
                    opts.join(", ")
                ))
            }
        }
        Kind::Str => Ok(one()?.clone()),
        Kind::Notify => {
            // Kept lossless (`flags_to_string` shows no `n` next to `A`, as
            // Redis's does); CONFIG GET shows Redis's form (`get`).
            let flags = crate::server::notify::parse_flags(one()?)?;
            let mut v = crate::server::notify::flags_to_string(flags);
            if flags & crate::server::notify::NEW != 0 && !v.contains('n') {
                v.push('n');
            }
            Ok(v)
        }
        Kind::Save => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if !words.len().is_multiple_of(2) {
                return Err("Invalid save parameters".into());
            }
            let mut out = Vec::new();
            for w in &words {
                let n: i64 = w
                    .parse()
                    .map_err(|_| "Invalid save parameters".to_string())?;
                if n < 0 {
                    return Err("Invalid save parameters".into());
                }
                out.push(n.to_string());
            }
            Ok(out.join(" "))
        }
        Kind::ObufLimit => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if words.is_empty() || !words.len().is_multiple_of(4) {
                return Err("Wrong number of arguments in buffer limit configuration.".into());
            }
            let mut out = Vec::new();
            for g in words.chunks(4) {
                let class = match g[0].to_ascii_lowercase().as_str() {
                    "normal" => "normal",
                    "replica" | "slave" => "slave",
                    "pubsub" => "pubsub",
                    _ => {
                        return Err(
                            "Invalid client class specified in buffer limit configuration.".into(),
                        );
                    }
                };
                let bad = || {
                    "Error in hard, soft or soft_seconds setting in buffer limit configuration."
                        .to_string()
                };
                let hard = parse_memory(g[1]).ok_or_else(bad)?;
                let soft = parse_memory(g[2]).ok_or_else(bad)?;
                let secs: u64 = g[3].parse().map_err(|_| bad())?;
                out.push(format!("{class} {hard} {soft} {secs}"));
            }
            Ok(out.join(" "))
        }
        Kind::Bind => {
            let words: Vec<&str> = args.iter().flat_map(|a| a.split_whitespace()).collect();
            if words.is_empty() || words.len() > 16 {
                return Err("Too many bind addresses specified.".into());
            }
            Ok(words.join(" "))
        }
    }
}

/// Split one config line like Redis (`sdssplitargs`).
fn split_line(line: &str) -> Option<Vec<String>> {
    let mut scratch = Vec::new();
    let mut ranges = Vec::new();
    crate::protocol::parse::split_args(line.as_bytes(), &mut scratch, &mut ranges).ok()?;
    Some(
        ranges
            .iter()
            .map(|&(s, e)| String::from_utf8_lossy(&scratch[s..e]).into_owned())
            .collect(),
    )
}

impl Config {
    /// Load directives from redis.conf-style text. `origin` names the
    /// source in error messages.
    pub fn load_text(&mut self, text: &str, origin: &str) -> Result<(), ConfigError> {
        let mut save_seen = false;
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let err = |msg: String| ConfigError::Directive {
                origin: origin.to_string(),
                line: i + 1,
                text: raw.to_string(),
                msg,
            };
            let words = split_line(line)
                .ok_or_else(|| err("Unbalanced quotes in configuration line".into()))?;
            if words.is_empty() {
                continue;
            }
            let name = words[0].to_ascii_lowercase();
            let idx = find(&name)
                .ok_or_else(|| err("Bad directive or wrong number of arguments".into()))?;
            let spec = &SPECS[idx];
            let mut args = words[1..].to_vec();
            if matches!(spec.kind, Kind::Save) && save_seen {
                // Repeated save lines accumulate, as in Redis.
                let mut prev = vec![self.values[idx].clone()];
                if args.iter().all(|a| a.is_empty()) {
                    prev.clear();
                }
                prev.append(&mut args);
                args = prev;
            }
            if matches!(spec.kind, Kind::Save) {
                save_seen = true;
            }
            let mut v = validate(spec, &args).map_err(err)?;
            if matches!(spec.kind, Kind::ObufLimit) {
                v = merge_obuf(&self.values[idx], &v);
            }
            self.values[idx] = v;
        }
        self.s = settings(&self.values);
        Ok(())
    }

    /// Build a config from a redis-server style argument list:
    /// `[configfile] [--name value ...]`.
    pub fn from_args(args: &[String]) -> Result<Config, ConfigError> {
        let mut cfg = Config::default();
        let mut rest = args;
        if let Some(first) = args.first()
            && !first.starts_with("--")
        {
            if first == "-" {
                // `cairn-server -`: the configuration comes on stdin.
                let mut text = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).map_err(|e| {
                    ConfigError::File {
                        path: "-".into(),
                        msg: e.to_string(),
                    }
                })?;
                cfg.load_text(&text, "stdin")?;
            } else {
                let text = std::fs::read_to_string(first).map_err(|e| ConfigError::File {
                    path: first.clone(),
                    msg: e.to_string(),
                })?;
                cfg.load_text(&text, first)?;
                cfg.file = Some(PathBuf::from(first));
            }
            rest = &args[1..];
        }
        // Turn "--name v1 v2 --other v" into config lines.
        let mut text = String::new();
        for a in rest {
            if let Some(name) = a.strip_prefix("--") {
                if !text.is_empty() {
                    text.push('\n');
                }
                text.push_str(name);
            } else {
                if text.is_empty() {
                    return Err(ConfigError::Args(format!(
                        "value '{a}' without an option name"
                    )));
                }
                text.push(' ');
                text.push_str(&quote(a));
            }
        }
        cfg.load_text(&text, "command line")?;
        Ok(cfg)
    }

    /// CONFIG GET: every (name, value) whose name matches one of `patterns`.
    pub fn get_matching(&self, patterns: &[&[u8]]) -> Vec<(String, String)> {
        // Redis: a name without glob characters is looked up directly
        // (case-insensitively) and echoed back as given; a pattern matches
        // names and aliases. A directive is listed once per spelling.
        let mut out: Vec<(String, String)> = Vec::new();
        let seen = |out: &Vec<(String, String)>, n: &str| {
            out.iter().any(|(m, _)| m.eq_ignore_ascii_case(n))
        };
        for p in patterns {
            if !p.iter().any(|c| b"[*?".contains(c)) {
                let name = String::from_utf8_lossy(p).into_owned();
                if seen(&out, &name) {
                    continue;
                }
                if let Some(i) = find(&name) {
                    out.push((name, self.shown(i)));
                }
                continue;
            }
            for (i, s) in SPECS.iter().enumerate() {
                for name in std::iter::once(s.name).chain(s.alias) {
                    if !seen(&out, name) && crate::util::glob_match(p, name.as_bytes(), true) {
                        out.push((name.to_string(), self.shown(i)));
                    }
                }
            }
        }
        out
    }

    /// Current value of a directive.
    pub fn get(&self, name: &str) -> Option<String> {
        find(name).map(|i| self.shown(i))
    }

    /// A directive's value as CONFIG GET shows it: the stored value, but
    /// `notify-keyspace-events` as Redis prints it (`n` is dropped next to
    /// `A`; the stored form keeps it).
    fn shown(&self, i: usize) -> String {
        match SPECS[i].kind {
            Kind::Notify => crate::server::notify::flags_to_string(self.s.notify_flags),
            _ => self.values[i].clone(),
        }
    }

    /// CONFIG SET of one directive. Errors are Redis's reason text.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), ConfigSetError> {
        let idx = find(name).ok_or(ConfigSetError::Unknown)?;
        let spec = &SPECS[idx];
        if !spec.mutable {
            return Err(ConfigSetError::Invalid("can't set immutable config".into()));
        }
        let args = match spec.kind {
            Kind::Save | Kind::Bind => vec![value.to_string()],
            _ => vec![value.to_string()],
        };
        let mut v = validate(spec, &args).map_err(ConfigSetError::Invalid)?;
        if matches!(spec.kind, Kind::ObufLimit) {
            v = merge_obuf(&self.values[idx], &v);
        }
        self.values[idx] = v;
        self.s = settings(&self.values);
        Ok(())
    }

    /// Render the full configuration as redis.conf text (CONFIG REWRITE).
    pub fn render(&self) -> String {
        let mut out = String::from("# Written by Cairn CONFIG REWRITE\n");
        for (i, s) in SPECS.iter().enumerate() {
            let v = &self.values[i];
            if v == s.default {
                continue;
            }
            match s.kind {
                Kind::Save if v.is_empty() => out.push_str("save \"\"\n"),
                Kind::Save => {
                    let w: Vec<&str> = v.split_whitespace().collect();
                    for c in w.chunks(2) {
                        out.push_str(&format!("save {} {}\n", c[0], c[1]));
                    }
                }
                _ => out.push_str(&format!("{} {}\n", s.name, quote(v))),
            }
        }
        out
    }
}

/// Why CONFIG SET refused a value.
#[derive(Debug)]
pub enum ConfigSetError {
    Unknown,
    Invalid(String),
}

fn quote(s: &str) -> String {
    if !s.is_empty()
        && !s.contains(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
    {
        return s.to_string();
    }
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn defaults_and_overrides() {
        let c =
            Config::from_args(&args(&["--port", "7000", "--dir", "/tmp/x", "--save", ""])).unwrap();
        assert_eq!(c.s.port, 7000);
        assert_eq!(c.s.dir, PathBuf::from("/tmp/x"));
        assert!(c.s.save.is_empty());
        assert_eq!(c.s.appendfsync, FsyncPolicy::Always);
        let c = Config::from_args(&args(&["--save", "900", "1", "300", "10"])).unwrap();
        assert_eq!(c.s.save, vec![(900, 1), (300, 10)]);
    }

    #[test]
    fn bad_directive_names_the_line() {
        let mut c = Config::default();
        let e = c
            .load_text("port 1\n\nfoo bar\n", "x.conf")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("foo bar"), "{e}");
        let e = c.load_text("port abc\n", "x.conf").unwrap_err().to_string();
        assert!(e.contains("line 1") && e.contains("integer"), "{e}");
        let e = c
            .load_text("appendfsync sometimes\n", "x.conf")
            .unwrap_err()
            .to_string();
        assert!(e.contains("everysec, always, no"), "{e}");
    }

    #[test]
    fn memory_units() {
        assert_eq!(parse_memory("1gb"), Some(1 << 30));
        assert_eq!(parse_memory("1k"), Some(1000));
        assert_eq!(parse_memory("12"), Some(12));
        assert_eq!(parse_memory("x"), None);
    }

    #[test]
    fn config_get_and_set() {
        let mut c = Config::default();
        let got = c.get_matching(&[b"append*"]);
        assert!(
            got.iter()
                .any(|(n, v)| *n == "appendfsync" && v == "always")
        );
        c.set("appendfsync", "everysec").unwrap();
        assert_eq!(c.s.appendfsync, FsyncPolicy::EverySec);
        assert!(matches!(
            c.set("databases", "3"),
            Err(ConfigSetError::Invalid(_))
        ));
        assert!(matches!(c.set("nope", "3"), Err(ConfigSetError::Unknown)));
        assert!(c.get_matching(&[b"hash-max-ziplist-entries"]).len() == 1);
    }
}
