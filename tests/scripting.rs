//! Lua scripting (EVAL, EVALSHA, SCRIPT) against a real redis-server:
//! fixed cases covering the conversions, errors, libraries and
//! protections, then random scripts over a small key space, every reply
//! compared byte for byte (error messages carry the script's SHA1 and
//! line, so those are compared too). Then Cairn-only checks: a script's
//! writes are durable and atomic in the log, and scripts inside
//! MULTI/WATCH.

mod common;
use common::*;

/// Cases run on one connection to each server, in order (some depend on
/// the keys earlier ones left).
const FIXED: &[&[&str]] = &[
    &[r"eval", r"return 1", r"0"],
    &[r"eval", r"return {1,2,3,'x',nil,4}", r"0"],
    &[r"eval", r"return redis.call('set','a','b')", r"0"],
    &[r"eval", r"return redis.call('get','a')", r"0"],
    &[r"eval", r"return redis.call('get','nokey')", r"0"],
    &[r"eval", r"return x", r"0"],
    &[r"eval", r"x = 1", r"0"],
    &[r"eval", r"return redis.call('nosuch')", r"0"],
    &[r"eval", r"return redis.pcall('nosuch')", r"0"],
    &[r"eval", r"return redis.call('incr','a')", r"0"],
    &[r"eval", r"return redis.pcall('incr','a')", r"0"],
    &[r"eval", r"syntax error here", r"0"],
    &[r"eval", r"return 1", r"-1"],
    &[r"eval", r"return 1", r"5", r"a"],
    &[r"eval", r"return 1", r"x"],
    &[
        r"eval",
        r"return {KEYS[1],ARGV[1],#KEYS,#ARGV}",
        r"1",
        r"k",
        r"v",
    ],
    &[r"eval", r"return 3.99", r"0"],
    &[r"eval", r"return -3.7", r"0"],
    &[r"eval", r"return 1e20", r"0"],
    &[r"eval", r"return true", r"0"],
    &[r"eval", r"return false", r"0"],
    &[r"eval", r"return {ok='fine'}", r"0"],
    &[r"eval", r"return {err='bad thing'}", r"0"],
    &[r"eval", r"return redis.error_reply('My Error')", r"0"],
    &[r"eval", r"return redis.error_reply('Oops')", r"0"],
    &[r"eval", r"return redis.error_reply(5)", r"0"],
    &[r"eval", r"return redis.status_reply('OK2')", r"0"],
    &[
        r"evalsha",
        r"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        r"0",
    ],
    &[r"script", r"load", r"return 'hi'"],
    &[
        r"evalsha",
        r"2f31ba2bb6d6a0f42cc159d2e2dad55440778de3",
        r"0",
    ],
    &[
        r"evalsha",
        r"2F31BA2BB6D6A0F42CC159D2E2DAD55440778DE3",
        r"0",
    ],
    &[
        r"script",
        r"exists",
        r"2f31ba2bb6d6a0f42cc159d2e2dad55440778de3",
        r"a",
    ],
    &[r"eval", r"return redis.sha1hex('')", r"0"],
    &[r"eval", r"return redis.sha1hex(12)", r"0"],
    &[r"eval", r"return redis.sha1hex()", r"0"],
    &[r"eval", r"error('boom')", r"0"],
    &[r"eval", r"error({err='X boom'})", r"0"],
    &[r"eval", r"return redis.call('subscribe','x')", r"0"],
    &[r"eval", r"return redis.call('blpop','nolist',0)", r"0"],
    &[r"eval", r"return redis.call()", r"0"],
    &[r"eval", r"return redis.call('get')", r"0"],
    &[r"eval", r"return redis.call(1)", r"0"],
    &[r"eval", r"return redis.call('get', {})", r"0"],
    &[r"eval", r"string.foo = 1", r"0"],
    &[r"eval", r"rawset(_G,'y',1) return y", r"0"],
    &[r"eval", r"KEYS = 1", r"0"],
    &[r"eval", r"return type(redis.call('get','nokey'))", r"0"],
    &[r"eval", r"return redis.call('ping')", r"0"],
    &[r"eval", r"local t = redis.call('ping'); return t.ok", r"0"],
    &[r"eval", r"return redis.pcall('incr','a').err", r"0"],
    &[r"eval", r"return {1,false,3}", r"0"],
    &[r"eval", r"return {1,{2,{3,'x'}}}", r"0"],
    &[r"eval", r"return redis.setresp(4)", r"0"],
    &[r"eval", r"return redis.log(99, 'x')", r"0"],
    &[r"eval", r"return redis.log(1)", r"0"],
    &[
        r"eval",
        r"return redis.log(redis.LOG_WARNING, 'hello from a script')",
        r"0",
    ],
    &[
        r"eval",
        r"redis.call('hset','h','f','v'); redis.setresp(3); return redis.call('hgetall','h')",
        r"0",
    ],
    &[
        r"eval",
        r"redis.setresp(3); return redis.call('hgetall','h').map.f",
        r"0",
    ],
    &[r"eval", r"return {double=1.5}", r"0"],
    &[r"eval", r"return redis.REDIS_VERSION", r"0"],
    &[r"eval", r"return redis.REDIS_VERSION_NUM", r"0"],
    &[
        r"eval",
        r"return {redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING}",
        r"0",
    ],
    &[r"eval", r"return {ok='a\r\nb'}", r"0"],
    &[r"eval", r"return {err='a\nb'}", r"0"],
    &[r"eval", r"return redis.call('select', 5)", r"0"],
    &[r"eval", r"return {err={}}", r"0"],
    &[r"eval", r"return {ok={}}", r"0"],
    &[r"eval", r"return bit.band(7,3)", r"0"],
    &[r"eval", r"return cjson.encode({a=1})", r"0"],
    &[
        r"eval",
        r#"return cjson.encode({1,2,3,{a='x/y'},true,false,1.5,'"q'})"#,
        r"0",
    ],
    &[r"eval", r"return cjson.encode({})", r"0"],
    &[r"eval", r"return cjson.encode({[1]=1,[3]=3})", r"0"],
    &[r"eval", r"return cjson.encode({[1]=1,[30]=3})", r"0"],
    &[r"eval", r"return cjson.encode(0.1)", r"0"],
    &[r"eval", r"return cjson.encode(1e100)", r"0"],
    &[r"eval", r"return cjson.encode(cjson.null)", r"0"],
    &[
        r"eval",
        r#"local t = cjson.decode('{"a":[1,2,null,{"b":"c\u00e9"}],"n":-1.5e3}'); return {t.a[1], t.a[4].b, tostring(t.n), tostring(t.a[3] == cjson.null)}"#,
        r"0",
    ],
    &[r"eval", r"return cjson.decode('[1,')", r"0"],
    &[r"eval", r"return cjson.decode('xyz')", r"0"],
    &[r"eval", r"return cjson.encode({a=1,b=2,c=3,d=4})", r"0"],
    &[
        r"eval",
        r"return bit.tohex(255)..' '..bit.tohex(-1, -4)..' '..bit.tobit(2^32+5)..' '..bit.lshift(1,33)..' '..bit.arshift(-256,4)",
        r"0",
    ],
    &[r"eval", r"return cjson.encode(0/0)", r"0"],
    &[r"eval", r"return cjson.encode({[true]=1})", r"0"],
    &[r"eval", r"return cjson.encode(function() end)", r"0"],
    &[r"eval", r"return redis.call('eval','return 1',0)", r"0"],
    &[r"eval", r"return redis.call('multi')", r"0"],
    &[r"eval", r"return redis.call('hgetall','nokey')", r"0"],
    &[r"eval", r"return redis.call('set','a','1','get')", r"0"],
    &[
        r"eval",
        r"return redis.call('set','n', 12345678901234567)",
        r"0",
    ],
    &[r"eval", r"return redis.call('get','n')", r"0"],
    &[r"eval", r"return redis.call('set','n', 0.1)", r"0"],
    &[r"eval", r"return redis.call('get','n')", r"0"],
    &[r"eval_ro", r"return redis.call('set','x','1')", r"0"],
    &[r"eval_ro", r"return redis.call('get','a')", r"0"],
    &[r"script", r"kill"],
    &[r"script", r"debug", r"no"],
    &[r"script", r"flush", r"foo"],
    &[r"script", r"help"],
    &[r"eval", r"return redis.set_repl(redis.REPL_ALL)", r"0"],
    &[r"eval", r"return redis.replicate_commands()", r"0"],
    &[
        r"eval",
        r"return {type(loadstring), type(collectgarbage), type(unpack), _VERSION, type(coroutine)}",
        r"0",
    ],
    &[r"eval", r"return dofile", r"0"],
    &[r"eval", r"return os", r"0"],
    &[r"eval", r"local t = {} ; t[1]=1; t[3]=3; return t", r"0"],
    &[r"eval", r"return tostring(0/0)", r"0"],
    &[r"eval", r"return redis.call('select', 99)", r"0"],
    &[
        r"eval",
        r"return redis.call('config','get','maxmemory')",
        r"0",
    ],
    &[r"eval", r"return redis.call('client','list')", r"0"],
    &[r"eval", r"return redis.call('object','encoding','a')", r"0"],
    &[r"eval", r"return redis.call('type', KEYS[1])", r"1", r"h"],
    &[r"eval", r"local function f() error('deep') end f()", r"0"],
    &[r"eval", r"local x = nil; return x.y", r"0"],
    &[r"eval", r"return #ARGV", r"0"],
    &[r"eval", r"return string.format('%d-%s', 5, 'x')", r"0"],
    &[r"eval", r"return math.floor(3.7)", r"0"],
    &[r"eval", r"return table.concat({'a','b'}, ',')", r"0"],
    &[r"eval", r"return pcall(redis.call, 'incr', 'a')", r"0"],
    &[
        r"eval",
        r"local ok, e = pcall(redis.call, 'incr', 'a'); return e.err",
        r"0",
    ],
    &[r"script", r"flush"],
    &[
        r"evalsha",
        r"2f31ba2bb6d6a0f42cc159d2e2dad55440778de3",
        r"0",
    ],
    // Lua numbers are doubles: %.14g in cjson, %.17g as command arguments.
    &[
        r"eval",
        r"return cjson.encode({0.000012345678901234567, 2^62, 1e15, 123456789012345})",
        r"0",
    ],
    &[
        r"eval",
        r"return cjson.encode({-0, 0/-1, 1e-300, 2^63, -1.5e-10})",
        r"0",
    ],
    &[r"eval", r"return redis.call('set', 'n', 2^62)", r"0"],
    &[r"get", r"n"],
    // Shebang lines (Redis 7.0): flags, errors, line numbers.
    &["eval", "#!lua\nreturn 1", "0"],
    &["eval", "#!lua\nerror('x')", "0"],
    &[
        "eval",
        "#!lua flags=no-writes\nreturn redis.call('set','x','y')",
        "0",
    ],
    &["eval", "#!lua flags=bogus\nreturn 1", "0"],
    &["eval", "#!lua name=x\nreturn 1", "0"],
    &["eval", "#!python\nreturn 1", "0"],
    &["eval", "#!lua", "0"],
    &[
        "eval",
        "#!lua flags=no-writes,allow-stale,no-cluster,allow-cross-slot-keys,allow-oom\nreturn 2",
        "0",
    ],
    &["eval", "#!lua flags=\nreturn 3", "0"],
    &["eval", "#!lua flags=no-writes,\nreturn 7", "0"],
    &["eval", "#!luax\nreturn 8", "0"],
    &["eval", "#!lua\r\nreturn 9", "0"],
    &["eval_ro", "#!lua\nreturn 1", "0"],
    &["eval_ro", "#!lua flags=no-writes\nreturn 1", "0"],
    &["script", "load", "#!lua flags=bogus\nreturn 1"],
    &["eval", "#!lua\nreturn redis.call('set', 'sb', '1')", "0"],
    // cjson.decode's errors name lua-cjson's tokens and positions.
    &["eval", "return cjson.decode(ARGV[1])", "0", "[1 2]"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "[1 -]"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "]"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "[1] 2"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "1.2.3"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "[1e]"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "\"abc"],
    &["eval", "return cjson.decode(ARGV[1])", "0", "\"a\\"],
    &[
        "eval",
        "return cjson.decode(ARGV[1])",
        "0",
        "\"a\\ud800\\u12\"",
    ],
    // lua-time-limit is busy-reply-threshold's old name.
    &["config", "set", "lua-time-limit", "100"],
    &["config", "get", "busy-reply-threshold"],
    &["config", "get", "lua*"],
    &["config", "set", "busy-reply-threshold", "5000"],
    // SELECT inside a script lasts until the script ends.
    &[
        r"eval",
        r"redis.call('select', 5); return redis.call('set', 'sel', 'x')",
        r"0",
    ],
    &[r"get", r"sel"],
    &[r"select", r"5"],
    &[r"get", r"sel"],
    &[r"select", r"0"],
    &[r"eval", r"return redis.call('get', 'a')", r"0"],
    &[
        r"eval",
        r"local t = {} for i = 1, 100 do t[i] = i * 1.5 end return t",
        r"0",
    ],
    &[
        r"eval",
        r"return redis.call('lpush', KEYS[1], unpack(ARGV))",
        r"1",
        r"lst",
        r"a",
        r"b",
        r"c",
    ],
    &[
        r"eval",
        r"return redis.call('lrange', KEYS[1], 0, -1)",
        r"1",
        r"lst",
    ],
    &[
        r"eval",
        r"return redis.call('zadd', 'z', 1.5, 'm', 2, 'n')",
        r"0",
    ],
    &[
        r"eval",
        r"return redis.call('zrange', 'z', 0, -1, 'withscores')",
        r"0",
    ],
    &[r"eval", r"return redis.call('zscore', 'z', 'm')", r"0"],
    &[
        r"eval",
        r"redis.setresp(3); return redis.call('zscore', 'z', 'm')",
        r"0",
    ],
    &[
        r"eval",
        r"redis.setresp(3); return redis.call('zrange', 'z', 0, -1, 'withscores')",
        r"0",
    ],
    &[
        r"eval",
        r"redis.setresp(3); return {redis.call('get', 'nokey') == nil, redis.call('exists', 'z')}",
        r"0",
    ],
    &[r"eval", r"return {map={a=1}}", r"0"],
    &[r"eval", r"return {set={a=true}}", r"0"],
    &[
        r"eval",
        r"return {big_number='123456789012345678901234567890'}",
        r"0",
    ],
    &[r"eval", r"redis.setresp(3); return true", r"0"],
    &[r"eval", r"redis.setresp(3); return false", r"0"],
];

