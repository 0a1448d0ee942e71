//! Publish/subscribe: who listens to which channel, and delivery.
//!
//! Three kinds of subscription, as in Redis 7.0: channels (SUBSCRIBE),
//! glob patterns over channel names (PSUBSCRIBE) and shard channels
//! (SSUBSCRIBE; in a server without cluster mode they are a separate
//! namespace with their own PUBLISH, SPUBLISH). The registry lives in
//! `State`, under the one lock; the commands are in `commands/pubsub.rs`.
//!
//! Delivery: a message is encoded once per protocol (RESP2 array, RESP3
//! push) and appended to each subscriber's `PushSink`, a byte buffer its
//! connection task takes from (and writes to the socket). The publisher
//! never waits for a subscriber.
//!
//! Invariants:
//! * A client's `Subs` (its side) and the registry's lists (this side)
//!   name the same subscriptions: both change together, in this module.
//! * A client has a `Sink` here iff it has at least one subscription of
//!   any kind (`Client::pubsub` is `Some`).
//! * Messages reach a subscriber in publish order (one buffer per
//!   subscriber, appended to under the state lock).
//! * A subscriber whose queued messages pass the `pubsub` class's hard
//!   output limit is disconnected, as Redis does, instead of buffering
//!   without bound (its task also counts queued bytes against the limits:
//!   `connection.rs`).
//! * A message a client publishes to itself goes straight into its own
//!   reply buffer, before PUBLISH's reply, as in Redis.

use super::state::{Client, FastMap, KillSwitch};
use crate::protocol::Reply;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use tokio::sync::Notify;

/// The sending side of a connection's out-of-band messages (pub/sub
/// messages, MONITOR lines): a byte buffer shared with the connection's
/// task. A send appends the encoded message and wakes the task only if
/// the buffer was empty, so a burst of messages costs one wake-up and one
/// socket write, not one each (a channel of messages measured 0.41 of
/// Redis's PUBLISH rate to 4 subscribers; `benches/scripts/pubsub_fanout.sh`).
#[derive(Clone, Debug)]
pub struct PushSink {
    shared: Arc<PushBuf>,
}

/// The connection task's side of its `PushSink`.
#[derive(Debug)]
pub struct PushStream {
    shared: Arc<PushBuf>,
}

#[derive(Debug, Default)]
struct PushBuf {
    /// Encoded messages not yet taken by the connection, in send order.
    bytes: parking_lot::Mutex<Vec<u8>>,
    /// `bytes.len()`, readable without the lock.
    queued: AtomicUsize,
    /// Woken when `bytes` stops being empty.
    ready: Notify,
    /// The connection is gone (its `PushStream` was dropped).
    closed: AtomicBool,
}

/// A new sink and the stream it feeds.
pub fn push_channel() -> (PushSink, PushStream) {
    let shared = Arc::new(PushBuf::default());
    (
        PushSink {
            shared: shared.clone(),
        },
        PushStream { shared },
    )
}

impl PushSink {
    /// Queue `msg`; false if the connection is gone.
    pub fn send(&self, msg: &[u8]) -> bool {
        let sh = &*self.shared;
        if sh.closed.load(Ordering::Relaxed) {
            return false;
        }
        let mut b = sh.bytes.lock();
        let was_empty = b.is_empty();
        b.extend_from_slice(msg);
        sh.queued.store(b.len(), Ordering::Relaxed);
        drop(b);
        if was_empty {
            sh.ready.notify_one();
        }
        true
    }

    /// Bytes sent and not yet taken by the connection.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }
}

impl PushStream {
    /// Wait until something is queued (then take it with `drain_into`).
    pub async fn ready(&self) {
        while self.queued() == 0 {
            // A notification sent before this wait is kept as a permit.
            self.shared.ready.notified().await;
        }
    }

    /// Move queued bytes to `out` until it holds `limit` bytes
    /// (`usize::MAX`: all of them). A message may be split between two
    /// calls: the bytes go to the socket in order either way.
    pub fn drain_into(&mut self, out: &mut Vec<u8>, limit: usize) {
        if self.queued() == 0 || out.len() >= limit {
            return;
        }
        let mut b = self.shared.bytes.lock();
        let n = b.len().min(limit - out.len());
        if n == b.len() && out.is_empty() {
            std::mem::swap(out, &mut *b);
        } else {
            out.extend_from_slice(&b[..n]);
            b.drain(..n);
        }
        self.shared.queued.store(b.len(), Ordering::Relaxed);
    }

    /// Bytes queued and not yet taken.
    pub fn queued(&self) -> usize {
        self.shared.queued.load(Ordering::Relaxed)
    }
}

impl Drop for PushStream {
    fn drop(&mut self) {
        self.shared.closed.store(true, Ordering::Relaxed);
        // Free what was queued for a connection that will not write it.
        let mut b = self.shared.bytes.lock();
        *b = Vec::new();
        self.shared.queued.store(0, Ordering::Relaxed);
    }
}

