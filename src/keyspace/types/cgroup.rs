//! Stream consumer groups: Redis 7.0's `streamCG` (XGROUP, XREADGROUP,
//! XACK, XPENDING, XCLAIM, XAUTOCLAIM).
//!
//! A group remembers the last ID it delivered, how many entries it has
//! read (`entries_read`, for its lag), its pending entries list (PEL: each
//! delivered, not yet acknowledged entry with its owner, last delivery
//! time and delivery count) and its consumers.
//!
//! Invariants: an ID is in `consumers[c].pel` iff it is in `pel` with
//! `consumer == c`; every pending entry's consumer exists. Groups,
//! consumers and PELs iterate in Redis's order (byte order of names, ID
//! order).

use super::chunkmap::ChunkMap;
use super::stream::{Stream, StreamId};
use std::collections::BTreeMap;
use std::sync::Arc;

/// A consumer's name, shared by the consumer table and every pending
/// entry it owns (one allocation per consumer, not per entry).
pub type Name = Arc<[u8]>;

/// `entries_read` when the group's read counter is unknown
/// (`SCG_INVALID_ENTRIES_READ`).
pub const INVALID_ENTRIES_READ: i64 = -1;

/// A pending entry (`streamNACK`).
#[derive(Clone, Debug, PartialEq)]
pub struct Nack {
    /// Unix ms of the last delivery.
    pub delivery_time: i64,
    pub delivery_count: u64,
    pub consumer: Name,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Consumer {
    /// Unix ms of the consumer's last interaction (XINFO's seen-time).
    pub seen_time: i64,
    pub pel: ChunkMap<StreamId, ()>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: ChunkMap<StreamId, Nack>,
    pub consumers: BTreeMap<Name, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Group {
        Group {
            last_id,
            entries_read,
            pel: ChunkMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// The consumer `name`, created (seen now) if missing; true if created.
    pub fn consumer_or_create(&mut self, name: &[u8], now: i64) -> (&mut Consumer, bool) {
        let created = !self.consumers.contains_key(name);
        let c = self
            .consumers
            .entry(name.into())
            .or_insert_with(|| Consumer {
                seen_time: now,
                pel: ChunkMap::new(),
            });
        (c, created)
    }

    /// The shared name of consumer `name` (which exists).
    pub fn name_of(&self, name: &[u8]) -> Name {
        self.consumers
            .get_key_value(name)
            .expect("the consumer exists")
            .0
            .clone()
    }

    /// Give pending entry `id` to `consumer` (which exists) as delivered
    /// at `time` for the first time: a new entry, or one taken from its
    /// owner (`streamReplyWithRange` with a group).
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], time: i64) {
        let nack = Nack {
            delivery_time: time,
            delivery_count: 1,
            consumer: self.name_of(consumer),
        };
        if let Some(old) = self.pel.insert(id, nack)
            && let Some(c) = self.consumers.get_mut(&old.consumer)
        {
            c.pel.remove(&id);
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id, ());
        }
    }

    /// Move pending entry `id` (which exists) to `consumer` (which exists).
    pub fn reassign(&mut self, id: StreamId, consumer: &[u8]) {
        let name = self.name_of(consumer);
        let nack = self.pel.get_mut(&id).expect("pending");
        if *nack.consumer == *consumer {
            return;
        }
        let old = std::mem::replace(&mut nack.consumer, name);
        if let Some(c) = self.consumers.get_mut(&old) {
            c.pel.remove(&id);
        }
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id, ());
        }
    }

    /// Acknowledge (or drop) pending entry `id`; false if not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Delete a consumer and its pending entries; the number it had, or
    /// None if there is no such consumer.
    pub fn delete_consumer(&mut self, name: &[u8]) -> Option<usize> {
        let c = self.consumers.remove(name)?;
        for id in c.pel.keys() {
            self.pel.remove(id);
        }
        Some(c.pel.len())
    }

    /// Heap bytes, roughly (MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        self.pel.heap_size()
            + self
                .consumers
                .iter()
                .map(|(k, c)| k.len() + std::mem::size_of::<Consumer>() + c.pel.heap_size())
                .sum::<usize>()
    }
}

/// What a group's lag and read counter depend on in its stream.
///
/// Arithmetic wraps, as Redis's C does: counters restored from a payload
/// or file (RESTORE, `rdb-import`) can be anything.
#[derive(Clone, Copy, Debug)]
pub struct Meta {
    pub len: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
}

impl Meta {
    pub fn of(x: &Stream) -> Meta {
        Meta {
            len: x.len() as u64,
            last_id: x.last_id,
            first_id: x.first_id,
            max_deleted_id: x.max_deleted_id,
            entries_added: x.entries_added,
        }
    }

