//! Set values.

use crate::keyspace::CompactBytes;

/// A Redis set.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Set {
    pub members: Vec<CompactBytes>,
}

impl Set {
    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "hashtable"
    }

    pub fn heap_size(&self) -> usize {
        self.members.capacity() * std::mem::size_of::<CompactBytes>()
            + self.members.iter().map(|m| m.heap_size()).sum::<usize>()
    }
}