/// The RESP3 cases, after HELLO 3 on a fresh connection.
const FIXED_RESP3: &[&[&str]] = &[
    &[r"eval", r"return {1, 'a', false, true}", r"0"],
    &[r"eval", r"return redis.call('get', 'nokey')", r"0"],
    &[
        r"eval",
        r"redis.setresp(3); return redis.call('hgetall', 'h')",
        r"0",
    ],
    &[r"eval", r"return redis.call('hgetall', 'h')", r"0"],
    &[r"eval", r"return {map={a=1}}", r"0"],
    &[r"eval", r"return {set={a=true}}", r"0"],
    &[r"eval", r"return {double=3.5}", r"0"],
    &[
        r"eval",
        r"return {big_number='123456789012345678901234567890'}",
        r"0",
    ],
    &[
        r"eval",
        r"return {verbatim_string={format='txt', string='hi'}}",
        r"0",
    ],
    &[r"eval", r"redis.setresp(3); return false", r"0"],
    &[r"eval", r"return {err='X y'}", r"0"],
    &[r"eval", r"return nil", r"0"],
];

fn run_on_both(redis: &mut Raw, cairn: &mut Raw, args: &[&str], what: &str) {
    let a = redis.cmds(args);
    let b = cairn.cmds(args);
    assert_eq!(a, b, "{what}: {args:?}");
}

