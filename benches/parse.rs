//! Parse + validate a config: simd-json borrowing from the buffer (what the
//! engine does) against serde_json into the same types, owned (`from_reader`, so
//! every `Str` is a copy) and borrowed (`from_slice`).
//!
//! Every iteration copies the input into a reused buffer first (simd-json
//! rewrites its input), for all variants alike.
//!
//! `cargo bench --bench parse -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use fastrun_runtime::spec::{load, parse, Config};
use serde::Deserialize;

const SMALL: &[u8] = include_bytes!("fixtures/runc-spec.json");
const LARGE: &[u8] = include_bytes!("fixtures/large-config.json");

fn bench(c: &mut Criterion) {
    for (name, input) in [("small", SMALL), ("large", LARGE)] {
        let mut group = c.benchmark_group(format!("parse+validate/{name}"));
        group.throughput(Throughput::Bytes(input.len() as u64));
        let mut buf = Vec::with_capacity(input.len());

        group.bench_function("simd-json borrowed", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(input);
                let config = load(black_box(&mut buf)).expect("valid config");
                black_box(&config);
            })
        });

        group.bench_function("simd-json borrowed, parse only", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(input);
                let config = parse(black_box(&mut buf)).expect("valid JSON");
                black_box(&config);
            })
        });

        let mut copy = input.to_vec();
        let parsed = load(&mut copy).expect("valid config");
        group.bench_function("validate only", |b| {
            b.iter(|| black_box(&parsed).validate().expect("valid config"))
        });

        group.bench_function("serde_json owned (from_reader)", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(input);
                let mut de = serde_json::Deserializer::from_reader(black_box(&buf[..]));
                let config = Config::deserialize(&mut de).expect("valid JSON");
                config.validate().expect("valid config");
                black_box(&config);
            })
        });

        group.bench_function("serde_json borrowed (from_slice)", |b| {
            b.iter(|| {
                buf.clear();
                buf.extend_from_slice(input);
                let mut de = serde_json::Deserializer::from_slice(black_box(&buf[..]));
                let config = Config::deserialize(&mut de).expect("valid JSON");
                config.validate().expect("valid config");
                black_box(&config);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
