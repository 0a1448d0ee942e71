//! One key and its value.

use super::compact::CompactBytes;
use super::types::{Hash, List, Set, Stream, ZSet};

/// A stored value. Strings that are canonical 64-bit integers are kept as
/// `Int` (Redis's "int" encoding); other strings as bytes.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A string Redis would store as "embstr" (up to 44 bytes) or "raw".
    Str(CompactBytes),
    Int(i64),
    /// A string modified in place (APPEND, SETRANGE): Redis keeps those in
    /// its "raw" encoding whatever their length, and OBJECT ENCODING shows
    /// it. Same bytes semantics as `Str`. Boxed so that `Value` is 24
    /// bytes, not 32 (two unboxed `CompactBytes` variants leave the
    /// compiler no niche for the tag): every key saves 8 bytes, and the
    /// rare raw strings (bitmaps, HyperLogLogs, appended strings) pay one
    /// small allocation.
    Raw(Box<CompactBytes>),
    List(Box<List>),
    Hash(Box<Hash>),
    Set(Box<Set>),
    ZSet(Box<ZSet>),
    Stream(Box<Stream>),
}

/// Redis type names as TYPE reports them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    String,
    List,
    Hash,
    Set,
    ZSet,
    Stream,
}

impl ValueType {
    pub fn name(self) -> &'static str {
        match self {
            ValueType::String => "string",
            ValueType::List => "list",
            ValueType::Hash => "hash",
            ValueType::Set => "set",
            ValueType::ZSet => "zset",
            ValueType::Stream => "stream",
        }
    }

    pub fn from_name(s: &[u8]) -> Option<ValueType> {
        [
            ValueType::String,
            ValueType::List,
            ValueType::Hash,
            ValueType::Set,
            ValueType::ZSet,
            ValueType::Stream,
        ]
        .into_iter()
        .find(|t| s.eq_ignore_ascii_case(t.name().as_bytes()))
    }
}

impl Value {
    /// Start loading what the value points to into the cache (a hint;
    /// the snapshot walk reads values a few entries ahead of use).
    #[inline]
    pub fn prefetch(&self) {
        match self {
            Value::Str(b) => b.prefetch(),
            Value::Int(_) => {}
            Value::Raw(b) => crate::util::prefetch(&**b),
            Value::List(l) => crate::util::prefetch(&**l),
            Value::Hash(h) => crate::util::prefetch(&**h),
            Value::Set(s) => crate::util::prefetch(&**s),
            Value::ZSet(z) => crate::util::prefetch(&**z),
            Value::Stream(x) => crate::util::prefetch(&**x),
        }
    }

    /// Start loading the element `member` of a big hash or set (a hint;
    /// nothing for other values).
    #[inline]
    pub fn prefetch_member(&self, member: &[u8]) {
        match self {
            Value::Hash(h) => h.prefetch(member),
            Value::Set(s) => s.prefetch(member),
            _ => {}
        }
    }

    /// A raw-encoded string (`Value::Raw`).
    pub fn raw(b: CompactBytes) -> Value {
        Value::Raw(Box::new(b))
    }

    /// Build a string value, using the integer encoding when the bytes are
    /// a canonical integer of at most 20 characters (as Redis does).
    pub fn string(b: &[u8]) -> Value {
        if b.len() <= 20
            && let Some(n) = crate::util::parse_i64(b)
        {
            return Value::Int(n);
        }
        Value::Str(CompactBytes::new(b))
    }

    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Str(_) | Value::Int(_) | Value::Raw(_) => ValueType::String,
            Value::List(_) => ValueType::List,
            Value::Hash(_) => ValueType::Hash,
            Value::Set(_) => ValueType::Set,
            Value::ZSet(_) => ValueType::ZSet,
            Value::Stream(_) => ValueType::Stream,
        }
    }

    /// OBJECT ENCODING name.
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Int(_) => "int",
            Value::Str(b) if b.len() <= 44 => "embstr",
            Value::Str(_) | Value::Raw(_) => "raw",
            Value::List(l) => l.encoding(),
            Value::Hash(h) => h.encoding(),
            Value::Set(s) => s.encoding(),
            Value::ZSet(z) => z.encoding(),
            Value::Stream(_) => "stream",
        }
    }

    /// A collection with no elements left (Redis deletes such keys).
    pub fn is_empty_collection(&self) -> bool {
        match self {
            Value::List(l) => l.is_empty(),
            Value::Hash(h) => h.is_empty(),
            Value::Set(s) => s.is_empty(),
            Value::ZSet(z) => z.is_empty(),
            // Redis keeps a stream its entries were deleted from.
            Value::Str(_) | Value::Int(_) | Value::Raw(_) | Value::Stream(_) => false,
        }
    }

    /// Approximate heap bytes owned by the value (INFO memory, MEMORY USAGE).
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(b) => b.heap_size(),
            Value::Raw(b) => std::mem::size_of::<CompactBytes>() + b.heap_size(),
            Value::Int(_) => 0,
            Value::List(l) => std::mem::size_of::<List>() + l.heap_size(),
            Value::Hash(h) => std::mem::size_of::<Hash>() + h.heap_size(),
            Value::Set(s) => std::mem::size_of::<Set>() + s.heap_size(),
            Value::ZSet(z) => std::mem::size_of::<ZSet>() + z.heap_size(),
            Value::Stream(x) => std::mem::size_of::<Stream>() + x.heap_size(),
        }
    }
}