#[test]
fn fixed_scripts_match_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&[]);
    let (mut a, mut b) = (Raw::connect(redis.port), cairn.raw());
    for args in FIXED {
        run_on_both(&mut a, &mut b, args, "RESP2");
    }
    let (mut a, mut b) = (Raw::connect(redis.port), cairn.raw());
    a.cmds(&["HELLO", "3"]);
    b.cmds(&["HELLO", "3"]);
    for args in FIXED_RESP3 {
        run_on_both(&mut a, &mut b, args, "RESP3");
    }
}

/// One random Lua expression that runs a command over the script's keys.
fn call(r: &mut Rng) -> String {
    let k = format!("KEYS[{}]", 1 + r.below(3));
    let v = format!("ARGV[{}]", 1 + r.below(3));
    let f = if r.below(4) == 0 {
        "redis.pcall"
    } else {
        "redis.call"
    };
    let args = match r.below(22) {
        0 => format!("'set', {k}, {v}"),
        1 => format!("'get', {k}"),
        2 => format!("'incr', {k}"),
        3 => format!("'incrby', {k}, {v}"),
        4 => format!("'append', {k}, {v}"),
        5 => format!("'lpush', {k}, {v}"),
        6 => format!("'rpop', {k}"),
        7 => format!("'lrange', {k}, 0, -1"),
        8 => format!("'hset', {k}, {v}, {k}"),
        9 => format!("'hget', {k}, {v}"),
        10 => format!("'hgetall', {k}"),
        11 => format!("'sadd', {k}, {v}"),
        12 => format!("'scard', {k}"),
        13 => format!("'zadd', {k}, {}, {v}", r.below(100) as f64 / 4.0),
        14 => format!("'zrange', {k}, 0, -1, 'withscores'"),
        15 => format!("'del', {k}"),
        16 => format!("'exists', {k}, {k}"),
        17 => format!("'type', {k}"),
        18 => format!("'strlen', {k}"),
        19 => format!("'getrange', {k}, 0, {}", r.below(5)),
        20 => format!("'nosuchcmd', {k}"),
        _ => format!("'get', {k}, {v}"),
    };
    format!("{f}({args})")
}

