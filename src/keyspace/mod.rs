//! The keyspace: numbered databases of key → value, expiry, and the effect
//! journal that every mutation feeds.
//!
//! Invariants:
//! * A key whose `expire_at` is in the past is logically absent. Lookups
//!   delete it on the spot ("lazy expiry") and journal a `DEL`, so the log
//!   holds the deletion before whatever the current command does next.
//! * While `loading` (log replay), nothing expires: the log already holds
//!   the DELs that happened, and replay must reproduce state, not re-decide
//!   expiry at a later wall-clock time (Redis does the same).
//! * Every change to the data goes through a method that journals it, or
//!   the command that made it journals its effect right after; the journal
//!   order is the execution order.

pub mod access;
pub mod compact;
pub mod cow;
pub mod entry;
pub mod expire;
pub mod journal;
pub mod lazyfree;
pub mod table;
pub mod types;

pub use access::Access;
pub use compact::CompactBytes;
pub use entry::{Entry, Value, ValueType};
pub use journal::Journal;
pub use table::Table;

/// One numbered database.
#[derive(Default)]
pub struct Db {
    pub table: Table,
    /// Keys with an expire time.
    pub expires: usize,
    /// Active-expiry position: next segment index to visit.
    pub(crate) expire_cursor: usize,
}

impl Db {
    /// `Keyspace::set` over an existing `key` (hash `h`): `put` changes
    /// its value, then its LRU clock and TTL follow `ttl`. False (and `put`
    /// not called) if the key is absent.
    fn set_existing(
        &mut self,
        h: u64,
        key: &[u8],
        ttl: Ttl,
        stamp: impl FnOnce(u32) -> u32,
        put: impl FnOnce(&mut Value),
    ) -> bool {
        let Some((e, seg)) = self.table.get_mut_hashed(h, key) else {
            return false;
        };
        put(&mut e.value);
        // Redis looks the key up for writing (an access), then keeps the
        // old LFU stamp or takes a new LRU one: an access either way.
        e.lru = stamp(e.lru);
        let was = e.expire_at != 0;
        match ttl {
            Ttl::Keep => {}
            Ttl::Clear => e.expire_at = 0,
            Ttl::At(t) => e.expire_at = t,
        }
        let is = e.expire_at != 0;
        self.volatile_changed(seg, was, is);
        true
    }

    /// `Keyspace::set` of an absent `key` (hash `h`).
    fn set_new(&mut self, h: u64, key: &[u8], value: Value, ttl: Ttl, now: u64, access: Access) {
        let mut e = Entry::new(key, value);
        e.lru = access.fresh(now);
        if let Ttl::At(t) = ttl {
            e.expire_at = t;
            self.expires += 1;
        }
        self.table.insert_new_hashed(h, e);
    }

    /// Keep the volatile counters right after an entry in segment `seg`
    /// went from having a TTL (`was`) to having one (`is`) or not.
    fn volatile_changed(&mut self, seg: usize, was: bool, is: bool) {
        if was != is {
            self.table.volatile_adjust(seg, if is { 1 } else { -1 });
            if is {
                self.expires += 1;
            } else {
                self.expires -= 1;
            }
        }
    }

    pub fn len(&self) -> usize {
        self.table.len()
    }
    pub fn is_empty(&self) -> bool {
        self.table.is_empty()
    }
}

/// Counters INFO stats reports.
#[derive(Default, Debug, Clone)]
pub struct KeyspaceStats {
    pub hits: u64,
    pub misses: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached: u64,
}

/// What SET-like writes do with an existing TTL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ttl {
    /// Remove any TTL (plain SET).
    Clear,
    /// Keep the existing TTL (KEEPTTL, APPEND, INCR, ...).
    Keep,
    /// Set this absolute expiry (ms).
    At(u64),
}

