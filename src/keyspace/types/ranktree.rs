//! `RankTree<T>`: an order-statistic B+tree over small `Copy` elements,
//! the ordered half of a big sorted set (`zset.rs` stores `(score, slot)`
//! pairs in it and owns the slots the pairs point to).
//!
//! The tree is a *sequence*: it never compares elements itself, and every
//! operation is by position (rank). Ordered operations take a monotone
//! predicate instead of a comparator: `count_while(pred)` is the number of
//! leading elements for which `pred` holds, i.e. the rank at which a key
//! would be inserted when `pred(e)` means "e sorts before the key". The
//! caller keeps the sequence sorted by inserting at that rank.
//!
//! Invariants:
//! * Leaves hold 1..=`LEAF_CAP` elements (only an empty tree has an empty
//!   leaf, the root); inner nodes hold 1..=`INNER_CAP` children (a root
//!   with one child is collapsed).
//! * `Inner::counts[i]` is the number of elements under `kids[i]`,
//!   `Inner::firsts[i]` is the first element under `kids[i]`, `Inner::len`
//!   is the sum of `counts`. Every mutation repairs them on its way up.
//! * All leaves are at the same depth, so the height is O(log n) and every
//!   operation below is O(log n) (times the node width, a constant).
//! * After a removal a node left with fewer than half its capacity is
//!   merged with (or evened out against) a sibling, so nodes stay at least
//!   about half full under deletions.
//!
//! Sharing: nodes sit behind `Arc`s, so a clone is O(1) and a change
//! made after one copies only the nodes on its path (about 1.5 KB for a
//! million 8-byte elements): a snapshot freezes a big sorted set without
//! a copy, and the first write after pays for a path, not for the tree.
//!
//! Memory: `size_of::<T>()` bytes per element in leaves plus ~1/64 of that
//! in inner nodes; an append at the end of a full leaf starts a new leaf
//! instead of splitting it in two, so ascending inserts leave full leaves.
//! `firsts` holds copies of elements, so a descent can decide which child
//! to enter from the inner node alone when `pred` only needs the element
//! (for the sorted set: when the scores differ).

use smallvec::SmallVec;
use std::sync::Arc;

const LEAF_CAP: usize = 64;
const INNER_CAP: usize = 32;

/// Room for a full inner node plus the one child that overflows it before
/// it splits: an inner node's arrays never leave its own allocation.
type Arr<X> = SmallVec<[X; INNER_CAP + 1]>;

/// A leaf's elements, inline in its allocation. Invariant: at most
/// `LEAF_CAP` between operations, so it never spills (`rebalance` evens
/// two leaves out without ever holding both in one).
type LeafVec<T> = SmallVec<[T; LEAF_CAP]>;

/// Nodes are shared on clone (`Arc`) and changed through `Arc::make_mut`:
/// a clone of the tree is O(1), and a change after it copies only the
/// nodes on its path (persistent-tree path copying). Leaves hold their
/// elements inline, so a descent makes no more hops than with owned
/// `Vec` leaves (an `Arc<Vec<T>>` leaf would add one).
#[derive(Clone, Debug)]
enum Node<T> {
    Leaf(Arc<LeafVec<T>>),
    Inner(Arc<Inner<T>>),
}

#[derive(Clone, Debug)]
struct Inner<T> {
    kids: Arr<Node<T>>,
    counts: Arr<usize>,
    firsts: Arr<T>,
    len: usize,
}

impl<T: Copy> Node<T> {
    fn len(&self) -> usize {
        match self {
            Node::Leaf(v) => v.len(),
            Node::Inner(i) => i.len,
        }
    }

    fn first(&self) -> T {
        match self {
            Node::Leaf(v) => v[0],
            Node::Inner(i) => i.firsts[0],
        }
    }

    /// Whether the node is below half its capacity.
    fn underfull(&self) -> bool {
        match self {
            Node::Leaf(v) => v.len() < LEAF_CAP / 2,
            Node::Inner(i) => i.kids.len() < INNER_CAP / 2,
        }
    }

    fn heap_size(&self) -> usize {
        match self {
            // An Arc allocation: two counters, then the leaf's elements
            // (inline: a leaf never spills) or the inner node.
            Node::Leaf(_) => 16 + std::mem::size_of::<LeafVec<T>>(),
            Node::Inner(i) => {
                // The arrays are inline (never spilled: at most
                // INNER_CAP + 1 children).
                16 + std::mem::size_of::<Inner<T>>()
                    + i.kids.iter().map(Node::heap_size).sum::<usize>()
            }
        }
    }

