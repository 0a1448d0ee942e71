//! The network server: listeners, connection tasks, the cron, shutdown.
//!
//! Threading model (ARCHITECTURE.md has the measurements): a tokio
//! multi-thread runtime runs one task per connection; all data lives in
//! one `State` behind one mutex. A connection takes the lock once per batch
//! of pipelined commands, so execution is serial (one global order, as in
//! Redis, which the log and MULTI/Lua rely on) while socket I/O, parsing
//! and reply writing run in parallel on all cores.

pub mod blocking;
pub mod connection;
pub mod evict;
pub mod exec;
pub mod idle_spin;
pub mod info;
pub mod notify;
pub mod persist;
pub mod pubsub;
pub mod replay;
pub mod state;
pub mod statelock;
pub mod watched;

#[cfg(test)]
mod replay_tests;
#[cfg(test)]
mod snapshot_tests;

use crate::config::Config;
use crate::error::ServerError;
use state::State;
use statelock::StateLock;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// State shared by all tasks.
pub struct Shared {
    pub state: StateLock,
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
    log: Option<crate::storage::log::LogHandle>,
    /// Held for the life of the process: one server per data dir.
    _dir_lock: std::fs::File,
    /// The runtime's park hooks, if it was built with them.
    park: Option<Arc<idle_spin::ParkHooks>>,
}

impl Server {
    /// Create the data dir and bind every `bind` address.
    pub async fn bind(config: Config) -> Result<Server, ServerError> {
        Self::bind_with_fs(config, Arc::new(crate::storage::fs::RealFs)).await
    }

    /// `bind` with the log on a given file system (tests simulate power
    /// loss with `storage::fs::SimFs`).
    pub async fn bind_with_fs(
        config: Config,
        fs: Arc<dyn crate::storage::fs::Fs>,
    ) -> Result<Server, ServerError> {
        let dir = config.s.dir.clone();
        std::fs::create_dir_all(&dir).map_err(|source| ServerError::DataDir {
            path: dir.display().to_string(),
            source,
        })?;
        let dir_lock = lock_dir(&dir)?;
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
        st.persist.fs = fs.clone();
        let log = if st.config.s.appendonly {
            Some(recover(&mut st, fs)?)
        } else {
            persist::load_dump(&mut st)?;
            None
        };
        match crate::commands::scripting::load_functions(&mut st) {
            Ok(0) => {}
            Ok(n) => tracing::info!("{n} function libraries loaded"),
            Err(e) => return Err(ServerError::Functions(e)),
        }
        let (shutdown_tx, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            state: StateLock::new(st),
            shutdown_tx,
        });
        shared.state.lock().persist.me = Arc::downgrade(&shared);
        Ok(Server {
            shared,
            listeners,
            shutdown_rx,
            log,
            _dir_lock: dir_lock,
            park: None,
        })
    }

    pub fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }

    /// The port actually bound (differs from the config for port 0).
    pub fn port(&self) -> u16 {
        self.shared.state.lock().tcp_port
    }

    /// Use the runtime's park hooks (built with `ParkHooks::install`):
    /// the idle spin, and an idle worker's log syncs for a lone client.
    pub fn with_park_hooks(mut self, hooks: Arc<idle_spin::ParkHooks>) -> Server {
        self.park = Some(hooks);
        self
    }

    /// Serve until SHUTDOWN, SIGINT or SIGTERM.
    pub async fn run(self) -> Result<(), ServerError> {
        let Server {
            shared,
            listeners,
            mut shutdown_rx,
            log,
            _dir_lock,
            park,
        } = self;
        for l in &listeners {
            if let Ok(a) = l.local_addr() {
                tracing::info!("Ready to accept connections tcp on {a}");
            }
        }
        // The idle spin watches the runtime's epoll, and holds off while replies
        // wait for an fsync. An idle worker syncs a lone client's records
        // itself before it parks (`LogShared::enable_inline_sync`).
        if let (Some(log), Some(park)) = (&log, &park) {
            let (hold, sync) = (log.shared.clone(), log.shared.clone());
            park.dont_spin_while(move || hold.sync_awaited());
            if park.on_park(move || sync.sync_deferred()) {
                log.shared.enable_inline_sync();
            }
        }
        let mut tasks = Vec::new();
        for l in listeners {
            let sh = shared.clone();
            if let Some(p) = &park {
                p.attach(&l);
            }
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
        let sh = shared.clone();
        tasks.push(tokio::spawn(async move {
            evict::run_background(&sh.state).await;
        }));

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
        // Everything executed reaches the log, synced, before exit.
        shared.state.lock().flush_journal();
        {
            // The final snapshot, as Redis takes it: SHUTDOWN SAVE, or save
            // rules configured and no NOSAVE. A running job is abandoned
            // (its temp file never replaces anything).
            let mut st = shared.state.lock();
            let mode = st.shutdown.unwrap_or(state::ShutdownMode::Default);
            let save = match mode {
                state::ShutdownMode::Save => true,
                state::ShutdownMode::Default => !st.config.s.save.is_empty(),
                state::ShutdownMode::NoSave => false,
            };
            crate::keyspace::cow::abort_all(&mut st.ks);
            if save {
                tracing::info!("Saving the final snapshot before exit.");
                if let Err(e) = persist::save_sync(&mut st) {
                    tracing::error!("Error trying to save the DB, exiting anyway: {e}");
                }
            }
        }
        if let Some(mut log) = log {
            log.shutdown();
            tracing::info!("The log is synced and closed.");
        }
        tracing::warn!("Cairn is now ready to exit, bye bye...");
        Ok(())
    }
}

