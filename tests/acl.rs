//! ACL against redis-server: Cairn has one user, `default`, allowed
//! everything, its password `requirepass`. The reading subcommands must
//! answer as Redis's for that user, in RESP2 and RESP3; ACL CAT lists, per
//! category, the commands Cairn serves that Redis files there.

mod common;
use common::*;
use std::collections::BTreeSet;

const CASES: &[&[&str]] = &[
    &["ACL", "WHOAMI"],
    &["ACL", "USERS"],
    &["ACL", "LIST"],
    &["ACL", "CAT"],
    &["ACL", "CAT", "foo"],
    &["ACL", "CAT", "stream", "x"],
    &["ACL", "GETUSER", "default"],
    &["ACL", "GETUSER", "nobody"],
    &["ACL", "GENPASS", "0"],
    &["ACL", "GENPASS", "4097"],
    &["ACL", "GENPASS", "x"],
    &["ACL", "DRYRUN", "nobody", "get", "x"],
    &["ACL", "DRYRUN", "default", "nocmd"],
    &["ACL", "DRYRUN", "default", "get"],
    &["ACL", "DRYRUN", "default", "get", "x"],
    &["ACL", "LOG"],
    &["ACL", "LOG", "RESET"],
    &["ACL", "LOG", "5"],
    &["ACL", "LOG", "x"],
    &["ACL", "DELUSER", "default"],
    &["ACL", "SAVE"],
    &["ACL", "LOAD"],
    &["ACL"],
    &["ACL", "foo"],
    &["ACL", "HELP"],
];

#[test]
fn acl_answers_as_redis_for_the_default_user() {
    let Some(mut d) = Duo::start() else { return };
    for resp in ["2", "3"] {
        d.hello(resp);
        for args in CASES {
            assert_eq!(
                d.cairn.cmds(args),
                d.redis.cmds(args),
                "RESP{resp} {args:?}"
            );
        }
        // With a password: its SHA-256 in LIST and GETUSER.
        for args in [
            &["CONFIG", "SET", "requirepass", "sekret"][..],
            &["AUTH", "sekret"],
            &["ACL", "LIST"],
            &["ACL", "GETUSER", "default"],
            &["CONFIG", "SET", "requirepass", ""],
        ] {
            assert_eq!(
                d.cairn.cmds(args),
                d.redis.cmds(args),
                "RESP{resp} {args:?}"
            );
        }
    }
    // GENPASS: random, of the asked length.
    for (bits, len) in [(None, 64), (Some("5"), 2), (Some("4096"), 1024)] {
        let mut args = vec!["ACL", "GENPASS"];
        args.extend(bits);
        match d.cairn.cmds(&args) {
            Resp::Bulk(Some(p)) => {
                assert_eq!(p.len(), len, "{args:?}");
                assert!(p.iter().all(u8::is_ascii_hexdigit));
            }
            other => panic!("{other:?}"),
        }
    }
    let names = |r: Resp| -> BTreeSet<Vec<u8>> {
        match r {
            Resp::Array(Some(v)) => v
                .into_iter()
                .map(|x| match x {
                    Resp::Bulk(Some(b)) => b,
                    other => panic!("{other:?}"),
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    };
    let served = names(d.cairn.cmds(&["COMMAND", "LIST"]));
    // (Cairn lists a few subcommands Redis 7.0 has not: DEBUG's, and
    // CLIENT NO-TOUCH and SETINFO from 7.2.)
    let known = names(d.redis.cmds(&["COMMAND", "LIST"]));
    for cat in names(d.redis.cmds(&["ACL", "CAT"])) {
        let cat = String::from_utf8(cat).unwrap();
        let mine: BTreeSet<Vec<u8>> = names(d.cairn.cmds(&["ACL", "CAT", &cat]))
            .into_iter()
            .filter(|n| known.contains(n))
            .collect();
        let theirs = names(d.redis.cmds(&["ACL", "CAT", &cat]));
        let want: BTreeSet<Vec<u8>> = theirs.into_iter().filter(|n| served.contains(n)).collect();
        assert!(
            mine.is_subset(&want),
            "{cat}: {:?}",
            mine.difference(&want).collect::<Vec<_>>()
        );
        assert_eq!(mine, want, "{cat}");
    }
}
