//! Streams: Redis's append-only log of field-value entries (XADD, XRANGE,
//! XREAD, ...), keyed by IDs `ms-seq` that only grow.
//!
//! Entries are grouped in nodes exactly as Redis 7.0 groups them in the
//! listpacks of its radix tree (`t_stream.c`), because replies depend on
//! the grouping: approximate trimming (`MAXLEN ~`, `MINID ~`) removes
//! whole nodes only, and XADD/XTRIM report what they removed. A node takes
//! new entries until it holds `stream-node-max-entries` (live and deleted)
//! or its listpack would reach `stream-node-max-bytes`; `Node::bytes` is
//! that listpack's size, computed with the listpack encoding's element
//! sizes (`rdb::listpack::element_size`) as entries are added and marked
//! deleted.
//!
//! A node's first entry fixes its *master fields*; an entry with the same
//! field names stores only its values (Redis's SAMEFIELDS flag), here as
//! in Redis's memory.
//!
//! Invariants: nodes are keyed by their master ID (their first entry's
//! ID) in ID order, and their entries are in ID order; `len` counts live
//! entries; a node with no live entries is removed by XDEL but kept by
//! trimming (Redis does the same); `last_id` is at least every ID ever
//! added.

use crate::rdb::listpack as lp;
use std::collections::BTreeMap;

/// A stream entry ID.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// Redis's 128-bit form (`streamEncodeID`): ms then seq, big-endian,
    /// as RDB files key stream nodes and list pending entries.
    pub fn to_raw(self) -> [u8; 16] {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&self.ms.to_be_bytes());
        b[8..].copy_from_slice(&self.seq.to_be_bytes());
        b
    }

    /// `to_raw`'s inverse.
    pub fn from_raw(b: [u8; 16]) -> StreamId {
        let (ms, seq) = b.split_at(8);
        StreamId {
            ms: u64::from_be_bytes(ms.try_into().expect("8 bytes")),
            seq: u64::from_be_bytes(seq.try_into().expect("8 bytes")),
        }
    }

    /// The next ID, or None past the last possible one.
    pub fn next(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID, or None before 0-0.
    pub fn prev(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// "ms-seq".
    pub fn to_bytes(self) -> Vec<u8> {
        format!("{}-{}", self.ms, self.seq).into_bytes()
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

pub type Bytes = Box<[u8]>;

/// An entry as commands see it: its ID and (field, value) pairs.
pub type EntryView<'a> = (StreamId, Vec<(&'a [u8], &'a [u8])>);

/// An entry as a loader hands it over (`Stream::push_loaded_node`).
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: StreamId,
    /// The field names, unless they are the node's master fields.
    pub fields: Option<Vec<Bytes>>,
    pub values: Vec<Bytes>,
    pub deleted: bool,
}

/// An entry read from a node (`Node::items`).
#[derive(Clone, Debug, PartialEq)]
pub struct ItemRef<'a> {
    pub id: StreamId,
    pub deleted: bool,
    /// The field names, unless they are the node's master fields.
    pub fields: Option<Vec<&'a [u8]>>,
    pub values: Vec<&'a [u8]>,
    /// Where its flags byte is in the node's buffer.
    at: usize,
}

/// A run of entries: one listpack of Redis's radix tree, and packed about
/// as tightly (`buf`), so that a stream takes memory on Redis's scale.
///
/// `buf` holds each entry as: flags (u8: bit 0 deleted, bit 1 the node's
/// master fields, as Redis's flags), the ID's ms and seq as varint
/// differences from the node's first ID, then either the values (one per
/// master field) or a varint count and that many field-value pairs;
/// strings are a varint length and the bytes.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    master_fields: Vec<Bytes>,
    buf: Vec<u8>,
    /// The first entry's ID (the node's key) and the last one's.
    first: StreamId,
    last: StreamId,
    live: usize,
    deleted: usize,
    /// The size of Redis's listpack for this node.
    bytes: usize,
}

