//! List values: a quicklist, i.e. a deque of nodes where each node packs
//! its elements into one byte buffer (Redis's quicklist of listpacks).
//!
//! Node data layout (`Node::data`, the end of `Node::buf` after a free
//! head gap that LPUSH fills and LPOP grows), for elements `e0 .. e(n-1)`:
//!
//! ```text
//! [b0] e0 [b1] e1 ... [b(n-1)] e(n-1) [bn]      b(i) = len(e(i-1)) ^ len(e(i))
//! ```
//!
//! Each boundary `b` is `width` bytes (1, 2 or 4, little-endian; the same
//! for the whole node, wide enough for its longest element), and holds the
//! XOR of the lengths of the elements on both sides (a missing side counts
//! as 0). Walking from the head, the first boundary is the first length and
//! each next length is `boundary ^ previous length`; walking from the tail
//! works the same way backwards. So an element costs its bytes plus one
//! boundary (1 byte for elements under 256 bytes) and both ends are O(1),
//! as with a listpack's forward length and `backlen`, one byte cheaper.
//!
//! Invariants: every node holds at least one element (an emptied node is
//! dropped); `List::len` is the sum of node counts; a node's data is
//! `buf[off..]`, and a node that stops being an end node (a new node was
//! pushed past it) gives back its gap and slack.
//!
//! Nodes follow list-max-listpack-size as Redis does: a negative fill
//! limits a node's bytes (-1..-5: 4..64 KB), a positive one its count
//! (while under 8 KB); an element too big for any node gets its own.
//! Edits in the middle (LSET, LINSERT, LREM, LTRIM's edge nodes) rewrite
//! only the nodes they touch; LINSERT/LSET split a node that outgrows the
//! limits.

use crate::keyspace::CompactBytes;
use std::collections::VecDeque;
use std::sync::Arc;

/// Redis's node size limits for list-max-listpack-size -1 .. -5.
const SIZE_LIMITS: [usize; 5] = [4096, 8192, 16384, 32768, 65536];
/// With a count limit (positive fill) a node still stays under this size
/// (Redis's `SIZE_SAFETY_LIMIT`).
const SAFETY_LIMIT: usize = 8192;

/// Boundary width able to hold lengths up to `len`.
fn width_for(len: usize) -> u8 {
    if len < 1 << 8 {
        1
    } else if len < 1 << 16 {
        2
    } else {
        4
    }
}

/// One node: a packed run of elements (see the module comment), stored at
/// the end of `buf`: `buf[..off]` is free space for pushes at the head
/// (so LPUSH and LPOP move no bytes), `buf[off..]` the node's data.
#[derive(Clone, Default)]
struct Node {
    buf: Vec<u8>,
    off: u32,
    count: u32,
    /// Boundary width in bytes: 1, 2 or 4.
    width: u8,
}

impl Node {
    /// The node's data (no gap).
    fn data(&self) -> &[u8] {
        &self.buf[self.off as usize..]
    }

    /// Bytes of data.
    fn size(&self) -> usize {
        self.buf.len() - self.off as usize
    }

    /// The boundary at absolute position `pos` of `buf`.
    fn read_b(&self, pos: usize) -> usize {
        let b = &self.buf[pos..];
        match self.width {
            1 => b[0] as usize,
            2 => u16::from_le_bytes([b[0], b[1]]) as usize,
            _ => u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize,
        }
    }

    fn put_b(out: &mut Vec<u8>, width: u8, v: usize) {
        match width {
            1 => out.push(v as u8),
            2 => out.extend_from_slice(&(v as u16).to_le_bytes()),
            _ => out.extend_from_slice(&(v as u32).to_le_bytes()),
        }
    }

    /// Write a boundary at absolute position `pos` of `buf`.
    fn write_b(&mut self, pos: usize, v: usize) {
        let w = self.width as usize;
        let bytes = (v as u32).to_le_bytes();
        self.buf[pos..pos + w].copy_from_slice(&bytes[..w]);
    }

