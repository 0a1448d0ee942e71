//! Freeing big values off the executor (Redis's lazyfree).
//!
//! Dropping a collection of millions of elements takes as long as building
//! it did; doing that under the state lock would stall every client. Values
//! whose free effort passes `LAZYFREE_THRESHOLD` (Redis's 64) and whole
//! flushed databases go to one background thread instead. Small values are
//! dropped in place: sending them would cost more than freeing them.
//!
//! Cairn does this for every deletion (DEL, UNLINK, overwrite, expiry,
//! eviction, FLUSH*), so there is no setting for it. The one thing that
//! watches memory, eviction (`server::evict`), frees through
//! `free_counted`: the bytes still waiting for the thread are left out of
//! the memory it compares with `maxmemory` (`pending_bytes`), so it does
//! not evict again for memory already on its way back.

use super::{Db, Value};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{Sender, channel};

/// Free effort (elements) above which a value is freed in the background.
pub const LAZYFREE_THRESHOLD: usize = 64;

/// Anything to drop; the thread's only use of it is dropping it.
type Garbage = Box<dyn Send>;

static PENDING: AtomicU64 = AtomicU64::new(0);
/// Estimated heap bytes of the values `free_counted` sent, not yet freed.
static PENDING_BYTES: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);

fn sender() -> &'static Sender<Garbage> {
    static TX: OnceLock<Sender<Garbage>> = OnceLock::new();
    TX.get_or_init(|| {
        let (tx, rx) = channel::<Garbage>();
        std::thread::Builder::new()
            .name("cairn-lazyfree".into())
            .spawn(move || {
                for g in rx {
                    drop(g);
                    PENDING.fetch_sub(1, Ordering::Relaxed);
                    FREED.fetch_add(1, Ordering::Relaxed);
                }
            })
            .expect("spawn the lazyfree thread");
        tx
    })
}

/// Roughly how many allocations freeing `v` costs.
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::List(l) => l.len(),
        Value::Hash(h) => h.len(),
        Value::Set(s) => s.len(),
        Value::ZSet(z) => z.len(),
        Value::Stream(x) => x.items(),
        _ => 1,
    }
}

fn send(g: Garbage) {
    PENDING.fetch_add(1, Ordering::Relaxed);
    if let Err(e) = sender().send(g) {
        // The thread is gone (only at exit): free here.
        PENDING.fetch_sub(1, Ordering::Relaxed);
        drop(e.0);
    }
}

/// Drop a deleted or overwritten value, in the background if it is big.
#[inline]
pub fn free(v: Value) {
    if free_effort(&v) > LAZYFREE_THRESHOLD {
        send(Box::new(v));
    }
}

/// A value whose bytes count as pending until the thread has dropped it.
struct Counted {
    value: Option<Value>,
    bytes: u64,
}

impl Drop for Counted {
    fn drop(&mut self) {
        drop(self.value.take());
        PENDING_BYTES.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

/// `free`, for eviction: returns the value's estimated heap bytes if it
/// went to the background thread (they count in `pending_bytes` until it
/// is dropped), 0 if it was dropped here (the allocator's count already
/// shows those).
pub fn free_counted(v: Value) -> u64 {
    if free_effort(&v) > LAZYFREE_THRESHOLD {
        let bytes = v.heap_size() as u64;
        PENDING_BYTES.fetch_add(bytes, Ordering::Relaxed);
        send(Box::new(Counted {
            value: Some(v),
            bytes,
        }));
        bytes
    } else {
        drop(v);
        0
    }
}

/// Estimated bytes `free_counted` handed to the thread that it has not
/// freed yet.
pub fn pending_bytes() -> u64 {
    PENDING_BYTES.load(Ordering::Relaxed)
}

/// Drop a flushed database, in the background unless it is small.
pub fn free_db(db: Db) {
    if db.len() > LAZYFREE_THRESHOLD {
        send(Box::new(db));
    }
}

/// Objects waiting to be freed (INFO `lazyfree_pending_objects`).
pub fn pending() -> u64 {
    PENDING.load(Ordering::Relaxed)
}

/// Objects freed in the background so far (INFO `lazyfreed_objects`).
pub fn freed() -> u64 {
    FREED.load(Ordering::Relaxed)
}
