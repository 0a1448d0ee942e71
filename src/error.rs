//! Typed errors of the library. Binaries wrap them with anyhow.

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "*** FATAL CONFIG FILE ERROR ***\nReading the configuration file ({origin}), at line {line}\n>>> '{text}'\n{msg}"
    )]
    Directive {
        origin: String,
        line: usize,
        text: String,
        msg: String,
    },
    #[error("cannot read config file '{path}': {msg}")]
    File { path: String, msg: String },
    #[error("bad command line: {0}")]
    Args(String),
}

/// Errors from starting or running the server.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot create data dir '{path}': {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("data dir '{dir}' is in use by another cairn-server (pid {owner})")]
    Locked { dir: String, owner: String },
    #[error("cannot load the log: {0}")]
    Recovery(#[from] crate::storage::recovery::RecoveryError),
    #[error("cannot load the snapshot: {0}")]
    Snapshot(#[from] crate::storage::snapshot::SnapshotError),
    #[error("cannot load the function libraries: {0}")]
    Functions(String),
}