    /// Build a node from elements, at the narrowest width they allow.
    fn from_items<'a>(items: impl Iterator<Item = &'a [u8]> + Clone) -> Node {
        let max = items.clone().map(<[u8]>::len).max().unwrap_or(0);
        let mut n = Node::with_width(items, width_for(max));
        n.buf.shrink_to_fit();
        n
    }

    fn with_width<'a>(items: impl Iterator<Item = &'a [u8]>, width: u8) -> Node {
        let mut buf = Vec::new();
        let (mut prev, mut count) = (0usize, 0u32);
        for it in items {
            Node::put_b(&mut buf, width, prev ^ it.len());
            buf.extend_from_slice(it);
            prev = it.len();
            count += 1;
        }
        if count > 0 {
            Node::put_b(&mut buf, width, prev);
        }
        Node {
            buf,
            off: 0,
            count,
            width,
        }
    }

    /// Data bytes after adding an element of `len` bytes.
    fn size_with(&self, len: usize) -> usize {
        let w = self.width.max(width_for(len)) as usize;
        // Widening rewrites every boundary: count the new width for all.
        self.size() - (self.count as usize + 1) * self.width as usize
            + (self.count as usize + 2) * w
            + len
    }

    fn iter(&self) -> NodeIter<'_> {
        let buf = self.data();
        NodeIter {
            buf,
            width: self.width,
            front: 0,
            front_prev: 0,
            back: buf.len(),
            back_next: 0,
            left: self.count as usize,
        }
    }

    /// Elements from position `p` (<= count) to the end, reaching `p`
    /// from the nearer end of the node.
    fn iter_at(&self, p: usize) -> NodeIter<'_> {
        let n = self.count as usize;
        let mut it = self.iter();
        if p == 0 || p >= n {
            if p >= n {
                it.left = 0;
            }
            return it;
        }
        if p <= n / 2 {
            it.nth(p - 1);
            return it;
        }
        // Walk back to element p: `back` is then where its bytes start and
        // `back_next` its length, which recovers the length before it.
        it.nth_back(n - 1 - p);
        let w = it.width as usize;
        let front = it.back - w;
        NodeIter {
            front,
            front_prev: it.boundary(front) ^ it.back_next,
            back: it.buf.len(),
            back_next: 0,
            left: n - p,
            ..it
        }
    }

    /// Rewrite with a wider boundary width (`width_for(len)`), if needed.
    fn widen_for(&mut self, len: usize) {
        let w = width_for(len);
        if w > self.width {
            let items: Vec<&[u8]> = self.iter().collect();
            let new = Node::with_width(items.iter().copied(), w);
            *self = new;
        }
    }

    /// Drop the head gap and the growth slack (a node that is no longer
    /// at an end of the list will not grow again).
    fn shrink(&mut self) {
        if self.off > 0 {
            self.buf.drain(..self.off as usize);
            self.off = 0;
        }
        self.buf.shrink_to_fit();
    }

    /// Room for `extra` more bytes at the tail: reuse the head gap when
    /// there is one, else grow by doubling (amortized O(1)), but never
    /// past `cap_hint` when that is enough.
    fn reserve_back(&mut self, extra: usize, cap_hint: usize) {
        let need = self.buf.len() + extra;
        if need <= self.buf.capacity() {
            return;
        }
        if self.off > 0 {
            self.buf.drain(..self.off as usize);
            self.off = 0;
            if self.buf.len() + extra <= self.buf.capacity() {
                return;
            }
        }
        let need = self.buf.len() + extra;
        let target = (self.buf.capacity() * 2).max(16).min(cap_hint).max(need);
        self.buf.reserve_exact(target - self.buf.len());
    }

    /// Make the head gap at least `extra` bytes: a new buffer with the
    /// data at its end, sized like `reserve_back`.
    fn reserve_front(&mut self, extra: usize, cap_hint: usize) {
        if self.off as usize >= extra {
            return;
        }
        let size = self.size();
        let need = size + extra;
        let total = (2 * need).min(cap_hint).max(need);
        let mut buf = vec![0u8; total];
        buf[total - size..].copy_from_slice(self.data());
        self.buf = buf;
        self.off = (total - size) as u32;
    }

    fn push_back(&mut self, v: &[u8], cap_hint: usize) {
        if self.count == 0 {
            self.buf.clear();
            self.off = 0;
            self.width = width_for(v.len());
        } else {
            self.widen_for(v.len());
        }
        let w = self.width as usize;
        self.reserve_back(v.len() + w + if self.count == 0 { w } else { 0 }, cap_hint);
        if self.count == 0 {
            Node::put_b(&mut self.buf, self.width, v.len());
        } else {
            let end = self.buf.len() - w;
            let last = self.read_b(end);
            self.write_b(end, last ^ v.len());
        }
        self.buf.extend_from_slice(v);
        Node::put_b(&mut self.buf, self.width, v.len());
        self.count += 1;
    }

    fn push_front(&mut self, v: &[u8], cap_hint: usize) {
        if self.count == 0 {
            return self.push_back(v, cap_hint);
        }
        self.widen_for(v.len());
        let w = self.width as usize;
        let extra = v.len() + w;
        self.reserve_front(extra, cap_hint);
        let first = self.read_b(self.off as usize);
        // New layout from the new start: len(v), v, and the boundary
        // between v and the old first element, which takes the place of
        // the old first boundary.
        let start = self.off as usize - extra;
        self.off = start as u32;
        self.write_b(start, v.len());
        self.buf[start + w..start + w + v.len()].copy_from_slice(v);
        self.write_b(start + w + v.len(), v.len() ^ first);
        self.count += 1;
    }

    /// Empty the node (its buffer is released).
    fn clear(&mut self) {
        self.buf = Vec::new();
        self.off = 0;
        self.count = 0;
    }

    /// Remove the last element; the node must not be empty.
    fn pop_back(&mut self) -> CompactBytes {
        let w = self.width as usize;
        let end = self.buf.len() - w;
        let len = self.read_b(end);
        let start = end - len;
        let v = CompactBytes::new(&self.buf[start..end]);
        if self.count == 1 {
            self.clear();
        } else {
            self.count -= 1;
            let prev = self.read_b(start - w) ^ len;
            self.buf.truncate(start);
            self.write_b(start - w, prev);
        }
        v
    }

    /// Remove the first element; the node must not be empty. Only moves
    /// the start of the data (the freed bytes join the head gap).
    fn pop_front(&mut self) -> CompactBytes {
        let w = self.width as usize;
        let off = self.off as usize;
        let len = self.read_b(off);
        let v = CompactBytes::new(&self.buf[off + w..off + w + len]);
        if self.count == 1 {
            self.clear();
        } else {
            self.count -= 1;
            let next = self.read_b(off + w + len) ^ len;
            self.off = (off + w + len) as u32;
            self.write_b(off + w + len, next);
        }
        v
    }

    /// The element at position `i` (< count), walking from the nearer end.
    fn get(&self, i: usize) -> &[u8] {
        self.iter_at(i).next().expect("in range")
    }
}

