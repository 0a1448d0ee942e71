//! The `cairn-server` binary: flags, config files, startup errors, signals.

mod common;
use common::*;
use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_cairn-server");

/// Run the binary to completion (killing it after `limit`), returning
/// (status, stdout, stderr). Panics if it does not exit in time.
fn run(args: &[&str], limit: Duration) -> (ExitStatus, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("cairn-server {args:?} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    let mut err = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    (status, out, err)
}

fn write_conf(text: &str) -> (tempfile::TempDir, std::path::PathBuf) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("cairn.conf");
    std::fs::write(&p, text).unwrap();
    (d, p)
}

fn kill_sig(pid: u32, sig: &str) {
    let st = Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success(), "kill {sig} {pid}");
}

#[test]
fn version_and_help() {
    for flag in ["--version", "-v"] {
        let (st, out, _) = run(&[flag], Duration::from_secs(10));
        assert!(st.success(), "{flag}: {st:?}");
        assert!(out.contains("v=0.1.0"), "{flag}: {out}");
        assert!(out.contains("7.0.15"), "{flag}: {out}");
    }
    for flag in ["--help", "-h"] {
        let (st, out, _) = run(&[flag], Duration::from_secs(10));
        assert!(st.success(), "{flag}: {st:?}");
        assert!(out.starts_with("Usage: cairn-server"), "{flag}: {out}");
        assert!(out.contains("--port"), "{flag}: {out}");
    }
}

#[test]
fn unknown_directive_names_the_line() {
    let (_d, conf) = write_conf("# a comment\nhz 20\n\nnosuchdirective yes\nport 7000\n");
    let (st, _, err) = run(&[conf.to_str().unwrap()], Duration::from_secs(10));
    assert!(!st.success(), "started with a bad config");
    assert!(err.contains("line 4"), "{err}");
    assert!(err.contains("nosuchdirective yes"), "{err}");
    assert!(err.contains("Bad directive"), "{err}");
    assert!(err.contains(conf.to_str().unwrap()), "{err}");
}

#[test]
fn bad_values_name_the_line() {
    for (text, line, needle) in [
        ("port abc\n", 1, "port abc"),
        ("hz 10\nport 99999\n", 2, "port 99999"),
        ("appendonly maybe\n", 1, "appendonly maybe"),
        ("\n\nappendfsync sometimes\n", 3, "appendfsync sometimes"),
        ("maxmemory 12zz\n", 1, "maxmemory 12zz"),
        ("requirepass \"unbalanced\n", 1, "requirepass \"unbalanced"),
        ("save 100\n", 1, "save 100"),
    ] {
        let (_d, conf) = write_conf(text);
        let (st, _, err) = run(&[conf.to_str().unwrap()], Duration::from_secs(10));
        assert!(!st.success(), "started with {text:?}");
        assert!(err.contains(&format!("line {line}")), "{text:?}: {err}");
        assert!(err.contains(needle), "{text:?}: {err}");
    }
    // The value error is explained.
    let (_d, conf) = write_conf("port abc\n");
    let (_, _, err) = run(&[conf.to_str().unwrap()], Duration::from_secs(10));
    assert!(err.contains("integer"), "{err}");
}

#[test]
fn bad_command_line_options_fail() {
    for args in [
        &["--nosuchoption", "1"][..],
        &["--port", "abc"],
        &["--port"],
        &["--databases", "0"],
        &["stray-value-without-option-after-config", "--port", "1"],
    ] {
        let (st, _, err) = run(args, Duration::from_secs(10));
        assert!(!st.success(), "started with {args:?}");
        assert!(!err.trim().is_empty(), "{args:?}: no message");
    }
    let (_, _, err) = run(&["--port", "abc"], Duration::from_secs(10));
    assert!(err.contains("port abc"), "{err}");
}

#[test]
fn missing_config_file_fails() {
    let (st, _, err) = run(&["/nonexistent/cairn.conf"], Duration::from_secs(10));
    assert!(!st.success());
    assert!(err.contains("/nonexistent/cairn.conf"), "{err}");
}

