//! Redis 7.0 functions (FUNCTION LOAD/LIST/DELETE/FLUSH/DUMP/RESTORE/
//! STATS, FCALL, FCALL_RO) against a real redis-server, and their
//! durability.
//!
//! * The tables run on both servers (RESP2, then RESP3) and every reply
//!   must be equal. FUNCTION LIST is compared with its libraries and each
//!   library's functions sorted by name: Redis lists them in the order of
//!   its hash tables, which is seeded at random per process.
//! * FUNCTION DUMP payloads cross between the servers under every
//!   RESTORE policy.
//! * Libraries survive kill -9 (they are in `functions.cfn`, written and
//!   synced before FUNCTION LOAD replies), and FCALL's writes survive it
//!   as any write does. A change that cannot be saved is refused and
//!   changes nothing; a damaged file stops the server from starting.

mod common;

use common::{Duo, Resp, Server};
use std::process::Command;

/// Library errors, registration rules, listing and deletion.
const LOADS: &[&[&str]] = &[
    // Shebang bytes that are not ASCII.
    &["function", "load", "#!lua abcd\u{e9}\nx"],
    &["function", "load", "#!lua name=\u{e9}t\nx"],
    // Code that runs past the load timeout (500 ms) is stopped.
    &["function", "load", "#!lua name=loop\nwhile true do end"],
    &["function", "flush"],
    &[
        "function",
        "load",
        "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)",
    ],
    &[
        "function",
        "load",
        "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)",
    ],
    &["function", "load", "no shebang"],
    &["function", "load", "#!lua"],
    &["function", "load", "#!lua name=a name=b\nx"],
    &["function", "load", "#!lua foo=bar\nx"],
    &["function", "load", "#!lua name=bad-name\nx"],
    &["function", "load", "#!js name=x\nx"],
    &[
        "function",
        "load",
        "#!LUA name=xl\nredis.register_function('xl', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "#!lua NAME=xn\nredis.register_function('xn', function() return 1 end)",
    ],
    &["function", "load", "#!lua name=x\nreturn 1"],
    &["function", "load", "#!lua name=x\nredis.call('ping')"],
    &[
        "function",
        "load",
        "#!lua name=x\nredis.register_function('f')",
    ],
    &[
        "function",
        "load",
        "#!lua name=x\nredis.register_function('f', 1)",
    ],
    &[
        "function",
        "load",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() return 1 end, flags={'no-writes','bad'}}",
    ],
    &[
        "function",
        "load",
        "#!lua name=x\nredis.register_function{function_name='f', callback=function() return 1 end, flags={'no-writes'}, description='d'}",
    ],
    &[
        "function",
        "load",
        "#!lua name=x2\nredis.register_function('myfunc', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "#!lua name=x2\nredis.register_function('MYFUNC', function() return 1 end)",
    ],
    &["function", "load", "#!lua name=x3\nfoo = 1"],
    &[
        "function",
        "load",
        "#!lua name=x3\nlocal a = redis.setresp\nredis.log(redis.LOG_WARNING, 'hi')\nredis.register_function('g', function() return 1 end)\nsyntax error here",
    ],
    &[
        "function",
        "load",
        "#!lua name=t\nlocal s = string.len('a')\nredis.register_function('f', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "#!lua name=t\nlocal v = redis.REDIS_VERSION_NUM\nredis.register_function('tf', function() return v end)",
    ],
    &["function", "load", "#!lua name=t2\nredis.setresp(3)"],
    &["function", "load", "#!lua name=t2\nlocal p = pairs"],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function('f2', function() return 1 end)\nredis.register_function('f2', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function('f2', function() return 1 end)\nredis.register_function('F2', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function('bad name', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function()",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function{function_name='f'}",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function{callback=function() end}",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function{function_name='f', callback=function() end, foo=1}",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function{function_name='f', callback=function() end, flags='x'}",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function('f', function() return 1 end, 3)",
    ],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function{function_name='f', callback=function() end, flags={1}}",
    ],
    &["function", "load", "#!lua name=t2\nerror('top')"],
    &[
        "function",
        "load",
        "#!lua name=t2\nredis.register_function('f', function() return 1 end)\nredis.foo = 1",
    ],
    &[
        "function",
        "load",
        "#!lua name=t3\nredis.register_function{function_name=7, callback=function() return 1 end, description=8}",
    ],
    &[
        "function",
        "load",
        "#!lua name=t4\nlocal t = redis.register_function\nt('f4', function() return 1 end)\nreturn 5",
    ],
    &[
        "function",
        "load",
        "#!lua name=Mylib\nredis.register_function('other', function() return 1 end)",
    ],
    &[
        "function",
        "load",
        "replace",
        "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return 'v2' end)",
    ],
    &[
        "function",
        "load",
        "replace",
        "#!lua name=mylib\nredis.register_function('tf', function(keys, args) return 'v2' end)",
    ],
    &["function", "load", "foo", "#!lua name=mylib\nx"],
    &["function", "load", "replace"],
    &["fcall", "myfunc", "0", "hello"],
    &["fcall", "MyFunc", "0", "hello"],
    &["fcall", "myfunc", "x", "hello"],
    &["fcall", "nosuch", "0"],
    &["fcall_ro", "myfunc", "0", "a"],
    &["fcall_ro", "f", "0", "a"],
    &["fcall", "f", "0"],
    &["fcall", "7", "0"],
    &["function", "list"],
    &["function", "list", "withcode"],
    &["function", "list", "libraryname", "t*"],
    &["function", "list", "libraryname", "T*", "withcode"],
    &["function", "list", "withcode", "libraryname"],
    &["function", "list", "foo"],
    &["function", "list", "withcode", "withcode"],
    &["function", "stats"],
    &["function", "delete", "nosuch"],
    &["function", "delete", "t3"],
    &["function", "delete"],
    &["function", "flush", "foo"],
    &["function", "flush", "async", "x"],
    &["function", "kill"],
    &["function", "stats", "x"],
    &["function", "restore", "bad"],
    &["function", "dump", "x"],
    &["function", "help"],
    &["function", "nosub"],
];

