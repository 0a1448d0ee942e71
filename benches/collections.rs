//! Collection encodings on the hot paths of redis-benchmark (LPUSH/LPOP,
//! RPUSH/RPOP, LRANGE_100, HSET, SADD), next to the one-structure storage
//! they replaced (`VecDeque<CompactBytes>` for lists, `Indexed` for small
//! hashes and sets), which is the "baseline" of each group.

use cairn::keyspace::CompactBytes;
use cairn::keyspace::types::indexed::Indexed;
use cairn::keyspace::types::{Hash, List, Set};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::collections::VecDeque;
use std::hint::black_box;

const BIG: usize = 100_000;
const OPS: usize = 1000;

fn list_of(n: usize) -> List {
    let mut l = List::default();
    for i in 0..n {
        l.push(format!("{:03}", i % 1000).as_bytes(), false);
    }
    l
}

fn deque_of(n: usize) -> VecDeque<CompactBytes> {
    (0..n)
        .map(|i| CompactBytes::new(format!("{:03}", i % 1000).as_bytes()))
        .collect()
}

fn lists(c: &mut Criterion) {
    let mut g = c.benchmark_group("list");
    g.throughput(Throughput::Elements(2 * OPS as u64));
    for left in [true, false] {
        let side = if left { "left" } else { "right" };
        let mut l = list_of(BIG);
        g.bench_function(format!("push_pop_{side}/quicklist"), |b| {
            b.iter(|| {
                for _ in 0..OPS {
                    l.push(black_box(b"xxx"), left);
                }
                for _ in 0..OPS {
                    black_box(l.pop(left));
                }
            })
        });
        let mut d = deque_of(BIG);
        g.bench_function(format!("push_pop_{side}/baseline"), |b| {
            b.iter(|| {
                for _ in 0..OPS {
                    let v = CompactBytes::new(black_box(b"xxx"));
                    if left {
                        d.push_front(v)
                    } else {
                        d.push_back(v)
                    }
                }
                for _ in 0..OPS {
                    black_box(if left { d.pop_front() } else { d.pop_back() });
                }
            })
        });
    }
    g.throughput(Throughput::Elements(100));
    let l = list_of(BIG);
    let d = deque_of(BIG);
    for start in [0, BIG / 2] {
        g.bench_function(format!("lrange100_at_{start}/quicklist"), |b| {
            b.iter(|| {
                l.iter_from(black_box(start))
                    .take(100)
                    .map(<[u8]>::len)
                    .sum::<usize>()
            })
        });
        g.bench_function(format!("lrange100_at_{start}/baseline"), |b| {
            b.iter(|| {
                d.range(black_box(start)..start + 100)
                    .map(|v| v.len())
                    .sum::<usize>()
            })
        });
    }
    g.finish();
}

fn hashes(c: &mut Criterion) {
    let mut g = c.benchmark_group("hash");
    for n in [10usize, 128] {
        let fields: Vec<Vec<u8>> = (0..n).map(|i| format!("field:{i}").into_bytes()).collect();
        g.throughput(Throughput::Elements(n as u64));
        g.bench_function(format!("hset_{n}_new/listpack"), |b| {
            b.iter(|| {
                let mut h = Hash::new();
                for f in &fields {
                    h.insert(f, b"value");
                }
                black_box(h.len())
            })
        });
        g.bench_function(format!("hset_{n}_new/baseline"), |b| {
            b.iter(|| {
                let mut h: Indexed<(CompactBytes, CompactBytes)> = Indexed::default();
                for f in &fields {
                    if h.find(f).is_none() {
                        h.push_new((CompactBytes::new(f), CompactBytes::new(b"value")));
                    }
                }
                black_box(h.len())
            })
        });
        let mut h = Hash::new();
        let mut base: Indexed<(CompactBytes, CompactBytes)> = Indexed::default();
        for f in &fields {
            h.insert(f, b"value");
            base.push_new((CompactBytes::new(f), CompactBytes::new(b"value")));
        }
        g.bench_function(format!("hget_{n}/listpack"), |b| {
            b.iter(|| fields.iter().filter(|f| h.get(f).is_some()).count())
        });
        g.bench_function(format!("hget_{n}/baseline"), |b| {
            b.iter(|| fields.iter().filter(|f| base.find(f).is_some()).count())
        });
    }
    g.finish();
}

