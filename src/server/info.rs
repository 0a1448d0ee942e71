//! INFO text, field names as Redis names them.

use crate::server::state::State;
use std::fmt::Write;

fn human(bytes: usize) -> String {
    let b = bytes as f64;
    if b < 1024.0 {
        format!("{bytes}B")
    } else if b < 1024.0 * 1024.0 {
        format!("{:.2}K", b / 1024.0)
    } else if b < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2}M", b / 1024.0 / 1024.0)
    } else {
        format!("{:.2}G", b / 1024.0 / 1024.0 / 1024.0)
    }
}

/// User and system CPU seconds of this process (from /proc/self/stat).
fn cpu_times() -> (f64, f64) {
    let Ok(s) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the ")" of the command name; utime and stime are 14, 15.
    let rest = s.rsplit_once(')').map(|x| x.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let tick = 100.0;
    let u = f.get(11).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    let sy = f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (u, sy)
}

pub fn render(st: &State, want: &[String], now_ms: u64) -> String {
    let has = |s: &str| want.iter().any(|w| w == s);
    let mut o = String::new();
    let section = |name: &str, o: &mut String| {
        if !o.is_empty() {
            o.push_str("\r\n");
        }
        let _ = write!(o, "# {name}\r\n");
    };
    macro_rules! kv {
        ($o:expr, $k:expr, $v:expr) => {
            let _ = write!($o, "{}:{}\r\n", $k, $v);
        };
    }
    let uptime = now_ms.saturating_sub(st.start_ms) / 1000;
    if has("server") {
        section("Server", &mut o);
        kv!(o, "redis_version", crate::REDIS_VERSION);
        kv!(o, "redis_git_sha1", "00000000");
        kv!(o, "redis_git_dirty", 0);
        kv!(o, "redis_build_id", "0");
        kv!(o, "redis_mode", "standalone");
        kv!(
            o,
            "os",
            format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
        );
        kv!(o, "arch_bits", 64);
        kv!(o, "monotonic_clock", "POSIX clock_gettime");
        kv!(o, "multiplexing_api", "epoll");
        kv!(o, "atomicvar_api", "c11-builtin");
        kv!(o, "gcc_version", "0.0.0");
        kv!(o, "process_id", std::process::id());
        kv!(o, "process_supervised", "no");
        kv!(o, "run_id", st.run_id);
        kv!(o, "tcp_port", st.tcp_port);
        kv!(o, "server_time_usec", crate::util::now_us());
        kv!(o, "uptime_in_seconds", uptime);
        kv!(o, "uptime_in_days", uptime / 86400);
        kv!(o, "hz", st.config.s.hz);
        kv!(o, "configured_hz", st.config.s.hz);
        kv!(
            o,
            "lru_clock",
            crate::keyspace::lru_clock(now_ms) & 0xFF_FFFF
        );
        kv!(o, "executable", st.executable);
        kv!(
            o,
            "config_file",
            st.config
                .file
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        );
        kv!(o, "io_threads_active", 0);
        kv!(o, "cairn_version", crate::VERSION);
    }
    if has("clients") {
        section("Clients", &mut o);
        kv!(o, "connected_clients", st.clients.len());
        kv!(o, "cluster_connections", 0);
        kv!(o, "maxclients", st.config.s.maxclients);
        kv!(o, "client_recent_max_input_buffer", 0);
        kv!(o, "client_recent_max_output_buffer", 0);
        kv!(o, "blocked_clients", st.blocking.len());
        kv!(o, "tracking_clients", 0);
        kv!(o, "clients_in_timeout_table", 0);
    }
    if has("memory") {
        section("Memory", &mut o);
        let used = crate::alloc::allocated();
        let rss = crate::alloc::rss();
        let peak = crate::alloc::peak();
        kv!(o, "used_memory", used);
        kv!(o, "used_memory_human", human(used));
        kv!(o, "used_memory_rss", rss);
        kv!(o, "used_memory_rss_human", human(rss));
        kv!(o, "used_memory_peak", peak);
        kv!(o, "used_memory_peak_human", human(peak));
        kv!(o, "used_memory_dataset", used);
        // One Lua state runs scripts and functions: its memory is
        // reported as the scripts' (Redis has a state for each).
        let (lua, scripts, cached, funcs, code) =
            st.scripting.as_ref().map_or((0, 0, 0, 0, 0), |e| {
                let code: usize = e.libraries().map(|l| l.code.len()).sum();
                (
                    e.lua_memory(),
                    e.body_bytes,
                    e.len(),
                    e.function_count(),
                    code,
                )
            });
        kv!(o, "used_memory_lua", lua);
        kv!(o, "used_memory_vm_eval", lua);
        kv!(o, "used_memory_lua_human", human(lua));
        kv!(o, "used_memory_scripts_eval", scripts);
        kv!(o, "number_of_cached_scripts", cached);
        kv!(o, "number_of_functions", funcs);
        kv!(o, "used_memory_vm_functions", 0);
        kv!(o, "used_memory_vm_total", lua);
        kv!(o, "used_memory_vm_total_human", human(lua));
        kv!(o, "used_memory_functions", code);
        kv!(o, "used_memory_scripts", scripts + code);
        kv!(o, "used_memory_scripts_human", human(scripts + code));
        kv!(
            o,
            "maxmemory",
            st.config.get("maxmemory").unwrap_or_default()
        );
        kv!(o, "maxmemory_human", human(st.config.s.maxmemory as usize));
        kv!(o, "maxmemory_policy", st.config.s.maxmemory_policy);
        kv!(
            o,
            "mem_fragmentation_ratio",
            format!(
                "{:.2}",
                if used > 0 {
                    rss as f64 / used as f64
                } else {
                    0.0
                }
            )
        );
        kv!(
            o,
            "mem_not_counted_for_evict",
            super::evict::not_counted(st)
        );
        kv!(
            o,
            "mem_aof_buffer",
            st.log.as_ref().map_or(0, |l| l.buffered_bytes())
        );
        kv!(o, "mem_allocator", "mimalloc");
        kv!(
            o,
            "lazyfree_pending_objects",
            crate::keyspace::lazyfree::pending()
        );
        kv!(o, "lazyfreed_objects", crate::keyspace::lazyfree::freed());
    }
    if has("persistence") {
        section("Persistence", &mut o);
        kv!(o, "loading", st.ks.loading as u8);
        kv!(o, "async_loading", 0);
        kv!(o, "current_cow_peak", 0);
        kv!(o, "current_cow_size", 0);
        kv!(o, "current_cow_size_age", 0);
        kv!(o, "current_fork_perc", "0.00");
        kv!(o, "current_save_keys_processed", 0);
        kv!(o, "current_save_keys_total", 0);
        kv!(o, "rdb_changes_since_last_save", st.dirty);
        use super::persist::JobKind;
        let p = &st.persist;
        kv!(o, "rdb_bgsave_in_progress", p.save_in_progress() as u8);
        kv!(o, "rdb_last_save_time", st.lastsave);
        kv!(
            o,
            "rdb_last_bgsave_status",
            if p.last_bgsave_ok { "ok" } else { "err" }
        );
        kv!(o, "rdb_last_bgsave_time_sec", p.last_bgsave_secs);
        kv!(
            o,
            "rdb_current_bgsave_time_sec",
            p.current_secs(JobKind::Save)
        );
        kv!(o, "rdb_saves", p.saves);
        kv!(o, "rdb_last_cow_size", p.last_cow_size);
        kv!(o, "rdb_last_load_keys_expired", p.load_keys_expired);
        kv!(o, "rdb_last_load_keys_loaded", p.load_keys_loaded);
        kv!(
            o,
            "rdb_last_bgsave_error",
            p.last_bgsave_error.clone().unwrap_or_default()
        );
        let ls = st
            .log
            .as_ref()
            .map(|l| (l.stats.lock().clone(), l.is_failed(), l.sync_in_progress()));
        kv!(o, "aof_enabled", st.log.is_some() as u8);
        kv!(
            o,
            "aof_rewrite_in_progress",
            p.running(JobKind::Rewrite) as u8
        );
        kv!(o, "aof_rewrite_scheduled", p.rewrite_scheduled as u8);
        kv!(o, "aof_last_rewrite_time_sec", p.last_rewrite_secs);
        kv!(
            o,
            "aof_current_rewrite_time_sec",
            p.current_secs(JobKind::Rewrite)
        );
        kv!(
            o,
            "aof_last_bgrewrite_status",
            if p.last_rewrite_ok { "ok" } else { "err" }
        );
        kv!(o, "aof_rewrites", p.rewrites);
        kv!(o, "aof_bases_from_bgsave", p.bgsave_bases);
        kv!(o, "aof_rewrites_consecutive_failures", p.rewrite_failures);
        let failed = ls.as_ref().is_some_and(|x| x.1);
        kv!(
            o,
            "aof_last_write_status",
            if failed { "err" } else { "ok" }
        );
        kv!(o, "aof_last_cow_size", p.last_rewrite_cow_size);
        if let Some((stats, _, syncing)) = &ls {
            kv!(o, "aof_current_size", stats.current_size);
            kv!(o, "aof_base_size", stats.base_size);
            kv!(o, "aof_pending_rewrite", 0);
            kv!(o, "aof_buffer_length", 0);
            kv!(o, "aof_pending_bio_fsync", *syncing as u8);
            kv!(o, "aof_delayed_fsync", stats.delayed_fsync);
            kv!(o, "aof_segments", stats.segments);
            kv!(o, "aof_fsyncs", stats.fsyncs);
            kv!(o, "aof_worker_fsyncs", stats.worker_fsyncs);
            kv!(
                o,
                "aof_last_error",
                stats.last_error.clone().unwrap_or_default()
            );
            kv!(
                o,
                "aof_durable_lsn",
                st.ks
                    .journal
                    .durable
                    .load(std::sync::atomic::Ordering::Relaxed)
            );
            kv!(o, "aof_last_lsn", st.ks.journal.last_lsn());
            kv!(o, "loading_loaded_records", st.recovery.records);
            kv!(o, "loading_repaired_bytes", st.recovery.cut_bytes);
            kv!(o, "loading_time_ms", st.recovery.millis);
        }
        kv!(o, "module_fork_in_progress", 0);
        kv!(o, "module_fork_last_cow_size", 0);
    }
    if has("stats") {
        section("Stats", &mut o);
        let s = &st.stats;
        kv!(o, "total_connections_received", s.total_connections);
        kv!(o, "total_commands_processed", s.total_commands);
        kv!(o, "instantaneous_ops_per_sec", st.ops_per_sec);
        kv!(o, "total_net_input_bytes", s.net_input_bytes);
        kv!(o, "total_net_output_bytes", s.net_output_bytes);
        kv!(o, "instantaneous_input_kbps", "0.00");
        kv!(o, "instantaneous_output_kbps", "0.00");
        kv!(o, "rejected_connections", s.rejected_connections);
        kv!(o, "sync_full", 0);
        kv!(o, "sync_partial_ok", 0);
        kv!(o, "sync_partial_err", 0);
        kv!(o, "expired_keys", st.ks.stats.expired_keys);
        kv!(
            o,
            "expired_stale_perc",
            format!("{:.2}", st.ks.stats.expired_stale_perc * 100.0)
        );
        kv!(
            o,
            "expired_time_cap_reached_count",
            st.ks.stats.expired_time_cap_reached
        );
        kv!(o, "expire_cycle_cpu_milliseconds", 0);
        kv!(o, "evicted_keys", st.evict.evicted_keys);
        kv!(o, "evicted_clients", 0);
        let (total, current) = st.evict.exceeded_ms();
        kv!(o, "total_eviction_exceeded_time", total);
        kv!(o, "current_eviction_exceeded_time", current);
        kv!(o, "keyspace_hits", st.ks.stats.hits);
        kv!(o, "keyspace_misses", st.ks.stats.misses);
        let (channels, patterns, shard) = st.pubsub.counts();
        kv!(o, "pubsub_channels", channels);
        kv!(o, "pubsub_patterns", patterns);
        kv!(o, "pubsubshard_channels", shard);
        kv!(o, "latest_fork_usec", 0);
        kv!(o, "total_forks", 0);
        kv!(o, "migrate_cached_sockets", 0);
        kv!(o, "slave_expires_tracked_keys", 0);
        kv!(o, "active_defrag_hits", 0);
        kv!(o, "active_defrag_misses", 0);
        kv!(o, "active_defrag_key_hits", 0);
        kv!(o, "active_defrag_key_misses", 0);
        kv!(o, "total_active_defrag_time", 0);
        kv!(o, "current_active_defrag_time", 0);
        kv!(o, "tracking_total_keys", 0);
        kv!(o, "tracking_total_items", 0);
        kv!(o, "tracking_total_prefixes", 0);
        kv!(o, "unexpected_error_replies", s.unexpected_error_replies);
        kv!(o, "total_error_replies", s.error_replies);
        kv!(o, "dump_payload_sanitizations", 0);
        kv!(o, "total_reads_processed", s.total_commands);
        kv!(o, "total_writes_processed", s.total_commands);
        kv!(o, "io_threaded_reads_processed", 0);
        kv!(o, "io_threaded_writes_processed", 0);
    }
    if has("replication") {
        section("Replication", &mut o);
        kv!(o, "role", "master");
        kv!(o, "connected_slaves", 0);
        kv!(o, "master_failover_state", "no-failover");
        kv!(o, "master_replid", st.run_id);
        kv!(
            o,
            "master_replid2",
            "0000000000000000000000000000000000000000"
        );
        kv!(o, "master_repl_offset", 0);
        kv!(o, "second_repl_offset", -1);
        kv!(o, "repl_backlog_active", 0);
        kv!(o, "repl_backlog_size", 1048576);
        kv!(o, "repl_backlog_first_byte_offset", 0);
        kv!(o, "repl_backlog_histlen", 0);
    }
    if has("cpu") {
        section("CPU", &mut o);
        let (u, s) = cpu_times();
        kv!(o, "used_cpu_sys", format!("{s:.6}"));
        kv!(o, "used_cpu_user", format!("{u:.6}"));
        kv!(o, "used_cpu_sys_children", "0.000000");
        kv!(o, "used_cpu_user_children", "0.000000");
    }
    if has("modules") {
        section("Modules", &mut o);
    }
    // Redis's order: ... Modules, Commandstats, Errorstats, Latencystats,
    // Cluster, Keyspace.
    if has("commandstats") {
        section("Commandstats", &mut o);
        let mut c: Vec<_> = st.stats.cmdstats.iter().collect();
        c.sort_by_key(|(k, _)| *k);
        for (name, s) in c {
            let per = if s.calls > 0 {
                s.usec as f64 / s.calls as f64
            } else {
                0.0
            };
            let _ = write!(
                o,
                "cmdstat_{name}:calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}\r\n",
                s.calls, s.usec, s.rejected, s.failed
            );
        }
    }
    if has("errorstats") {
        section("Errorstats", &mut o);
        let mut e: Vec<_> = st.stats.errorstats.iter().collect();
        e.sort();
        for (k, v) in e {
            let _ = write!(o, "errorstat_{k}:count={v}\r\n");
        }
    }
    if has("latencystats") {
        section("Latencystats", &mut o);
    }
    if has("cluster") {
        section("Cluster", &mut o);
        kv!(o, "cluster_enabled", 0);
    }
    if has("keyspace") {
        section("Keyspace", &mut o);
        for (i, d) in st.ks.dbs.iter().enumerate() {
            if !d.is_empty() {
                let _ = write!(
                    o,
                    "db{i}:keys={},expires={},avg_ttl=0\r\n",
                    d.len(),
                    d.expires
                );
            }
        }
    }
    o
}
