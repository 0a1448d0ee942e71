//! Server state behind the one lock, and per-connection client state.
//!
//! `State` holds everything commands read or change: the keyspace, config,
//! statistics, the client registry. Connection tasks take the lock once
//! per batch of pipelined commands (see ARCHITECTURE.md for why one lock).

use crate::config::Config;
use crate::keyspace::Keyspace;
use std::collections::VecDeque;

/// A hash map with a fast, fixed hasher, for keys clients do not choose.
pub type FastMap<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;
use tokio::sync::Notify;

/// CLIENT REPLY mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command.
    SkipNext,
    /// Skipping the current command's reply.
    Skip,
}

/// Handle other tasks use to kill a connection (CLIENT KILL, shutdown).
#[derive(Debug, Default)]
pub struct KillSwitch {
    pub killed: AtomicBool,
    pub notify: Notify,
}

impl KillSwitch {
    pub fn kill(&self) {
        self.killed.store(true, Ordering::SeqCst);
        self.notify.notify_one();
    }
    pub fn is_killed(&self) -> bool {
        self.killed.load(Ordering::SeqCst)
    }
}

/// What a command's logged changes did to the keys it names: WATCH and
/// blocked clients follow key changes, and Redis signals none for a
/// change to a stream's consumer groups only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// The keys changed: watchers are marked, blocked clients served.
    Keys,
    /// Only consumer groups changed: neither.
    Groups,
    /// A group was destroyed: blocked XREADGROUPs are told, watchers not.
    GroupGone,
}

/// State of one connection, owned by its task.
#[derive(Debug)]
pub struct Client {
    pub id: u64,
    pub db: usize,
    pub resp3: bool,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub authenticated: bool,
    pub close_after_reply: bool,
    pub reply_mode: ReplyMode,
    pub monitor: bool,
    pub no_evict: bool,
    pub no_touch: bool,
    pub addr: String,
    pub laddr: String,
    pub created_ms: u64,
    pub last_ms: u64,
    pub last_cmd: &'static str,
    pub kill: Arc<KillSwitch>,
    /// Where out-of-band messages for this client go (MONITOR lines,
    /// pub/sub messages).
    pub push_tx: super::pubsub::PushSink,
    /// Its pub/sub subscriptions; `Some` iff it has at least one (Redis's
    /// `CLIENT_PUBSUB` flag: a RESP2 client may then only run the
    /// subscription commands, PING, QUIT and RESET).
    pub pubsub: Option<Box<super::pubsub::Subs>>,
    /// Set by a blocking command's handler that found nothing to serve;
    /// `exec` turns it into a registration (see `blocking.rs`).
    pub block: Option<super::blocking::BlockRequest>,
    /// The client is blocked: its task waits on this slot until the
    /// deadline (Unix ms, 0 = none).
    pub blocked: Option<(Arc<super::blocking::BlockSlot>, u64)>,
    /// Blocking commands must not block (MULTI, scripts, replay): they
    /// answer as if they had timed out.
    pub no_block: bool,
    /// `Some(key)`: the command is being re-executed to serve a blocked
    /// client because `key` became ready. Keys of the wrong type count as
    /// empty (Redis 7.0 keeps such clients blocked), and a blocked
    /// XREAD/XREADGROUP answers with that stream only, as Redis serves one
    /// key at a time.
    pub serving: Option<Vec<u8>>,
    /// Set by a handler re-executed to serve a blocked client whose error
    /// reply ends the wait (XREADGROUP when its stream or group is gone);
    /// other errors keep the client blocked.
    pub final_error: bool,
    /// Inside MULTI: the queued commands (`commands/multi.rs`).
    pub multi: Option<Multi>,
    /// Keys this client WATCHes (database, key).
    pub watched: Vec<(usize, Vec<u8>)>,
}

/// A transaction being queued.
#[derive(Debug, Default)]
pub struct Multi {
    pub queue: Vec<Vec<Vec<u8>>>,
    /// A command was refused while queueing: EXEC answers EXECABORT.
    pub failed: bool,
}