pub struct Keyspace {
    pub dbs: Vec<Db>,
    pub journal: Journal,
    pub loading: bool,
    pub stats: KeyspaceStats,
    /// Next db the active expiry cycle visits.
    pub(crate) expire_db: usize,
    /// The running snapshot's walk, stepped by the command threads
    /// (`walk_tick`) and, when they are idle, by the snapshot thread.
    pub(crate) walk: Option<cow::Walk>,
    /// Keyspace notifications of class `x` are on: lazy expiry queues
    /// the keys it removes in `events` (`server::notify`).
    pub notify_expired: bool,
    /// Class `n` is on: a key added to a database is queued as `new`.
    pub notify_new: bool,
    /// Class `m` is on: a read lookup of a missing key is queued as
    /// `keymiss`.
    pub notify_miss: bool,
    /// Events the keyspace raised since the server last published them, in
    /// order: (event, database, key).
    pub events: Vec<(KeyEvent, usize, Vec<u8>)>,
    /// What `Entry::lru` holds (LRU clock or LFU counter), from
    /// `maxmemory-policy` and the `lfu-*` settings.
    pub access: Access,
    /// The key (database, hash) whose access the running command already
    /// counted: handlers that look a key up twice (a check, then the
    /// change) count one LFU access, as Redis's single lookup does.
    /// Cleared as each command starts (`command_start`).
    touched: Option<(usize, u64)>,
}

/// The access stamp after an access to key `h` of `db` (see
/// `Keyspace::touched`).
#[inline]
fn stamp(
    access: Access,
    touched: &mut Option<(usize, u64)>,
    db: usize,
    h: u64,
    old: u32,
    now: u64,
) -> u32 {
    if access.is_lfu() {
        if *touched == Some((db, h)) {
            return old;
        }
        *touched = Some((db, h));
    }
    access.touch(old, now)
}

/// An event the keyspace itself raises (the commands raise the others).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyEvent {
    /// Expired lazily (class `x`).
    Expired,
    /// Added to a database (class `n`, Redis's `dbAdd`).
    New,
    /// Missing when a read looked it up (class `m`).
    KeyMiss,
}

#[inline]
pub fn is_expired(e: &Entry, now: u64) -> bool {
    e.expire_at != 0 && now > e.expire_at
}

/// LRU clock in seconds (wraps; only differences matter).
#[inline]
pub fn lru_clock(now_ms: u64) -> u32 {
    (now_ms / 1000) as u32
}

impl Keyspace {
    pub fn new(databases: usize) -> Self {
        Keyspace {
            dbs: (0..databases).map(|_| Db::default()).collect(),
            journal: Journal::default(),
            loading: false,
            stats: KeyspaceStats::default(),
            expire_db: 0,
            walk: None,
            notify_expired: false,
            notify_new: false,
            notify_miss: false,
            events: Vec::new(),
            access: Access::Lru,
            touched: None,
        }
    }

    /// Start loading what a lookup of `key` in `db` will read (a hint),
    /// and with `member`, that element of the hash or set at `key`. Pass a
    /// member only when `key`'s entry is in cache already (the running
    /// command has the same key): finding the value reads the entry.
    #[inline]
    pub fn prefetch(&self, db: usize, key: &[u8], member: Option<&[u8]>) {
        let Some(d) = self.dbs.get(db) else { return };
        let h = d.table.hash(key);
        d.table.prefetch_hashed(h);
        if let Some(m) = member
            && let Some(e) = d.table.get_hashed(h, key)
        {
            e.value.prefetch_member(m);
        }
    }

    /// A command starts: its first access to each key counts (LFU).
    #[inline]
    pub fn command_start(&mut self) {
        self.touched = None;
    }

    /// End of a command batch (under the lock): one step of a running
    /// snapshot's walk if one is due (see `cow::tick`).
    #[inline]
    pub fn walk_tick(&mut self) {
        if self.walk.is_some() {
            cow::tick(self);
        }
    }

