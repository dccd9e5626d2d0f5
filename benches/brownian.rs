//! The per-sample Brownian tree along a sampler's grid: what k-diffusion's
//! `BrownianTreeNoiseSampler` costs the SDE samplers, here with one seed per sample.
//! `BrownianTreeNoise` (W only) over 50 Karras steps on [0.002, 80] for 4,096 samples of 64
//! elements (the 64-D mixture benchmark of docs/benchmarks.md), and the Lévy-area tree of
//! the SDE solvers over 64 fixed steps.
//!
//! `cargo bench --bench brownian`

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use scoreflow::schedules::SigmaGrid;
use scoreflow::solvers::brownian::{BrownianSource, VirtualBrownianTree, sample_seeds};
use scoreflow::solvers::samplers::{BrownianTreeNoise, NoiseSampler};

fn bench(c: &mut Criterion) {
    let grid = SigmaGrid::karras(50, 0.002, 80.0, 7.0).unwrap();
    let s = grid.as_slice();
    let (n, d) = (4096, 64);
    let template = Array2::<f64>::zeros((n, d));
    let seeds = sample_seeds(0, n);
    let mut group = c.benchmark_group("brownian");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(20));
    group.bench_function("tree_noise/karras50/4096x64", |b| {
        b.iter(|| {
            let mut noise =
                BrownianTreeNoise::new(&template, s[s.len() - 2], s[0], &seeds).unwrap();
            for w in s[..s.len() - 1].windows(2) {
                black_box(noise.sample(w[0], w[1]).unwrap());
            }
        })
    });
    let small = Array2::<f64>::zeros((256, 64));
    let small_seeds = sample_seeds(1, 256);
    group.bench_function("levy_tree/fixed64/256x64", |b| {
        b.iter(|| {
            let mut tree = VirtualBrownianTree::new(&small, 0.0, 1.0, 1e-6, &small_seeds).unwrap();
            for k in 0..64 {
                let (t0, t1) = (k as f64 / 64.0, (k + 1) as f64 / 64.0);
                black_box(tree.increment(t0, t1, true).unwrap());
            }
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