/// Take the data dir's lock file (`cairn.lock`, holding the owner's pid).
/// The offline tools take it too, so they never work on a dir a server
/// is running on (and a server never starts on a dir a tool works on).
pub fn lock_dir(dir: &std::path::Path) -> Result<std::fs::File, ServerError> {
    use std::io::{Read, Seek, Write};
    let path = dir.join("cairn.lock");
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)?;
    if f.try_lock().is_err() {
        let mut owner = String::new();
        let _ = f.read_to_string(&mut owner);
        return Err(ServerError::Locked {
            dir: dir.display().to_string(),
            owner: owner.trim().to_string(),
        });
    }
    f.set_len(0)?;
    f.seek(std::io::SeekFrom::Start(0))?;
    writeln!(f, "{}", std::process::id())?;
    Ok(f)
}

/// Replay the log into `st` and start the log writer (start-up).
fn recover(
    st: &mut State,
    fs: Arc<dyn crate::storage::fs::Fs>,
) -> Result<crate::storage::log::LogHandle, ServerError> {
    let dir = st.config.s.dir.join(&st.config.s.appenddirname);
    let seg = load_log(st, &*fs)?;
    let handle = crate::storage::log::LogHandle::start(
        fs,
        dir,
        seg,
        st.config.s.appendfsync,
        st.config.s.aof_segment_size,
        st.ks.journal.durable.clone(),
    );
    st.log = Some(handle.shared.clone());
    Ok(handle)
}

/// Load the data dir's log (base snapshot, then the records after it)
/// into `st`; returns the segment to append to. Start-up and the offline
/// `aof-rewrite` tool share this.
pub fn load_log(
    st: &mut State,
    fs: &dyn crate::storage::fs::Fs,
) -> Result<crate::storage::log::OpenSegment, ServerError> {
    use crate::storage::recovery::{CorruptPolicy, open_log_with_base};
    let dir = st.config.s.dir.join(&st.config.s.appenddirname);
    let policy = if st.config.s.aof_load_corrupt_truncate {
        CorruptPolicy::Truncate
    } else {
        CorruptPolicy::Refuse
    };
    st.ks.loading = true;
    st.ks.journal.enabled = false;
    let mut replayer = replay::Replayer::default();
    let t0 = std::time::Instant::now();
    let cell = std::cell::RefCell::new(&mut *st);
    let (seg, report) = open_log_with_base(
        fs,
        &dir,
        policy,
        |path| {
            let mut st = cell.borrow_mut();
            // Keys expired by now are loaded too (as Redis loads an AOF's
            // RDB preamble): the log after the cut may still change them
            // (PERSIST), and its DELs remove the others.
            let s = crate::keyspace::cow::load_into(&mut st.ks, fs, path, 0)
                .map_err(|e| e.to_string())?;
            tracing::info!(
                "Base snapshot {} loaded: {} keys, cut at LSN {}",
                path.display(),
                st.ks.total_keys(),
                s.cut_lsn
            );
            Ok(s)
        },
        |h, payload| replayer.apply(&mut cell.borrow_mut(), h, payload),
    )?;
    st.ks.loading = false;
    // Loading is not traffic: statistics start at zero.
    st.stats = Default::default();
    st.ks.stats = Default::default();
    st.dirty = 0;
    st.ks.journal.enabled = true;
    st.ks.journal.next_lsn = seg.last_lsn + 1;
    tracing::info!(
        "DB loaded from the log: {} keys, {} records ({} MB) from {} segment(s) in {:.3} seconds",
        st.ks.total_keys(),
        report.records,
        report.bytes >> 20,
        report.segments,
        t0.elapsed().as_secs_f64()
    );
    st.recovery = report;
    Ok(seg)
}

/// Offline (the tools): write `st`'s data as the data dir's new log base
/// after `load_log` opened the log at `seg` (compact, switch the MANIFEST,
/// delete what it no longer names). The new MANIFEST.
pub fn write_base_offline(
    st: &State,
    fs: &dyn crate::storage::fs::Fs,
    seg: crate::storage::log::OpenSegment,
) -> std::io::Result<crate::storage::manifest::Manifest> {
    let logdir = st.config.s.dir.join(&st.config.s.appenddirname);
    drop(seg.file);
    crate::storage::rewrite::compact_offline(
        fs,
        &logdir,
        &seg.manifest,
        seg.last_lsn,
        st.config.s.rdbcompression,
        |w| crate::keyspace::cow::write_all(&st.ks, w),
    )
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
/// statistics, persistence; once a second, freed memory goes back to the
/// OS (`alloc::collect`).
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
            // A key removed here counts as changed for WATCH (Redis's
            // signalModifiedKey on expiry).
            let st = &mut *st;
            let watch = &mut st.watch;
            let mut expired = Vec::new();
            let notify = st.config.s.notify_flags & notify::EXPIRED != 0;
            crate::keyspace::expire::active_expire_cycle(&mut st.ks, now, period / 4, |db, k| {
                watch.touch(db, k);
                if notify {
                    expired.push((db, k.to_vec()));
                }
            });
            for (db, k) in expired {
                notify::expired_by_cycle(st, db, &k);
            }
            st.flush_journal();
        }
        // Go on with an eviction the commands left unfinished (or that a
        // lower `maxmemory` asked for while no command comes).
        if st.config.s.maxmemory > 0 {
            evict::perform(&mut st);
            st.flush_journal();
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
        let second = el >= 1.0;
        if second {
            st.ops_per_sec =
                ((st.stats.total_commands.saturating_sub(last_cmds)) as f64 / el) as u64;
            last_cmds = st.stats.total_commands;
            last_t = std::time::Instant::now();
        }
        persist::cron(&mut st);
        crate::alloc::peak();
        drop(st);
        if second {
            // Off the lock: a purge of tens of MB takes about a millisecond.
            crate::alloc::collect();
        }
    }
}