#[test]
fn config_file_with_port_override() {
    // The file says port 1 (not bindable without privileges); the command
    // line wins.
    let (_d, conf) = write_conf(
        "# settings\nport 1\nhz 25\nmaxmemory-policy allkeys-lru\nsave \"\"\ndatabases 8\n",
    );
    let s = Server::start_with_config(&conf, &[]);
    let mut r = s.raw();
    assert_eq!(
        r.cmds(&["CONFIG", "GET", "port"]),
        Resp::Array(Some(vec![bulk("port"), bulk(&s.port.to_string())]))
    );
    assert_eq!(
        r.cmds(&["CONFIG", "GET", "hz"]),
        Resp::Array(Some(vec![bulk("hz"), bulk("25")]))
    );
    assert_eq!(
        r.cmds(&["CONFIG", "GET", "maxmemory-policy"]),
        Resp::Array(Some(vec![bulk("maxmemory-policy"), bulk("allkeys-lru")]))
    );
    assert_eq!(r.cmds(&["SELECT", "7"]), simple("OK"));
    assert_eq!(
        r.cmds(&["SELECT", "8"]),
        err("ERR DB index is out of range")
    );
    // Command-line options after the file override it too.
    let s2 = Server::start_with_config(&conf, &["--hz", "40"]);
    let mut r2 = s2.raw();
    assert_eq!(
        r2.cmds(&["CONFIG", "GET", "hz"]),
        Resp::Array(Some(vec![bulk("hz"), bulk("40")]))
    );
}

#[test]
fn requirepass_from_command_line() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(BIN)
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
        .arg("--dir")
        .arg(dir.path())
        .args(["--requirepass", "clipass"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut raw = loop {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            drop(s);
            break Raw::connect(port);
        }
        assert!(Instant::now() < deadline, "server did not start");
        assert!(child.try_wait().unwrap().is_none(), "server exited");
        std::thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(raw.cmds(&["PING"]), err("NOAUTH Authentication required."));
    assert_eq!(raw.cmds(&["AUTH", "clipass"]), simple("OK"));
    assert_eq!(raw.cmds(&["PING"]), simple("PONG"));
    kill_sig(child.id(), "-TERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    let st = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("no exit after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(st.success(), "{st:?}");
}

#[test]
fn sigterm_stops_cleanly() {
    let mut s = Server::start(&[]);
    let mut c = s.raw();
    assert_eq!(c.cmds(&["SET", "k", "v"]), simple("OK"));
    // A client in the middle of a command does not hold the shutdown up.
    let mut partial = s.raw();
    partial.send(b"*3\r\n$3\r\nSET\r\n");
    kill_sig(s.child.id(), "-TERM");
    let st = s
        .wait_exit(Duration::from_secs(10))
        .expect("server still running after SIGTERM");
    assert!(st.success(), "exit status {st:?}");
    // Connections are closed.
    let (_, closed) = c.read_until_closed(Duration::from_secs(5));
    assert!(closed);
    let (_, closed) = partial.read_until_closed(Duration::from_secs(5));
    assert!(closed);
}

#[test]
fn sigint_stops_cleanly() {
    let mut s = Server::start(&[]);
    assert_eq!(s.raw().cmds(&["PING"]), simple("PONG"));
    kill_sig(s.child.id(), "-INT");
    let st = s
        .wait_exit(Duration::from_secs(10))
        .expect("server still running after SIGINT");
    assert!(st.success(), "exit status {st:?}");
}

#[test]
fn port_in_use_is_a_startup_error() {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let (st, _, err) = run(
        &[
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--dir",
            dir.path().to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert!(!st.success());
    assert!(err.contains(&port), "{err}");
}

#[test]
fn a_second_server_on_the_same_dir_refuses_to_start() {
    let s = Server::start(&[]);
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port().to_string();
    drop(l);
    let (st, _, err) = run(
        &[
            "--port",
            &port,
            "--bind",
            "127.0.0.1",
            "--dir",
            s.dir().to_str().unwrap(),
        ],
        Duration::from_secs(10),
    );
    assert!(!st.success());
    assert!(err.contains("in use by another cairn-server"), "{err}");
    // The first server is unharmed.
    assert_eq!(s.raw().cmds(&["PING"]), simple("PONG"));
}
