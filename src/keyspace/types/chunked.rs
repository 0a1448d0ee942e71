//! `ChunkVec<T>`: a vector stored in chunks of `CHUNK` elements, each
//! behind an `Arc`. It is the element storage of the big encodings of
//! hashes, sets and sorted sets, so that a snapshot can share them.
//!
//! A clone shares every chunk: O(len / CHUNK) reference counts, no element
//! copied. A change through `&mut` copies the one chunk it touches if (and
//! only if) that chunk is still shared (`Arc::make_mut`). So the first
//! write to a big collection frozen by a snapshot (`keyspace::cow::freeze`)
//! copies a few kilobytes, not the collection; a collection nobody shares
//! pays one uncontended atomic per changed chunk.
//!
//! Invariants:
//! * every chunk holds exactly `CHUNK` elements; the elements after the
//!   last chunk (0..`2 * CHUNK`) are in `tail`, a plain `Vec`;
//! * element `i` is `chunks[i / CHUNK][i % CHUNK]`, or
//!   `tail[i - chunks.len() * CHUNK]` past the chunks.
//!
//! A chunk is an `Arc<[T]>`: its fat pointer (address and length) sits in
//! the small, hot `chunks` array, so reaching element `i` loads the
//! element's own cache line and nothing else, as a plain `Vec` does.
//! Chunks as `Arc<Vec<T>>` or inline `SmallVec`s read a length word on
//! another line first. Measured with `benches/zset.rs` against the plain
//! `Vec` that came before: ZRANK was 25-40% slower with those chunks, and
//! is 15-30% slower with these (ARCHITECTURE.md, "Big values").
//!
//! Removal is `swap_remove`/`pop` only (what the dense collections need):
//! both take from the end, and a chunk the end reaches goes back to being
//! the tail, so the memory follows the length down without a separate
//! shrink. That move clones the chunk's elements (an `Arc<[T]>` cannot give
//! them up), so the tail has slack both ways: it becomes a chunk only at
//! `2 * CHUNK` elements, and a chunk comes back only into an empty tail.
//! Between two moves there are at least `CHUNK` pushes or pops, so an
//! operation clones O(1) elements amortized, even when a collection's size
//! goes back and forth across a chunk boundary.

use std::sync::Arc;

/// Elements per chunk (a power of two: `i / CHUNK` is a shift). 64
/// elements of 32 bytes (`Pair`, a sorted-set slot) are 2 KiB: copying one
/// costs well under a microsecond.
pub const CHUNK: usize = 64;

#[derive(Clone)]
pub struct ChunkVec<T> {
    chunks: Vec<Arc<[T]>>,
    tail: Vec<T>,
}

impl<T> Default for ChunkVec<T> {
    fn default() -> Self {
        ChunkVec {
            chunks: Vec::new(),
            tail: Vec::new(),
        }
    }
}