/// One random script: a few statements collecting results in `r`, then
/// one of several kinds of return (or error).
fn script(rng: &mut Rng) -> String {
    let mut s = String::from("local r = {}\n");
    for _ in 0..1 + rng.below(5) {
        match rng.below(6) {
            0 => s.push_str(&format!("r[#r + 1] = type({})\n", call(rng))),
            1 => s.push_str(&format!(
                "local ok, e = pcall(function() return {} end)\nr[#r + 1] = ok and 'ok' or e.err\n",
                call(rng)
            )),
            2 => s.push_str(&format!("{}\n", call(rng))),
            _ => s.push_str(&format!("r[#r + 1] = {}\n", call(rng))),
        }
    }
    let ret = match rng.below(12) {
        0 => "return #r".to_string(),
        1 => format!("return {}", call(rng)),
        2 => "return {ok = 'done'}".to_string(),
        3 => "return redis.error_reply('CUSTOM failure')".to_string(),
        4 => "error('script failed')".to_string(),
        5 => "return cjson.encode(r)".to_string(),
        6 => "return {r, #r, 'x', 2.5, true, false}".to_string(),
        7 => "return KEYS".to_string(),
        _ => "return r".to_string(),
    };
    s.push_str(&ret);
    s
}

#[test]
fn random_scripts_match_redis() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&[]);
    let (mut a, mut b) = (Raw::connect(redis.port), cairn.raw());
    let seeds = env_count("CAIRN_SCRIPT_SEEDS", 6);
    let steps = 150;
    for seed in 1..=seeds {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        run_on_both(&mut a, &mut b, &["FLUSHALL"], "flush");
        let mut loaded: Vec<(String, String)> = Vec::new();
        for step in 0..steps {
            let what = format!("seed {seed} step {step}");
            let keys = ["k1", "k2", "k3", "k4"];
            let vals = ["1", "7", "-2", "abc", "3.5", ""];
            let mut args: Vec<String> = Vec::new();
            let body = script(&mut rng);
            // Half the time by SHA (after SCRIPT LOAD), else EVAL.
            let by_sha = rng.below(2) == 0;
            if by_sha {
                let sha = match loaded.iter().find(|(b, _)| *b == body) {
                    Some((_, s)) => s.clone(),
                    None => {
                        let ra = a.cmds(&["SCRIPT", "LOAD", &body]);
                        assert_eq!(ra, b.cmds(&["SCRIPT", "LOAD", &body]), "{what} load");
                        let Resp::Bulk(Some(s)) = ra else {
                            panic!("{what}: SCRIPT LOAD gave {ra:?}")
                        };
                        let s = String::from_utf8(s).unwrap();
                        loaded.push((body.clone(), s.clone()));
                        s
                    }
                };
                args.push("EVALSHA".into());
                args.push(sha);
            } else {
                args.push(if rng.below(8) == 0 { "EVAL_RO" } else { "EVAL" }.into());
                args.push(body.clone());
            }
            args.push("3".into());
            for _ in 0..3 {
                args.push(keys[rng.below(keys.len())].into());
            }
            for _ in 0..3 {
                args.push(vals[rng.below(vals.len())].into());
            }
            let refs: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
            run_on_both(&mut a, &mut b, &refs, &format!("{what}\n{body}\n"));
        }
        // The final values, byte for byte (DUMP), except sets, whose DUMP
        // order is the hash table's: their sorted members instead.
        for k in ["k1", "k2", "k3", "k4"] {
            let what = format!("seed {seed} end {k}");
            let t = a.cmds(&["TYPE", k]);
            assert_eq!(t, b.cmds(&["TYPE", k]), "{what}");
            if t == simple("set") {
                let members = |c: &mut Raw| match c.cmds(&["SMEMBERS", k]) {
                    Resp::Array(Some(mut v)) => {
                        v.sort_by_key(|m| format!("{m:?}"));
                        v
                    }
                    other => panic!("{what}: {other:?}"),
                };
                assert_eq!(members(&mut a), members(&mut b), "{what}");
            } else {
                run_on_both(&mut a, &mut b, &["DUMP", k], &what);
            }
        }
    }
}

