//! Set values: members in an `Indexed` vector (O(1) membership, insert,
//! delete and random pick; scans that never miss a member present for the
//! whole scan).

use super::indexed::Indexed;
use crate::keyspace::CompactBytes;

/// A Redis set.
#[derive(Clone, Default)]
pub struct Set {
    members: Indexed<CompactBytes>,
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
        self.members.heap_size() + self.members.iter().map(|m| m.heap_size()).sum::<usize>()
    }

    fn find(&self, m: &[u8]) -> Option<usize> {
        self.members.find(m)
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
        self.members.push_new(CompactBytes::new(m));
        if !self.big && self.len() > max_intset {
            self.big = true;
        }
        true
    }

    /// Remove a member; true if it existed.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        self.members.remove(m).is_some()
    }

    /// The member at a position (0..len), for random picks.
    pub fn at(&self, i: usize) -> &[u8] {
        self.members.at(i)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &[u8]> {
        self.members.iter().map(|m| m.as_slice())
    }

    /// One step of a scan (`Indexed::scan`).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8])) -> u64 {
        self.members.scan(cursor, count, |m| f(m))
    }
}
