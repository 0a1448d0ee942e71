//! Cairn: a Redis-compatible, persistence-first key-value server.
//!
//! # Layout
//! * `protocol` — RESP2/RESP3 request parsing and reply encoding. Knows
//!   nothing of keys or commands.
//! * `keyspace` — databases, the segmented hash table, values, expiry, and
//!   the effect journal every mutation feeds (the log's input).
//! * `commands` — the command table and one file per command family.
//! * `server` — listeners, connection tasks, the executor lock, INFO, cron.
//! * `storage` — the append-only log: format (storage/FORMAT.md), writer,
//!   recovery, manifest, and the file-system trait.
//! * `rdb` — the Redis RDB value codec (type bytes, length/string/LZF
//!   encodings, listpack, ziplist, intset, zipmap): DUMP/RESTORE payloads
//!   today, Redis RDB files for migration later.
//! * `config` — redis.conf parsing, CONFIG GET/SET.
//! * `util` — Redis-exact number parsing/formatting and glob matching.
//! * `alloc` — the counting allocator behind INFO `used_memory`.
//! * `error` — typed errors of the library.
//!
//! ARCHITECTURE.md explains the threading model and how the design leaves
//! room for the log and fork-free snapshots.

pub mod alloc;
pub mod commands;
pub mod config;
pub mod error;
pub mod keyspace;
pub mod protocol;
pub mod rdb;
pub mod scripting;
pub mod server;
pub mod storage;
pub mod util;

/// Cairn's own version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Redis version whose behaviour Cairn follows (HELLO, INFO).
pub const REDIS_VERSION: &str = "7.0.15";

#[global_allocator]
static GLOBAL: alloc::Counting = alloc::Counting;
