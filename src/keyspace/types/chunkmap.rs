//! `ChunkMap`: a sorted map kept as sorted chunks of up to `CHUNK`
//! entries, indexed by each chunk's first key; the storage of stream
//! consumer groups' pending entries.
//!
//! Why not a `BTreeMap`: entries are delivered in ID order, so they are
//! appended at the end, and a B-tree split on appends leaves every node
//! about half full (about 2x the entry size in memory). Here an append
//! fills the last chunk to the brim and then starts a new one; an insert
//! in the middle splits a full chunk in two. Lookups are a B-tree lookup
//! of the chunk and a binary search in it; a removal shifts at most a
//! chunk's entries.
//!
//! Invariants: chunks are non-empty, sorted, keyed by their first key,
//! hold at most `CHUNK` entries, and every key of a chunk is below the
//! next chunk's key; `len` is the number of entries.

use std::collections::BTreeMap;

const CHUNK: usize = 64;

#[derive(Clone, Debug, PartialEq)]
pub struct ChunkMap<K, V> {
    chunks: BTreeMap<K, Vec<(K, V)>>,
    len: usize,
}

impl<K, V> Default for ChunkMap<K, V> {
    fn default() -> Self {
        ChunkMap {
            chunks: BTreeMap::new(),
            len: 0,
        }
    }
}

impl<K: Ord + Copy, V> ChunkMap<K, V> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The key of the chunk that holds `k` if it is present (the last
    /// chunk starting at or before `k`).
    fn chunk_of(&self, k: &K) -> Option<K> {
        self.chunks.range(..=*k).next_back().map(|(c, _)| *c)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        let c = &self.chunks[&self.chunk_of(k)?];
        c.binary_search_by(|e| e.0.cmp(k)).ok().map(|i| &c[i].1)
    }

    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let key = self.chunk_of(k)?;
        let c = self.chunks.get_mut(&key).expect("a chunk");
        match c.binary_search_by(|e| e.0.cmp(k)) {
            Ok(i) => Some(&mut c[i].1),
            Err(_) => None,
        }
    }

    pub fn contains_key(&self, k: &K) -> bool {
        self.get(k).is_some()
    }

    /// Insert or replace; the old value if there was one.
    pub fn insert(&mut self, k: K, v: V) -> Option<V> {
        let Some(key) = self.chunk_of(&k) else {
            // Below every key: the first chunk takes it, or a new one.
            match self.chunks.pop_first() {
                Some((_, mut c)) if c.len() < CHUNK => {
                    c.insert(0, (k, v));
                    self.chunks.insert(k, c);
                }
                Some((first, c)) => {
                    self.chunks.insert(first, c);
                    self.chunks.insert(k, vec![(k, v)]);
                }
                None => {
                    self.chunks.insert(k, vec![(k, v)]);
                }
            }
            self.len += 1;
            return None;
        };
        let is_last = self.chunks.last_key_value().is_some_and(|(l, _)| *l == key);
        let c = self.chunks.get_mut(&key).expect("a chunk");
        let at = match c.binary_search_by(|e| e.0.cmp(&k)) {
            Ok(i) => return Some(std::mem::replace(&mut c[i].1, v)),
            Err(i) => i,
        };
        self.len += 1;
        if c.len() < CHUNK {
            c.insert(at, (k, v));
        } else if at == CHUNK && is_last {
            // An append past a full last chunk starts the next one.
            self.chunks.insert(k, vec![(k, v)]);
        } else {
            let mut right = c.split_off(CHUNK / 2);
            if at <= CHUNK / 2 {
                c.insert(at, (k, v));
            } else {
                right.insert(at - CHUNK / 2, (k, v));
            }
            self.chunks.insert(right[0].0, right);
        }
        None
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        let key = self.chunk_of(k)?;
        let c = self.chunks.get_mut(&key).expect("a chunk");
        let i = c.binary_search_by(|e| e.0.cmp(k)).ok()?;
        let (_, v) = c.remove(i);
        self.len -= 1;
        if c.is_empty() {
            self.chunks.remove(&key);
        } else if i == 0 {
            // The chunk's first key changed: index it again.
            let c = self.chunks.remove(&key).expect("a chunk");
            self.chunks.insert(c[0].0, c);
        }
        Some(v)
    }

    /// Entries with keys from `start` on, up to `end` (inclusive) if given.
    pub fn range(&self, start: K, end: Option<K>) -> impl Iterator<Item = (&K, &V)> + '_ {
        // From the chunk that may hold `start` (the first if none can).
        let from = self
            .chunk_of(&start)
            .or_else(|| self.chunks.keys().next().copied());
        from.into_iter()
            .flat_map(move |f| self.chunks.range(f..))
            .flat_map(|(_, c)| c.iter())
            .skip_while(move |e| e.0 < start)
            .take_while(move |e| end.is_none_or(|end| e.0 <= end))
            .map(|(k, v)| (k, v))
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> + '_ {
        self.chunks
            .values()
            .flat_map(|c| c.iter())
            .map(|(k, v)| (k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &K> + '_ {
        self.iter().map(|(k, _)| k)
    }

    pub fn first_key(&self) -> Option<&K> {
        self.chunks.first_key_value().map(|(k, _)| k)
    }

    pub fn last_key(&self) -> Option<&K> {
        self.chunks
            .last_key_value()
            .and_then(|(_, c)| c.last())
            .map(|(k, _)| k)
    }

    /// Bytes of the chunks' buffers and index (not what values own).
    pub fn heap_size(&self) -> usize {
        self.chunks
            .values()
            .map(|c| c.capacity() * std::mem::size_of::<(K, V)>() + 64)
            .sum()
    }
}

