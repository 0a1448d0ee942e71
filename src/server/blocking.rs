//! Clients blocked on keys (BLPOP, BLMOVE, BZPOPMIN, ...).
//!
//! How a blocking command runs:
//!
//! 1. Its handler tries to serve itself. If every key is empty and the
//!    client may block, it sets `Client::block` and writes no reply.
//! 2. `exec` registers the client here: in the FIFO of every key it waits
//!    on, with its own copy of the command. The connection task then stops
//!    executing that client's input and waits on the client's `BlockSlot`
//!    (or its deadline, or the socket closing).
//! 3. Every write command whose arguments name a waited-on key marks that
//!    key ready. Right after that command (still under the state lock, so
//!    no other command can run in between and take the element), `serve`
//!    re-executes the blocked commands of each ready key, oldest first, on
//!    behalf of their clients. A command that is served leaves its reply
//!    and the LSN of its effect in the slot and wakes its task; the first
//!    one that would block again means the key is drained, and the rest of
//!    that key's queue keeps waiting in order.
//!
//! Invariants:
//! * A client is in `clients` iff it is in the queue of each of its keys.
//! * A served command was executed exactly once, under the lock, and its
//!   effect (the pop it did, never the blocking command itself) is in the
//!   journal before the reply can be released.
//! * The served client's reply waits for its effect's LSN to be durable,
//!   like any other write's reply.

use super::exec::execute_at;
use super::state::{Client, FastMap, State};
use crate::protocol::Reply;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::sync::Notify;

/// What a handler asks for when it cannot serve the client now.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    /// Keys to wait on, in the current database.
    pub keys: Vec<Vec<u8>>,
    /// Absolute deadline in Unix ms; 0 = wait forever.
    pub deadline: u64,
    /// The command to run again when a key is touched, if not the one
    /// that blocked (XREAD with its "$" IDs resolved).
    pub argv: Option<Vec<Vec<u8>>>,
    /// The reply at the deadline, if not a null array (WAIT's `:0`).
    pub timeout_reply: Option<Vec<u8>>,
}

impl BlockRequest {
    /// Wait on `keys` (none: only the deadline or CLIENT UNBLOCK ends it)
    /// until `deadline` (Unix ms, 0 = forever), to run the same command
    /// again and answer a null array at the deadline.
    pub fn new(keys: &[&[u8]], deadline: u64) -> BlockRequest {
        BlockRequest {
            keys: keys.iter().map(|k| k.to_vec()).collect(),
            deadline,
            argv: None,
            timeout_reply: None,
        }
    }
}

/// How the wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// The command ran: its reply, and the LSN its effect must reach on
    /// disk before the reply is released (0: nothing to wait for).
    Served { reply: Vec<u8>, lsn: u64 },
    /// CLIENT UNBLOCK, or the deadline passed: send this reply.
    Unblocked { reply: Vec<u8> },
}

/// Where a blocked connection task waits for its outcome.
#[derive(Debug, Default)]
pub struct BlockSlot {
    pub notify: Notify,
    pub outcome: Mutex<Option<Outcome>>,
}

/// A borrowed (db, key) for looking up `waiters` without allocating: it
/// hashes exactly as the owned `(usize, Vec<u8>)` key does (a tuple hashes
/// its fields in order; a `Vec<u8>` hashes as its slice).
#[derive(Hash)]
struct KeyRef<'a>(usize, &'a [u8]);

impl hashbrown::Equivalent<(usize, Vec<u8>)> for KeyRef<'_> {
    fn equivalent(&self, k: &(usize, Vec<u8>)) -> bool {
        self.0 == k.0 && self.1 == k.1.as_slice()
    }
}

/// A blocked client's registration.
#[derive(Debug)]
struct Blocked {
    db: usize,
    keys: Vec<Vec<u8>>,
    argv: Vec<Vec<u8>>,
    resp3: bool,
    timeout_reply: Option<Vec<u8>>,
    slot: Arc<BlockSlot>,
}

/// The blocked-client registry (part of `State`).
#[derive(Debug, Default)]
pub struct Blocking {
    /// (db, key) → ids of the clients waiting on it, oldest first.
    waiters: FastMap<(usize, Vec<u8>), VecDeque<u64>>,
    clients: FastMap<u64, Blocked>,
    /// Keys that may have become servable, in the order they were touched.
    ready: VecDeque<(usize, Vec<u8>)>,
    serving: bool,
}

impl Blocking {
    /// Clients currently blocked (INFO `blocked_clients`).
    pub fn len(&self) -> usize {
        self.clients.len()
    }

    pub fn is_empty(&self) -> bool {
        self.clients.is_empty()
    }

