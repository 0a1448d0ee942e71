//! List values.

use crate::keyspace::CompactBytes;
use std::collections::VecDeque;

/// A Redis list: a deque of elements (short ones stored inline).
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

    /// OBJECT ENCODING name. Redis 7.0 always uses a quicklist for lists
    /// (the "listpack" list encoding only arrived in 7.2).
    pub fn encoding(&self) -> &'static str {
        "quicklist"
    }

    pub fn heap_size(&self) -> usize {
        self.items.capacity() * std::mem::size_of::<CompactBytes>()
            + self.items.iter().map(|i| i.heap_size()).sum::<usize>()
    }

    /// Push at the head (`left`) or the tail.
    pub fn push(&mut self, v: &[u8], left: bool) {
        let v = CompactBytes::new(v);
        if left {
            self.items.push_front(v);
        } else {
            self.items.push_back(v);
        }
    }

    /// Pop from the head (`left`) or the tail.
    pub fn pop(&mut self, left: bool) -> Option<CompactBytes> {
        if left {
            self.items.pop_front()
        } else {
            self.items.pop_back()
        }
    }

    /// Position of a Redis index (negative counts from the tail), if in range.
    pub fn index(&self, i: i64) -> Option<usize> {
        let n = self.items.len() as i64;
        let i = if i < 0 { n.checked_add(i)? } else { i };
        (0..n).contains(&i).then_some(i as usize)
    }

    /// Keep only `[start, end]` (inclusive positions; start > end empties).
    pub fn trim(&mut self, ltrim: usize, rtrim: usize) {
        let n = self.items.len();
        if ltrim + rtrim >= n {
            self.items.clear();
        } else {
            self.items.truncate(n - rtrim);
            self.items.drain(..ltrim);
        }
    }

    /// Remove up to `count` elements equal to `v` (0 = all), scanning from
    /// the head, or from the tail when `from_tail`. Returns how many. O(n).
    pub fn remove(&mut self, v: &[u8], count: usize, from_tail: bool) -> usize {
        let limit = if count == 0 { usize::MAX } else { count };
        // Position from which matches are removed: with a limit from the
        // tail, the `limit`-th match counted from the end.
        let mut first = 0;
        if from_tail && limit != usize::MAX {
            let mut seen = 0;
            for (i, x) in self.items.iter().enumerate().rev() {
                if x.as_slice() == v {
                    seen += 1;
                    first = i;
                    if seen == limit {
                        break;
                    }
                }
            }
        }
        let before = self.items.len();
        let (mut idx, mut left) = (0usize, limit);
        self.items.retain(|x| {
            let keep = !(idx >= first && left > 0 && x.as_slice() == v);
            if !keep {
                left -= 1;
            }
            idx += 1;
            keep
        });
        before - self.items.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(v: &[&str]) -> List {
        let mut l = List::default();
        for s in v {
            l.push(s.as_bytes(), false);
        }
        l
    }

    fn items(l: &List) -> Vec<String> {
        l.items
            .iter()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect()
    }

    #[test]
    fn ops() {
        let mut l = list(&["a", "b", "a", "c", "a"]);
        assert_eq!(l.index(-1), Some(4));
        assert_eq!(l.index(-6), None);
        assert_eq!(l.index(5), None);
        assert_eq!(l.index(i64::MIN), None);
        assert_eq!(l.remove(b"a", 1, true), 1);
        assert_eq!(items(&l), ["a", "b", "a", "c"]);
        assert_eq!(l.remove(b"a", 0, false), 2);
        assert_eq!(items(&l), ["b", "c"]);
        let mut l = list(&["a", "b", "c", "d"]);
        l.trim(1, 1);
        assert_eq!(items(&l), ["b", "c"]);
        l.trim(1, 1);
        assert!(l.is_empty());
        let mut l = list(&["a", "x", "a", "a", "y", "a"]);
        assert_eq!(l.remove(b"a", 2, true), 2);
        assert_eq!(items(&l), ["a", "x", "a", "y"]);
        assert_eq!(l.remove(b"a", 5, true), 2);
        assert_eq!(items(&l), ["x", "y"]);
        assert_eq!(l.remove(b"z", 0, true), 0);
    }
}