/// Calling functions: replies, errors, flags, transactions, SCRIPT FLUSH.
const CALLS: &[&[&str]] = &[
    &["function", "flush"],
    &[
        "function",
        "load",
        "#!lua name=lib1\nlocal function helper(x) return x end\nredis.register_function('f_echo', function(keys, args) return {keys, args} end)\nredis.register_function('f_err', function(keys, args) return redis.call('nosuch') end)\nredis.register_function('f_raise', function(keys, args) error('boom') end)\nredis.register_function('f_set', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function('f_keys', function(keys, args) return KEYS end)\nredis.register_function('f_glob', function(keys, args) x = 1 end)\nredis.register_function{function_name='f_ro', callback=function(keys, args) return redis.call('set', keys[1], 'v') end, flags={'no-writes'}}\nredis.register_function('f_pcall', function(keys, args) return redis.pcall('incr', keys[1]) end)\nredis.register_function('f_errtab', function() return redis.error_reply('MY oops') end)\nredis.register_function('f_get', function(keys) return redis.call('get', keys[1]) end)\nredis.register_function('f_resp', function() redis.setresp(3) return redis.call('hgetall', 'h') end)\nredis.register_function('f_tbl', function() return {1, 'two', {3, {ok='fine'}}, false} end)\nredis.register_function('f_float', function() return 3.99 end)\nredis.register_function{function_name='f_ro2', callback=function(keys) return redis.call('get', keys[1]) end, flags={'no-writes'}}",
    ],
    &["fcall", "f_echo", "2", "a", "b", "c", "d"],
    &["fcall", "f_err", "0"],
    &["fcall", "f_raise", "0"],
    &["fcall", "f_set", "1", "k", "v"],
    &["fcall", "f_get", "1", "k"],
    &["fcall", "f_keys", "0"],
    &["fcall", "f_glob", "0"],
    &["fcall", "f_ro", "1", "k"],
    &["fcall_ro", "f_ro", "1", "k"],
    &["fcall_ro", "f_set", "1", "k", "v"],
    &["fcall_ro", "f_ro2", "1", "k"],
    &["set", "str", "x"],
    &["fcall", "f_pcall", "1", "str"],
    &["fcall", "f_errtab", "0"],
    &["fcall", "f_echo", "-1"],
    &["fcall", "f_echo", "3", "a"],
    &["fcall", "F_ECHO", "0"],
    &["fcall", "f_tbl", "0"],
    &["fcall", "f_float", "0"],
    &["hset", "h", "a", "1"],
    &["fcall", "f_resp", "0"],
    &["multi"],
    &["fcall", "f_set", "1", "k", "inmulti"],
    &["fcall", "f_get", "1", "k"],
    &["exec"],
    &["script", "flush"],
    &["fcall", "f_get", "1", "k"],
    &["eval", "return 1", "0"],
    &[
        "function",
        "load",
        "replace",
        "#!lua name=lib1\nredis.register_function('f_new', function() return 'new' end)",
    ],
    &["fcall", "f_echo", "0"],
    &["fcall", "f_new", "0"],
    &[
        "function",
        "load",
        "#!lua name=lib2\nredis.register_function('f_new', function() return 'dup' end)",
    ],
    &["function", "delete", "lib1"],
    &["fcall", "f_new", "0"],
    &[
        "function",
        "load",
        "#!lua name=lib3\nredis.register_function{function_name='f3', callback=function() redis.setresp(3) return redis.call('hgetall', 'h') end, flags={'no-writes', 'allow-stale', 'no-cluster', 'allow-oom', 'allow-cross-slot-keys'}, description='all flags'}",
    ],
    &["fcall", "f3", "0"],
    &["function", "list"],
    &["function", "stats"],
    // A load stopped by its timeout leaves functions their script API.
    &["function", "load", "#!lua name=loop3\nwhile true do end"],
    &["fcall", "f3", "0"],
    &["fcall", "nosuch", "x"],
    &["fcall", "nosuch", "-1"],
];

