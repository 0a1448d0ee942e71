//! Hash values.

use crate::keyspace::CompactBytes;

/// A Redis hash (field -> value), in insertion order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Hash {
    pub fields: Vec<(CompactBytes, CompactBytes)>,
}

impl Hash {
    pub fn len(&self) -> usize {
        self.fields.len()
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    pub fn heap_size(&self) -> usize {
        self.fields.capacity() * 2 * std::mem::size_of::<CompactBytes>()
            + self
                .fields
                .iter()
                .map(|(f, v)| f.heap_size() + v.heap_size())
                .sum::<usize>()
    }
}