/// What other clients may see of a client (CLIENT LIST).
#[derive(Debug, Clone)]
pub struct ClientInfo {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub name: Option<Vec<u8>>,
    pub lib_name: Option<Vec<u8>>,
    pub lib_ver: Option<Vec<u8>>,
    pub db: usize,
    pub resp: u8,
    pub created_ms: u64,
    pub last_ms: u64,
    pub last_cmd: &'static str,
    pub monitor: bool,
    /// Channels, patterns and shard channels subscribed to.
    pub subs: (usize, usize, usize),
    pub qbuf: usize,
    pub omem: usize,
    pub kill: Arc<KillSwitch>,
}

impl Client {
    /// A client for a new connection.
    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        now_ms: u64,
        authenticated: bool,
        push_tx: super::pubsub::PushSink,
    ) -> Client {
        Client {
            id,
            db: 0,
            resp3: false,
            name: None,
            lib_name: None,
            lib_ver: None,
            authenticated,
            close_after_reply: false,
            reply_mode: ReplyMode::On,
            monitor: false,
            no_evict: false,
            no_touch: false,
            addr,
            laddr,
            created_ms: now_ms,
            last_ms: now_ms,
            last_cmd: "NULL",
            kill: Arc::new(KillSwitch::default()),
            push_tx,
            pubsub: None,
            block: None,
            blocked: None,
            no_block: false,
            serving: None,
            final_error: false,
            multi: None,
            watched: Vec::new(),
        }
    }

    /// A client not attached to a socket (replay, tests, scripts).
    pub fn detached(id: u64) -> Client {
        let (push_tx, _) = super::pubsub::push_channel();
        let mut c = Client::new(id, String::new(), String::new(), 0, true, push_tx);
        c.no_block = true;
        c
    }

    /// Channels, patterns and shard channels subscribed to.
    pub fn sub_counts(&self) -> (usize, usize, usize) {
        self.pubsub.as_ref().map_or((0, 0, 0), |s| {
            (s.channels.len(), s.patterns.len(), s.shard.len())
        })
    }

    pub fn info(&self) -> ClientInfo {
        ClientInfo {
            id: self.id,
            addr: self.addr.clone(),
            laddr: self.laddr.clone(),
            name: self.name.clone(),
            lib_name: self.lib_name.clone(),
            lib_ver: self.lib_ver.clone(),
            db: self.db,
            resp: if self.resp3 { 3 } else { 2 },
            created_ms: self.created_ms,
            last_ms: self.last_ms,
            last_cmd: self.last_cmd,
            monitor: self.monitor,
            subs: self.sub_counts(),
            qbuf: 0,
            omem: 0,
            kill: self.kill.clone(),
        }
    }
}

/// Per-command statistics (INFO commandstats).
#[derive(Debug, Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Server-wide counters (INFO stats).
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub total_connections: u64,
    pub rejected_connections: u64,
    pub total_commands: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    pub error_replies: u64,
    pub unexpected_error_replies: u64,
    pub errorstats: FastMap<String, u64>,
    pub cmdstats: FastMap<&'static str, CmdStat>,
}

/// One SLOWLOG entry.
#[derive(Debug, Clone)]
pub struct SlowEntry {
    pub id: u64,
    pub time: u64,
    pub usec: u64,
    pub argv: Vec<Vec<u8>>,
    pub addr: String,
    pub name: Vec<u8>,
}

/// What SHUTDOWN asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownMode {
    Default,
    Save,
    NoSave,
}

