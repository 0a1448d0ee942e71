//! `Indexed<T>`: a dense vector plus a hash index of positions, the storage
//! behind hashes and sets. Lookup, insert, delete and random picks are
//! O(1). Deletion moves the last element into the hole. `scan` walks
//! positions from the top down; elements below the cursor only ever move
//! further down (when one of them is the last), so an element present for
//! the whole scan is never skipped (one may be returned twice).

use super::chunked::{self, ChunkVec};
use super::posindex::PosIndex;
use crate::keyspace::CompactBytes;
use std::hash::BuildHasher;

#[inline(always)]
fn hash_of(b: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x6361_6972_6e68).hash_one(b)
}

/// What `Indexed` stores: something with a byte-string key.
pub trait Keyed {
    fn key(&self) -> &[u8];
}

impl Keyed for CompactBytes {
    fn key(&self) -> &[u8] {
        self
    }
}

impl Keyed for (CompactBytes, CompactBytes) {
    fn key(&self) -> &[u8] {
        &self.0
    }
}

/// A clone copies the index, about 10 bytes per element, and shares the
/// elements (`ChunkVec`): a later change copies only the chunk it touches.
/// A snapshot's freeze takes `frozen_view` instead, which leaves the index
/// out.
#[derive(Clone)]
pub struct Indexed<T> {
    items: ChunkVec<T>,
    /// Positions into `items`, hashed by key.
    index: PosIndex,
}

impl<T> Default for Indexed<T> {
    fn default() -> Self {
        Indexed {
            items: ChunkVec::default(),
            index: PosIndex::default(),
        }
    }
}

impl<T: Keyed + Clone> Indexed<T> {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Position of the element with `key`.
    #[inline(always)]
    pub fn find(&self, key: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.index
            .find(hash_of(key), |i| items[i as usize].key() == key)
            .map(|i| i as usize)
    }

    /// Start loading the element with `key` (a hint): the index probe
    /// reads the table (it cannot be only prefetched: its slots say where
    /// to look), then every candidate whose tag matches `key`'s (one, if
    /// `key` is there) is prefetched instead of compared.
    #[inline]
    pub fn prefetch(&self, key: &[u8]) {
        let items = &self.items;
        self.index.find(hash_of(key), |i| {
            if let Some(p) = items.get(i as usize) {
                crate::util::prefetch(p as *const T);
            }
            false
        });
    }

    /// Position of the element with `key`, or append `make()` (whose key
    /// must be `key`) in one probe. `Ok(pos)` if it existed, `Err(pos)` if
    /// it was added.
    pub fn find_or_push(&mut self, key: &[u8], make: impl FnOnce() -> T) -> Result<usize, usize> {
        let h = hash_of(key);
        let items = &self.items;
        let pos = items.len();
        match self
            .index
            .find_or_insert(h, |i| items[i as usize].key() == key, pos as u32)
        {
            Ok(i) => Ok(i as usize),
            Err(_) => {
                self.items.push(make());
                Err(pos)
            }
        }
    }

    /// Append an element whose key is not present.
    pub fn push_new(&mut self, item: T) {
        let h = hash_of(item.key());
        let pos = self.items.len() as u32;
        self.items.push(item);
        self.index.insert_unique(h, pos);
    }

    /// Make room for `n` more elements.
    pub fn reserve(&mut self, n: usize) {
        self.items.reserve(n);
        self.index.reserve(n);
    }

    /// Remove the element with `key`; returns it.
    pub fn remove(&mut self, key: &[u8]) -> Option<T> {
        let items = &self.items;
        let pos = self.index.remove(
            hash_of(key),
            |i| items[i as usize].key() == key,
            |i| hash_of(items[i as usize].key()),
        )? as usize;
        // The index already points the last element at the hole.
        Some(self.items.swap_remove(pos))
    }

    /// `remove` on a table a snapshot may share (big hashes and sets sit
    /// behind an `Arc`): one probe when it is not shared; when it is, the
    /// copy is made only if there is something to remove.
    pub fn remove_shared(this: &mut std::sync::Arc<Self>, key: &[u8]) -> Option<T> {
        if std::sync::Arc::get_mut(this).is_none() && this.find(key).is_none() {
            return None;
        }
        std::sync::Arc::make_mut(this).remove(key)
    }

    /// The elements without the index, sharing their chunks: what a
    /// snapshot's freeze keeps to encode off the lock (`cow::freeze`). It
    /// costs one reference count per 64 elements, and the live table keeps
    /// its index to itself, so no later change has to copy the index.
    /// Only `len`, `iter` and `at` answer right on the view; every lookup
    /// by key finds nothing.
    pub fn frozen_view(&self) -> Self {
        Indexed {
            items: self.items.clone(),
            index: PosIndex::default(),
        }
    }

    /// The element at a position (0..len).
    pub fn at(&self, i: usize) -> &T {
        &self.items[i]
    }

    pub fn at_mut(&mut self, i: usize) -> &mut T {
        &mut self.items[i]
    }

    pub fn iter(&self) -> chunked::Iter<'_, T> {
        self.items.iter()
    }

    /// Bytes of the vector and the index (not what elements own).
    pub fn heap_size(&self) -> usize {
        self.items.heap_size() + self.index.heap_size()
    }

    /// One scan step: `cursor` 0 starts; calls `f` for up to `count`
    /// elements and returns the next cursor (0 when done).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&T)) -> u64 {
        let top = if cursor == 0 {
            self.len()
        } else {
            (cursor as usize).min(self.len())
        };
        let bottom = top.saturating_sub(count.max(1));
        for i in (bottom..top).rev() {
            f(&self.items[i]);
        }
        bottom as u64
    }
}
