//! Set values: a dense vector of members plus a hash index of positions,
//! so membership, insert, delete and random picks are O(1). Deletion swaps
//! the last member into the hole; `scan` walks positions from the top down
//! so a member present for the whole scan is never missed.

use crate::keyspace::CompactBytes;
use hashbrown::HashTable;
use std::hash::BuildHasher;

type Hasher = foldhash::fast::FixedState;

fn hash_of(b: &[u8]) -> u64 {
    Hasher::with_seed(0x6361_6972_6e73).hash_one(b)
}

/// A Redis set.
#[derive(Clone, Default)]
pub struct Set {
    members: Vec<CompactBytes>,
    index: HashTable<u32>,
    /// Converted to Redis's "hashtable" encoding (sticky, as in Redis);
    /// otherwise every member is a canonical integer ("intset").
    big: bool,
}

impl std::fmt::Debug for Set {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_set().entries(self.members.iter()).finish()
    }
}

impl PartialEq for Set {
    fn eq(&self, other: &Set) -> bool {
        self.len() == other.len() && self.members.iter().all(|m| other.contains(m))
    }
}

impl Set {
    pub fn new() -> Set {
        Set::default()
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// OBJECT ENCODING name (Redis 7.0: "intset" or "hashtable").
    pub fn encoding(&self) -> &'static str {
        if self.big { "hashtable" } else { "intset" }
    }

    /// Whether the compact ("intset") encoding is still in use.
    pub fn is_compact(&self) -> bool {
        !self.big
    }

    pub fn heap_size(&self) -> usize {
        self.members.capacity() * std::mem::size_of::<CompactBytes>()
            + self.index.capacity() * (std::mem::size_of::<u32>() + 1)
            + self.members.iter().map(|m| m.heap_size()).sum::<usize>()
    }

    fn find(&self, m: &[u8]) -> Option<usize> {
        let v = &self.members;
        self.index
            .find(hash_of(m), |&i| v[i as usize].as_slice() == m)
            .map(|&i| i as usize)
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        self.find(m).is_some()
    }

    /// Add a member; true if it was new. `max_intset` is
    /// set-max-intset-entries (the intset -> hashtable conversion limit).
    pub fn insert(&mut self, m: &[u8], max_intset: usize) -> bool {
        if self.find(m).is_some() {
            return false;
        }
        if !self.big && crate::util::parse_i64(m).is_none() {
            self.big = true;
        }
        let pos = self.members.len() as u32;
        self.members.push(CompactBytes::new(m));
        let v = &self.members;
        self.index
            .insert_unique(hash_of(m), pos, |&i| hash_of(&v[i as usize]));
        if !self.big && self.len() > max_intset {
            self.big = true;
        }
        true
    }

    /// Remove a member; true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        let v = &self.members;
        let Ok(slot) = self
            .index
            .find_entry(hash_of(m), |&i| v[i as usize].as_slice() == m)
        else {
            return false;
        };
        let (pos, _) = slot.remove();
        let pos = pos as usize;
        let last = self.members.len() - 1;
        if pos != last {
            let lh = hash_of(&self.members[last]);
            let slot = self
                .index
                .find_mut(lh, |&i| i as usize == last)
                .expect("last member indexed");
            *slot = pos as u32;
        }
        self.members.swap_remove(pos);
        true
    }

    /// The member at a position (0..len), for random picks.
    pub fn at(&self, i: usize) -> &[u8] {
        &self.members[i]
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.members.iter().map(|m| m.as_slice())
    }

    /// One step of a scan; see `Hash::scan`.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        let top = if cursor == 0 {
            self.len()
        } else {
            (cursor as usize).min(self.len())
        };
        let bottom = top.saturating_sub(count.max(1));
        for i in (bottom..top).rev() {
            f(&self.members[i]);
        }
        bottom as u64
    }
}
