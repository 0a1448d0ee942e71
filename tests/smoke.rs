mod common;
use common::*;

#[test]
fn ping_set_get_over_raw_and_redis_crate() {
    let s = Server::start(&[]);
    let mut r = s.raw();
    assert_eq!(r.cmds(&["PING"]), simple("PONG"));
    assert_eq!(r.cmds(&["SET", "k", "v"]), simple("OK"));
    assert_eq!(r.cmds(&["GET", "k"]), bulk("v"));
    let mut c = s.client();
    let v: String = redis::cmd("GET").arg("k").query(&mut c).unwrap();
    assert_eq!(v, "v");
}