impl<K: Ord + Copy, V> std::ops::Index<&K> for ChunkMap<K, V> {
    type Output = V;

    fn index(&self, k: &K) -> &V {
        self.get(k).expect("a key present")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::util::XorShift64;
    use std::collections::BTreeMap;

    /// Random inserts, replacements, removals and range reads against a
    /// `BTreeMap` model, with keys mostly appended (as deliveries are)
    /// and sometimes anywhere.
    #[test]
    fn behaves_as_a_btreemap() {
        for seed in 1..=20u64 {
            let mut rng = XorShift64(seed * 0x9E37_79B9);
            let mut m: ChunkMap<u32, u32> = ChunkMap::new();
            let mut model = BTreeMap::new();
            let mut top = 0u32;
            for step in 0..4000u32 {
                let k = if rng.below(4) == 0 {
                    rng.below(top as usize + 10) as u32
                } else {
                    top += 1 + rng.below(3) as u32;
                    top
                };
                match rng.below(10) {
                    0..=5 => assert_eq!(m.insert(k, step), model.insert(k, step)),
                    6..=8 => assert_eq!(m.remove(&k), model.remove(&k)),
                    _ => {
                        let end = k + rng.below(200) as u32;
                        let got: Vec<_> = m.range(k, Some(end)).map(|(a, b)| (*a, *b)).collect();
                        let want: Vec<_> = model.range(k..=end).map(|(a, b)| (*a, *b)).collect();
                        assert_eq!(got, want, "seed {seed} step {step}");
                    }
                }
                assert_eq!(m.len(), model.len());
                assert_eq!(m.get(&k), model.get(&k));
            }
            let all: Vec<_> = m.iter().map(|(a, b)| (*a, *b)).collect();
            let want: Vec<_> = model.iter().map(|(a, b)| (*a, *b)).collect();
            assert_eq!(all, want, "seed {seed}");
            assert_eq!(m.first_key(), model.keys().next());
            assert_eq!(m.last_key(), model.keys().next_back());
            for (first, c) in &m.chunks {
                assert!(!c.is_empty() && c.len() <= CHUNK && c[0].0 == *first);
            }
        }
    }

    #[test]
    fn appends_fill_chunks() {
        let mut m: ChunkMap<u32, ()> = ChunkMap::new();
        for k in 0..(CHUNK as u32 * 10) {
            m.insert(k, ());
        }
        assert_eq!(m.chunks.len(), 10);
        assert!(m.chunks.values().all(|c| c.len() == CHUNK));
    }
}