fn put_varint(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_str(buf: &mut Vec<u8>, s: &[u8]) {
    put_varint(buf, s.len() as u64);
    buf.extend_from_slice(s);
}

/// A reader over a node's own buffer (written by `put_*` only: a short
/// read ends the iteration, it cannot happen).
struct Cursor<'a> {
    b: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            v |= ((byte & 0x7f) as u64) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }

    fn str(&mut self) -> Option<&'a [u8]> {
        let n = self.varint()? as usize;
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
}

impl Node {
    fn new(first: StreamId, master_fields: Vec<Bytes>) -> Node {
        let bytes = LP_OVERHEAD
            + Node::counters_size(0, 0)
            + lp::int_element_size(master_fields.len() as i64)
            + master_fields
                .iter()
                .map(|f| lp::element_size(f))
                .sum::<usize>()
            + lp::int_element_size(0);
        Node {
            master_fields,
            buf: Vec::new(),
            first,
            last: first,
            live: 0,
            deleted: 0,
            bytes,
        }
    }

    pub fn master_fields(&self) -> &[Bytes] {
        &self.master_fields
    }

    /// The first entry's ID (the node's key).
    pub fn first_id(&self) -> StreamId {
        self.first
    }

    pub fn last_id(&self) -> StreamId {
        self.last
    }

    /// Entries, deleted ones included.
    pub fn item_count(&self) -> usize {
        self.live + self.deleted
    }

    /// Append an entry (`fields` None: the master fields), adding what its
    /// listpack form takes to `bytes` (Redis's `streamAppendItem`).
    fn push_item(
        &mut self,
        id: StreamId,
        fields: Option<&[&[u8]]>,
        values: &[&[u8]],
        deleted: bool,
    ) {
        let n = values.len();
        let same = fields.is_none();
        let flags =
            (if deleted { FLAG_DELETED } else { 0 }) | if same { FLAG_SAMEFIELDS } else { 0 };
        self.buf.push(flags);
        put_varint(&mut self.buf, id.ms.wrapping_sub(self.first.ms));
        put_varint(&mut self.buf, id.seq.wrapping_sub(self.first.seq));
        let mut size = lp::int_element_size(flags as i64)
            + lp::int_element_size(id.ms.wrapping_sub(self.first.ms) as i64)
            + lp::int_element_size(id.seq.wrapping_sub(self.first.seq) as i64)
            + values.iter().map(|v| lp::element_size(v)).sum::<usize>();
        let mut lp_count = n + 3;
        match fields {
            None => {
                for v in values {
                    put_str(&mut self.buf, v);
                }
            }
            Some(f) => {
                put_varint(&mut self.buf, n as u64);
                for (f, v) in f.iter().zip(values) {
                    put_str(&mut self.buf, f);
                    put_str(&mut self.buf, v);
                }
                size += lp::int_element_size(n as i64)
                    + f.iter().map(|f| lp::element_size(f)).sum::<usize>();
                lp_count += n + 1;
            }
        }
        size += lp::int_element_size(lp_count as i64);
        self.bytes += size;
        let (live, dead) = if deleted {
            (self.live, self.deleted + 1)
        } else {
            (self.live + 1, self.deleted)
        };
        self.set_counters(live, dead);
        self.last = id;
    }

    /// Every entry, deleted ones included, in ID order.
    pub fn items(&self) -> impl Iterator<Item = ItemRef<'_>> + '_ {
        let mut c = Cursor {
            b: &self.buf,
            pos: 0,
        };
        let nf = self.master_fields.len();
        std::iter::from_fn(move || {
            let at = c.pos;
            let flags = *c.b.get(at)?;
            c.pos += 1;
            let id = StreamId::new(
                self.first.ms.wrapping_add(c.varint()?),
                self.first.seq.wrapping_add(c.varint()?),
            );
            let (fields, values) = if flags & FLAG_SAMEFIELDS != 0 {
                let mut v = Vec::with_capacity(nf);
                for _ in 0..nf {
                    v.push(c.str()?);
                }
                (None, v)
            } else {
                let n = c.varint()? as usize;
                let (mut f, mut v) = (Vec::with_capacity(n), Vec::with_capacity(n));
                for _ in 0..n {
                    f.push(c.str()?);
                    v.push(c.str()?);
                }
                (Some(f), v)
            };
            Some(ItemRef {
                id,
                deleted: flags & FLAG_DELETED != 0,
                fields,
                values,
                at,
            })
        })
    }