/// FUNCTION LIST with libraries, and each library's functions, sorted by
/// name (a library is a map of 3 or 4 fields; RESP2 flattens it).
fn canonical(r: Resp) -> Resp {
    fn field<'a>(lib: &'a mut [Resp], name: &[u8]) -> Option<&'a mut Resp> {
        let mut it = lib.iter_mut();
        while let Some(k) = it.next() {
            let v = it.next()?;
            if *k == Resp::Bulk(Some(name.to_vec())) {
                return Some(v);
            }
        }
        None
    }
    fn entries(r: &mut Resp) -> Option<&mut Vec<Resp>> {
        match r {
            Resp::Array(Some(v)) => Some(v),
            _ => None,
        }
    }
    let key = |r: &Resp| format!("{r:?}");
    let Resp::Array(Some(mut libs)) = r else {
        return r;
    };
    for lib in &mut libs {
        let flat: &mut Vec<Resp> = match lib {
            Resp::Array(Some(v)) => v,
            Resp::Map(m) => {
                let v: Vec<Resp> = m.drain(..).flat_map(|(k, v)| [k, v]).collect();
                *lib = Resp::Array(Some(v));
                match lib {
                    Resp::Array(Some(v)) => v,
                    _ => unreachable!(),
                }
            }
            _ => continue,
        };
        if let Some(fs) = field(flat, b"functions").and_then(entries) {
            fs.sort_by_key(key);
        }
    }
    libs.sort_by_key(|l| {
        let mut l = l.clone();
        let name = match &mut l {
            Resp::Array(Some(v)) => field(v, b"library_name").cloned(),
            _ => None,
        };
        format!("{name:?}")
    });
    Resp::Array(Some(libs))
}

