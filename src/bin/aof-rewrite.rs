//! `aof-rewrite <dir> [--directive value ...]`: compact a stopped server's
//! data dir offline: load it (base snapshot and log), write the state as
//! the new base snapshot, start an empty log segment, switch the MANIFEST,
//! delete the files it no longer names. Directives are the server's
//! (`--appenddirname`, `--databases`, `--rdbcompression`, ...), so the
//! tool reads the data dir exactly as the server would.

use anyhow::{Context, bail};
use cairn::config::Config;
use cairn::server::state::State;
use cairn::server::{load_log, lock_dir, write_base_offline};
use cairn::storage::fs::RealFs;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.is_empty() || args[0].starts_with('-') {
        eprintln!("usage: aof-rewrite <data dir> [--directive value ...]");
        std::process::exit(2);
    }
    let mut cargs = vec!["--dir".to_string(), args[0].clone()];
    cargs.extend(args[1..].iter().cloned());
    let config = Config::from_args(&cargs).context("bad arguments")?;
    let dir = config.s.dir.clone();
    let logdir = dir.join(&config.s.appenddirname);
    if !logdir.join("MANIFEST").exists() {
        bail!("{}: no MANIFEST: not a Cairn data dir", logdir.display());
    }
    // The server's lock: refuse to touch a dir a server is running on.
    let _lock = lock_dir(&dir)?;
    let mut st = State::new(config);
    let seg = load_log(&mut st, &RealFs)?;
    let before: u64 = std::fs::read_dir(&logdir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    let last_lsn = seg.last_lsn;
    let m = write_base_offline(&st, &RealFs, seg)
        .with_context(|| format!("rewriting {}", logdir.display()))?;
    let after: u64 = std::fs::read_dir(&logdir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}: {} keys; base {} at LSN {}; {before} bytes -> {after} bytes",
        logdir.display(),
        st.ks.total_keys(),
        m.base.as_ref().map(|b| b.0.as_str()).unwrap_or("none"),
        last_lsn
    );
    Ok(())
}
