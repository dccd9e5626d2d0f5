//! Per-step overhead of every σ-grid sampler — everything but the model — on f32 states of
//! 10⁴…10⁶ elements, ndarray and burn CPU. The "denoiser" returns its input (a reference-count
//! bump for burn, one copy for ndarray), so the time is the sampler's own linear algebra, noise
//! generation and bookkeeping, divided by the number of steps.
//!
//! `cargo bench --bench sampler_overhead`

use std::hint::black_box;
use std::time::Duration;

use burn::prelude::*;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ndarray::Array2;
use scoreflow::schedules::SigmaGrid;
use scoreflow::solvers::State;
use scoreflow::solvers::brownian::sample_seeds;
use scoreflow::solvers::samplers::{
    GaussianNoise, SAMPLER_NAMES, SampleContext, SamplerOptions, by_name,
};

const STEPS: usize = 10;
/// (samples, elements per sample): 10⁴, 10⁵, 10⁶ elements in batches of 16.
const SHAPES: [(usize, usize); 3] = [(16, 625), (16, 6_250), (16, 62_500)];

fn identity<S: Clone>(x: &S, _: f64) -> S {
    x.clone()
}

fn bench_backend<S: State + 'static>(
    c: &mut Criterion,
    backend: &str,
    make: &dyn Fn(usize, usize) -> S,
) {
    let grid = SigmaGrid::karras(STEPS, 0.002, 80.0, 7.0).unwrap();
    // rk45 is adaptive: its step count is not the grid's, so it has no per-step overhead to compare.
    for &name in SAMPLER_NAMES.iter().filter(|n| **n != "rk45") {
        let sampler = by_name::<S>(name, &SamplerOptions::default()).unwrap();
        let mut group = c.benchmark_group(format!("sampler_step/{name}/{backend}"));
        for (n, m) in SHAPES {
            let x = make(n, m);
            group.throughput(Throughput::Elements((n * m * STEPS) as u64));
            group.bench_with_input(BenchmarkId::from_parameter(n * m), &x, |b, x| {
                b.iter(|| {
                    let mut noise = GaussianNoise::new(x, &sample_seeds(0, n)).unwrap();
                    let mut ctx = SampleContext {
                        noise: Some(&mut noise),
                        callback: None,
                    };
                    black_box(
                        sampler
                            .sample(&identity::<S>, x.clone(), &grid, &mut ctx)
                            .unwrap(),
                    )
                })
            });
        }
        group.finish();
    }
}

fn samplers(c: &mut Criterion) {
    bench_backend(c, "ndarray", &|n, m| Array2::<f32>::from_elem((n, m), 0.5));
    bench_backend(c, "burn-flex", &|n, m| {
        Tensor::<2>::from_data(
            TensorData::new(vec![0.5f32; n * m], [n, m]),
            &Device::flex(),
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).warm_up_time(Duration::from_millis(200)).measurement_time(Duration::from_secs(1));
    targets = samplers
}
criterion_main!(benches);