    /// Mark the entry whose flags are at `at` deleted.
    fn mark_deleted(&mut self, at: usize) {
        self.buf[at] |= FLAG_DELETED;
        let (live, deleted) = (self.live - 1, self.deleted + 1);
        self.set_counters(live, deleted);
    }
}

/// The listpack header (total bytes, count) and end byte.
const LP_OVERHEAD: usize = 7;

/// Redis's `STREAM_LISTPACK_MAX_SIZE`: the node byte limit's ceiling.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

const FLAG_DELETED: u8 = 1;
const FLAG_SAMEFIELDS: u8 = 2;

impl Node {
    /// The listpack's size for the counters `live` and `deleted`: the
    /// part that changes when they do.
    fn counters_size(live: usize, deleted: usize) -> usize {
        lp::int_element_size(live as i64) + lp::int_element_size(deleted as i64)
    }

    fn set_counters(&mut self, live: usize, deleted: usize) {
        self.bytes = self.bytes - Node::counters_size(self.live, self.deleted)
            + Node::counters_size(live, deleted);
        self.live = live;
        self.deleted = deleted;
    }
}

/// What a trim removes (XTRIM and XADD's trimming).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trim {
    MaxLen(u64),
    MinId(StreamId),
}

/// A stream value.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    len: usize,
    pub last_id: StreamId,
    /// The first live entry's ID, 0-0 when empty (XINFO's
    /// recorded-first-entry-id).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// Consumer groups by name (`cgroup`).
    pub groups: BTreeMap<Box<[u8]>, super::cgroup::Group>,
}

/// Node limits (`stream-node-max-entries`, `stream-node-max-bytes`; 0:
/// no limit).
#[derive(Clone, Copy, Debug)]
pub struct NodeLimits {
    pub max_entries: usize,
    pub max_bytes: usize,
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits {
            max_entries: 100,
            max_bytes: 4096,
        }
    }
}

impl Stream {
    pub fn new() -> Stream {
        Stream::default()
    }