    /// Delete `key` if it has expired; journals a DEL. True if deleted.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        let h = self.dbs[db].table.hash(key);
        self.expire_hashed(db, h, key, now)
    }

    #[inline]
    fn expire_hashed(&mut self, db: usize, h: u64, key: &[u8], now: u64) -> bool {
        if self.loading {
            return false;
        }
        let expired = match self.dbs[db].table.get_hashed(h, key) {
            Some(e) => is_expired(e, now),
            None => false,
        };
        if expired {
            let d = &mut self.dbs[db];
            if let Some(e) = d.table.remove_hashed(h, key) {
                if e.expire_at != 0 {
                    d.expires -= 1;
                }
                lazyfree::free(e.value);
            }
            self.stats.expired_keys += 1;
            self.journal.append(db, &[b"DEL", key]);
            if self.notify_expired {
                self.events.push((KeyEvent::Expired, db, key.to_vec()));
            }
        }
        expired
    }

    /// Lookup for a read command: expires lazily, counts hits and misses,
    /// touches the LRU clock. One hash computation. The entry is shared:
    /// a read during a snapshot does not copy it (`lookup_read_mut` does,
    /// for handlers written against `&mut Entry`).
    #[inline]
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let h = self.dbs[db].table.hash(key);
        self.lookup_read_hashed(db, h, key, now)
    }

    /// `lookup_read` that leaves the LRU clock alone (Redis's
    /// `LOOKUP_NOTOUCH`: EXISTS, TYPE, TTL): still expires lazily, counts
    /// hits and misses and raises `keymiss`.
    pub fn lookup_read_notouch(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        let h = self.dbs[db].table.hash(key);
        self.read_probe(db, h, key, now, false)
    }

    /// `lookup_read` with the key's hash already computed.
    #[inline]
    fn lookup_read_hashed(&mut self, db: usize, h: u64, key: &[u8], now: u64) -> Option<&Entry> {
        self.read_probe(db, h, key, now, true)
    }

    /// A read lookup: lazy expiry, then the probe (touching the LRU clock
    /// if `touch`), counted as a hit or a miss; a miss raises `keymiss`
    /// when asked.
    #[inline]
    fn read_probe(
        &mut self,
        db: usize,
        h: u64,
        key: &[u8],
        now: u64,
        touch: bool,
    ) -> Option<&Entry> {
        self.expire_hashed(db, h, key, now);
        let table = &mut self.dbs[db].table;
        let found = if touch {
            let (access, touched) = (self.access, &mut self.touched);
            table.get_touch_hashed(h, key, |old| stamp(access, touched, db, h, old, now))
        } else {
            table.get_hashed(h, key)
        };
        match found {
            Some(e) => {
                self.stats.hits += 1;
                Some(e)
            }
            None => {
                self.stats.misses += 1;
                if self.notify_miss && !self.loading {
                    self.events.push((KeyEvent::KeyMiss, db, key.to_vec()));
                }
                None
            }
        }
    }

    /// `lookup_read` for a read command that changes the value in a way
    /// clients cannot see (PFCOUNT's cached count): the entry passes the
    /// snapshot's copy-on-write hook, as for a write. Probes twice; only
    /// PFCOUNT uses it.
    pub fn lookup_read_mut(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Entry> {
        let h = self.dbs[db].table.hash(key);
        self.lookup_read_hashed(db, h, key, now)?;
        self.dbs[db].table.get_mut_hashed(h, key).map(|(e, _)| e)
    }

    /// Lookup for a write command: expires lazily, no hit/miss counting.
    #[inline]
    pub fn lookup_write(&mut self, db: usize, key: &[u8], now: u64) -> Option<&mut Entry> {
        let h = self.dbs[db].table.hash(key);
        self.expire_hashed(db, h, key, now);
        let (e, _) = self.dbs[db].table.get_mut_hashed(h, key)?;
        e.lru = stamp(self.access, &mut self.touched, db, h, e.lru, now);
        Some(e)
    }

    /// Lookup without side effects on stats or LRU (still expires lazily).
    pub fn peek(&mut self, db: usize, key: &[u8], now: u64) -> Option<&Entry> {
        self.expire_if_needed(db, key, now);
        self.dbs[db].table.get(key)
    }

    pub fn exists(&mut self, db: usize, key: &[u8], now: u64) -> bool {
        self.peek(db, key, now).is_some()
    }

    /// Store `value` at `key` (creating or overwriting). Does not journal.
    pub fn set(&mut self, db: usize, key: &[u8], value: Value, ttl: Ttl, now: u64) {
        self.expire_before_overwrite(db, key, now);
        let (access, touched) = (self.access, &mut self.touched);
        let d = &mut self.dbs[db];
        let h = d.table.hash(key);
        let stamp = |old| stamp(access, touched, db, h, old, now);
        // Taken only if the key exists: still here, it goes in new.
        let mut value = Some(value);
        d.set_existing(h, key, ttl, stamp, |old| {
            lazyfree::free(std::mem::replace(old, value.take().expect("once")));
        });
        if let Some(v) = value {
            d.set_new(h, key, v, ttl, now, access);
            // Its creation is its access: a lookup right after (handlers
            // that create, then look up) does not count another.
            self.touched = Some((db, h));
            self.added(db, key);
        }
    }

    /// A key was added to `db` (Redis's `dbAdd`): a `new` event if asked.
    #[inline]
    fn added(&mut self, db: usize, key: &[u8]) {
        if self.notify_new && !self.loading {
            self.events.push((KeyEvent::New, db, key.to_vec()));
        }
    }

    /// `set` of the string value `Value::string(bytes)` (SET's). Over a
    /// heap string of the same length the bytes are copied in place: the
    /// result is the same value, without freeing the old bytes and
    /// allocating new ones. Under SET -P16 on 1M keys, `mi_free`,
    /// `drop_in_place<Value>` and the allocation were a fifth of the
    /// command thread's samples (the free touches the old bytes, a cache
    /// miss the copy pays once instead).
    pub fn set_string(&mut self, db: usize, key: &[u8], bytes: &[u8], ttl: Ttl, now: u64) {
        self.expire_before_overwrite(db, key, now);
        let (access, touched) = (self.access, &mut self.touched);
        let d = &mut self.dbs[db];
        let h = d.table.hash(key);
        let stamp = |old| stamp(access, touched, db, h, old, now);
        let found = d.set_existing(h, key, ttl, stamp, |old| match old {
            // Longer than any inline or integer string, so `Value::string`
            // would make exactly this.
            Value::Str(CompactBytes::Heap(b)) if b.len() == bytes.len() => b.copy_from_slice(bytes),
            old => lazyfree::free(std::mem::replace(old, Value::string(bytes))),
        });
        if !found {
            d.set_new(h, key, Value::string(bytes), ttl, now, access);
            self.touched = Some((db, h));
            self.added(db, key);
        }
    }

    /// With `expired` notifications on, a key that has expired is expired
    /// (and announced) before a write replaces it, as Redis's lookup in
    /// SET does; otherwise an overwrite needs no lookup.
    #[inline]
    fn expire_before_overwrite(&mut self, db: usize, key: &[u8], now: u64) {
        if self.notify_expired {
            self.expire_if_needed(db, key, now);
        }
    }

    /// Remove `key` and return its entry. Does not journal.
    pub fn remove(&mut self, db: usize, key: &[u8]) -> Option<Entry> {
        let d = &mut self.dbs[db];
        let e = d.table.remove(key)?;
        if e.expire_at != 0 {
            d.expires -= 1;
        }
        Some(e)
    }

    /// Remove `key` and free its value (in the background if big). Does
    /// not journal. True if the key existed.
    pub fn delete(&mut self, db: usize, key: &[u8]) -> bool {
        match self.remove(db, key) {
            Some(e) => {
                lazyfree::free(e.value);
                true
            }
            None => false,
        }
    }

    /// Insert a whole entry (RENAME, MOVE, COPY). The key must be absent.
    pub fn insert_entry(&mut self, db: usize, e: Entry) {
        self.added(db, &e.key);
        let d = &mut self.dbs[db];
        if e.expire_at != 0 {
            d.expires += 1;
        }
        d.table.insert_new(e);
    }

    /// Set or clear (`at == 0`) the expiry of an existing key. Does not
    /// journal. Returns false if the key is absent.
    pub fn set_expire(&mut self, db: usize, key: &[u8], at: u64) -> bool {
        let d = &mut self.dbs[db];
        let h = d.table.hash(key);
        let Some((e, seg)) = d.table.get_mut_hashed(h, key) else {
            return false;
        };
        let was = e.expire_at != 0;
        e.expire_at = at;
        d.volatile_changed(seg, was, at != 0);
        true
    }

    /// Empty database `db`; returns the old contents for the caller to
    /// free. A table a running snapshot has not finished with goes to the
    /// snapshot instead (`cow::release`).
    pub fn flush_db(&mut self, db: usize) -> Db {
        cow::release(std::mem::take(&mut self.dbs[db]))
    }

    pub fn total_keys(&self) -> usize {
        self.dbs.iter().map(|d| d.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap_ptr(ks: &Keyspace, key: &[u8]) -> Option<*const u8> {
        match &ks.dbs[0].table.get(key)?.value {
            Value::Str(CompactBytes::Heap(b)) => Some(b.as_ptr()),
            _ => None,
        }
    }

    #[test]
    fn set_string_is_set_of_value_string_and_reuses_equal_length_bytes() {
        let long = |c: u8, n: usize| vec![c; n];
        let olds: Vec<Value> = vec![
            Value::string(&long(b'a', 64)),
            Value::raw(CompactBytes::new(&long(b'r', 64))),
            Value::string(&long(b'a', 40)),
            Value::string(b"12345"),
            Value::string(b"short"),
            Value::List(Default::default()),
        ];
        let news: Vec<Vec<u8>> = vec![
            long(b'b', 64),
            long(b'c', 40),
            b"777".to_vec(),
            b"x".to_vec(),
        ];
        let ttls = [Ttl::Clear, Ttl::Keep, Ttl::At(9_000)];
        for old in &olds {
            for new in &news {
                for ttl in ttls {
                    for old_ttl in [0, 5_000] {
                        let mut a = Keyspace::new(1);
                        let mut b = Keyspace::new(1);
                        for ks in [&mut a, &mut b] {
                            let t = if old_ttl == 0 {
                                Ttl::Clear
                            } else {
                                Ttl::At(old_ttl)
                            };
                            ks.set(0, b"k", old.clone(), t, 1);
                        }
                        let before = heap_ptr(&a, b"k");
                        a.set_string(0, b"k", new, ttl, 2);
                        b.set(0, b"k", Value::string(new), ttl, 2);
                        let (ea, eb) = (
                            a.dbs[0].table.get(b"k").unwrap(),
                            b.dbs[0].table.get(b"k").unwrap(),
                        );
                        assert_eq!(ea.value, eb.value, "{old:?} <- {new:?}");
                        assert_eq!(
                            std::mem::discriminant(&ea.value),
                            std::mem::discriminant(&eb.value)
                        );
                        assert_eq!(ea.expire_at(), eb.expire_at());
                        assert_eq!(a.dbs[0].expires, b.dbs[0].expires);
                        // A heap string (not a raw one) of the same length
                        // keeps its allocation.
                        let same = matches!(old, Value::Str(CompactBytes::Heap(o)) if o.len() == new.len());
                        assert_eq!(same, before.is_some() && before == heap_ptr(&a, b"k"));
                    }
                }
            }
        }
        // Absent keys are created as `set` creates them.
        let mut a = Keyspace::new(1);
        a.set_string(0, b"n", &long(b'z', 50), Ttl::At(7), 1);
        assert_eq!(
            a.dbs[0].table.get(b"n").unwrap().value,
            Value::string(&long(b'z', 50))
        );
        assert_eq!(a.dbs[0].expires, 1);
    }
}
