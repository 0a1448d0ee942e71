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
//! sizes (`lp_size`) as entries are added and marked deleted.
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

/// One entry as stored in a node.
#[derive(Clone, Debug, PartialEq)]
pub struct Item {
    pub id: StreamId,
    /// The field names, unless they are the node's master fields.
    pub fields: Option<Vec<Bytes>>,
    pub values: Vec<Bytes>,
    pub deleted: bool,
}

/// A run of entries: one listpack of Redis's radix tree.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub master_fields: Vec<Bytes>,
    pub items: Vec<Item>,
    live: usize,
    deleted: usize,
    /// The size of Redis's listpack for this node.
    bytes: usize,
}

/// Size of one listpack element holding `s` (`lpAppend`: canonical
/// integers take the integer encodings).
fn lp_str_size(s: &[u8]) -> usize {
    match crate::util::parse_i64(s) {
        Some(v) => lp_int_size(v),
        None => {
            let n = s.len();
            let enc = if n < 64 {
                1 + n
            } else if n < 4096 {
                2 + n
            } else {
                5 + n
            };
            enc + backlen_size(enc)
        }
    }
}

/// Size of one listpack element holding the integer `v`.
fn lp_int_size(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if i16::try_from(v).is_ok() {
        3
    } else if (-(1 << 23)..(1 << 23)).contains(&v) {
        4
    } else if i32::try_from(v).is_ok() {
        5
    } else {
        9
    };
    enc + backlen_size(enc)
}

fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// The listpack header (total bytes, count) and end byte.
const LP_OVERHEAD: usize = 7;

/// Redis's `STREAM_LISTPACK_MAX_SIZE`: the node byte limit's ceiling.
const LISTPACK_MAX_SIZE: usize = 1 << 30;

const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

impl Item {
    fn flags(&self) -> i64 {
        (if self.deleted { FLAG_DELETED } else { 0 })
            | (if self.fields.is_none() {
                FLAG_SAMEFIELDS
            } else {
                0
            })
    }
}