impl Duo {
    fn run(&mut self, origin: &str, args: &[&str]) -> Resp {
        let args: Vec<String> = args.iter().map(|a| a.replace("\\n", "\n")).collect();
        let args: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let (mut a, mut b) = (self.cairn.cmds(&args), self.redis.cmds(&args));
        if args[0].eq_ignore_ascii_case("hello") {
            return a;
        }
        if args.len() > 1
            && args[0].eq_ignore_ascii_case("function")
            && args[1].eq_ignore_ascii_case("list")
        {
            (a, b) = (canonical(a), canonical(b));
        }
        assert_eq!(a, b, "{origin}: {args:?}");
        a
    }
}

#[test]
fn functions_match_redis() {
    let Some(mut d) = Duo::start() else { return };
    for proto in ["2", "3"] {
        d.run("hello", &["HELLO", proto]);
        for (i, c) in LOADS.iter().enumerate() {
            d.run(&format!("loads {i} resp{proto}"), c);
        }
        for (i, c) in CALLS.iter().enumerate() {
            d.run(&format!("calls {i} resp{proto}"), c);
        }
    }
}

fn bulk(r: Resp) -> Vec<u8> {
    match r {
        Resp::Bulk(Some(b)) => b,
        other => panic!("{other:?}"),
    }
}

const LIB_A: &str = "#!lua name=libA\nredis.register_function('fa', function() return 'a' end)\n-- a comment long enough for LZF to compress the code in a DUMP payload";
const LIB_B: &str = "#!lua name=libB\nredis.register_function{function_name='fb', callback=function(keys) return redis.call('incr', keys[1]) end, description='bee'}";
const LIB_C: &str = "#!lua name=libC\nredis.register_function('fa', function() return 'c' end)";

#[test]
fn dump_payloads_cross_between_the_servers() {
    let Some(mut d) = Duo::start() else { return };
    d.run("setup", &["FUNCTION", "LOAD", LIB_A]);
    d.run("setup", &["FUNCTION", "LOAD", LIB_B]);
    let payloads = [
        ("cairn", bulk(d.cairn.cmds(&["FUNCTION", "DUMP"]))),
        ("redis", bulk(d.redis.cmds(&["FUNCTION", "DUMP"]))),
    ];
    for (from, p) in &payloads {
        for policy in [&[][..], &["FLUSH"], &["APPEND"], &["REPLACE"], &["nope"]] {
            for before in ["none", "same", "clash"] {
                let origin = format!("{from} payload, {policy:?}, {before}");
                d.run(&origin, &["FUNCTION", "FLUSH"]);
                match before {
                    "same" => drop(d.run(&origin, &["FUNCTION", "LOAD", LIB_A])),
                    "clash" => drop(d.run(&origin, &["FUNCTION", "LOAD", LIB_C])),
                    _ => {}
                }
                let mut args: Vec<&[u8]> = vec![b"FUNCTION", b"RESTORE", p];
                args.extend(policy.iter().map(|s| s.as_bytes()));
                let (a, b) = (d.cairn.cmd(&args), d.redis.cmd(&args));
                assert_eq!(a, b, "{origin}");
                d.run(&origin, &["FCALL", "fa", "0"]);
                d.run(&origin, &["FCALL", "fb", "1", "counter"]);
                d.run(&origin, &["FUNCTION", "LIST", "WITHCODE"]);
            }
        }
        // A damaged payload changes nothing.
        let mut bad = p.clone();
        let n = bad.len();
        bad[n / 2] ^= 1;
        let (a, b) = (
            d.cairn.cmd(&[b"FUNCTION", b"RESTORE", &bad]),
            d.redis.cmd(&[b"FUNCTION", b"RESTORE", &bad]),
        );
        assert_eq!(a, b);
    }
}

fn list(c: &mut common::Raw) -> Resp {
    canonical(c.cmds(&["FUNCTION", "LIST", "WITHCODE"]))
}

