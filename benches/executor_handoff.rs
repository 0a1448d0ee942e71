//! The measurement behind the threading model (ARCHITECTURE.md): what does
//! it cost to get a command to the executor and back?
//!
//! * `mutex`: lock an uncontended `parking_lot::Mutex`, do the work, unlock
//!   (Cairn's model: connection tasks execute under one lock).
//! * `channel_roundtrip`: send the work to a dedicated executor thread and
//!   wait for its answer (the single-executor model).

use criterion::{Criterion, criterion_group, criterion_main};
use parking_lot::Mutex;
use std::hint::black_box;
use std::sync::mpsc;

fn work(x: &mut u64) -> u64 {
    *x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
    *x
}

fn bench(c: &mut Criterion) {
    let m = Mutex::new(1u64);
    c.bench_function("mutex", |b| {
        b.iter(|| {
            let mut g = m.lock();
            black_box(work(&mut g))
        })
    });

    let (tx, rx) = mpsc::channel::<mpsc::SyncSender<u64>>();
    let exec = std::thread::spawn(move || {
        let mut x = 1u64;
        while let Ok(reply) = rx.recv() {
            let _ = reply.send(work(&mut x));
        }
    });
    c.bench_function("channel_roundtrip", |b| {
        b.iter(|| {
            let (rtx, rrx) = mpsc::sync_channel(1);
            tx.send(rtx).unwrap();
            black_box(rrx.recv().unwrap())
        })
    });
    drop(tx);
    exec.join().unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
