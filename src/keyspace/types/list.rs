//! List values.

use crate::keyspace::CompactBytes;
use std::collections::VecDeque;

/// A Redis list.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct List {
    pub items: VecDeque<CompactBytes>,
}

impl List {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<CompactBytes>()
            + self.items.iter().map(|i| i.heap_size()).sum::<usize>()
    }
}