pub struct State {
    pub ks: Keyspace,
    pub config: Config,
    pub stats: Stats,
    pub clients: FastMap<u64, ClientInfo>,
    pub next_client_id: u64,
    pub start: Instant,
    pub start_ms: u64,
    pub run_id: String,
    /// Changes since the last save.
    pub dirty: u64,
    pub lastsave: u64,
    pub slowlog: VecDeque<SlowEntry>,
    pub slowlog_next_id: u64,
    pub monitors: Vec<(u64, super::pubsub::PushSink)>,
    /// Pub/sub subscriptions (`pubsub.rs`).
    pub pubsub: super::pubsub::PubSub,
    pub shutdown: Option<ShutdownMode>,
    pub tcp_port: u16,
    pub executable: String,
    /// Active expiry on (DEBUG SET-ACTIVE-EXPIRE).
    pub active_expire: bool,
    /// Commands per second over the last cron sample.
    pub ops_per_sec: u64,
    /// The append-only log, when `appendonly yes`.
    pub log: Option<std::sync::Arc<crate::storage::log::LogShared>>,
    /// Start-up recovery figures (INFO).
    pub recovery: crate::storage::recovery::RecoveryReport,
    /// Clients blocked on keys.
    pub blocking: super::blocking::Blocking,
    pub watch: super::watched::Watches,
    /// EXEC is running its queue: commands do not seal log records or
    /// serve blocked clients one by one (EXEC does both once, at its end).
    pub in_exec: bool,
    /// What the running command's logged changes did to its keys (set by
    /// the handler; `exec` resets it before each command).
    pub touch: Touch,
    /// When the previous command ended, while the lock is still held: the
    /// next command's start (one clock read per command instead of two;
    /// `exec::run`). Invariant: `None` whenever the lock was released
    /// since, so no command's time includes a wait: `StateLock::lock`
    /// clears it.
    pub clock: Option<std::time::Instant>,
    /// Log records are being replayed (start-up): commands run as Redis
    /// runs an AOF's, without command statistics, slowlog or monitors.
    pub replaying: bool,
    /// Snapshots and log rewrites (INFO persistence).
    pub persist: super::persist::Persist,
    /// The Lua engine and script cache (created by the first EVAL or
    /// SCRIPT LOAD; SCRIPT FLUSH drops it).
    pub scripting: Option<Box<crate::scripting::Scripting>>,
    /// A script is running (its commands show as "lua" in MONITOR and
    /// stay out of the slow log).
    pub in_script: bool,
    /// `maxmemory` eviction (`evict.rs`).
    pub evict: super::evict::Evictor,
}

impl State {
    pub fn new(config: Config) -> State {
        let now = crate::util::now_ms();
        let run_id: String = (0..40)
            .map(|_| {
                let n = rand::random_range(0..16u32);
                std::char::from_digit(n, 16).unwrap_or('0')
            })
            .collect();
        let ks = Keyspace::new(config.s.databases);
        let mut st = State {
            ks,
            tcp_port: config.s.port,
            config,
            stats: Stats::default(),
            clients: FastMap::default(),
            next_client_id: 1,
            start: Instant::now(),
            start_ms: now,
            run_id,
            dirty: 0,
            lastsave: now / 1000,
            slowlog: VecDeque::new(),
            slowlog_next_id: 0,
            monitors: Vec::new(),
            pubsub: Default::default(),
            shutdown: None,
            active_expire: true,
            ops_per_sec: 0,
            log: None,
            recovery: Default::default(),
            blocking: Default::default(),
            watch: Default::default(),
            in_exec: false,
            touch: Touch::Keys,
            clock: None,
            replaying: false,
            persist: Default::default(),
            scripting: None,
            in_script: false,
            evict: Default::default(),
            executable: std::env::current_exe()
                .map(|p| p.display().to_string())
                .unwrap_or_default(),
        };
        st.apply_settings();
        st
    }

    /// Carry the settings into the parts that keep their own copy (the
    /// keyspace's notification switches and access clocks, the log's
    /// fsync policy): at start-up and after each CONFIG SET.
    pub fn apply_settings(&mut self) {
        let s = &self.config.s;
        super::notify::sync_keyspace_flags(&mut self.ks, s.notify_flags);
        self.ks.access = crate::keyspace::Access::from_config(
            &s.maxmemory_policy,
            s.lfu_log_factor,
            s.lfu_decay_time,
        );
        if let Some(log) = &self.log {
            log.set_policy(s.appendfsync);
        }
    }

    /// Seal the open log record (the batch's effects), then hand every
    /// sealed record to the log writer. Called with the lock held at the
    /// end of each batch, so submission order is LSN order. Returns the
    /// last LSN that exists (what a reply must wait for).
    pub fn flush_journal(&mut self) -> u64 {
        self.ks.journal.seal();
        let last = self.ks.journal.last_lsn();
        if let Some(log) = &self.log {
            self.ks.journal.submit_to(log);
        }
        last
    }

    pub fn new_client_id(&mut self) -> u64 {
        let id = self.next_client_id;
        self.next_client_id += 1;
        id
    }
}