/// Double-ended iterator over one node's elements.
#[derive(Clone)]
struct NodeIter<'a> {
    buf: &'a [u8],
    width: u8,
    front: usize,
    front_prev: usize,
    back: usize,
    back_next: usize,
    left: usize,
}

impl NodeIter<'_> {
    /// The boundary at `pos` (the node's width; 1 byte is the common case).
    #[inline]
    fn boundary(&self, pos: usize) -> usize {
        if self.width == 1 {
            self.buf[pos] as usize
        } else if self.width == 2 {
            u16::from_le_bytes([self.buf[pos], self.buf[pos + 1]]) as usize
        } else {
            let b = &self.buf[pos..pos + 4];
            u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize
        }
    }
}

impl<'a> Iterator for NodeIter<'a> {
    type Item = &'a [u8];

    #[inline]
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let len = self.boundary(self.front) ^ self.front_prev;
        let start = self.front + self.width as usize;
        self.front = start + len;
        self.front_prev = len;
        Some(&self.buf[start..start + len])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for NodeIter<'_> {
    #[inline]
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        self.left -= 1;
        let end = self.back - self.width as usize;
        let len = self.boundary(end) ^ self.back_next;
        self.back = end - len;
        self.back_next = len;
        Some(&self.buf[end - len..end])
    }
}