    /// Insert `h` at `pos` (0..=len); returns a new right sibling if the
    /// node split.
    fn insert_at(&mut self, pos: usize, h: T) -> Option<Node<T>> {
        match self {
            Node::Leaf(v) => {
                let v = Arc::make_mut(v);
                if v.len() < LEAF_CAP {
                    v.insert(pos, h);
                    return None;
                }
                if pos == v.len() {
                    // Appending to a full leaf: start a new one (keeps
                    // ascending loads at 100% leaf fill).
                    let mut r = LeafVec::new();
                    r.push(h);
                    return Some(Node::Leaf(Arc::new(r)));
                }
                let mut r: LeafVec<T> = v.drain(LEAF_CAP / 2..).collect();
                if pos <= LEAF_CAP / 2 {
                    v.insert(pos, h);
                } else {
                    r.insert(pos - LEAF_CAP / 2, h);
                }
                Some(Node::Leaf(Arc::new(r)))
            }
            Node::Inner(inner) => {
                let inner = Arc::make_mut(inner);
                let (i, rel) = inner.child_at_insert(pos);
                let split = inner.kids[i].insert_at(rel, h);
                inner.counts[i] += 1;
                inner.len += 1;
                inner.firsts[i] = inner.kids[i].first();
                let mut appended = false;
                if let Some(r) = split {
                    let n = r.len();
                    inner.counts[i] -= n;
                    inner.firsts.insert(i + 1, r.first());
                    inner.counts.insert(i + 1, n);
                    inner.kids.insert(i + 1, r);
                    appended = i + 2 == inner.kids.len();
                }
                if inner.kids.len() > INNER_CAP {
                    // As for leaves: a child appended at the end of a full
                    // node starts a new node.
                    let at = if appended {
                        inner.kids.len() - 1
                    } else {
                        inner.kids.len() / 2
                    };
                    return Some(Node::Inner(Arc::new(inner.split_at(at))));
                }
                None
            }
        }
    }

    /// Remove and return the handle at `pos` (0..len).
    fn remove_at(&mut self, pos: usize) -> T {
        match self {
            Node::Leaf(v) => Arc::make_mut(v).remove(pos),
            Node::Inner(inner) => {
                let inner = Arc::make_mut(inner);
                let (i, rel) = inner.child_at(pos);
                let h = inner.kids[i].remove_at(rel);
                inner.counts[i] -= 1;
                inner.len -= 1;
                if inner.counts[i] == 0 {
                    inner.kids.remove(i);
                    inner.counts.remove(i);
                    inner.firsts.remove(i);
                } else {
                    inner.firsts[i] = inner.kids[i].first();
                    if inner.kids[i].underfull() {
                        inner.rebalance(i);
                    }
                }
                h
            }
        }
    }

    fn set_at(&mut self, pos: usize, h: T) {
        match self {
            Node::Leaf(v) => Arc::make_mut(v)[pos] = h,
            Node::Inner(inner) => {
                let inner = Arc::make_mut(inner);
                let (i, rel) = inner.child_at(pos);
                inner.kids[i].set_at(rel, h);
                inner.firsts[i] = inner.kids[i].first();
            }
        }
    }

    fn get(&self, mut pos: usize) -> T {
        let mut n = self;
        loop {
            match n {
                Node::Leaf(v) => return v[pos],
                Node::Inner(inner) => {
                    let (i, rel) = inner.child_at(pos);
                    pos = rel;
                    n = &inner.kids[i];
                }
            }
        }
    }

    /// Call `f` on positions `start..end` of this subtree, in order or in
    /// reverse. Returns false if `f` asked to stop.
    fn visit(&self, start: usize, end: usize, rev: bool, f: &mut impl FnMut(T) -> bool) -> bool {
        match self {
            Node::Leaf(v) => {
                if rev {
                    v[start..end].iter().rev().all(|&h| f(h))
                } else {
                    v[start..end].iter().all(|&h| f(h))
                }
            }
            Node::Inner(inner) => {
                let mut spans = Vec::with_capacity(inner.kids.len());
                let mut base = 0;
                for (k, &c) in inner.kids.iter().zip(&inner.counts) {
                    let (lo, hi) = (start.max(base), end.min(base + c));
                    if lo < hi {
                        spans.push((k, lo - base, hi - base));
                    }
                    base += c;
                }
                if rev {
                    spans
                        .iter()
                        .rev()
                        .all(|&(k, lo, hi)| k.visit(lo, hi, rev, f))
                } else {
                    spans.iter().all(|&(k, lo, hi)| k.visit(lo, hi, rev, f))
                }
            }
        }
    }
}

