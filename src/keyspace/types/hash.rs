//! Hash values: (field, value) pairs in an `Indexed` vector (O(1) lookup,
//! insert, delete and random pick; scans that never miss a pair present
//! for the whole scan).

use super::indexed::Indexed;
use crate::keyspace::CompactBytes;

/// A Redis hash (field -> value).
#[derive(Clone, Default)]
pub struct Hash {
    entries: Indexed<(CompactBytes, CompactBytes)>,
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
        self.entries.heap_size()
            + self
                .entries
                .iter()
                .map(|(f, v)| f.heap_size() + v.heap_size())
                .sum::<usize>()
    }

    fn find(&self, field: &[u8]) -> Option<usize> {
        self.entries.find(field)
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        self.find(field).map(|i| self.entries.at(i).1.as_slice())
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.find(field).is_some()
    }

    /// Set a field; true if it was new.
    pub fn insert(&mut self, field: &[u8], value: &[u8]) -> bool {
        if let Some(i) = self.find(field) {
            self.entries.at_mut(i).1 = CompactBytes::new(value);
            return false;
        }
        self.entries
            .push_new((CompactBytes::new(field), CompactBytes::new(value)));
        true
    }

    /// Remove a field; true if it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        self.entries.remove(field).is_some()
    }

    /// The pair at a position (0..len), for random picks.
    pub fn at(&self, i: usize) -> (&[u8], &[u8]) {
        let (f, v) = self.entries.at(i);
        (f, v)
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&[u8], &[u8])> {
        self.entries
            .iter()
            .map(|(f, v)| (f.as_slice(), v.as_slice()))
    }

    /// One step of a scan (`Indexed::scan`).
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], &[u8])) -> u64 {
        self.entries.scan(cursor, count, |(k, v)| f(k, v))
    }
}