/// A key-value pair with its expiry and access clock.
#[derive(Clone, Debug)]
pub struct Entry {
    pub key: CompactBytes,
    pub value: Value,
    /// Absolute expiry in Unix milliseconds; 0 = persistent. Change it only
    /// through `Db` methods: segments count volatile entries.
    pub(crate) expire_at: u64,
    /// Last access, in seconds of the server's LRU clock (OBJECT IDLETIME).
    pub lru: u32,
    /// Low 32 bits of the epoch of the last snapshot that has this entry
    /// (written out, or created after that snapshot's cut): see
    /// `keyspace/cow.rs`. Sits in what would be padding.
    pub(crate) snap: u32,
}

impl Entry {
    pub fn new(key: &[u8], value: Value) -> Entry {
        Entry {
            key: CompactBytes::new(key),
            value,
            expire_at: 0,
            lru: 0,
            snap: 0,
        }
    }

    pub fn expire_at(&self) -> u64 {
        self.expire_at
    }
}

impl Value {
    /// The bytes of a `Str` or `Raw` string (not of an `Int`).
    pub fn compact_str(&self) -> Option<&CompactBytes> {
        match self {
            Value::Str(b) => Some(b),
            Value::Raw(b) => Some(b),
            _ => None,
        }
    }

    /// Bytes of a string value; integers are rendered into `buf`.
    pub fn str_bytes<'a>(&'a self, buf: &'a mut itoa::Buffer) -> Option<&'a [u8]> {
        match self {
            Value::Int(n) => Some(buf.format(*n).as_bytes()),
            v => v.compact_str().map(|b| b.as_slice()),
        }
    }

    /// The bytes of a string value for in-place modification (SETBIT,
    /// BITFIELD, PFADD): an `Int` or `Str` becomes `Raw` first (Redis's
    /// `dbUnshareStringValue`), then the string is zero-extended to at least
    /// `min_len` bytes. `None` if the value is not a string.
    pub fn raw_string_mut(&mut self, min_len: usize) -> Option<&mut CompactBytes> {
        match self {
            Value::Raw(_) => {}
            Value::Str(b) => *self = Value::raw(std::mem::replace(b, CompactBytes::new(b""))),
            Value::Int(n) => {
                *self = Value::raw(CompactBytes::new(itoa::Buffer::new().format(*n).as_bytes()))
            }
            // Not a string (whatever collection types exist).
            _ => return None,
        }
        let Value::Raw(b) = self else {
            unreachable!("made raw above")
        };
        b.grow_zeroed(min_len);
        Some(&mut **b)
    }

    /// Owned bytes of a string value.
    pub fn to_bytes(&self) -> Option<Vec<u8>> {
        let mut b = itoa::Buffer::new();
        self.str_bytes(&mut b).map(|s| s.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `Entry::snap` sits in what was padding: the per-key cost of the
    /// snapshot stamp is zero bytes.
    #[test]
    fn snapshot_stamp_costs_no_memory() {
        assert_eq!(
            std::mem::size_of::<Entry>(),
            std::mem::size_of::<CompactBytes>()
                + std::mem::size_of::<Value>()
                + std::mem::size_of::<u64>()
                + std::mem::size_of::<u64>()
        );
    }

    /// A key's fixed cost: the entry is a table segment's dense slot.
    #[test]
    fn an_entry_is_64_bytes() {
        assert_eq!(std::mem::size_of::<Value>(), 24);
        assert_eq!(std::mem::size_of::<Entry>(), 64);
    }
}
