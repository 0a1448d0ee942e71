//! Durable storage: the append-only log (format, writer, recovery), the
//! manifest, and the file-system trait they use. FORMAT.md is the spec.
//!
//! * `format`   byte layout of segments and records; scanning and damage
//!   classification.
//! * `manifest` the MANIFEST file.
//! * `log`      the writer thread: group commit, fsync policies, segment
//!   roll, failure handling.
//! * `recovery` start-up: base snapshot, replay, torn-tail repair,
//!   corruption refusal.
//! * `snapshot` snapshot file format: writer and verifying loader.
//! * `rewrite`  saving snapshots into place; the log rewrite (compaction).
//! * `fs`       the file system behind a trait (real, and simulated for
//!   power-loss and fault tests).

pub mod format;
pub mod fs;
pub mod log;
pub mod manifest;
pub mod recovery;
pub mod rewrite;
pub mod snapshot;

#[cfg(test)]
mod rewrite_tests;
#[cfg(test)]
mod tests;
