//! `cairn-server [configfile] [--directive value ...]`: the server binary.

use anyhow::Context;
use cairn::config::Config;
use cairn::server::Server;
use tracing_subscriber::{EnvFilter, fmt, prelude::*, reload};

const HELP: &str = "\
Usage: cairn-server [/path/to/cairn.conf] [options] [-]
       cairn-server -v or --version
       cairn-server -h or --help

Options are redis.conf directives written as --name value, e.g.
       cairn-server --port 7000 --dir /tmp/cairn
       cairn-server cairn.conf --port 7001 --loglevel verbose
       cairn-server --save 900 1 --save 300 10 --appendfsync everysec

Defaults: port 6379, bind 127.0.0.1, dir ./data.";

fn level_filter(level: &str) -> EnvFilter {
    EnvFilter::new(match level {
        "debug" => "debug",
        "verbose" => "debug",
        "warning" => "warn",
        _ => "info",
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("-h") | Some("--help") => {
            println!("{HELP}");
            return Ok(());
        }
        Some("-v") | Some("--version") => {
            println!(
                "Cairn server v={} (Redis-compatible, follows redis {})",
                cairn::VERSION,
                cairn::REDIS_VERSION
            );
            return Ok(());
        }
        _ => {}
    }
    let config = match Config::from_args(&args) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("\n{e}");
            std::process::exit(1);
        }
    };
    let (filter, handle) = reload::Layer::new(level_filter(&config.s.loglevel));
    tracing_subscriber::registry()
        .with(filter)
        .with(
            fmt::layer()
                .with_writer(std::io::stderr)
                .with_target(false)
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr())),
        )
        .init();
    cairn::server::set_log_hook(Box::new(move |lvl| {
        let _ = handle.reload(level_filter(lvl));
    }));
    tracing::info!(
        "Cairn {} starting (pid {}), dir {}",
        cairn::VERSION,
        std::process::id(),
        config.s.dir.display()
    );
    if config.s.disable_thp
        && let Err(e) = cairn::alloc::disable_thp()
    {
        tracing::warn!("Could not disable transparent huge pages: {e}");
    }
    // An idle worker polls for work a little before it sleeps, so that a
    // client's next request does not have to wake it, and syncs a lone
    // client's log records itself (server/idle_spin.rs).
    let park = cairn::server::idle_spin::ParkHooks::new(config.s.io_idle_spin_us);
    // `io-threads` (Redis's directive) sets the worker threads that run
    // connections. 1, Redis's default, measured fastest on 2 cores where the
    // clients share the machine (ARCHITECTURE.md).
    fail_stop_on_panic();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    builder.worker_threads(config.s.io_threads.max(1));
    let rt = park
        .install(&mut builder)
        .enable_all()
        .build()
        .context("starting the runtime")?;
    park.set_runtime(rt.handle());
    rt.block_on(async {
        let server = Server::bind(config).await?.with_park_hooks(park);
        server.run().await?;
        anyhow::Ok(())
    })?;
    Ok(())
}

/// A panic anywhere but in a background job that reports its own failure
/// (snapshot, log rewrite, compression) stops the process. A command that
/// panicked may have changed memory without logging it; carrying on would
/// serve state the log does not hold. Stopping is what Redis does on an
/// assertion, and recovery from the log gives back every acknowledged
/// write.
fn fail_stop_on_panic() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        let thread = std::thread::current();
        let name = thread.name().unwrap_or("");
        if !matches!(name, "cairn-bgsave" | "cairn-rewrite" | "cairn-compress") {
            eprintln!(
                "Cairn panicked on thread '{name}' and stops now: the log holds every acknowledged write; restart to recover"
            );
            std::process::abort();
        }
    }));
}