/// A script's writes come back after kill -9 and restart, and a script's
/// effects are one log record: cutting the log's tail anywhere never
/// leaves half of a script applied.
#[test]
fn script_effects_are_durable_and_atomic() {
    let mut s = Server::start(&["--save", ""]);
    let mut r = s.raw();
    let body = "redis.call('incr', KEYS[1]); redis.call('set', 'filler', ARGV[1]); \
                return redis.call('incr', KEYS[2])";
    let filler = "x".repeat(40);
    for i in 1..=20 {
        assert_eq!(
            r.cmds(&["EVAL", body, "2", "a", "b", &filler]),
            Resp::Int(i),
        );
    }
    s.kill9();
    s = s.restart(&["--save", ""]);
    let mut r = s.raw();
    assert_eq!(r.cmds(&["GET", "a"]), bulk("20"));
    assert_eq!(r.cmds(&["GET", "b"]), bulk("20"));
    s.kill9();
    let (_s, seen) = at_log_cuts(s, &["--save", ""], |r, cut| {
        let a = r.cmds(&["GET", "a"]);
        assert_eq!(a, r.cmds(&["GET", "b"]), "cut {cut}: a script was split");
        format!("{a:?}")
    });
    assert!(seen.len() >= 3, "{seen:?}");
}

#[test]
fn scripts_in_transactions_and_under_watch() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    let mut other = s.raw();
    // Queued inside MULTI, run by EXEC.
    assert_eq!(r.cmds(&["MULTI"]), simple("OK"));
    assert_eq!(
        r.cmds(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"]),
        simple("QUEUED")
    );
    assert_eq!(r.cmds(&["EXEC"]), Resp::Array(Some(vec![Resp::Int(1)])));
    // A script from another client touches a watched key: EXEC aborts.
    assert_eq!(r.cmds(&["WATCH", "n"]), simple("OK"));
    other.cmds(&["EVAL", "return redis.call('incr', KEYS[1])", "1", "n"]);
    assert_eq!(r.cmds(&["MULTI"]), simple("OK"));
    r.cmds(&["GET", "n"]);
    assert_eq!(r.cmds(&["EXEC"]), Resp::Array(None));
    // Only the keys a script's commands write count as touched, not its
    // other arguments.
    assert_eq!(r.cmds(&["WATCH", "argv-value"]), simple("OK"));
    other.cmds(&[
        "EVAL",
        "return redis.call('incr', KEYS[1])",
        "1",
        "n",
        "argv-value",
    ]);
    assert_eq!(r.cmds(&["MULTI"]), simple("OK"));
    r.cmds(&["GET", "n"]);
    assert_eq!(r.cmds(&["EXEC"]), Resp::Array(Some(vec![bulk("3")])));
    // A blocking command inside a script is refused (Redis: noscript).
    assert!(matches!(
        r.cmds(&["EVAL", "return redis.call('blpop', 'q', 0)", "0"]),
        Resp::Error(_)
    ));
    // The script cache: EVALSHA after EVAL, gone after SCRIPT FLUSH.
    let sha = "e0e1f9fabfc9d4800c877a703b823ac0578ff8db";
    assert_eq!(r.cmds(&["EVAL", "return 1", "0"]), Resp::Int(1));
    assert_eq!(r.cmds(&["EVALSHA", sha, "0"]), Resp::Int(1));
    assert_eq!(r.cmds(&["SCRIPT", "FLUSH"]), simple("OK"));
    assert_eq!(
        r.cmds(&["EVALSHA", sha, "0"]),
        err("NOSCRIPT No matching script. Please use EVAL.")
    );
    // The client's database and reply mode are its own again after.
    r.cmds(&["EVAL", "redis.call('select', 3)", "0"]);
    assert_eq!(r.cmds(&["SET", "where", "db0"]), simple("OK"));
    r.cmds(&["SELECT", "3"]);
    assert_eq!(r.cmds(&["GET", "where"]), Resp::Bulk(None));
}

