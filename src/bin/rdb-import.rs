//! `rdb-import <dump.rdb> <data dir> [--directive value ...]`: migrate
//! from Redis. Reads a Redis RDB file (RDB versions 1 to 12: Redis up to
//! 7.4) and writes its keys into a new Cairn data dir, as the log's base
//! snapshot (or, with `--appendonly no`, as the dump file the server
//! loads). The data dir must hold no data yet; the server must not be
//! running on it. Directives are the server's (`--databases`,
//! `--appenddirname`, the listpack limits, ...), so the keys get the
//! encodings the server would give them.
//!
//! Keys already expired are left out, as Redis leaves them out when it
//! loads a file as a primary. Function libraries are loaded (so a library
//! that does not load stops the import) and written to the data dir's
//! functions file. Nothing is written unless the whole file reads
//! cleanly: a damaged file (checksum, truncation), a stream or module
//! value, a database index past `databases`, or a key twice in one
//! database stops the import with the reason and the byte offset.

use anyhow::{Context, bail};
use cairn::config::Config;
use cairn::keyspace::cow::write_all;
use cairn::keyspace::{Ttl, Value};
use cairn::rdb::file;
use cairn::rdb::value::{Limits, into_value};
use cairn::server::state::State;
use cairn::server::{load_log, lock_dir, write_base_offline};
use cairn::storage::fs::RealFs;
use cairn::storage::rewrite::save_snapshot;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 2 || args[..2].iter().any(|a| a.starts_with('-')) {
        eprintln!("usage: rdb-import <redis dump.rdb> <data dir> [--directive value ...]");
        std::process::exit(2);
    }
    let src = std::path::PathBuf::from(&args[0]);
    let mut cargs = vec!["--dir".to_string(), args[1].clone()];
    cargs.extend(args[2..].iter().cloned());
    let config = Config::from_args(&cargs).context("bad arguments")?;
    let dir = config.s.dir.clone();
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let _lock = lock_dir(&dir)?;
    let dump = dir.join(&config.s.dbfilename);
    if dump.exists() && same_file(&dump, &src) {
        bail!(
            "{} is the data dir's own dump file: copy it elsewhere first (the import would replace it)",
            src.display()
        );
    }
    let f = std::fs::File::open(&src).with_context(|| format!("opening {}", src.display()))?;
    let map;
    let bytes: &[u8] = if f.metadata()?.len() == 0 {
        // Nothing to map (an empty mapping is an error).
        &[]
    } else {
        // SAFETY: the file is only read; a concurrent truncation by
        // another process could fault the mapping, as with any mmap
        // reader.
        map = unsafe { memmap2::Mmap::map(&f) }
            .with_context(|| format!("mapping {}", src.display()))?;
        &map
    };

    let appendonly = config.s.appendonly;
    let compress = config.s.rdbcompression;
    let databases = config.s.databases as u64;
    let limits = Limits::from_config(&config);
    let mut st = State::new(config);
    // The log, opened (or created) as the server opens it: it must be
    // empty, as must the dump file without a log.
    let seg = if appendonly {
        Some(load_log(&mut st, &RealFs)?)
    } else {
        None
    };
    let has_log_data = seg.as_ref().is_some_and(|s| s.last_lsn > 0);
    let has_functions = dir.join(cairn::scripting::functions::FILE).exists();
    if st.ks.total_keys() > 0 || has_log_data || (!appendonly && dump.exists()) || has_functions {
        bail!(
            "{} already holds data: import into a new, empty data dir",
            dir.display()
        );
    }
    let now = cairn::util::now_ms();
    let mut expired = 0u64;
    let info = file::read(bytes, |item| {
        if item.db >= databases {
            return Err(format!(
                "key {:?} is in database {}, past `databases` ({databases})",
                String::from_utf8_lossy(&item.key),
                item.db
            ));
        }
        let db = item.db as usize;
        if st.ks.exists(db, &item.key, 0) {
            return Err(format!(
                "key {:?} appears twice in database {db}",
                String::from_utf8_lossy(&item.key)
            ));
        }
        let ttl = match item.expire_ms {
            Some(ms) if ms <= now as i64 => {
                expired += 1;
                return Ok(());
            }
            Some(ms) => Ttl::At(ms as u64),
            None => Ttl::Clear,
        };
        let value: Value = into_value(item.value, &limits);
        st.ks.set(db, &item.key, value, ttl, now);
        Ok(())
    })
    .with_context(|| format!("reading {}", src.display()))?;
    // The libraries must load before anything is written.
    if !info.functions.is_empty() {
        let mut eng = cairn::scripting::Scripting::new().context("starting Lua")?;
        for code in &info.functions {
            eng.load_library(code, false).map_err(|e| {
                anyhow::anyhow!(
                    "{}: a function library does not load: {}",
                    src.display(),
                    e.reply()
                )
            })?;
        }
    }
    let target = match seg {
        Some(seg) => {
            let logdir = dir.join(&st.config.s.appenddirname);
            write_base_offline(&st, &RealFs, seg)
                .with_context(|| format!("writing the log base in {}", logdir.display()))?;
            logdir
        }
        None => {
            save_snapshot(&RealFs, &dump, compress, 0, now, |w| write_all(&st.ks, w))
                .with_context(|| format!("writing {}", dump.display()))?;
            dump
        }
    };
    // Last, the function libraries (a dir whose data could not be written
    // holds none).
    if !info.functions.is_empty() {
        cairn::commands::scripting::save_functions(&RealFs, &dir, &info.functions)
            .context("writing the function libraries")?;
    }
    println!(
        "{}: RDB version {} (redis-ver {}), {} keys read, {} already expired left out, {} function libraries; {} keys written to {}",
        src.display(),
        info.version,
        info.aux("redis-ver")
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .unwrap_or_else(|| "unknown".into()),
        info.keys,
        expired,
        info.functions.len(),
        st.ks.total_keys(),
        target.display()
    );
    Ok(())
}

fn same_file(a: &std::path::Path, b: &std::path::Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => false,
    }
}