impl<T: Clone> ChunkVec<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Room in the chunk list for `n` elements in total (the chunks
    /// themselves are allocated as they fill).
    pub fn with_capacity(n: usize) -> Self {
        let mut v = Self::new();
        v.reserve(n);
        v
    }

    #[inline]
    pub fn len(&self) -> usize {
        self.chunks.len() * CHUNK + self.tail.len()
    }

    pub fn is_empty(&self) -> bool {
        self.chunks.is_empty() && self.tail.is_empty()
    }

    /// Room in the chunk list for `n` more elements.
    pub fn reserve(&mut self, n: usize) {
        let want = (self.len() + n) / CHUNK;
        self.chunks.reserve(want.saturating_sub(self.chunks.len()));
    }

    #[inline(always)]
    pub fn get(&self, i: usize) -> Option<&T> {
        let c = i / CHUNK;
        match self.chunks.get(c) {
            Some(chunk) => Some(&chunk[i % CHUNK]),
            None => self.tail.get(i - self.chunks.len() * CHUNK),
        }
    }

    /// The element at `i`, its chunk made private first.
    #[inline]
    pub fn get_mut(&mut self, i: usize) -> Option<&mut T> {
        let c = i / CHUNK;
        let full = self.chunks.len();
        match self.chunks.get_mut(c) {
            Some(chunk) => Some(&mut Arc::make_mut(chunk)[i % CHUNK]),
            None => self.tail.get_mut(i - full * CHUNK),
        }
    }

    pub fn push(&mut self, x: T) {
        self.tail.push(x);
        if self.tail.len() == 2 * CHUNK {
            // The tail's first half becomes a chunk (moved, not cloned).
            let chunk: Arc<[T]> = self.tail.drain(..CHUNK).collect();
            self.chunks.push(chunk);
        }
    }

    pub fn pop(&mut self) -> Option<T> {
        if self.tail.is_empty() {
            // The end is a chunk: it becomes the tail again.
            let last = self.chunks.pop()?;
            self.tail.reserve_exact(2 * CHUNK);
            self.tail.extend_from_slice(&last);
        }
        self.tail.pop()
    }

    /// Remove element `i`; the last element takes its place.
    pub fn swap_remove(&mut self, i: usize) -> T {
        let len = self.len();
        assert!(
            i < len,
            "swap_remove index {i} out of range for length {len}"
        );
        let last = self.pop().expect("not empty");
        if i == len - 1 {
            last
        } else {
            std::mem::replace(&mut self[i], last)
        }
    }

    pub fn iter(&self) -> Iter<'_, T> {
        Iter {
            v: self,
            front: 0,
            back: self.len(),
        }
    }

    /// Heap bytes of the chunk list, the chunks and the tail (not what
    /// elements own). Counts every chunk in full, shared or not.
    pub fn heap_size(&self) -> usize {
        // An Arc allocation holds two counters, then the elements.
        self.chunks.capacity() * std::mem::size_of::<Arc<[T]>>()
            + self.chunks.len() * (16 + CHUNK * std::mem::size_of::<T>())
            + self.tail.capacity() * std::mem::size_of::<T>()
    }
}

/// Out of line, so that indexing stays small enough to inline into the
/// closures the hash index and the tree call per probe (`benches/zset.rs`:
/// with the panic's formatting inline, building a sorted set took about
/// 15-25% longer over 3 alternations).
#[cold]
#[inline(never)]
fn out_of_range(i: usize, len: usize) -> ! {
    panic!("index {i} out of range for length {len}")
}

impl<T: Clone> std::ops::Index<usize> for ChunkVec<T> {
    type Output = T;

    #[inline(always)]
    fn index(&self, i: usize) -> &T {
        match self.get(i) {
            Some(x) => x,
            None => out_of_range(i, self.len()),
        }
    }
}

impl<T: Clone> std::ops::IndexMut<usize> for ChunkVec<T> {
    #[inline(always)]
    fn index_mut(&mut self, i: usize) -> &mut T {
        let len = self.len();
        match self.get_mut(i) {
            Some(x) => x,
            None => out_of_range(i, len),
        }
    }
}

/// Iterator over a `ChunkVec`'s elements in order (either end): the
/// positions `front..back` not yet returned.
pub struct Iter<'a, T> {
    v: &'a ChunkVec<T>,
    front: usize,
    back: usize,
}

impl<'a, T: Clone> Iterator for Iter<'a, T> {
    type Item = &'a T;

    #[inline]
    fn next(&mut self) -> Option<&'a T> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        Some(&self.v[self.front - 1])
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = self.back - self.front;
        (n, Some(n))
    }
}

impl<T: Clone> DoubleEndedIterator for Iter<'_, T> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        Some(&self.v[self.back])
    }
}

