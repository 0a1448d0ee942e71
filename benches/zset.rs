//! Big sorted set throughput, shaped like `redis-benchmark -t zadd -r
//! 1000000`: integer scores and `element:<12 digits>` members drawn from
//! 0..1_000_000, into one set of a few hundred thousand members.

use cairn::keyspace::types::zset::{Limits, ZSet};
use cairn::util::XorShift64;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const N: usize = 300_000;

/// One (member, score) pair as redis-benchmark's `-r 1000000` draws it.
fn pair(r: &mut XorShift64) -> (Vec<u8>, f64) {
    let s = (r.next() % 1_000_000) as f64;
    let m = format!("element:{:012}", r.next() % 1_000_000).into_bytes();
    (m, s)
}

fn pairs(seed: u64, n: usize) -> Vec<(Vec<u8>, f64)> {
    let mut r = XorShift64(seed);
    (0..n).map(|_| pair(&mut r)).collect()
}

fn build(p: &[(Vec<u8>, f64)]) -> ZSet {
    let mut z = ZSet::new();
    for (m, s) in p {
        z.add(m, *s, Limits::default());
    }
    z
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("zset");
    g.sample_size(10);

    // ZADD of 300k random pairs into an empty set (new members and, for
    // repeated members, score updates).
    let load = pairs(0x2545_F491_4F6C_DD1D, N);
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("zadd_300k_into_empty", |b| {
        b.iter(|| black_box(build(&load).len()))
    });

    // Re-score 100k existing members of a ~260k-member set.
    let base = build(&load);
    let mut r = XorShift64(0x9E37_79B9_7F4A_7C15);
    let rescore: Vec<(Vec<u8>, f64)> = (0..100_000)
        .map(|_| {
            let (m, _) = &load[(r.next() % N as u64) as usize];
            (m.clone(), (r.next() % 1_000_000) as f64)
        })
        .collect();
    g.throughput(Throughput::Elements(rescore.len() as u64));
    g.bench_function("rescore_100k_of_260k", |b| {
        b.iter_batched_ref(
            || base.clone(),
            |z| {
                for (m, s) in &rescore {
                    z.add(m, *s, Limits::default());
                }
            },
            BatchSize::PerIteration,
        )
    });

    // ZRANK of 100k existing members.
    g.bench_function("rank_100k_of_260k", |b| {
        b.iter(|| {
            let mut t = 0usize;
            for (m, _) in &rescore {
                t += base.rank(m).unwrap_or(0);
            }
            black_box(t)
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