fn sets(c: &mut Criterion) {
    let mut g = c.benchmark_group("set");
    let members: Vec<Vec<u8>> = (0..512)
        .map(|i| ((i * 7919) % 100_000).to_string().into_bytes())
        .collect();
    g.throughput(Throughput::Elements(members.len() as u64));
    g.bench_function("sadd_512_ints/intset", |b| {
        b.iter(|| {
            let mut s = Set::new();
            for m in &members {
                s.insert(m, 512);
            }
            black_box(s.len())
        })
    });
    g.bench_function("sadd_512_ints/baseline", |b| {
        b.iter(|| {
            let mut s: Indexed<CompactBytes> = Indexed::default();
            for m in &members {
                if s.find(m).is_none() {
                    s.push_new(CompactBytes::new(m));
                }
            }
            black_box(s.len())
        })
    });
    let mut s = Set::new();
    let mut base: Indexed<CompactBytes> = Indexed::default();
    for m in &members {
        s.insert(m, 512);
        base.push_new(CompactBytes::new(m));
    }
    g.bench_function("sismember_512/intset", |b| {
        b.iter(|| members.iter().filter(|m| s.contains(m)).count())
    });
    g.bench_function("sismember_512/baseline", |b| {
        b.iter(|| members.iter().filter(|m| base.find(m).is_some()).count())
    });
    g.finish();
}

/// A set of 1M members in the full encoding: SADD of new members into an
/// empty one (the index grows through every size) and SISMEMBER in an
/// order unrelated to insertion.
fn big_sets(c: &mut Criterion) {
    let mut g = c.benchmark_group("big_set");
    g.sample_size(10);
    const N: usize = 1_000_000;
    let members: Vec<Vec<u8>> = (0..N as u64)
        .map(|i| {
            format!(
                "member:{}",
                i.wrapping_mul(0x9E37_79B9_7F4A_7C15) % 10_000_000_000
            )
            .into_bytes()
        })
        .collect();
    g.throughput(Throughput::Elements(N as u64));
    g.bench_function("sadd_1m_into_empty", |b| {
        b.iter(|| {
            let mut s: Indexed<CompactBytes> = Indexed::default();
            for m in &members {
                let _ = s.find_or_push(m, || CompactBytes::new(m));
            }
            black_box(s.len())
        })
    });
    let mut s: Indexed<CompactBytes> = Indexed::default();
    for m in &members {
        let _ = s.find_or_push(m, || CompactBytes::new(m));
    }
    g.bench_function("sismember_1m_of_1m", |b| {
        b.iter(|| {
            (0..N)
                .filter(|i| s.find(&members[i * 7919 % N]).is_some())
                .count()
        })
    });
    // A snapshot's freeze of the big value, then the live value's first
    // change: the view kept (elements only) against sharing the whole
    // table, which made the first change copy the index.
    type Table = std::sync::Arc<Indexed<CompactBytes>>;
    type Freeze = fn(&Table) -> Table;
    let mut live: Table = std::sync::Arc::new(s);
    let mut n = 0u64;
    g.throughput(Throughput::Elements(1));
    let ways: [(&str, Freeze); 2] = [
        ("freeze_view_then_first_sadd_1m", |t| {
            std::sync::Arc::new(t.frozen_view())
        }),
        ("freeze_shared_table_then_first_sadd_1m", |t| t.clone()),
    ];
    for (name, freeze) in ways {
        g.bench_function(name, |b| {
            b.iter(|| {
                let frozen = freeze(&live);
                n += 1;
                let m = format!("new:{n}");
                let _ = std::sync::Arc::make_mut(&mut live)
                    .find_or_push(m.as_bytes(), || CompactBytes::new(m.as_bytes()));
                black_box(frozen.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, lists, hashes, sets, big_sets);
criterion_main!(benches);
