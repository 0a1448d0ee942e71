//! The allocator: mimalloc (faster than glibc malloc for the many small,
//! short-lived allocations of a key-value store, with less per-object
//! overhead), wrapped to count live bytes: `used_memory` in INFO is that
//! count, as Redis reports its allocator's.
//!
//! One relaxed atomic add per allocation; measured as noise next to the
//! allocation itself. Each thread also keeps its own net count
//! (`thread_net`, a plain thread-local add): eviction measures what
//! deleting a key freed by it, so that what the log and lazyfree threads
//! allocate and free meanwhile is not taken for the key's bytes.

use mimalloc::MiMalloc as System;
use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

pub struct Counting;

static ALLOCATED: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

thread_local! {
    /// Bytes this thread allocated minus those it freed, wrapping (only
    /// differences mean anything: memory moves between threads). No
    /// destructor, so the allocator may touch it at any point of a
    /// thread's life.
    static NET: Cell<usize> = const { Cell::new(0) };
}

#[inline]
fn add_net(n: usize) {
    NET.with(|c| c.set(c.get().wrapping_add(n)));
}

#[inline]
fn sub_net(n: usize) {
    NET.with(|c| c.set(c.get().wrapping_sub(n)));
}

// SAFETY: forwards to the system allocator unchanged; only counts bytes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(l) };
        if !p.is_null() {
            ALLOCATED.fetch_add(l.size(), Ordering::Relaxed);
            add_net(l.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, l: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(l) };
        if !p.is_null() {
            ALLOCATED.fetch_add(l.size(), Ordering::Relaxed);
            add_net(l.size());
        }
        p
    }
    unsafe fn dealloc(&self, p: *mut u8, l: Layout) {
        unsafe { System.dealloc(p, l) };
        ALLOCATED.fetch_sub(l.size(), Ordering::Relaxed);
        sub_net(l.size());
    }
    unsafe fn realloc(&self, p: *mut u8, l: Layout, new: usize) -> *mut u8 {
        let q = unsafe { System.realloc(p, l, new) };
        if !q.is_null() {
            if new > l.size() {
                ALLOCATED.fetch_add(new - l.size(), Ordering::Relaxed);
                add_net(new - l.size());
            } else {
                ALLOCATED.fetch_sub(l.size() - new, Ordering::Relaxed);
                sub_net(l.size() - new);
            }
        }
        q
    }
}

/// Live heap bytes.
pub fn allocated() -> usize {
    ALLOCATED.load(Ordering::Relaxed)
}

/// This thread's net allocated bytes, wrapping: `a.wrapping_sub(b)` of
/// two readings is what the thread allocated (net) between them.
pub fn thread_net() -> usize {
    NET.with(|c| c.get())
}

/// Highest `allocated()` seen by `update_peak` (called from the cron).
pub fn peak() -> usize {
    let cur = allocated();
    PEAK.fetch_max(cur, Ordering::Relaxed).max(cur)
}

/// Resident set size of the process in bytes (from /proc).
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| {
            s.split_whitespace()
                .nth(1)
                .and_then(|x| x.parse::<usize>().ok())
        })
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

/// Give freed memory back to the OS. mimalloc purges freed pages only
/// when a thread calls into it after the purge delay has passed, so a
/// server that goes quiet right after freeing (a finished resize's old
/// index table, a deleted value) kept it resident: after loading a
/// 1M-member set, RSS was 99.6 MB for 43.5 MB in use, and 63.6 MB with
/// purges made at once. The cron calls this once a second (as jemalloc's
/// background thread purges for Redis).
pub fn collect() {
    // SAFETY: no preconditions; it only frees memory mimalloc holds.
    unsafe { libmimalloc_sys::mi_collect(false) }
}

/// Turn transparent huge pages off for this process, as Redis does by
/// default (`disable-thp yes`). mimalloc asks for huge pages on its arenas
/// (`MADV_HUGEPAGE`), so the first touch of a fresh 2 MB region faults in
/// a whole huge page at once, zeroed while the faulting command waits: on
/// this project's VM that was a 5-7 ms stall inside an LPUSH (perf), and it
/// set the p99 of LPUSH, HSET and INCR at -P16 to about 5 ms. With 4 KB
/// pages the same zeroing is spread thin: p99 0.56 ms, max 0.7 ms. The
/// price is TLB misses on a big keyspace: GET and SET at -P16 on 1M keys
/// measured about 10% fewer requests a second (`disable-thp no` keeps them).
pub fn disable_thp() -> std::io::Result<()> {
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and only
    // sets a flag on this process.
    let r = unsafe { libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0) };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thread_net_counts_only_this_threads_allocations() {
        let before = thread_net();
        let mine = vec![0u8; 1 << 20];
        let other = std::thread::spawn(|| {
            // Another thread allocates and keeps it; frees ours later.
            vec![1u8; 4 << 20]
        })
        .join()
        .unwrap();
        let grown = thread_net().wrapping_sub(before) as isize;
        assert!(
            (1 << 20..(1 << 20) + 64 * 1024).contains(&grown),
            "this thread's net grew by {grown}"
        );
        let mid = thread_net();
        drop(mine);
        assert_eq!(mid.wrapping_sub(thread_net()), 1 << 20);
        // Freeing what another thread allocated counts here, as a free.
        let mid = thread_net();
        drop(other);
        assert_eq!(mid.wrapping_sub(thread_net()), 4 << 20);
    }
}