/// A script that loops without writing is stopped at
/// `busy-reply-threshold`, even one that catches errors with pcall in a
/// loop; the server then answers, and the next script runs in full.
#[test]
fn a_long_script_that_has_not_written_is_stopped() {
    let s = Server::start(&["--busy-reply-threshold", "200"]);
    let mut r = s.raw();
    let stopped = |reply: Resp| match reply {
        Resp::Error(e) => {
            let e = String::from_utf8(e).unwrap();
            assert!(
                e.starts_with("ERR Script ran past busy-reply-threshold without writing"),
                "{e}"
            );
        }
        other => panic!("not stopped: {other:?}"),
    };
    stopped(r.cmds(&["EVAL", "while true do end", "0"]));
    stopped(r.cmds(&[
        "EVAL",
        "while true do pcall(function() while true do end end) end",
        "0",
    ]));
    assert_eq!(r.cmds(&["PING"]), simple("PONG"));
    // Well under the limit: runs to its end (the hook is back to its
    // cheap form after a stop).
    assert_eq!(
        r.cmds(&[
            "EVAL",
            "local n = 0 for i = 1, 300000 do n = n + 1 end return n",
            "0"
        ]),
        Resp::Int(300_000)
    );
    assert_eq!(
        r.info("memory", "number_of_cached_scripts").as_deref(),
        Some("3")
    );
    assert_eq!(
        r.cmds(&["SCRIPT", "KILL"]),
        err("NOTBUSY No scripts in execution right now.")
    );
}

