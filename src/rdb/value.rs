//! Between RDB values and keyspace values: which RDB form each stored
//! value takes (`encode`), and what a decoded value becomes under the
//! server's encoding limits (`into_value`), as Redis 7.0 decides both.

use super::{
    RdbValue, encode_hash, encode_list, encode_set, encode_string, encode_zset, put_int_string, ty,
};
use crate::keyspace::Value;
use crate::keyspace::types::zset::Limits as ZLimits;
use crate::keyspace::types::{Hash, List, Set, ZSet};

/// The encoding settings that shape RDB output and loaded values.
#[derive(Debug, Clone)]
pub struct Limits {
    pub hash_max_entries: usize,
    pub hash_max_value: usize,
    pub set_max_intset: usize,
    pub zset_max_entries: usize,
    pub zset_max_value: usize,
    /// list-max-listpack-size.
    pub list_fill: i64,
    /// rdbcompression.
    pub compress: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            hash_max_entries: 128,
            hash_max_value: 64,
            set_max_intset: 512,
            zset_max_entries: 128,
            zset_max_value: 64,
            list_fill: -2,
            compress: true,
        }
    }
}

impl Limits {
    /// Read the limits from the server's configuration.
    pub fn from_config(c: &crate::config::Config) -> Limits {
        let d = Limits::default();
        let num = |n: &str, d: usize| c.get(n).and_then(|v| v.parse::<usize>().ok()).unwrap_or(d);
        Limits {
            hash_max_entries: num("hash-max-listpack-entries", d.hash_max_entries),
            hash_max_value: num("hash-max-listpack-value", d.hash_max_value),
            set_max_intset: num("set-max-intset-entries", d.set_max_intset),
            zset_max_entries: num("zset-max-listpack-entries", d.zset_max_entries),
            zset_max_value: num("zset-max-listpack-value", d.zset_max_value),
            list_fill: c
                .get("list-max-listpack-size")
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(d.list_fill),
            compress: c.get("rdbcompression").is_none_or(|v| v == "yes"),
        }
    }
}

/// The RDB object (type byte + value) for a stored value.
pub fn encode(v: &Value, l: &Limits) -> Vec<u8> {
    let mut out = Vec::new();
    match v {
        Value::Str(b) => encode_string(&mut out, b, l.compress),
        Value::Raw(b) => encode_string(&mut out, b, l.compress),
        Value::Int(n) => {
            out.push(ty::STRING);
            put_int_string(&mut out, *n);
        }
        Value::List(list) => encode_list(&mut out, list.iter(), l.list_fill, l.compress),
        Value::Hash(h) => encode_hash(&mut out, h.iter(), h.is_compact(), l.compress),
        Value::Set(s) => {
            // Intset members are rendered from integers: owned bytes.
            let owned: Vec<Vec<u8>> = s.iter().map(|m| m.to_vec()).collect();
            let members: Vec<&[u8]> = owned.iter().map(|m| m.as_slice()).collect();
            encode_set(&mut out, &members, s.is_compact(), l.compress)
        }
        Value::ZSet(z) => {
            let ascending: Vec<(&[u8], f64)> = z.iter().collect();
            encode_zset(
                &mut out,
                ascending.iter().copied(),
                z.is_compact(),
                l.compress,
            )
        }
        Value::Stream(x) => super::encode_stream(&mut out, x, l.compress),
    }
    out
}

/// The keyspace value for a decoded RDB value, in the encoding Redis 7.0
/// would give it after loading.
pub fn into_value(r: RdbValue, l: &Limits) -> Value {
    match r {
        RdbValue::String(s) => Value::string(&s),
        RdbValue::List(items) => {
            let mut list = List::with_fill(l.list_fill as i32);
            for i in &items {
                list.push(i, false);
            }
            Value::List(Box::new(list))
        }
        RdbValue::Set { members, .. } => {
            let mut s = Set::new();
            for m in &members {
                s.insert(m, l.set_max_intset);
            }
            Value::Set(Box::new(s))
        }
        RdbValue::Hash { pairs, compact } => {
            let mut h = Hash::new();
            for (f, v) in &pairs {
                h.insert(f, v);
                // Convert as soon as the count passes the limit: inserting
                // into the packed encoding is linear in its size.
                h.convert_if_needed(l.hash_max_entries, usize::MAX, &[]);
            }
            // A compact blob converts on its size alone; a HASH record also
            // on any field or value longer than the limit.
            let longest: &[u8] = if compact {
                &[]
            } else {
                pairs
                    .iter()
                    .flat_map(|(f, v)| [f.as_slice(), v.as_slice()])
                    .max_by_key(|b| b.len())
                    .unwrap_or(&[])
            };
            h.convert_if_needed(l.hash_max_entries, l.hash_max_value, &[longest]);
            Value::Hash(Box::new(h))
        }
        RdbValue::Stream(x) => Value::Stream(x),
        RdbValue::ZSet { pairs, compact } => {
            // A compact blob converts on its size alone; a ZSET record
            // becomes a listpack only if small in count and member length.
            let lim = ZLimits {
                max_entries: l.zset_max_entries,
                max_value: if compact {
                    usize::MAX
                } else {
                    l.zset_max_value
                },
            };
            let longest = if compact {
                0
            } else {
                pairs.iter().map(|p| p.0.len()).max().unwrap_or(0)
            };
            let mut z = ZSet::with_hint(pairs.len(), longest, lim);
            for (m, s) in &pairs {
                z.add(m, *s, lim);
            }
            Value::ZSet(Box::new(z))
        }
    }
}