    /// Live entries.
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Nodes (XINFO's radix-tree-keys).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Append an entry with `id` (greater than `last_id`; the caller
    /// checked) and `pairs` (field, value, ...), laid out as Redis's
    /// `streamAppendItem` lays it out.
    pub fn append(&mut self, id: StreamId, pairs: &[&[u8]], limits: NodeLimits) {
        debug_assert!(id > self.last_id || (self.last_id == StreamId::MIN && self.len == 0));
        let fields: Vec<&[u8]> = pairs.chunks(2).map(|p| p[0]).collect();
        let values: Vec<&[u8]> = pairs.chunks(2).map(|p| p[1]).collect();
        let payload: usize = pairs.iter().map(|p| p.len()).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let fits = self.nodes.last_key_value().is_some_and(|(_, n)| {
            n.bytes + payload < max_bytes
                && (limits.max_entries == 0 || n.item_count() < limits.max_entries)
        });
        if !fits {
            // The node before is full: give its buffer's spare room back.
            if let Some(mut last) = self.nodes.last_entry() {
                last.get_mut().buf.shrink_to_fit();
            }
            // A new node: its master entry is this entry's fields.
            let master = fields.iter().map(|f| Bytes::from(*f)).collect();
            self.nodes.insert(id, Node::new(id, master));
        }
        let node = self.nodes.last_entry().expect("a node exists").into_mut();
        let same = node.master_fields.len() == fields.len()
            && node
                .master_fields
                .iter()
                .zip(&fields)
                .all(|(m, f)| **m == **f);
        node.push_item(id, if same { None } else { Some(&fields) }, &values, false);
        self.len += 1;
        if self.len == 1 {
            self.first_id = id;
        }
        self.last_id = id;
        self.entries_added += 1;
    }

    /// Live entries from `start` to `end` (inclusive), in order or in
    /// reverse; at most `count` (0: all).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        count: usize,
        rev: bool,
    ) -> Vec<EntryView<'_>> {
        let mut out = Vec::new();
        if start > end {
            return out;
        }
        // The node holding `start` may begin before it.
        let first_key = self
            .nodes
            .range(..=start)
            .next_back()
            .map(|(k, _)| *k)
            .unwrap_or(start);
        let nodes = self.nodes.range(first_key..=end);
        let wanted = |it: &ItemRef| !it.deleted && it.id >= start && it.id <= end;
        let full = |out: &Vec<_>| count != 0 && out.len() >= count;
        if rev {
            for (_, n) in nodes.rev() {
                let items: Vec<ItemRef> = n.items().filter(|it| wanted(it)).collect();
                for it in items.into_iter().rev() {
                    out.push(entry_of(n, it));
                    if full(&out) {
                        return out;
                    }
                }
            }
        } else {
            for (_, n) in nodes {
                for it in n.items().filter(|it| wanted(it)) {
                    out.push(entry_of(n, it));
                    if full(&out) {
                        return out;
                    }
                }
            }
        }
        out
    }

    /// The first and last live entries (XINFO).
    pub fn edge(&self, last: bool) -> Option<EntryView<'_>> {
        self.range(StreamId::MIN, StreamId::MAX, 1, last).pop()
    }

    /// Mark entry `id` deleted (XDEL); false if there is no live entry
    /// with that ID. A node left with no live entry goes.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, _)) = self.nodes.range(..=id).next_back() else {
            return false;
        };
        let node = self.nodes.get_mut(&key).expect("found");
        let Some(at) = node
            .items()
            .find(|it| it.id == id && !it.deleted)
            .map(|it| it.at)
        else {
            return false;
        };
        node.mark_deleted(at);
        if node.live == 0 {
            self.nodes.remove(&key);
        }
        self.len -= 1;
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        if id == self.first_id {
            self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.0);
        }
        true
    }

    /// Redis's `streamTrim`: remove entries from the head by `trim`;
    /// `approx` removes whole nodes only; `limit` (0: none) bounds the
    /// entries removed. Returns how many were removed.
    pub fn trim(&mut self, trim: Trim, approx: bool, limit: u64) -> u64 {
        let mut removed = 0u64;
        while let Some(mut entry) = self.nodes.first_entry() {
            if let Trim::MaxLen(max) = trim
                && self.len as u64 <= max
            {
                break;
            }
            let node = entry.get_mut();
            let entries = node.live as u64;
            if limit > 0 && removed + entries > limit {
                break;
            }
            let whole = match trim {
                Trim::MaxLen(max) => self.len as u64 - entries >= max,
                Trim::MinId(min) => node.last < min,
            };
            if whole {
                entry.remove();
                self.len -= entries as usize;
                removed += entries;
                continue;
            }
            if approx {
                break;
            }
            // Mark entries of this node deleted, from its first.
            let mut marks = Vec::new();
            let mut len = self.len as u64;
            for it in node.items() {
                let stop = match trim {
                    Trim::MaxLen(max) => len <= max,
                    Trim::MinId(min) => it.id >= min,
                };
                if stop {
                    break;
                }
                if !it.deleted {
                    marks.push(it.at);
                    len -= 1;
                }
            }
            for at in &marks {
                node.mark_deleted(*at);
            }
            self.len -= marks.len();
            removed += marks.len() as u64;
            break;
        }
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.0);
        removed
    }

    /// Every live entry, in order (snapshots, DUMP).
    pub fn iter(&self) -> impl Iterator<Item = EntryView<'_>> + '_ {
        self.nodes.values().flat_map(|n| {
            n.items()
                .filter(|it| !it.deleted)
                .map(move |it| entry_of(n, it))
        })
    }

    /// The nodes as stored (snapshots keep the layout: it decides what
    /// approximate trimming removes).
    pub fn nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.values()
    }

    /// Add a node read from a snapshot after the ones loaded so far: its
    /// items (deleted ones included) in ID order, above every ID before;
    /// an item without its own fields has exactly the master fields' count
    /// of values. The metadata (`last_id` and the rest) is set apart.
    pub fn push_loaded_node(
        &mut self,
        master_fields: Vec<Bytes>,
        items: Vec<Item>,
    ) -> Result<(), &'static str> {
        let Some(first) = items.first() else {
            return Err("stream node without entries");
        };
        let mut prev = self.nodes.last_key_value().map(|(_, n)| n.last);
        let mut node = Node::new(first.id, master_fields);
        for it in &items {
            if prev.is_some_and(|p| it.id <= p) {
                return Err("stream entries out of order");
            }
            prev = Some(it.id);
            let n = match &it.fields {
                None => node.master_fields.len(),
                Some(f) => f.len(),
            };
            if it.values.len() != n || n == 0 {
                return Err("stream entry fields and values differ in number");
            }
            let values: Vec<&[u8]> = it.values.iter().map(|v| &**v).collect();
            let fields: Option<Vec<&[u8]>> =
                it.fields.as_ref().map(|f| f.iter().map(|f| &**f).collect());
            node.push_item(it.id, fields.as_deref(), &values, it.deleted);
        }
        node.buf.shrink_to_fit();
        self.len += node.live;
        self.nodes.insert(node.first, node);
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.0);
        Ok(())
    }

    /// The nodes Redis's radix tree would have for this stream's node
    /// keys (XINFO's radix-tree-nodes): the path-compressed trie of the
    /// 16-byte big-endian master IDs, one rax node per branch point, per
    /// run of single-child characters and per key end (`rax_nodes`).
    pub fn rax_node_count(&self) -> usize {
        let keys: Vec<[u8; 16]> = self
            .nodes
            .keys()
            .map(|id| {
                let mut k = [0u8; 16];
                k[..8].copy_from_slice(&id.ms.to_be_bytes());
                k[8..].copy_from_slice(&id.seq.to_be_bytes());
                k
            })
            .collect();
        if keys.is_empty() {
            1
        } else {
            rax_nodes(&keys, 0)
        }
    }

    /// Finish a load (after `push_loaded_node`): the stream's own
    /// metadata, refused if an entry lies past `last`.
    pub fn set_loaded_meta(
        &mut self,
        last: StreamId,
        max_deleted: StreamId,
        entries_added: u64,
    ) -> Result<(), &'static str> {
        if self
            .nodes
            .last_key_value()
            .is_some_and(|(_, n)| n.last > last)
        {
            return Err("stream entry past its last ID");
        }
        self.last_id = last;
        self.max_deleted_id = max_deleted;
        self.entries_added = entries_added;
        Ok(())
    }

    /// A live entry has this ID.
    pub fn contains(&self, id: StreamId) -> bool {
        !self.range(id, id, 1, false).is_empty()
    }

    /// Heap bytes (MEMORY USAGE, lazyfree).
    pub fn heap_size(&self) -> usize {
        self.groups
            .iter()
            .map(|(k, g)| k.len() + std::mem::size_of::<super::cgroup::Group>() + g.heap_size())
            .sum::<usize>()
            + self
                .nodes
                .values()
                .map(|n| {
                    // A B-tree slot (key and node) and the node's buffers.
                    std::mem::size_of::<(StreamId, Node)>()
                        + n.buf.capacity()
                        + n.master_fields.iter().map(|f| f.len() + 16).sum::<usize>()
                })
                .sum::<usize>()
    }

    /// Entries stored, deleted ones included, and the groups' pending
    /// entries and consumers (free effort).
    pub fn items(&self) -> usize {
        self.nodes.values().map(|n| n.item_count()).sum::<usize>()
            + self
                .groups
                .values()
                .map(|g| 2 * g.pel.len() + g.consumers.len())
                .sum::<usize>()
    }
}