impl Node {
    /// The listpack's size for the counters `live` and `deleted`: the
    /// part that changes when they do.
    fn counters_size(live: usize, deleted: usize) -> usize {
        lp_int_size(live as i64) + lp_int_size(deleted as i64)
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
        let nfields = pairs.len() / 2;
        let fields = || {
            pairs
                .chunks(2)
                .map(|p| Bytes::from(p[0]))
                .collect::<Vec<_>>()
        };
        let values: Vec<Bytes> = pairs.chunks(2).map(|p| Bytes::from(p[1])).collect();
        let payload: usize = pairs.iter().map(|p| p.len()).sum();
        let max_bytes = if limits.max_bytes == 0 || limits.max_bytes > LISTPACK_MAX_SIZE {
            LISTPACK_MAX_SIZE
        } else {
            limits.max_bytes
        };
        let fits = self.nodes.last_key_value().is_some_and(|(_, n)| {
            n.bytes + payload < max_bytes
                && (limits.max_entries == 0 || n.live + n.deleted < limits.max_entries)
        });
        if !fits {
            // A new node: its master entry is this entry's fields.
            let master_fields = fields();
            let bytes = LP_OVERHEAD
                + Node::counters_size(0, 0)
                + lp_int_size(nfields as i64)
                + master_fields.iter().map(|f| lp_str_size(f)).sum::<usize>()
                + lp_int_size(0);
            self.nodes.insert(
                id,
                Node {
                    master_fields,
                    items: Vec::new(),
                    live: 0,
                    deleted: 0,
                    bytes,
                },
            );
        }
        let (master, node) = self.nodes.last_key_value_mut_compat();
        let same = node.master_fields.len() == nfields
            && node
                .master_fields
                .iter()
                .zip(pairs.chunks(2))
                .all(|(m, p)| &**m == p[0]);
        let item = Item {
            id,
            fields: if same { None } else { Some(fields()) },
            values,
            deleted: false,
        };
        let mut size = lp_int_size(item.flags())
            + lp_int_size(id.ms.wrapping_sub(master.ms) as i64)
            + lp_int_size(id.seq.wrapping_sub(master.seq) as i64)
            + item.values.iter().map(|v| lp_str_size(v)).sum::<usize>();
        let mut lp_count = nfields + 3;
        if let Some(f) = &item.fields {
            size += lp_int_size(nfields as i64) + f.iter().map(|f| lp_str_size(f)).sum::<usize>();
            lp_count += nfields + 1;
        }
        size += lp_int_size(lp_count as i64);
        node.bytes += size;
        let (live, deleted) = (node.live + 1, node.deleted);
        node.set_counters(live, deleted);
        node.items.push(item);
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
        let wanted = |it: &Item| !it.deleted && it.id >= start && it.id <= end;
        let full = |out: &Vec<_>| count != 0 && out.len() >= count;
        if rev {
            'outer: for (_, n) in nodes.rev() {
                for it in n.items.iter().rev().filter(|it| wanted(it)) {
                    out.push(entry_of(n, it));
                    if full(&out) {
                        break 'outer;
                    }
                }
            }
        } else {
            'outer: for (_, n) in nodes {
                for it in n.items.iter().filter(|it| wanted(it)) {
                    out.push(entry_of(n, it));
                    if full(&out) {
                        break 'outer;
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
        let Ok(i) = node.items.binary_search_by(|it| it.id.cmp(&id)) else {
            return false;
        };
        if node.items[i].deleted {
            return false;
        }
        node.items[i].deleted = true;
        let (live, deleted) = (node.live - 1, node.deleted + 1);
        node.set_counters(live, deleted);
        if live == 0 {
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
                Trim::MinId(min) => node.items.last().is_some_and(|it| it.id < min),
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
            let mut here = 0;
            for it in node.items.iter_mut() {
                let stop = match trim {
                    Trim::MaxLen(max) => self.len as u64 <= max,
                    Trim::MinId(min) => it.id >= min,
                };
                if stop {
                    break;
                }
                if !it.deleted {
                    it.deleted = true;
                    here += 1;
                    self.len -= 1;
                }
            }
            let (live, deleted) = (node.live - here, node.deleted + here);
            node.set_counters(live, deleted);
            removed += here as u64;
            break;
        }
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.0);
        removed
    }

    /// Every live entry, in order (snapshots, DUMP).
    pub fn iter(&self) -> impl Iterator<Item = EntryView<'_>> + '_ {
        self.nodes.values().flat_map(|n| {
            n.items
                .iter()
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
        let mut prev = self
            .nodes
            .last_key_value()
            .and_then(|(_, n)| n.items.last().map(|i| i.id));
        let mut bytes = LP_OVERHEAD
            + lp_int_size(master_fields.len() as i64)
            + master_fields.iter().map(|f| lp_str_size(f)).sum::<usize>()
            + lp_int_size(0);
        let (mut live, mut deleted) = (0, 0);
        for it in &items {
            if prev.is_some_and(|p| it.id <= p) {
                return Err("stream entries out of order");
            }
            prev = Some(it.id);
            let n = match &it.fields {
                None => master_fields.len(),
                Some(f) => f.len(),
            };
            if it.values.len() != n || n == 0 {
                return Err("stream entry fields and values differ in number");
            }
            let mut size = lp_int_size(it.flags())
                + lp_int_size(it.id.ms.wrapping_sub(first.id.ms) as i64)
                + lp_int_size(it.id.seq.wrapping_sub(first.id.seq) as i64)
                + it.values.iter().map(|v| lp_str_size(v)).sum::<usize>();
            let mut lp_count = n + 3;
            if let Some(f) = &it.fields {
                size += lp_int_size(n as i64) + f.iter().map(|f| lp_str_size(f)).sum::<usize>();
                lp_count += n + 1;
            }
            bytes += size + lp_int_size(lp_count as i64);
            if it.deleted {
                deleted += 1;
            } else {
                live += 1;
            }
        }
        bytes += Node::counters_size(live, deleted);
        self.len += live;
        let key = first.id;
        self.nodes.insert(
            key,
            Node {
                master_fields,
                items,
                live,
                deleted,
                bytes,
            },
        );
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

    /// Heap bytes, roughly (MEMORY USAGE, lazyfree).
    pub fn heap_size(&self) -> usize {
        self.nodes
            .values()
            .map(|n| {
                64 + n.master_fields.iter().map(|f| f.len() + 16).sum::<usize>()
                    + n.items
                        .iter()
                        .map(|it| {
                            56 + it.values.iter().map(|v| v.len() + 16).sum::<usize>()
                                + it.fields
                                    .as_ref()
                                    .map_or(0, |f| f.iter().map(|f| f.len() + 16).sum())
                        })
                        .sum::<usize>()
            })
            .sum()
    }

    /// Items stored, deleted ones included (free effort).
    pub fn items(&self) -> usize {
        self.nodes.values().map(|n| n.items.len()).sum()
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
fn entry_of<'a>(n: &'a Node, it: &'a Item) -> EntryView<'a> {
    let fields = it.fields.as_ref().unwrap_or(&n.master_fields);
    (
        it.id,
        fields
            .iter()
            .zip(&it.values)
            .map(|(f, v)| (&**f, &**v))
            .collect(),
    )
}

trait LastMut {
    fn last_key_value_mut_compat(&mut self) -> (StreamId, &mut Node);
}

impl LastMut for BTreeMap<StreamId, Node> {
    fn last_key_value_mut_compat(&mut self) -> (StreamId, &mut Node) {
        let e = self.last_entry().expect("a node exists");
        let k = *e.key();
        (k, e.into_mut())
    }
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

    #[test]
    fn listpack_sizes_match_the_encoder() {
        for s in [
            &b"0"[..],
            b"127",
            b"128",
            b"-4096",
            b"70000",
            b"x",
            &[b'y'; 100],
            &[b'z'; 5000],
        ] {
            let mut b = crate::rdb::listpack::Builder::new();
            let before = b.bytes();
            b.push(s);
            assert_eq!(
                b.bytes() - before,
                lp_str_size(s),
                "{:?}",
                String::from_utf8_lossy(s)
            );
        }
    }
}