impl<T: Copy> Inner<T> {
    /// Child holding position `pos` (0..len), and the position inside it.
    fn child_at(&self, mut pos: usize) -> (usize, usize) {
        for (i, &c) in self.counts.iter().enumerate() {
            if pos < c {
                return (i, pos);
            }
            pos -= c;
        }
        unreachable!("position out of range")
    }

    /// Child receiving an insert at `pos` (0..=len): the end goes to the
    /// last child.
    fn child_at_insert(&self, mut pos: usize) -> (usize, usize) {
        let last = self.counts.len() - 1;
        for (i, &c) in self.counts.iter().enumerate() {
            if pos < c || i == last {
                return (i, pos);
            }
            pos -= c;
        }
        unreachable!("inner node without children")
    }

    /// An inner node over `kids` (at most `INNER_CAP + 1` of them), all
    /// in one allocation: a descent reads one node, not four.
    fn from_kids(kids: impl IntoIterator<Item = Node<T>>) -> Inner<T> {
        let kids: Arr<Node<T>> = kids.into_iter().collect();
        debug_assert!(!kids.spilled());
        let counts: Arr<usize> = kids.iter().map(Node::len).collect();
        let firsts = kids.iter().map(Node::first).collect();
        let len = counts.iter().sum();
        Inner {
            kids,
            counts,
            firsts,
            len,
        }
    }

    /// Move the children from `at` on into a new node.
    fn split_at(&mut self, at: usize) -> Inner<T> {
        let r = Inner::from_kids(self.kids.drain(at..));
        self.counts.truncate(at);
        self.firsts.truncate(at);
        self.len -= r.len;
        r
    }

    /// Child `i` is underfull: merge it with a neighbour, or even the two
    /// out if together they exceed one node.
    fn rebalance(&mut self, i: usize) {
        if self.kids.len() < 2 {
            return;
        }
        let a = if i + 1 < self.kids.len() { i } else { i - 1 };
        let b = self.kids.remove(a + 1);
        self.counts.remove(a + 1);
        self.firsts.remove(a + 1);
        let right = match (&mut self.kids[a], b) {
            (Node::Leaf(x), Node::Leaf(y)) => {
                let (x, mut y) = (Arc::make_mut(x), Arc::unwrap_or_clone(y));
                let total = x.len() + y.len();
                if total <= LEAF_CAP {
                    x.extend(y.drain(..));
                    None
                } else {
                    // Even out: the left keeps total / 2.
                    let half = total / 2;
                    if x.len() < half {
                        x.extend(y.drain(..half - x.len()));
                    } else {
                        let moved: LeafVec<T> = x.drain(half..).collect();
                        y.insert_many(0, moved);
                    }
                    Some(Node::Leaf(Arc::new(y)))
                }
            }
            (Node::Inner(x), Node::Inner(y)) => {
                let x = Arc::make_mut(x);
                let mut kids: Vec<Node<T>> = std::mem::take(&mut x.kids).into_iter().collect();
                kids.extend(Arc::unwrap_or_clone(y).kids);
                let r = if kids.len() > INNER_CAP {
                    let at = kids.len() / 2;
                    Some(Node::Inner(Arc::new(Inner::from_kids(kids.split_off(at)))))
                } else {
                    None
                };
                *x = Inner::from_kids(kids);
                r
            }
            _ => unreachable!("siblings at different depths"),
        };
        self.counts[a] = self.kids[a].len();
        self.firsts[a] = self.kids[a].first();
        if let Some(r) = right {
            self.counts.insert(a + 1, r.len());
            self.firsts.insert(a + 1, r.first());
            self.kids.insert(a + 1, r);
        }
    }
}

/// An order-statistic sequence of `T` elements (see the module doc).
#[derive(Clone, Debug)]
pub struct RankTree<T> {
    root: Node<T>,
}

impl<T> Default for RankTree<T> {
    fn default() -> Self {
        RankTree {
            root: Node::Leaf(Arc::default()),
        }
    }
}

impl<T: Copy> RankTree<T> {
    pub fn new() -> RankTree<T> {
        RankTree::default()
    }