    /// A deleted entry lies between `start` and `end` (inclusive; None:
    /// the stream's ends) as far as the stream knows
    /// (`streamRangeHasTombstones`).
    pub fn has_tombstones(&self, start: Option<StreamId>, end: Option<StreamId>) -> bool {
        if self.len == 0 || self.max_deleted_id == StreamId::MIN {
            return false;
        }
        // The latest deletion is before the first entry: trimmed away.
        if self.first_id > self.max_deleted_id {
            return false;
        }
        let start = start.unwrap_or(StreamId::MIN);
        let end = end.unwrap_or(StreamId::MAX);
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// The number of entries added up to `id`, when the stream can tell
    /// (`streamEstimateDistanceFromFirstEverEntry`); INVALID_ENTRIES_READ
    /// when it cannot.
    pub fn distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.len == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id == StreamId::MIN || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return self.entries_added.wrapping_sub(self.len) as i64;
            }
            if id == self.first_id {
                return self.entries_added.wrapping_sub(self.len).wrapping_add(1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// The group's lag, None when it cannot be known (Redis 7.0's
    /// `streamReplyWithCGLag`; later versions added cases).
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ && !self.has_tombstones(Some(g.last_id), None) {
            return Some((self.entries_added as i64).wrapping_sub(g.entries_read));
        }
        match self.distance(g.last_id) {
            INVALID_ENTRIES_READ => None,
            read => Some((self.entries_added as i64).wrapping_sub(read)),
        }
    }

    /// `g` delivers entry `id`, beyond its last ID: move the last ID and
    /// keep the read counter (as Redis 7.0's `streamReplyWithRange` does).
    pub fn advance(&self, g: &mut Group, id: StreamId) {
        debug_assert!(id > g.last_id);
        if g.entries_read != INVALID_ENTRIES_READ && !self.has_tombstones(Some(id), None) {
            g.entries_read = g.entries_read.wrapping_add(1);
        } else if self.entries_added > 0 {
            g.entries_read = self.distance(id);
        }
        g.last_id = id;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64) -> StreamId {
        StreamId::new(ms, 0)
    }

    #[test]
    fn consumers_and_the_group_pel_stay_in_step() {
        let mut g = Group::new(StreamId::MIN, 0);
        g.consumer_or_create(b"a", 1);
        g.consumer_or_create(b"b", 1);
        g.deliver(id(1), b"a", 10);
        g.deliver(id(2), b"a", 10);
        // Delivered again to another consumer: moves, count back to 1.
        g.pel.get_mut(&id(1)).unwrap().delivery_count = 5;
        g.deliver(id(1), b"b", 20);
        assert_eq!(g.pel[&id(1)].delivery_count, 1);
        let pel = |g: &Group, c: &[u8]| g.consumers[c].pel.keys().copied().collect::<Vec<_>>();
        assert_eq!(pel(&g, b"a"), [id(2)]);
        assert_eq!(pel(&g, b"b"), [id(1)]);
        g.reassign(id(2), b"b");
        assert!(g.consumers[&b"a"[..]].pel.is_empty());
        assert!(g.ack(id(2)));
        assert!(!g.ack(id(2)));
        assert_eq!(g.delete_consumer(b"b"), Some(1));
        assert!(g.pel.is_empty());
        assert_eq!(g.delete_consumer(b"b"), None);
    }

    #[test]
    fn lag_follows_redis_rules() {
        let mut m = Meta {
            len: 5,
            last_id: id(5),
            first_id: id(1),
            max_deleted_id: StreamId::MIN,
            entries_added: 5,
        };
        let mut g = Group::new(StreamId::MIN, INVALID_ENTRIES_READ);
        // Before the first entry, no deletions: the whole length.
        assert_eq!(m.lag(&g), Some(5));
        assert_eq!(m.distance(StreamId::MIN), 0);
        m.advance(&mut g, id(1));
        assert_eq!((g.entries_read, m.lag(&g)), (1, Some(4)));
        m.advance(&mut g, id(2));
        assert_eq!((g.entries_read, m.lag(&g)), (2, Some(3)));
        // A deletion ahead of the group makes the counter unknowable.
        m.max_deleted_id = id(4);
        m.len = 4;
        let mut h = Group::new(id(3), INVALID_ENTRIES_READ);
        assert_eq!(m.lag(&h), None);
        // A counter is kept past a deletion behind the group (7.0 rule).
        let k = Group::new(id(5), 3);
        assert_eq!(m.lag(&k), Some(2));
        m.advance(&mut h, id(5));
        assert_eq!((h.entries_read, m.lag(&h)), (5, Some(0)));
        assert_eq!(m.distance(id(9)), INVALID_ENTRIES_READ);
    }
}
