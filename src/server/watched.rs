//! WATCH: which clients watch which keys, and which of them saw a watched
//! key change (their next EXEC fails). A write marks the keys at its key
//! positions (`exec.rs`, after any command that changed data); FLUSHDB,
//! FLUSHALL and SWAPDB mark the watched keys that existed in the databases
//! they replace.
//!
//! Invariant: `keys[db][key]` lists each watching client once, and a
//! client's own list (`Client::watched`) names exactly the entries holding
//! it; `unwatch` removes both sides (EXEC, DISCARD, UNWATCH, disconnect).

use std::collections::{HashMap, HashSet};

#[derive(Default)]
pub struct Watches {
    keys: HashMap<usize, HashMap<Vec<u8>, Vec<u64>>>,
    dirty: HashSet<u64>,
}

impl Watches {
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// `client` watches `key` in `db`; false if it already did.
    pub fn watch(&mut self, client: u64, db: usize, key: &[u8]) -> bool {
        let ids = self
            .keys
            .entry(db)
            .or_default()
            .entry(key.to_vec())
            .or_default();
        if ids.contains(&client) {
            return false;
        }
        ids.push(client);
        true
    }

    /// Forget `client`'s watches (its own list of them) and its mark.
    pub fn unwatch(&mut self, client: u64, keys: &[(usize, Vec<u8>)]) {
        for (db, k) in keys {
            if let Some(m) = self.keys.get_mut(db) {
                if let Some(ids) = m.get_mut(k.as_slice()) {
                    ids.retain(|&c| c != client);
                    if ids.is_empty() {
                        m.remove(k.as_slice());
                    }
                }
                if m.is_empty() {
                    self.keys.remove(db);
                }
            }
        }
        self.dirty.remove(&client);
    }

    /// A write changed `key` in `db`.
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if let Some(ids) = self.keys.get(&db).and_then(|m| m.get(key)) {
            self.dirty.extend(ids.iter().copied());
        }
    }

    /// Clients watching, in `db`, a key for which `exists` is true.
    pub fn watchers_of_existing(
        &self,
        db: usize,
        mut exists: impl FnMut(&[u8]) -> bool,
    ) -> Vec<u64> {
        let mut out = Vec::new();
        if let Some(m) = self.keys.get(&db) {
            for (k, ids) in m {
                if exists(k) {
                    out.extend(ids.iter().copied());
                }
            }
        }
        out
    }

    pub fn mark(&mut self, clients: impl IntoIterator<Item = u64>) {
        self.dirty.extend(clients);
    }

    pub fn is_dirty(&self, client: u64) -> bool {
        self.dirty.contains(&client)
    }
}