    pub fn len(&self) -> usize {
        self.root.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Heap bytes of the nodes.
    pub fn heap_size(&self) -> usize {
        self.root.heap_size()
    }

    /// Insert `h` so that it gets rank `pos` (0..=len).
    pub fn insert_at(&mut self, pos: usize, h: T) {
        assert!(pos <= self.len(), "insert position out of range");
        if let Some(r) = self.root.insert_at(pos, h) {
            let left = std::mem::replace(&mut self.root, Node::Leaf(Arc::default()));
            self.root = Node::Inner(Arc::new(Inner::from_kids(vec![left, r])));
        }
    }

    /// Remove and return the handle at rank `pos` (0..len).
    pub fn remove_at(&mut self, pos: usize) -> T {
        assert!(pos < self.len(), "remove position out of range");
        let h = self.root.remove_at(pos);
        loop {
            match &mut self.root {
                Node::Inner(i) if i.kids.len() == 1 => {
                    let k = Arc::make_mut(i).kids.pop().expect("one child");
                    self.root = k;
                }
                Node::Inner(i) if i.kids.is_empty() => self.root = Node::Leaf(Arc::default()),
                _ => break,
            }
        }
        h
    }

    /// Replace the element at rank `pos` (0..len) by `h` (the caller keeps
    /// the order: `h` must still sort between its neighbours).
    pub fn set_at(&mut self, pos: usize, h: T) {
        assert!(pos < self.len(), "position out of range");
        self.root.set_at(pos, h);
    }

    /// The handle at rank `pos` (0..len).
    pub fn get(&self, pos: usize) -> T {
        assert!(pos < self.len(), "position out of range");
        self.root.get(pos)
    }

    /// Number of leading handles satisfying `pred`, which must hold for a
    /// prefix of the sequence and not after it.
    pub fn count_while(&self, pred: impl Fn(T) -> bool) -> usize {
        let mut acc = 0;
        let mut n = &self.root;
        loop {
            match n {
                // A linear scan, not a binary search: its loads are
                // independent (the CPU overlaps the cache misses on a
                // 12-line leaf) where a binary search waits for each.
                Node::Leaf(v) => {
                    return acc + v.iter().position(|&h| !pred(h)).unwrap_or(v.len());
                }
                Node::Inner(inner) => {
                    // Last child whose first handle satisfies pred: the
                    // boundary lies inside it (or right after it).
                    let k = inner.firsts.partition_point(|&h| pred(h));
                    if k == 0 {
                        return acc;
                    }
                    acc += inner.counts[..k - 1].iter().sum::<usize>();
                    n = &inner.kids[k - 1];
                }
            }
        }
    }

    /// Call `f` on the handles at ranks `start..end`, ascending or (with
    /// `rev`) descending; `f` returns false to stop early.
    pub fn visit(&self, start: usize, end: usize, rev: bool, mut f: impl FnMut(T) -> bool) {
        let end = end.min(self.len());
        if start < end {
            self.root.visit(start, end, rev, &mut f);
        }
    }

    /// All handles in order.
    pub fn to_vec(&self) -> Vec<T> {
        let mut v = Vec::with_capacity(self.len());
        self.visit(0, self.len(), false, |h| {
            v.push(h);
            true
        });
        v
    }

    /// Check the structural invariants (tests).
    #[cfg(test)]
    fn check(&self)
    where
        T: PartialEq + std::fmt::Debug,
    {
        fn walk<T: Copy + PartialEq + std::fmt::Debug>(
            n: &Node<T>,
            depth: usize,
            leaf_depth: &mut Option<usize>,
            root: bool,
        ) {
            match n {
                Node::Leaf(v) => {
                    assert!(v.len() <= LEAF_CAP && !v.spilled());
                    assert!(root || !v.is_empty());
                    match leaf_depth {
                        Some(d) => assert_eq!(*d, depth),
                        None => *leaf_depth = Some(depth),
                    }
                }
                Node::Inner(i) => {
                    assert!(i.kids.len() <= INNER_CAP && !i.kids.is_empty());
                    assert!(!i.kids.spilled() && !i.counts.spilled() && !i.firsts.spilled());
                    assert!(!root || i.kids.len() >= 2);
                    assert_eq!(i.len, i.counts.iter().sum::<usize>());
                    for (k, kid) in i.kids.iter().enumerate() {
                        assert_eq!(i.counts[k], kid.len());
                        assert_eq!(i.firsts[k], kid.first());
                        walk(kid, depth + 1, leaf_depth, false);
                    }
                }
            }
        }
        walk(&self.root, 0, &mut None, true);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Insert(u32),
        RemoveAt(usize),
        /// Keep a clone and the model at this point (what a snapshot's
        /// freeze does): later changes must not reach it.
        Freeze,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (0u32..5000).prop_map(Op::Insert),
            2 => any::<usize>().prop_map(Op::RemoveAt),
            1 => Just(Op::Freeze),
        ]
    }

