//! tools/backup.sh copies a running server's data dir; tools/restore.sh
//! puts a backup in place; a server started on it has every write that was
//! acknowledged before the backup began.

mod common;
use common::*;
use std::process::Command;

fn script(name: &str, args: &[&std::path::Path]) -> (bool, String) {
    let out = Command::new("bash")
        .arg(format!("{}/tools/{name}", env!("CARGO_MANIFEST_DIR")))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn backup_while_running_then_restore() {
    // Small segments: the backup spans several.
    let s = Server::start(&["--aof-segment-size", "16kb"]);
    let mut r = s.raw();
    let lib = "#!lua name=bk\nredis.register_function('fbk', function() return 'kept' end)";
    assert_eq!(r.cmds(&["FUNCTION", "LOAD", lib]), bulk("bk"));
    for i in 0..2000 {
        assert_eq!(
            r.cmds(&["SET", &format!("k{i}"), &format!("v{i}")]),
            simple("OK")
        );
    }
    let dest = tempfile::tempdir().unwrap();
    let bk = dest.path().join("bk");
    let (ok, out) = script("backup.sh", &[s.dir(), &bk]);
    assert!(ok, "{out}");
    // Writes after the backup are not in it.
    assert_eq!(r.cmds(&["SET", "after", "1"]), simple("OK"));
    drop(r);
    drop(s);

    let target = tempfile::tempdir().unwrap();
    let (ok, out) = script("restore.sh", &[&bk, target.path()]);
    assert!(ok, "{out}");
    let s = Server::start_in(target, &[]);
    let mut r = s.raw();
    assert_eq!(r.cmds(&["DBSIZE"]), Resp::Int(2000));
    assert_eq!(r.cmds(&["GET", "k1999"]), bulk("v1999"));
    assert_eq!(r.cmds(&["GET", "after"]), Resp::Bulk(None));
    // The function libraries came along.
    assert_eq!(r.cmds(&["FCALL", "fbk", "0"]), bulk("kept"));
}