impl ExactSizeIterator for NodeIter<'_> {}

/// A Redis list (quicklist encoding).
///
/// Nodes are reference-counted and changed through `Arc::make_mut`, so a
/// clone shares every node and costs O(nodes): a snapshot freezes a big
/// list that way instead of serializing it under the lock, and a later
/// write copies only the node it changes (one node, at most 64 KB).
#[derive(Clone)]
pub struct List {
    nodes: VecDeque<Arc<Node>>,
    len: usize,
    /// list-max-listpack-size used for new and growing nodes.
    fill: i32,
}

impl Default for List {
    fn default() -> Self {
        List::with_fill(-2)
    }
}

impl std::fmt::Debug for List {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

impl PartialEq for List {
    fn eq(&self, other: &List) -> bool {
        self.len == other.len && self.iter().eq(other.iter())
    }
}

impl List {
    /// An empty list whose nodes follow list-max-listpack-size `fill`.
    pub fn with_fill(fill: i32) -> List {
        List {
            nodes: VecDeque::new(),
            len: 0,
            fill,
        }
    }

    /// Use list-max-listpack-size `fill` from now on (CONFIG SET applies to
    /// existing lists, as in Redis).
    pub fn set_fill(&mut self, fill: i32) {
        self.fill = fill;
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// OBJECT ENCODING name. Redis 7.0 always uses a quicklist for lists
    /// (the "listpack" list encoding only arrived in 7.2).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn heap_size(&self) -> usize {
        self.nodes.capacity() * std::mem::size_of::<Arc<Node>>()
            + self
                .nodes
                .iter()
                // An `Arc` allocation holds two counters and the node.
                .map(|n| {
                    2 * std::mem::size_of::<usize>()
                        + std::mem::size_of::<Node>()
                        + n.buf.capacity()
                })
                .sum::<usize>()
    }

    /// Node byte limit for the current fill.
    fn size_limit(&self) -> usize {
        if self.fill < 0 {
            SIZE_LIMITS[((-self.fill) as usize - 1).min(4)]
        } else {
            SAFETY_LIMIT
        }
    }

    /// Whether `node` may take one more element of `len` bytes.
    fn allows(&self, node: &Node, len: usize) -> bool {
        if node.count == 0 {
            return true;
        }
        let size = node.size_with(len);
        if self.fill < 0 {
            size <= self.size_limit()
        } else {
            size <= SAFETY_LIMIT && (node.count as i64) < self.fill as i64
        }
    }

    /// Push at the head (`left`) or the tail.
    pub fn push(&mut self, v: &[u8], left: bool) {
        let hint = self.size_limit();
        let end = if left {
            self.nodes.front()
        } else {
            self.nodes.back()
        };
        if !end.is_some_and(|n| self.allows(n, v.len())) {
            // The end node is closed: give back its growth slack.
            let old = if left {
                self.nodes.front_mut()
            } else {
                self.nodes.back_mut()
            };
            if let Some(n) = old {
                Arc::make_mut(n).shrink();
            }
            if left {
                self.nodes.push_front(Arc::default());
            } else {
                self.nodes.push_back(Arc::default());
            }
        }
        if left {
            Arc::make_mut(self.nodes.front_mut().expect("node")).push_front(v, hint);
        } else {
            Arc::make_mut(self.nodes.back_mut().expect("node")).push_back(v, hint);
        }
        self.len += 1;
    }

