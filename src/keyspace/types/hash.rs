//! Hash values: a dense vector of (field, value) pairs plus a hash index
//! of positions, so lookups, inserts, deletes and random picks are O(1).
//! Deletion swaps the last pair into the hole; `scan` walks positions from
//! the top down so a pair present for the whole scan is never missed.

use crate::keyspace::CompactBytes;
use hashbrown::HashTable;
use std::hash::BuildHasher;

type Hasher = foldhash::fast::FixedState;

fn hash_of(b: &[u8]) -> u64 {
    Hasher::with_seed(0x6361_6972_6e68).hash_one(b)
}

/// A Redis hash (field -> value).
#[derive(Clone, Default)]
pub struct Hash {
    entries: Vec<(CompactBytes, CompactBytes)>,
    index: HashTable<u32>,
    /// Converted to Redis's "hashtable" encoding (sticky, as in Redis).
    big: bool,
}

impl std::fmt::Debug for Hash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map()
            .entries(self.entries.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

impl PartialEq for Hash {
    fn eq(&self, other: &Hash) -> bool {
        self.len() == other.len()
            && self
                .entries
                .iter()
                .all(|(f, v)| other.get(f) == Some(v.as_slice()))
    }
}

impl Hash {
    pub fn new() -> Hash {
        Hash::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        if self.big { "hashtable" } else { "listpack" }
    }

    /// Whether the compact ("listpack") encoding is still in use.
    pub fn is_compact(&self) -> bool {
        !self.big
    }

    /// Switch to the "hashtable" encoding if the limits are exceeded
    /// (`max_entries` fields, or a field/value longer than `max_value`).
    pub fn convert_if_needed(&mut self, max_entries: usize, max_value: usize, extra: &[&[u8]]) {
        if !self.big && (self.len() > max_entries || extra.iter().any(|b| b.len() > max_value)) {
            self.big = true;
        }
    }

    pub fn heap_size(&self) -> usize {
        self.entries.capacity() * 2 * std::mem::size_of::<CompactBytes>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self
                .entries
                .iter()
                .map(|(f, v)| f.heap_size() + v.heap_size())
                .sum::<usize>()
    }

    fn find(&self, field: &[u8]) -> Option<usize> {
        let e = &self.entries;
        self.index
            .find(hash_of(field), |&i| e[i as usize].0.as_slice() == field)
            .map(|&i| i as usize)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|i| self.entries[i].1.as_slice())
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.find(field).is_some()
    }

    /// Set a field; true if it was new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(i) = self.find(field) {
            self.entries[i].1 = CompactBytes::new(value);
            return false;
        }
        let pos = self.entries.len() as u32;
        self.entries
            .push((CompactBytes::new(field), CompactBytes::new(value)));
        let e = &self.entries;
        self.index
            .insert_unique(hash_of(field), pos, |&i| hash_of(&e[i as usize].0));
        true
    }

    /// Remove a field; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        let h = hash_of(field);
        let e = &self.entries;
        let Ok(slot) = self
            .index
            .find_entry(h, |&i| e[i as usize].0.as_slice() == field)
        else {
            return false;
        };
        let (pos, _) = slot.remove();
        let pos = pos as usize;
        let last = self.entries.len() - 1;
        if pos != last {
            let lh = hash_of(&self.entries[last].0);
            let slot = self
                .index
                .find_mut(lh, |&i| i as usize == last)
                .expect("last entry indexed");
            *slot = pos as u32;
        }
        self.entries.swap_remove(pos);
        true
    }

    /// The pair at a position (0..len), for random picks.
    pub fn at(&self, i: usize) -> (&[u8], &[u8]) {
        let (f, v) = &self.entries[i];
        (f, v)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|(f, v)| (f.as_slice(), v.as_slice()))
    }

    /// One step of a scan. `cursor` 0 starts; returns the next cursor (0
    /// when done). Positions are visited from the top down: a swap-remove
    /// only moves the last pair downwards, so unvisited pairs stay below
    /// the cursor.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        let top = if cursor == 0 {
            self.len()
        } else {
            (cursor as usize).min(self.len())
        };
        let bottom = top.saturating_sub(count.max(1));
        for i in (bottom..top).rev() {
            let (k, v) = &self.entries[i];
            f(k, v);
        }
        bottom as u64
    }
}
