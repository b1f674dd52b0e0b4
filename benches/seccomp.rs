//! Seccomp: compiling docker's default profile with libseccomp (what a first start
//! pays) against fetching the same program from the compiled-filter cache (what
//! every later start with the same profile pays), and the key computation alone.
//!
//! `cargo bench --bench seccomp -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use fastrun_runtime::seccomp::{self, cache};
use fastrun_runtime::spec::load;

const LARGE: &[u8] = include_bytes!("fixtures/large-config.json");

fn bench(c: &mut Criterion) {
    let mut buf = LARGE.to_vec();
    let config = load(&mut buf).expect("valid config");
    let s = config
        .linux
        .as_ref()
        .and_then(|l| l.seccomp.as_ref())
        .expect("the fixture has docker's profile");
    let dir = std::env::temp_dir().join(format!("fastrun-bench-seccomp-{}", std::process::id()));
    let program = seccomp::load_or_compile(s, Some(&dir)).expect("compiles");
    eprintln!(
        "docker profile: {} syscall rules, {} BPF instructions",
        s.syscalls.len(),
        program.len()
    );

    let mut group = c.benchmark_group("seccomp/docker-default");
    group.bench_function("compile (libseccomp)", |b| {
        b.iter(|| black_box(seccomp::compile(black_box(s)).expect("compiles")))
    });
    group.bench_function("cache hit (key + read + compare)", |b| {
        b.iter(|| black_box(seccomp::load_or_compile(black_box(s), Some(&dir)).expect("cached")))
    });
    // Paid by every start with a profile, cache hit or not (the warnings for names
    // the linked libseccomp does not know).
    group.bench_function("unknown names scan", |b| {
        b.iter(|| black_box(seccomp::compile::unknown_syscalls(black_box(s))))
    });
    group.bench_function("cache key only", |b| {
        b.iter(|| black_box(cache::key(black_box(s))))
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