/// The three kinds of subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    /// The reply's first element for a subscribe / unsubscribe.
    pub fn verbs(self) -> (&'static str, &'static str) {
        match self {
            Kind::Channel => ("subscribe", "unsubscribe"),
            Kind::Pattern => ("psubscribe", "punsubscribe"),
            Kind::Shard => ("ssubscribe", "sunsubscribe"),
        }
    }
}

type NameSet = hashbrown::HashSet<Vec<u8>, foldhash::fast::RandomState>;

/// One client's subscriptions (its side of the registry).
#[derive(Debug, Default)]
pub struct Subs {
    pub channels: NameSet,
    pub patterns: NameSet,
    pub shard: NameSet,
}

impl Subs {
    fn of(&self, kind: Kind) -> &NameSet {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn of_mut(&mut self, kind: Kind) -> &mut NameSet {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// The count a (un)subscribe reply carries: channels and patterns
    /// together, shard channels on their own (Redis 7.0).
    pub fn count(&self, kind: Kind) -> usize {
        match kind {
            Kind::Shard => self.shard.len(),
            _ => self.channels.len() + self.patterns.len(),
        }
    }

    fn is_empty(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty() && self.shard.is_empty()
    }
}

/// Where a subscriber's messages go.
struct Sink {
    push: PushSink,
    resp3: bool,
    kill: Arc<KillSwitch>,
}

/// Subscribers of each channel, pattern and shard channel, in
/// subscription order (the order messages are delivered in).
#[derive(Default)]
pub struct PubSub {
    channels: FastMap<Vec<u8>, Vec<u64>>,
    patterns: FastMap<Vec<u8>, Vec<u64>>,
    shard: FastMap<Vec<u8>, Vec<u64>>,
    sinks: FastMap<u64, Sink>,
}

impl PubSub {
    fn map(&self, kind: Kind) -> &FastMap<Vec<u8>, Vec<u64>> {
        match kind {
            Kind::Channel => &self.channels,
            Kind::Pattern => &self.patterns,
            Kind::Shard => &self.shard,
        }
    }

    fn map_mut(&mut self, kind: Kind) -> &mut FastMap<Vec<u8>, Vec<u64>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Subscribe `client` to `name` (nothing changes if it already was).
    pub fn subscribe(&mut self, client: &mut Client, kind: Kind, name: &[u8]) {
        let subs = client.pubsub.get_or_insert_with(Default::default);
        if !subs.of_mut(kind).insert(name.to_vec()) {
            return;
        }
        self.map_mut(kind)
            .entry(name.to_vec())
            .or_default()
            .push(client.id);
        self.sinks.entry(client.id).or_insert_with(|| Sink {
            push: client.push_tx.clone(),
            resp3: client.resp3,
            kill: client.kill.clone(),
        });
    }

    /// Unsubscribe `client` from `name` (nothing changes if it was not
    /// subscribed). A client left with no subscription at all leaves the
    /// subscribed state, and this registry.
    pub fn unsubscribe(&mut self, client: &mut Client, kind: Kind, name: &[u8]) {
        let Some(subs) = client.pubsub.as_mut() else {
            return;
        };
        if !subs.of_mut(kind).remove(name) {
            return;
        }
        let left = !subs.is_empty();
        self.forget(kind, name, client.id);
        if !left {
            client.pubsub = None;
            self.sinks.remove(&client.id);
        }
    }

    /// The names `client` is subscribed to, of one kind (UNSUBSCRIBE with
    /// no arguments unsubscribes from these).
    pub fn names_of(client: &Client, kind: Kind) -> Vec<Vec<u8>> {
        client
            .pubsub
            .as_ref()
            .map(|s| s.of(kind).iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Remove every subscription of a client (RESET, disconnect).
    pub fn drop_client(&mut self, client: &mut Client) {
        let Some(subs) = client.pubsub.take() else {
            return;
        };
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in subs.of(kind) {
                self.forget(kind, name, client.id);
            }
        }
        self.sinks.remove(&client.id);
    }

    fn forget(&mut self, kind: Kind, name: &[u8], id: u64) {
        let map = self.map_mut(kind);
        if let Some(ids) = map.get_mut(name) {
            ids.retain(|&i| i != id);
            if ids.is_empty() {
                map.remove(name);
            }
        }
    }

    /// The client's protocol changed (HELLO): later messages use it.
    pub fn set_resp3(&mut self, client: &Client) {
        if let Some(s) = self.sinks.get_mut(&client.id) {
            s.resp3 = client.resp3;
        }
    }

    /// Deliver `payload` on `channel` (`Kind::Channel`: also to matching
    /// patterns; `Kind::Shard`: shard subscribers only). `me` is the
    /// publishing client, whose own copy goes into `out`. Returns the
    /// number of deliveries (a client subscribed to the channel and to a
    /// matching pattern counts twice, as in Redis). `hard_limit` is the
    /// `pubsub` class's hard output limit (0: none).
    pub fn publish(
        &self,
        kind: Kind,
        channel: &[u8],
        payload: &[u8],
        me: u64,
        out: &mut Reply,
        hard_limit: u64,
    ) -> usize {
        let mut n = 0;
        let verb: &[u8] = if kind == Kind::Shard {
            b"smessage"
        } else {
            b"message"
        };
        if let Some(ids) = self.map(kind).get(channel) {
            let parts = [verb, channel, payload];
            let mut enc = Encoded::new(&parts);
            for &id in ids {
                self.deliver(id, me, out, &mut enc, hard_limit);
                n += 1;
            }
        }
        if kind == Kind::Channel {
            for (pat, ids) in &self.patterns {
                if !crate::util::glob_match(pat, channel, false) {
                    continue;
                }
                let parts: [&[u8]; 4] = [b"pmessage", pat, channel, payload];
                let mut enc = Encoded::new(&parts);
                for &id in ids {
                    self.deliver(id, me, out, &mut enc, hard_limit);
                    n += 1;
                }
            }
        }
        n
    }

    fn deliver(&self, id: u64, me: u64, out: &mut Reply, enc: &mut Encoded, hard_limit: u64) {
        if id == me {
            let msg = enc.get(out.resp3);
            out.buf.extend_from_slice(msg);
            return;
        }
        let Some(sink) = self.sinks.get(&id) else {
            return;
        };
        if sink.kill.is_killed() {
            return;
        }
        let msg = enc.get(sink.resp3);
        if hard_limit > 0 && (sink.push.queued() + msg.len()) as u64 >= hard_limit {
            tracing::warn!(
                "Client id={id} closed for overcoming of output buffer limits (pubsub, queued={}).",
                sink.push.queued()
            );
            sink.kill.kill();
            return;
        }
        sink.push.send(msg);
    }

    /// Active channels (or shard channels) matching `pattern` (all if None).
    pub fn channel_names(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<&[u8]> {
        self.map(kind)
            .keys()
            .filter(|c| pattern.is_none_or(|p| crate::util::glob_match(p, c, false)))
            .map(|c| c.as_slice())
            .collect()
    }

    /// Subscribers of one channel (patterns not counted).
    pub fn numsub(&self, kind: Kind, channel: &[u8]) -> usize {
        self.map(kind).get(channel).map_or(0, |v| v.len())
    }

    /// Distinct channels, patterns and shard channels with subscribers
    /// (INFO stats, PUBSUB NUMPAT).
    pub fn counts(&self) -> (usize, usize, usize) {
        (self.channels.len(), self.patterns.len(), self.shard.len())
    }
}

/// A message encoded lazily, once per protocol.
struct Encoded<'a> {
    parts: &'a [&'a [u8]],
    resp2: Option<Vec<u8>>,
    resp3: Option<Vec<u8>>,
}

impl<'a> Encoded<'a> {
    fn new(parts: &'a [&'a [u8]]) -> Self {
        Encoded {
            parts,
            resp2: None,
            resp3: None,
        }
    }

    fn get(&mut self, resp3: bool) -> &[u8] {
        let parts = self.parts;
        let slot = if resp3 {
            &mut self.resp3
        } else {
            &mut self.resp2
        };
        slot.get_or_insert_with(|| {
            let mut r = Reply::new(resp3);
            r.push(parts.len());
            for p in parts {
                r.bulk(p);
            }
            r.buf
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_buffer_keeps_order_splits_at_the_limit_and_closes() {
        let (sink, mut stream) = push_channel();
        assert!(sink.send(b"abc"));
        assert!(sink.send(b"defgh"));
        assert_eq!(sink.queued(), 8);
        let mut out = b"xx".to_vec();
        // Up to 6 bytes in `out`: a message may be split.
        stream.drain_into(&mut out, 6);
        assert_eq!(out, b"xxabcd");
        assert_eq!(stream.queued(), 4);
        stream.drain_into(&mut out, usize::MAX);
        assert_eq!(out, b"xxabcdefgh");
        assert_eq!(sink.queued(), 0);
        // An empty `out` takes the whole buffer.
        sink.send(b"ij");
        let mut empty = Vec::new();
        stream.drain_into(&mut empty, usize::MAX);
        assert_eq!(empty, b"ij");
        sink.send(b"lost");
        drop(stream);
        assert_eq!(sink.queued(), 0, "a closed connection's queue is freed");
        assert!(!sink.send(b"k"), "sending to a closed connection fails");
    }

    #[test]
    fn ready_waits_for_a_send_made_before_or_during_the_wait() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let (sink, mut stream) = push_channel();
            sink.send(b"early");
            stream.ready().await;
            let mut out = Vec::new();
            stream.drain_into(&mut out, usize::MAX);
            assert_eq!(out, b"early");
            let s2 = sink.clone();
            let t = tokio::spawn(async move {
                tokio::task::yield_now().await;
                s2.send(b"late");
            });
            stream.ready().await;
            stream.drain_into(&mut out, usize::MAX);
            assert_eq!(out, b"earlylate");
            t.await.unwrap();
        });
    }
}