    /// Pop from the head (`left`) or the tail.
    pub fn pop(&mut self, left: bool) -> Option<CompactBytes> {
        let node = Arc::make_mut(if left {
            self.nodes.front_mut()?
        } else {
            self.nodes.back_mut()?
        });
        let v = if left {
            node.pop_front()
        } else {
            node.pop_back()
        };
        if node.count == 0 {
            if left {
                self.nodes.pop_front();
            } else {
                self.nodes.pop_back();
            }
        }
        self.len -= 1;
        Some(v)
    }

    /// Position of a Redis index (negative counts from the tail), if in range.
    pub fn index(&self, i: i64) -> Option<usize> {
        let n = self.len as i64;
        let i = if i < 0 { n.checked_add(i)? } else { i };
        (0..n).contains(&i).then_some(i as usize)
    }

    /// (node number, position inside it) of element `i` (< len), skipping
    /// whole nodes from the nearer end.
    fn locate(&self, i: usize) -> (usize, usize) {
        if i < self.len / 2 {
            let mut left = i;
            for (k, n) in self.nodes.iter().enumerate() {
                if left < n.count as usize {
                    return (k, left);
                }
                left -= n.count as usize;
            }
        } else {
            let mut from_tail = self.len - 1 - i;
            for (k, n) in self.nodes.iter().enumerate().rev() {
                if from_tail < n.count as usize {
                    return (k, n.count as usize - 1 - from_tail);
                }
                from_tail -= n.count as usize;
            }
        }
        unreachable!("index {i} out of range")
    }

    /// The element at position `i` (0..len).
    pub fn get(&self, i: usize) -> Option<&[u8]> {
        if i >= self.len {
            return None;
        }
        let (k, p) = self.locate(i);
        Some(self.nodes[k].get(p))
    }

    /// Replace the element at position `i` (0..len); false if out of range.
    pub fn set(&mut self, i: usize, v: &[u8]) -> bool {
        if i >= self.len {
            return false;
        }
        let (k, p) = self.locate(i);
        let node = Arc::make_mut(&mut self.nodes[k]);
        let mut items: Vec<&[u8]> = node.iter().collect();
        items[p] = v;
        let new = Node::from_items(items.iter().copied());
        *node = new;
        self.split_if_big(k);
        true
    }

    /// Insert `v` so that it ends up at position `i` (0..=len).
    pub fn insert(&mut self, i: usize, v: &[u8]) {
        if i == 0 || i == self.len {
            return self.push(v, i == 0);
        }
        let (k, p) = self.locate(i);
        let node = Arc::make_mut(&mut self.nodes[k]);
        let mut items: Vec<&[u8]> = node.iter().collect();
        items.insert(p, v);
        let new = Node::from_items(items.iter().copied());
        *node = new;
        self.len += 1;
        self.split_if_big(k);
    }

    /// Split node `k` in two halves while it is over the fill limits.
    fn split_if_big(&mut self, k: usize) {
        let n = &self.nodes[k];
        let over = if self.fill < 0 {
            n.size() > self.size_limit()
        } else {
            n.size() > SAFETY_LIMIT || n.count as i64 > self.fill as i64
        };
        if !over || n.count < 2 {
            return;
        }
        let half = n.count as usize / 2;
        let items: Vec<&[u8]> = n.iter().collect();
        let a = Node::from_items(items[..half].iter().copied());
        let b = Node::from_items(items[half..].iter().copied());
        self.nodes[k] = Arc::new(a);
        self.nodes.insert(k + 1, Arc::new(b));
        self.split_if_big(k + 1);
        self.split_if_big(k);
    }

    /// Position of the first element equal to `v`.
    pub fn position(&self, v: &[u8]) -> Option<usize> {
        self.iter().position(|x| x == v)
    }