    proptest! {
        /// Kept sorted by inserting at `count_while(< x)`, the tree matches
        /// a sorted Vec for every rank query and range; clones taken along
        /// the way keep their contents.
        #[test]
        fn matches_sorted_vec(ops in proptest::collection::vec(op(), 1..3000)) {
            let mut t = RankTree::new();
            let mut model: Vec<u32> = Vec::new();
            let mut frozen = Vec::new();
            for o in ops {
                match o {
                    Op::Insert(x) => {
                        let pos = t.count_while(|h| h < x);
                        prop_assert_eq!(pos, model.partition_point(|&h| h < x));
                        t.insert_at(pos, x);
                        model.insert(pos, x);
                    }
                    Op::RemoveAt(p) if !model.is_empty() => {
                        let p = p % model.len();
                        prop_assert_eq!(t.remove_at(p), model.remove(p));
                    }
                    Op::RemoveAt(_) => {}
                    Op::Freeze if frozen.len() < 6 => frozen.push((t.clone(), model.clone())),
                    Op::Freeze => {}
                }
                prop_assert_eq!(t.len(), model.len());
            }
            t.check();
            prop_assert_eq!(t.to_vec(), model.clone());
            for (f, m) in &frozen {
                f.check();
                prop_assert_eq!(&f.to_vec(), m);
            }
            for (i, &x) in model.iter().enumerate().step_by(7) {
                prop_assert_eq!(t.get(i), x);
            }
            let n = model.len();
            let (a, b) = (n / 3, n - n / 4);
            let mut rev = Vec::new();
            t.visit(a, b, true, |h| { rev.push(h); true });
            let mut want: Vec<u32> = model[a.min(b)..b].to_vec();
            want.reverse();
            prop_assert_eq!(rev, want);
        }
    }

    #[test]
    fn ascending_load_fills_leaves_and_drains() {
        let mut t = RankTree::new();
        for i in 0..100_000u32 {
            t.insert_at(i as usize, i);
        }
        t.check();
        // Full leaves: 4 bytes a handle, plus a leaf's Arc counters and
        // length (24 bytes per 64 handles) and a little for inner nodes.
        // Half-full leaves would take over 8.
        assert!(t.heap_size() < 100_000 * 11 / 2, "{}", t.heap_size());
        for i in 0..100_000usize {
            assert_eq!(t.remove_at(0), i as u32);
            if i % 9973 == 0 {
                t.check();
            }
        }
        assert!(t.is_empty());
        t.check();
    }

    /// Deep trees (three inner levels): random inserts, then random
    /// removals that drain it, against a sorted Vec.
    #[test]
    fn deep_random_grow_and_drain() {
        let mut t = RankTree::new();
        let mut model: Vec<u32> = Vec::new();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let mut rnd = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..120_000 {
            let v = (rnd() % 1_000_000) as u32;
            let pos = t.count_while(|h| h < v);
            t.insert_at(pos, v);
            model.insert(pos, v);
        }
        t.check();
        assert_eq!(t.to_vec(), model);
        while !model.is_empty() {
            let p = (rnd() % model.len() as u64) as usize;
            assert_eq!(t.remove_at(p), model.remove(p));
            if model.len().is_multiple_of(10_007) {
                t.check();
                assert_eq!(t.len(), model.len());
                if let Some(&m) = model.get(model.len() / 2) {
                    assert_eq!(t.get(model.len() / 2), m);
                }
            }
        }
        t.check();
        assert!(t.is_empty());
    }

    #[test]
    fn early_stop() {
        let mut t = RankTree::new();
        for i in 0..1000u32 {
            t.insert_at(i as usize, i);
        }
        let mut seen = Vec::new();
        t.visit(10, 1000, false, |h| {
            seen.push(h);
            seen.len() < 3
        });
        assert_eq!(seen, vec![10, 11, 12]);
    }
}