impl<T: Clone> ExactSizeIterator for Iter<'_, T> {}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(u32),
        Pop,
        SwapRemove(usize),
        Set(usize, u32),
        /// Clone the vector, keep the clone as a frozen copy to compare
        /// with later (what a snapshot does).
        Freeze,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => any::<u32>().prop_map(Op::Push),
            1 => Just(Op::Pop),
            2 => any::<usize>().prop_map(Op::SwapRemove),
            2 => (any::<usize>(), any::<u32>()).prop_map(|(i, x)| Op::Set(i, x)),
            1 => Just(Op::Freeze),
        ]
    }

    fn check(v: &ChunkVec<u32>, model: &[u32]) {
        assert_eq!(v.len(), model.len());
        assert!(v.chunks.iter().all(|c| c.len() == CHUNK));
        assert_eq!(v.chunks.len() * CHUNK + v.tail.len(), model.len());
        assert!(v.tail.len() < 2 * CHUNK);
        assert!(v.iter().eq(model.iter()));
        assert!(v.iter().rev().eq(model.iter().rev()));
        for (i, x) in model.iter().enumerate() {
            assert_eq!(v[i], *x);
        }
        assert_eq!(v.get(model.len()), None);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Against a `Vec` model; every frozen clone must still equal the
        /// model's state at the time it was taken, however the live
        /// vector changed after.
        #[test]
        fn matches_a_vec_and_clones_stay_frozen(ops in proptest::collection::vec(op(), 1..4000)) {
            let mut v = ChunkVec::new();
            let mut model: Vec<u32> = Vec::new();
            let mut frozen: Vec<(ChunkVec<u32>, Vec<u32>)> = Vec::new();
            for op in ops {
                match op {
                    Op::Push(x) => {
                        v.push(x);
                        model.push(x);
                    }
                    Op::Pop => prop_assert_eq!(v.pop(), model.pop()),
                    Op::SwapRemove(i) if !model.is_empty() => {
                        let i = i % model.len();
                        prop_assert_eq!(v.swap_remove(i), model.swap_remove(i));
                    }
                    Op::Set(i, x) if !model.is_empty() => {
                        let i = i % model.len();
                        v[i] = x;
                        model[i] = x;
                    }
                    Op::Freeze if frozen.len() < 8 => frozen.push((v.clone(), model.clone())),
                    _ => {}
                }
            }
            check(&v, &model);
            for (f, m) in &frozen {
                check(f, m);
            }
        }
    }

    /// Counts its clones (in a thread-local, so parallel tests do not
    /// mix their counts).
    #[derive(Debug)]
    struct Counted;

    thread_local! {
        static CLONES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
    }

    impl Clone for Counted {
        fn clone(&self) -> Self {
            CLONES.with(|c| c.set(c.get() + 1));
            Counted
        }
    }

    /// Pushes and pops that go back and forth across a chunk boundary (a
    /// SADD and an SREM in turn on a set of 64k members) must not clone a
    /// chunk's elements each time: an unshared vector clones nothing
    /// more than O(1) per operation, amortized.
    #[test]
    fn back_and_forth_at_a_chunk_boundary_clones_little() {
        let mut v = ChunkVec::new();
        for _ in 0..10 * CHUNK {
            v.push(Counted);
        }
        CLONES.with(|c| c.set(0));
        for _ in 0..1000 {
            v.pop();
            v.push(Counted);
            v.push(Counted);
            v.pop();
        }
        assert_eq!(v.len(), 10 * CHUNK);
        let clones = CLONES.with(|c| c.get());
        assert!(clones <= 2 * CHUNK, "{clones} clones for 4000 operations");
    }

    #[test]
    fn a_write_after_a_clone_copies_one_chunk() {
        let mut v = ChunkVec::new();
        for i in 0..10 * CHUNK as u32 {
            v.push(i);
        }
        let frozen = v.clone();
        v[3 * CHUNK + 1] = 0;
        let private: Vec<usize> = (0..v.chunks.len())
            .filter(|&k| !Arc::ptr_eq(&v.chunks[k], &frozen.chunks[k]))
            .collect();
        assert_eq!(private, vec![3]);
        assert_eq!(frozen[3 * CHUNK + 1], 3 * CHUNK as u32 + 1);
        // A swap_remove takes the last element from the tail, and copies
        // the hole's chunk.
        v.swap_remove(5);
        let private: Vec<usize> = (0..v.chunks.len())
            .filter(|&k| !Arc::ptr_eq(&v.chunks[k], &frozen.chunks[k]))
            .collect();
        assert_eq!(private, vec![0, 3]);
        assert_eq!(v.len(), 10 * CHUNK - 1);
        assert_eq!(v[5], 10 * CHUNK as u32 - 1);
        assert_eq!(frozen.len(), 10 * CHUNK);
        assert!(frozen.iter().copied().eq(0..10 * CHUNK as u32));
    }
}