#[test]
fn libraries_and_their_writes_survive_kill9() {
    for extra in [&["--appendfsync", "always"][..], &["--appendonly", "no"]] {
        let mut s = Server::start(extra);
        let mut c = s.raw();
        for lib in [LIB_A, LIB_B] {
            let lib = lib.replace("\\n", "\n");
            assert!(matches!(c.cmds(&["FUNCTION", "LOAD", &lib]), Resp::Bulk(_)));
        }
        assert_eq!(c.cmds(&["FCALL", "fb", "1", "n"]), Resp::Int(1));
        assert_eq!(c.cmds(&["FCALL", "fb", "1", "n"]), Resp::Int(2));
        if extra[0] == "--appendonly" {
            assert_eq!(c.cmds(&["SAVE"]), Resp::Simple(b"OK".to_vec()));
        }
        let before = list(&mut c);
        drop(c);
        s.kill9();
        let mut s = s.restart(extra);
        let mut c = s.raw();
        assert_eq!(list(&mut c), before, "{extra:?}");
        assert_eq!(
            c.cmds(&["FCALL", "fa", "0"]),
            Resp::Bulk(Some(b"a".to_vec()))
        );
        assert_eq!(
            c.cmds(&["FCALL", "fb", "1", "n"]),
            Resp::Int(3),
            "{extra:?}"
        );
        // Deleting is durable too, and the last FLUSH removes the file.
        assert_eq!(
            c.cmds(&["FUNCTION", "DELETE", "libA"]),
            Resp::Simple(b"OK".to_vec())
        );
        drop(c);
        s.kill9();
        let mut s = s.restart(extra);
        let mut c = s.raw();
        assert_eq!(
            c.cmds(&["FCALL", "fa", "0"]),
            Resp::Error(b"ERR Function not found".to_vec())
        );
        assert_eq!(c.cmds(&["FUNCTION", "FLUSH"]), Resp::Simple(b"OK".to_vec()));
        assert!(!s.dir().join("functions.cfn").exists());
        drop(c);
        s.kill9();
        let s = s.restart(extra);
        assert_eq!(
            s.raw().cmds(&["FUNCTION", "LIST"]),
            Resp::Array(Some(vec![]))
        );
    }
}

#[test]
fn a_change_that_cannot_be_saved_changes_nothing() {
    let s = Server::start(&[]);
    let mut c = s.raw();
    let lib = LIB_A.replace("\\n", "\n");
    // The temporary file's name is taken by a directory: the save fails.
    std::fs::create_dir(s.dir().join("functions.cfn.tmp")).unwrap();
    match c.cmds(&["FUNCTION", "LOAD", &lib]) {
        Resp::Error(e) => assert!(
            String::from_utf8_lossy(&e).contains("could not be saved"),
            "{e:?}"
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(c.cmds(&["FUNCTION", "LIST"]), Resp::Array(Some(vec![])));
    assert_eq!(
        c.cmds(&["FCALL", "fa", "0"]),
        Resp::Error(b"ERR Function not found".to_vec())
    );
    std::fs::remove_dir(s.dir().join("functions.cfn.tmp")).unwrap();
    assert_eq!(
        c.cmds(&["FUNCTION", "LOAD", &lib]),
        Resp::Bulk(Some(b"libA".to_vec()))
    );
}

#[test]
fn a_damaged_functions_file_stops_the_server() {
    let mut s = Server::start(&[]);
    let lib = LIB_A.replace("\\n", "\n");
    s.raw().cmds(&["FUNCTION", "LOAD", &lib]);
    s.kill9();
    let path = s.dir().join("functions.cfn");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[20] ^= 0x40;
    std::fs::write(&path, &bytes).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_cairn-server"))
        .args(["--port", "0", "--bind", "127.0.0.1", "--dir"])
        .arg(s.dir())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("function libraries") && err.contains("checksum"),
        "{err}"
    );
}
