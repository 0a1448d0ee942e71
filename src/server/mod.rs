//! The network server: listeners, connection tasks, the cron, shutdown.
//!
//! Threading model (ARCHITECTURE.md has the measurements): a tokio
//! multi-thread runtime runs one task per connection; all data lives in
//! one `State` behind one mutex. A connection takes the lock once per batch
//! of pipelined commands, so execution is serial (one global order, as in
//! Redis, which the log and MULTI/Lua rely on) while socket I/O, parsing
//! and reply writing run in parallel on all cores.

pub mod connection;
pub mod exec;
pub mod info;
pub mod state;

#[cfg(test)]
mod replay_tests;

use crate::config::Config;
use crate::error::ServerError;
use parking_lot::Mutex;
use state::State;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// State shared by all tasks.
pub struct Shared {
    pub state: Mutex<State>,
    shutdown_tx: watch::Sender<bool>,
}

impl Shared {
    pub fn request_shutdown(&self) {
        let _ = self.shutdown_tx.send(true);
    }
}

type LogHook = Box<dyn Fn(&str) + Send + Sync>;
static LOG_HOOK: OnceLock<LogHook> = OnceLock::new();

/// Install the function CONFIG SET loglevel calls (the binary owns the
/// logger).
pub fn set_log_hook(f: LogHook) {
    let _ = LOG_HOOK.set(f);
}

pub fn set_log_level(level: &str) {
    if let Some(f) = LOG_HOOK.get() {
        f(level);
    }
}

/// A server ready to run: listeners bound, state built.
pub struct Server {
    shared: Arc<Shared>,
    listeners: Vec<TcpListener>,
    shutdown_rx: watch::Receiver<bool>,
}

impl Server {
    /// Create the data dir and bind every `bind` address.
    pub async fn bind(config: Config) -> Result<Server, ServerError> {
        let dir = config.s.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| ServerError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let mut listeners = Vec::new();
        for b in &config.s.bind {
            let host = b.trim_start_matches('-');
            let addr = if host.contains(':') {
                format!("[{}]:{}", host, config.s.port)
            } else {
                format!("{}:{}", host, config.s.port)
            };
            match TcpListener::bind(&addr).await {
                Ok(l) => listeners.push(l),
                // A leading '-' marks an optional address (redis.conf).
                Err(_) if b.starts_with('-') => {}
                Err(source) => return Err(ServerError::Bind { addr, source }),
            }
        }
        let port = listeners
            .first()
            .and_then(|l| l.local_addr().ok())
            .map(|a| a.port())
            .unwrap_or(config.s.port);
        let mut st = State::new(config);
        st.tcp_port = port;
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        Ok(Server {
            shared: Arc::new(Shared {
                state: Mutex::new(st),
                shutdown_tx,
            }),
            listeners,
            shutdown_rx,
        })
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The port actually bound (differs from the config for port 0).
    pub fn port(&self) -> u16 {
        self.shared.state.lock().tcp_port
    }

    /// Serve until SHUTDOWN, SIGINT or SIGTERM.
    pub async fn run(self) -> Result<(), ServerError> {
        let Server {
            shared,
            listeners,
            mut shutdown_rx,
        } = self;
        for l in &listeners {
            if let Ok(a) = l.local_addr() {
                tracing::info!("Ready to accept connections tcp on {a}");
            }
        }
        let mut tasks = Vec::new();
        for l in listeners {
            let sh = shared.clone();
            tasks.push(tokio::spawn(async move {
                loop {
                    match l.accept().await {
                        Ok((stream, _)) => {
                            tokio::spawn(connection::serve(sh.clone(), stream));
                        }
                        Err(e) => {
                            tracing::warn!("Accepting client connection: {e}");
                            tokio::time::sleep(Duration::from_millis(10)).await;
                        }
                    }
                }
            }));
        }
        tasks.push(tokio::spawn(cron(shared.clone())));

        let signals = shutdown_signal();
        tokio::select! {
            _ = signals => tracing::warn!("Received shutdown signal, scheduling shutdown..."),
            _ = shutdown_rx.wait_for(|v| *v) => {}
        }
        for t in &tasks {
            t.abort();
        }
        // Close every connection.
        let kills: Vec<_> = shared
            .state
            .lock()
            .clients
            .values()
            .map(|c| c.kill.clone())
            .collect();
        for k in kills {
            k.kill();
        }
        for _ in 0..100 {
            if shared.state.lock().clients.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        tracing::warn!("Cairn is now ready to exit, bye bye...");
        Ok(())
    }
}

async fn shutdown_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        std::future::pending::<()>().await;
        return;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}

/// Periodic work, `hz` times a second: active expiry, client timeouts,
/// statistics.
async fn cron(shared: Arc<Shared>) {
    let mut last_cmds = 0u64;
    let mut last_t = std::time::Instant::now();
    loop {
        let hz = shared.state.lock().config.s.hz.max(1);
        let period = Duration::from_millis(1000 / hz as u64);
        tokio::time::sleep(period).await;
        let mut st = shared.state.lock();
        let now = crate::util::now_ms();
        if st.active_expire {
            // Redis gives the slow cycle 25% of a cron period.
            crate::keyspace::expire::active_expire_cycle(&mut st.ks, now, period / 4);
        }
        let timeout = st.config.s.timeout_secs;
        if timeout > 0 {
            for c in st.clients.values() {
                if !c.monitor && now.saturating_sub(c.last_ms) / 1000 > timeout {
                    c.kill.kill();
                }
            }
        }
        let el = last_t.elapsed().as_secs_f64();
        if el >= 1.0 {
            st.ops_per_sec =
                ((st.stats.total_commands.saturating_sub(last_cmds)) as f64 / el) as u64;
            last_cmds = st.stats.total_commands;
            last_t = std::time::Instant::now();
        }
        crate::alloc::peak();
    }
}
