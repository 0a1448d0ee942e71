//! Request parser throughput: pipelined SETs and GETs, and one big bulk;
//! and reply encoding: an LRANGE 0 99 reply of 64-byte and of 3-byte values.

use cairn::protocol::{Limits, Parsed, Reply, RequestParser};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

fn pipeline(n: usize) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..n {
        let key = format!("key:{i:012}");
        v.extend_from_slice(
            format!("*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$64\r\n", key.len(), key).as_bytes(),
        );
        v.extend_from_slice(&[b'x'; 64]);
        v.extend_from_slice(b"\r\n");
        v.extend_from_slice(format!("*2\r\n$3\r\nGET\r\n${}\r\n{}\r\n", key.len(), key).as_bytes());
    }
    v
}

fn parse_all(buf: &[u8]) -> usize {
    let mut p = RequestParser::new();
    let mut off = 0;
    let mut n = 0;
    loop {
        match p.parse(&buf[off..], Limits::default()).unwrap() {
            Parsed::Command { consumed } => {
                n += p.argc();
                off += consumed;
            }
            Parsed::Skip { consumed } => off += consumed,
            Parsed::Incomplete => return n,
        }
    }
}

fn bench(c: &mut Criterion) {
    let input = pipeline(1000);
    let mut g = c.benchmark_group("resp_parse");
    g.throughput(Throughput::Elements(2000));
    g.bench_function("set_get_pipeline_2000_cmds", |b| {
        b.iter(|| black_box(parse_all(&input)))
    });
    let mut big = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1048576\r\n".to_vec();
    big.extend(std::iter::repeat_n(b'v', 1 << 20));
    big.extend_from_slice(b"\r\n");
    g.throughput(Throughput::Bytes(big.len() as u64));
    g.bench_function("one_1mib_bulk", |b| b.iter(|| black_box(parse_all(&big))));
    g.finish();

    // Reply::bulk as it is (`header` plus two appends) measured 5.6 ns a
    // 64-byte bulk; a header built in a stack array took 8.1 ns, writes
    // into the spare capacity 9.0 ns.
    let mut g = c.benchmark_group("resp_encode");
    g.throughput(Throughput::Elements(100));
    for size in [64usize, 3] {
        let value = vec![b'x'; size];
        let mut out = Reply::new(false);
        g.bench_function(format!("array_of_100_bulks_of_{size}b"), |b| {
            b.iter(|| {
                out.buf.clear();
                out.array(100);
                for _ in 0..100 {
                    out.bulk(black_box(&value));
                }
                black_box(out.buf.len())
            })
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