    /// All elements, head to tail (double-ended).
    pub fn iter(&self) -> Iter<'_> {
        Iter {
            nodes: self.nodes.iter(),
            front: None,
            back: None,
            left: self.len,
        }
    }

    /// Elements from position `start` (skipping whole nodes) to the tail.
    pub fn iter_from(&self, start: usize) -> Iter<'_> {
        if start >= self.len {
            return Iter {
                nodes: self.nodes.range(0..0),
                front: None,
                back: None,
                left: 0,
            };
        }
        let (k, p) = self.locate(start);
        let front = self.nodes[k].iter_at(p);
        Iter {
            nodes: self.nodes.range(k + 1..),
            front: Some(front),
            back: None,
            left: self.len - start,
        }
    }

    /// Keep only the elements after the first `ltrim` and before the last
    /// `rtrim`; whole nodes are dropped, the two edge nodes rebuilt.
    pub fn trim(&mut self, ltrim: usize, rtrim: usize) {
        if ltrim + rtrim >= self.len {
            self.nodes.clear();
            self.len = 0;
            return;
        }
        self.drop_front(ltrim);
        self.drop_back(rtrim);
    }

    fn drop_front(&mut self, mut k: usize) {
        self.len -= k;
        while k > 0 {
            let n = Arc::make_mut(self.nodes.front_mut().expect("enough elements"));
            if (n.count as usize) <= k {
                k -= n.count as usize;
                self.nodes.pop_front();
            } else {
                let items: Vec<&[u8]> = n.iter().skip(k).collect();
                let new = Node::from_items(items.iter().copied());
                *n = new;
                k = 0;
            }
        }
    }

    fn drop_back(&mut self, mut k: usize) {
        self.len -= k;
        while k > 0 {
            let n = Arc::make_mut(self.nodes.back_mut().expect("enough elements"));
            if (n.count as usize) <= k {
                k -= n.count as usize;
                self.nodes.pop_back();
            } else {
                let keep = n.count as usize - k;
                let items: Vec<&[u8]> = n.iter().take(keep).collect();
                let new = Node::from_items(items.iter().copied());
                *n = new;
                k = 0;
            }
        }
    }

    /// Remove up to `count` elements equal to `v` (0 = all), scanning from
    /// the head, or from the tail when `from_tail`. Returns how many. O(n);
    /// only nodes holding a match are rewritten.
    pub fn remove(&mut self, v: &[u8], count: usize, from_tail: bool) -> usize {
        let mut left = if count == 0 { usize::MAX } else { count };
        let mut removed = 0;
        let order: Vec<usize> = if from_tail {
            (0..self.nodes.len()).rev().collect()
        } else {
            (0..self.nodes.len()).collect()
        };
        for k in order {
            if left == 0 {
                break;
            }
            // Look before making the node unique: a node a snapshot
            // shares is copied only if it changes.
            if !self.nodes[k].iter().any(|x| x == v) {
                continue;
            }
            let node = Arc::make_mut(&mut self.nodes[k]);
            let mut items: Vec<&[u8]> = node.iter().collect();
            let mut drop = vec![false; items.len()];
            let idx: Vec<usize> = if from_tail {
                (0..items.len()).rev().collect()
            } else {
                (0..items.len()).collect()
            };
            for i in idx {
                if left == 0 {
                    break;
                }
                if items[i] == v {
                    drop[i] = true;
                    left -= 1;
                    removed += 1;
                }
            }
            let mut it = drop.iter();
            items.retain(|_| !*it.next().expect("same length"));
            let new = Node::from_items(items.iter().copied());
            *node = new;
        }
        self.nodes.retain(|n| n.count > 0);
        self.len -= removed;
        removed
    }
}

