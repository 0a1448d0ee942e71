//! `CompactBytes`: a byte string that stores up to 22 bytes inline (no heap
//! allocation) and longer ones in one exact-size boxed slice. 24 bytes wide.

use std::fmt;

const INLINE_CAP: usize = 22;

#[derive(Clone)]
pub enum CompactBytes {
    Inline { len: u8, data: [u8; INLINE_CAP] },
    Heap(Box<[u8]>),
}

impl CompactBytes {
    #[inline]
    pub fn new(b: &[u8]) -> Self {
        if b.len() <= INLINE_CAP {
            let mut data = [0u8; INLINE_CAP];
            data[..b.len()].copy_from_slice(b);
            CompactBytes::Inline {
                len: b.len() as u8,
                data,
            }
        } else {
            CompactBytes::Heap(b.into())
        }
    }

    pub fn from_vec(v: Vec<u8>) -> Self {
        if v.len() <= INLINE_CAP {
            Self::new(&v)
        } else {
            CompactBytes::Heap(v.into_boxed_slice())
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            CompactBytes::Inline { len, data } => &data[..*len as usize],
            CompactBytes::Heap(b) => b,
        }
    }

    /// Start loading heap-stored bytes into the cache (a hint).
    #[inline]
    pub fn prefetch(&self) {
        if let CompactBytes::Heap(b) = self {
            crate::util::prefetch(b.as_ptr());
        }
    }

    #[inline]
    pub fn len(&self) -> usize {
        match self {
            CompactBytes::Inline { len, .. } => *len as usize,
            CompactBytes::Heap(b) => b.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The bytes, writable in place (no copy, whatever the length).
    #[inline]
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        match self {
            CompactBytes::Inline { len, data } => &mut data[..*len as usize],
            CompactBytes::Heap(b) => b,
        }
    }

    /// Take the bytes as a `Vec` (no copy for heap strings).
    pub fn into_vec(self) -> Vec<u8> {
        match self {
            CompactBytes::Inline { len, data } => data[..len as usize].to_vec(),
            CompactBytes::Heap(b) => b.into_vec(),
        }
    }

    /// Extend with zero bytes to `n` bytes (no-op if already that long).
    /// A heap string is reallocated, never copied into a new buffer by us.
    pub fn grow_zeroed(&mut self, n: usize) {
        if n <= self.len() {
            return;
        }
        let mut v = std::mem::replace(self, CompactBytes::new(b"")).into_vec();
        v.reserve_exact(n - v.len());
        v.resize(n, 0);
        *self = CompactBytes::from_vec(v);
    }

    /// Heap bytes owned beyond the 24-byte handle (for memory accounting).
    pub fn heap_size(&self) -> usize {
        match self {
            CompactBytes::Inline { .. } => 0,
            CompactBytes::Heap(b) => b.len(),
        }
    }
}

impl std::ops::Deref for CompactBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for CompactBytes {
    fn eq(&self, o: &Self) -> bool {
        self.as_slice() == o.as_slice()
    }
}
impl Eq for CompactBytes {}

impl fmt::Debug for CompactBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_and_roundtrip() {
        assert_eq!(std::mem::size_of::<CompactBytes>(), 24);
        for n in [0, 1, 22, 23, 100] {
            let v: Vec<u8> = (0..n as u8).collect();
            assert_eq!(CompactBytes::new(&v).as_slice(), &v[..]);
            assert_eq!(CompactBytes::from_vec(v.clone()).as_slice(), &v[..]);
        }
        assert_eq!(CompactBytes::new(&[1; 22]).heap_size(), 0);
    }
}
