//! `Pair`: a hash field and its value behind one 32-byte handle, stored
//! inline when both fit in 29 bytes together, else in one exact-size heap
//! buffer (field bytes, then value bytes). Two `CompactBytes` would take
//! 48 bytes; in a big hash this handle is most of the per-pair cost.

use super::indexed::Keyed;

const INLINE: usize = 29;

#[derive(Clone)]
pub enum Pair {
    /// `data[..flen]` is the field, `data[flen..flen + vlen]` the value.
    Inline {
        flen: u8,
        vlen: u8,
        data: [u8; INLINE],
    },
    /// `data[..flen]` is the field, `data[flen..]` the value.
    Heap { flen: usize, data: Box<[u8]> },
}

impl Pair {
    pub fn new(field: &[u8], value: &[u8]) -> Pair {
        let flen = field.len();
        if flen + value.len() <= INLINE {
            let mut data = [0u8; INLINE];
            data[..flen].copy_from_slice(field);
            data[flen..flen + value.len()].copy_from_slice(value);
            Pair::Inline {
                flen: flen as u8,
                vlen: value.len() as u8,
                data,
            }
        } else {
            let mut data = Vec::with_capacity(flen + value.len());
            data.extend_from_slice(field);
            data.extend_from_slice(value);
            Pair::Heap {
                flen,
                data: data.into_boxed_slice(),
            }
        }
    }

    #[inline]
    pub fn field(&self) -> &[u8] {
        match self {
            Pair::Inline { flen, data, .. } => &data[..*flen as usize],
            Pair::Heap { flen, data } => &data[..*flen],
        }
    }

    #[inline]
    pub fn value(&self) -> &[u8] {
        match self {
            Pair::Inline { flen, vlen, data } => {
                &data[*flen as usize..*flen as usize + *vlen as usize]
            }
            Pair::Heap { flen, data } => &data[*flen..],
        }
    }

    /// Replace the value, keeping the field. A heap pair whose new value
    /// has the old one's length is rewritten in place (no allocation: the
    /// common case of a counter or fixed-size record being updated).
    pub fn set_value(&mut self, value: &[u8]) {
        if let Pair::Heap { flen, data } = self
            && data.len() - *flen == value.len()
        {
            data[*flen..].copy_from_slice(value);
            return;
        }
        *self = Pair::new(self.field(), value);
    }

    /// Heap bytes owned beyond the handle.
    pub fn heap_size(&self) -> usize {
        match self {
            Pair::Inline { .. } => 0,
            Pair::Heap { data, .. } => data.len(),
        }
    }
}

impl Keyed for Pair {
    fn key(&self) -> &[u8] {
        self.field()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_round_trip() {
        assert_eq!(std::mem::size_of::<Pair>(), 32);
        for (f, v) in [
            (0, 0),
            (17, 8),
            (29, 0),
            (0, 29),
            (20, 10),
            (100, 3),
            (3, 1000),
        ] {
            let field = vec![b'f'; f];
            let value = vec![b'v'; v];
            let mut p = Pair::new(&field, &value);
            assert_eq!((p.field(), p.value()), (&field[..], &value[..]));
            assert_eq!(p.heap_size() == 0, f + v <= INLINE);
            let same = vec![b's'; v];
            p.set_value(&same);
            assert_eq!((p.field(), p.value()), (&field[..], &same[..]));
            p.set_value(b"x");
            assert_eq!((p.field(), p.value()), (&field[..], &b"x"[..]));
        }
    }
}