/// MONITOR shows the EVAL, then its commands as run by "lua", as Redis
/// 7.0 does.
#[test]
fn monitor_shows_the_script_then_its_commands() {
    let s = Server::start(&[]);
    let mut mon = s.raw();
    assert_eq!(mon.cmds(&["MONITOR"]), simple("OK"));
    let mut r = s.raw();
    r.cmds(&["EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "mk"]);
    let line = |x: Resp| match x {
        Resp::Simple(b) => String::from_utf8(b).unwrap(),
        other => panic!("{other:?}"),
    };
    let first = line(mon.read());
    assert!(
        first.ends_with(r#"] "EVAL" "return redis.call('set', KEYS[1], 'v')" "1" "mk""#),
        "{first}"
    );
    let second = line(mon.read());
    assert!(second.ends_with(r#" [0 lua] "set" "mk" "v""#), "{second}");
}

/// A random JSON document: nested arrays and objects of nulls, booleans,
/// integers and doubles over many magnitudes, and strings with escapes
/// and UTF-8.
fn json(r: &mut Rng, depth: usize) -> String {
    let kinds = if depth < 3 { 9 } else { 6 };
    match r.below(kinds) {
        0 => "null".into(),
        1 => ["true", "false"][r.below(2)].into(),
        2 => [
            "0",
            "-1",
            "7",
            "123456789012345",
            "9007199254740992",
            "0.5",
            "-2.25",
            "1e-07",
            "1e+300",
            "3.14159265358979",
        ][r.below(10)]
        .into(),
        3 => {
            let chars = [
                "a", "b", "\\\"", "\\\\", "\\/", "\\n", "\\t", "é", "€", " ", "\\u00e9",
            ];
            let s: String = (0..r.below(6))
                .map(|_| chars[r.below(chars.len())])
                .collect();
            format!("\"{s}\"")
        }
        4 => r.below(100).to_string(),
        5 => format!("{}e{}", r.below(100000), r.below(40) as i64 - 20),
        6 | 7 => {
            let items: Vec<String> = (0..r.below(5)).map(|_| json(r, depth + 1)).collect();
            format!("[{}]", items.join(","))
        }
        _ => {
            let items: Vec<String> = (0..r.below(5))
                .map(|_| {
                    let k: String = (0..1 + r.below(3))
                        .map(|_| ["a", "b", "c", "x", "y", "1"][r.below(6)])
                        .collect();
                    format!("\"{k}\":{}", json(r, depth + 1))
                })
                .collect();
            format!("{{{}}}", items.join(","))
        }
    }
}

/// cjson against Redis's lua-cjson on random documents: decode then
/// encode (number format, escapes, and object key order, which both take
/// from Lua 5.1's table order), decode to a reply, and array lengths.
#[test]
fn cjson_matches_redis_on_random_documents() {
    let Some(redis) = RedisServer::start() else {
        return;
    };
    let cairn = Server::start(&[]);
    let (mut a, mut b) = (Raw::connect(redis.port), cairn.raw());
    let scripts = [
        "return cjson.encode(cjson.decode(ARGV[1]))",
        "return cjson.decode(ARGV[1])",
        "local t = cjson.decode(ARGV[1]) return type(t) == 'table' and #t or tostring(t)",
    ];
    let mut r = Rng(0x5EED_C750);
    for i in 0..env_count("CAIRN_CJSON_DOCS", 1500) {
        let doc = json(&mut r, 0);
        let script = scripts[r.below(scripts.len())];
        run_on_both(
            &mut a,
            &mut b,
            &["EVAL", script, "0", &doc],
            &format!("doc {i}"),
        );
    }
}
