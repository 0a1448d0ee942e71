//! Keyspace notifications (`notify-keyspace-events`), as Redis 7.0 sends
//! them: a write command announces each change as an event of a class
//! (`g` generic, `$` string, `l` list, `s` set, `h` hash, `z` sorted set,
//! `x` expired), published on `__keyspace@<db>__:<key>` (message: the
//! event name; class letter `K`) and on `__keyevent@<db>__:<event>`
//! (message: the key; `E`).
//!
//! Handlers call `Ctx::notify` where Redis calls `notifyKeyspaceEvent`,
//! with the same names, after the change and before their reply.
//!
//! The keyspace raises three kinds itself, queued in `Keyspace::events`:
//! `expired` (lazy expiry), `new` (class `n`: a key added to a database,
//! where Redis's `dbAdd` raises it) and `keymiss` (class `m`: a read
//! lookup of a missing key). The queue is published before the next event
//! and after every command, so each keeps its place before the events of
//! the command that raised it. The active expiry cycle publishes its own.
//! `e` (evicted), `t` (stream) and `d` (module) are accepted and never
//! fire: Cairn has no eviction, streams or modules.

use super::pubsub::Kind;
use super::state::State;
use crate::protocol::Reply;

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
/// `A`: every class but `m` and `n`.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// Parse a `notify-keyspace-events` value (Redis's letters).
pub fn parse_flags(s: &str) -> Result<u32, String> {
    let mut f = 0;
    for c in s.chars() {
        f |= match c {
            'A' => ALL,
            'g' => GENERIC,
            '$' => STRING,
            'l' => LIST,
            's' => SET,
            'h' => HASH,
            'z' => ZSET,
            'x' => EXPIRED,
            'e' => EVICTED,
            'K' => KEYSPACE,
            'E' => KEYEVENT,
            't' => STREAM,
            'm' => KEY_MISS,
            'd' => MODULE,
            'n' => NEW,
            _ => return Err("Invalid event class character. Use 'Ag$lshzxeKEtmdn'.".into()),
        };
    }
    Ok(f)
}

/// Redis's `keyspaceEventsFlagsToString` (CONFIG GET's form).
pub fn flags_to_string(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Publish one event (the caller checked that its class is enabled; see
/// `Ctx::notify`). `me` and `out` are the client running the command, who
/// gets its own copy in its reply buffer if it listens.
pub fn emit(st: &mut State, event: &str, key: &[u8], db: usize, me: u64, out: &mut Reply) {
    // Replaying the log at start-up: nobody is connected yet.
    if st.replaying {
        return;
    }
    // The keyspace's own events came first.
    flush_keyspace_events(st, me, out);
    publish(st, event, key, db, me, out);
}

fn publish(st: &mut State, event: &str, key: &[u8], db: usize, me: u64, out: &mut Reply) {
    let flags = st.config.s.notify_flags;
    let limit = st.config.s.obuf_pubsub.hard;
    if flags & KEYSPACE != 0 {
        let mut chan = format!("__keyspace@{db}__:").into_bytes();
        chan.extend_from_slice(key);
        st.pubsub
            .publish(Kind::Channel, &chan, event.as_bytes(), me, out, limit);
    }
    if flags & KEYEVENT != 0 {
        let chan = format!("__keyevent@{db}__:{event}").into_bytes();
        st.pubsub.publish(Kind::Channel, &chan, key, me, out, limit);
    }
}

/// Publish the events the keyspace queued (`Keyspace::events`), in order.
pub fn flush_keyspace_events(st: &mut State, me: u64, out: &mut Reply) {
    if st.ks.events.is_empty() {
        return;
    }
    let events = std::mem::take(&mut st.ks.events);
    let flags = st.config.s.notify_flags;
    for (ev, db, key) in &events {
        use crate::keyspace::KeyEvent;
        let (class, name) = match ev {
            KeyEvent::Expired => (EXPIRED, "expired"),
            KeyEvent::New => (NEW, "new"),
            KeyEvent::KeyMiss => (KEY_MISS, "keymiss"),
        };
        if flags & class != 0 {
            publish(st, name, key, *db, me, out);
        }
    }
}

/// Turn the keyspace's own events on or off from `notify-keyspace-events`.
pub fn sync_keyspace_flags(ks: &mut crate::keyspace::Keyspace, flags: u32) {
    ks.notify_expired = flags & EXPIRED != 0;
    ks.notify_new = flags & NEW != 0;
    ks.notify_miss = flags & KEY_MISS != 0;
}

/// An `expired` event for a key the active expiry cycle removed. No
/// client runs it (client ids start at 1), so nothing is written to the
/// unallocated reply it passes.
pub fn expired_by_cycle(st: &mut State, db: usize, key: &[u8]) {
    if st.config.s.notify_flags & EXPIRED != 0 {
        publish(st, "expired", key, db, 0, &mut Reply::default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_print_as_redis_prints_them() {
        for (set, get) in [
            ("Ex", "xE"),
            ("KA", "AK"),
            ("g", "g"),
            ("KEA", "AKE"),
            ("", ""),
            ("$lsh", "$lsh"),
            ("xxE", "xE"),
            ("KEg$lshzxetd", "AKE"),
        ] {
            assert_eq!(flags_to_string(parse_flags(set).unwrap()), get, "{set}");
        }
        assert!(
            parse_flags("KEq")
                .unwrap_err()
                .starts_with("Invalid event class")
        );
        // Redis's form drops `n` next to `A` (its flags keep it).
        assert_eq!(flags_to_string(parse_flags("KEAnm").unwrap()), "AKEm");
        assert_eq!(flags_to_string(parse_flags("Kgn").unwrap()), "gnK");
    }
}