/// Rax nodes below depth `d` for sorted, distinct, equal-length `keys`
/// sharing their first `d` bytes: a key end is a node; one key left is a
/// node for its remaining bytes (if any) and its end; several keys are a
/// node for their common bytes (if any) and then a branch node with the
/// subtrees of each next byte.
fn rax_nodes(keys: &[[u8; 16]], d: usize) -> usize {
    if keys.len() == 1 {
        return if d == 16 { 1 } else { 2 };
    }
    let (first, last) = (&keys[0], &keys[keys.len() - 1]);
    let common = (d..16).take_while(|&i| first[i] == last[i]).count();
    if common > 0 {
        return 1 + rax_nodes(keys, d + common);
    }
    let mut n = 1;
    let mut start = 0;
    for i in 1..=keys.len() {
        if i == keys.len() || keys[i][d] != keys[start][d] {
            n += rax_nodes(&keys[start..i], d + 1);
            start = i;
        }
    }
    n
}

/// An item as (ID, field-value pairs).
fn entry_of<'a>(n: &'a Node, it: ItemRef<'a>) -> EntryView<'a> {
    let values = it.values;
    let pairs = match it.fields {
        Some(f) => f.into_iter().zip(values).collect(),
        None => n.master_fields.iter().map(|f| &**f).zip(values).collect(),
    };
    (it.id, pairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(ms: u64, seq: u64) -> StreamId {
        StreamId::new(ms, seq)
    }

    #[test]
    fn nodes_split_by_entries_and_bytes_as_redis_does() {
        let mut s = Stream::new();
        let lim = NodeLimits::default();
        for i in 1..=250 {
            s.append(id(i, 0), &[b"f", b"v"], lim);
        }
        assert_eq!(s.len(), 250);
        assert_eq!(s.node_count(), 3);
        // A 4096-byte listpack holds fewer big entries.
        let mut big = Stream::new();
        let v = vec![b'x'; 1000];
        for i in 1..=10 {
            big.append(id(i, 0), &[b"f", &v], lim);
        }
        assert_eq!(big.node_count(), 3);
    }

    #[test]
    fn approximate_trim_removes_whole_nodes_only() {
        let mut s = Stream::new();
        let lim = NodeLimits::default();
        for i in 1..=250 {
            s.append(id(i, 0), &[b"f", b"v"], lim);
        }
        assert_eq!(s.trim(Trim::MaxLen(180), true, 0), 0);
        assert_eq!(s.trim(Trim::MaxLen(150), true, 0), 100);
        assert_eq!(s.first_id, id(101, 0));
        assert_eq!(s.trim(Trim::MaxLen(140), false, 0), 10);
        assert_eq!(s.len(), 140);
        assert_eq!(s.first_id, id(111, 0));
        assert_eq!(s.trim(Trim::MinId(id(200, 0)), false, 0), 89);
        assert_eq!(s.first_id, id(200, 0));
        assert_eq!(s.range(StreamId::MIN, StreamId::MAX, 0, false).len(), 51);
    }

    #[test]
    fn delete_marks_and_drops_empty_nodes() {
        let mut s = Stream::new();
        let lim = NodeLimits {
            max_entries: 2,
            max_bytes: 4096,
        };
        for i in 1..=4 {
            s.append(id(i, 0), &[b"f", b"v"], lim);
        }
        assert_eq!(s.node_count(), 2);
        assert!(s.delete(id(1, 0)));
        assert!(!s.delete(id(1, 0)));
        assert!(!s.delete(id(9, 0)));
        assert_eq!(s.first_id, id(2, 0));
        assert!(s.delete(id(2, 0)));
        assert_eq!(s.node_count(), 1);
        assert_eq!(s.max_deleted_id, id(2, 0));
        let all = s.range(StreamId::MIN, StreamId::MAX, 0, true);
        assert_eq!(
            all.iter().map(|e| e.0).collect::<Vec<_>>(),
            [id(4, 0), id(3, 0)]
        );
    }
}