/// Iterator over a list's elements (double-ended, exact size).
pub struct Iter<'a> {
    nodes: std::collections::vec_deque::Iter<'a, Arc<Node>>,
    front: Option<NodeIter<'a>>,
    back: Option<NodeIter<'a>>,
    left: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(it) = &mut self.front
                && let Some(x) = it.next()
            {
                self.left -= 1;
                return Some(x);
            }
            match self.nodes.next() {
                Some(n) => self.front = Some(n.iter()),
                None => {
                    // Only the back node's remaining elements are left.
                    let x = self.back.as_mut()?.next()?;
                    self.left -= 1;
                    return Some(x);
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl DoubleEndedIterator for Iter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        loop {
            if let Some(it) = &mut self.back
                && let Some(x) = it.next_back()
            {
                self.left -= 1;
                return Some(x);
            }
            match self.nodes.next_back() {
                Some(n) => self.back = Some(n.iter()),
                None => {
                    let x = self.front.as_mut()?.next_back()?;
                    self.left -= 1;
                    return Some(x);
                }
            }
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn list(v: &[&str]) -> List {
        let mut l = List::default();
        for s in v {
            l.push(s.as_bytes(), false);
        }
        l
    }

    fn items(l: &List) -> Vec<String> {
        l.iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn ops() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.index(-1), Some(4));
        assert_eq!(l.index(-6), None);
        assert_eq!(l.index(5), None);
        assert_eq!(l.index(i64::MIN), None);
        assert_eq!(l.remove(b"a", 1, true), 1);
        assert_eq!(items(&l), ["a", "b", "a", "c"]);
        assert_eq!(l.remove(b"a", 0, false), 2);
        assert_eq!(items(&l), ["b", "c"]);
        let mut l = list(&["a", "b", "c", "d"]);
        l.trim(1, 1);
        assert_eq!(items(&l), ["b", "c"]);
        l.trim(1, 1);
        assert!(l.is_empty());
        let mut l = list(&["a", "x", "a", "a", "y", "a"]);
        assert_eq!(l.remove(b"a", 2, true), 2);
        assert_eq!(items(&l), ["a", "x", "a", "y"]);
        assert_eq!(l.remove(b"a", 5, true), 2);
        assert_eq!(items(&l), ["x", "y"]);
        assert_eq!(l.remove(b"z", 0, true), 0);
    }

    #[test]
    fn widths_and_nodes() {
        // Elements of every boundary width, mixed in one node and across
        // nodes, pushed at both ends.
        let big = vec![7u8; 70_000];
        let mid = vec![5u8; 300];
        let mut l = List::default();
        l.push(b"x", false);
        l.push(&mid, false);
        l.push(&big, true);
        l.push(b"", false);
        l.push(b"y", true);
        let want: Vec<&[u8]> = vec![b"y", &big, b"x", &mid, b""];
        assert_eq!(l.iter().collect::<Vec<_>>(), want);
        assert_eq!(l.iter().rev().collect::<Vec<_>>(), {
            let mut w = want.clone();
            w.reverse();
            w
        });
        assert_eq!(l.pop(false).unwrap().as_slice(), b"");
        assert_eq!(l.pop(true).unwrap().as_slice(), b"y");
        assert_eq!(l.pop(true).unwrap().as_slice(), &big[..]);
        assert_eq!(l.len(), 2);
    }

    #[test]
    fn per_element_overhead_is_small() {
        for left in [false, true] {
            let mut l = List::default();
            for i in 0..100_000 {
                l.push(format!("member:{i:010}").as_bytes(), left);
            }
            // 17 bytes of data plus one boundary byte, plus node overhead.
            let per = l.heap_size() as f64 / 100_000.0;
            assert!(per < 18.5, "{per} bytes per element (left: {left})");
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push(Vec<u8>, bool),
        Pop(bool),
        Set(usize, Vec<u8>),
        Insert(usize, Vec<u8>),
        Remove(Vec<u8>, usize, bool),
        Trim(usize, usize),
        Fill(i32),
    }

    fn elem() -> impl Strategy<Value = Vec<u8>> {
        prop_oneof![
            8 => prop::collection::vec(b'a'..b'd', 0..4),
            1 => prop::collection::vec(any::<u8>(), 250..300),
            1 => Just(vec![b'z'; 66_000]),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            10 => (elem(), any::<bool>()).prop_map(|(v, l)| Op::Push(v, l)),
            4 => any::<bool>().prop_map(Op::Pop),
            2 => (0..64usize, elem()).prop_map(|(i, v)| Op::Set(i, v)),
            2 => (0..64usize, elem()).prop_map(|(i, v)| Op::Insert(i, v)),
            1 => (elem(), 0..3usize, any::<bool>()).prop_map(|(v, c, t)| Op::Remove(v, c, t)),
            1 => (0..4usize, 0..4usize).prop_map(|(a, b)| Op::Trim(a, b)),
            1 => prop_oneof![Just(-1), Just(-2), Just(1), Just(2), Just(5)].prop_map(Op::Fill),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn matches_vecdeque(ops in prop::collection::vec(op(), 0..200), fill in prop_oneof![Just(-2), Just(1), Just(3)]) {
            let mut l = List::with_fill(fill);
            let mut m: VecDeque<Vec<u8>> = VecDeque::new();
            for op in ops {
                match op {
                    Op::Push(v, left) => {
                        l.push(&v, left);
                        if left { m.push_front(v) } else { m.push_back(v) }
                    }
                    Op::Pop(left) => {
                        let want = if left { m.pop_front() } else { m.pop_back() };
                        prop_assert_eq!(l.pop(left).map(|b| b.to_vec()), want);
                    }
                    Op::Set(i, v) => {
                        let ok = l.set(i, &v);
                        prop_assert_eq!(ok, i < m.len());
                        if ok { m[i] = v; }
                    }
                    Op::Insert(i, v) => {
                        let i = i.min(m.len());
                        l.insert(i, &v);
                        m.insert(i, v);
                    }
                    Op::Remove(v, c, t) => {
                        let mut left = if c == 0 { usize::MAX } else { c };
                        let mut idx: Vec<usize> = (0..m.len()).collect();
                        if t { idx.reverse(); }
                        let mut drop = vec![false; m.len()];
                        for i in idx {
                            if left > 0 && m[i] == v { drop[i] = true; left -= 1; }
                        }
                        let n = drop.iter().filter(|d| **d).count();
                        let mut it = drop.iter();
                        m.retain(|_| !*it.next().unwrap());
                        prop_assert_eq!(l.remove(&v, c, t), n);
                    }
                    Op::Trim(a, b) => {
                        l.trim(a, b);
                        if a + b >= m.len() { m.clear(); } else {
                            m.truncate(m.len() - b);
                            m.drain(..a);
                        }
                    }
                    Op::Fill(f) => l.set_fill(f),
                }
                prop_assert_eq!(l.len(), m.len());
                prop_assert!(l.nodes.iter().all(|n| n.count > 0));
                prop_assert_eq!(l.nodes.iter().map(|n| n.count as usize).sum::<usize>(), m.len());
            }
            let fwd: Vec<&[u8]> = l.iter().collect();
            prop_assert_eq!(&fwd, &m.iter().map(Vec::as_slice).collect::<Vec<_>>());
            let back: Vec<&[u8]> = l.iter().rev().collect();
            prop_assert_eq!(back, m.iter().rev().map(Vec::as_slice).collect::<Vec<_>>());
            for i in 0..m.len() {
                prop_assert_eq!(l.get(i), Some(m[i].as_slice()));
                prop_assert_eq!(l.iter_from(i).next(), Some(m[i].as_slice()));
                let suffix: Vec<&[u8]> = l.iter_from(i).collect();
                prop_assert_eq!(suffix, m.iter().skip(i).map(Vec::as_slice).collect::<Vec<_>>());
            }
        }
    }
}