    /// Register a client that asked to block. Returns the slot its task
    /// waits on.
    pub fn register(
        &mut self,
        id: u64,
        db: usize,
        req: BlockRequest,
        argv: &[&[u8]],
        resp3: bool,
    ) -> Arc<BlockSlot> {
        self.remove(id);
        let slot = Arc::new(BlockSlot::default());
        for k in &req.keys {
            let q = self.waiters.entry((db, k.clone())).or_default();
            if !q.contains(&id) {
                q.push_back(id);
            }
        }
        self.clients.insert(
            id,
            Blocked {
                db,
                keys: req.keys,
                argv: req
                    .argv
                    .unwrap_or_else(|| argv.iter().map(|a| a.to_vec()).collect()),
                resp3,
                timeout_reply: req.timeout_reply,
                slot: slot.clone(),
            },
        );
        slot
    }

    /// Forget a client (served, timed out, unblocked or disconnected).
    /// Returns its registration if it was blocked.
    fn take(&mut self, id: u64) -> Option<Blocked> {
        let b = self.clients.remove(&id)?;
        for k in &b.keys {
            let key = (b.db, k.clone());
            if let Some(q) = self.waiters.get_mut(&key) {
                q.retain(|&c| c != id);
                if q.is_empty() {
                    self.waiters.remove(&key);
                }
            }
        }
        Some(b)
    }

    /// Forget a client; true if it was blocked.
    pub fn remove(&mut self, id: u64) -> bool {
        self.take(id).is_some()
    }

    /// End a client's wait without running its command (deadline, CLIENT
    /// UNBLOCK): `error` replaces the null reply when given. Returns false if
    /// the client was not blocked (it may have been served meanwhile).
    pub fn unblock(&mut self, id: u64, error: Option<&str>) -> bool {
        let Some(b) = self.take(id) else {
            return false;
        };
        let mut out = Reply::new(b.resp3);
        match (error, b.timeout_reply) {
            (Some(e), _) => out.error(e),
            (None, Some(r)) => out.buf.extend_from_slice(&r),
            (None, None) => out.null_array(),
        }
        *b.slot.outcome.lock() = Some(Outcome::Unblocked { reply: out.buf });
        b.slot.notify.notify_one();
        true
    }

    /// Note that a write command touched these keys (its arguments) in
    /// `db`. Cheap when nobody is blocked.
    #[inline]
    pub fn touched(&mut self, db: usize, args: &[&[u8]]) {
        if self.waiters.is_empty() {
            return;
        }
        for a in args {
            if self.waiters.contains_key(&KeyRef(db, a))
                && !self.ready.iter().any(|(d, k)| *d == db && k == a)
            {
                self.ready.push_back((db, a.to_vec()));
            }
        }
    }

    /// Keys are waiting to be served (and no serve is running).
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty() && !self.serving
    }
}

/// Serve clients blocked on the keys marked ready, as described in the
/// module docs. Called by `exec` after a write command, with the lock held.
/// Returns whether there was anything to serve.
pub fn serve(st: &mut State, now: u64) -> bool {
    if !st.blocking.has_ready() {
        return false;
    }
    st.blocking.serving = true;
    while let Some(key) = st.blocking.ready.pop_front() {
        while let Some(&id) = st.blocking.waiters.get(&key).and_then(|q| q.front()) {
            let Some(b) = st.blocking.clients.get(&id) else {
                break;
            };
            let argv = b.argv.clone();
            let mut client = Client::detached(id);
            client.db = b.db;
            client.resp3 = b.resp3;
            client.serving = Some(key.1.clone());
            client.no_block = false;
            let mut out = Reply::new(b.resp3);
            // The served command's effects get a record of their own, so
            // its reply can wait for exactly that LSN.
            st.ks.journal.seal();
            let lsn_before = st.ks.journal.last_lsn();
            let refs: Vec<&[u8]> = argv.iter().map(|a| a.as_slice()).collect();
            execute_at(st, &mut client, &mut out, &refs, now);
            st.ks.journal.seal();
            let last = st.ks.journal.last_lsn();
            // An error that changed nothing (a key of another type, MISCONF)
            // leaves the client blocked, as Redis 7.0 does.
            let failed =
                out.buf.first() == Some(&b'-') && last == lsn_before && !client.final_error;
            if client.block.take().is_some() || failed {
                // Drained, or not servable: the rest of the queue keeps
                // waiting, in order.
                break;
            }
            let lsn = if last > lsn_before { last } else { 0 };
            if let Some(b) = st.blocking.take(id) {
                *b.slot.outcome.lock() = Some(Outcome::Served {
                    reply: out.buf,
                    lsn,
                });
                b.slot.notify.notify_one();
            }
        }
    }
    st.blocking.serving = false;
    true
}
