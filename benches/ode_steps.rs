//! Per-step cost of every fixed-step ODE and SDE solver on f32 states of 10³…10⁶ elements, on
//! `ndarray` and on burn's CPU device, next to the time of one memory-bound pass over the same
//! data (a copy for ndarray, a scalar multiply for burn, whose clone is only a reference count).
//!
//! The vector field is dy/dt = −y (one read and one write), so the numbers are the solvers' own
//! overhead: stage combinations and allocations. Run with `cargo bench --bench ode_steps`.

use std::hint::black_box;
use std::time::Duration;

use burn::prelude::*;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::Array1;
use scoreflow::solvers::brownian::BrownianSource;
use scoreflow::solvers::brownian::{SequentialBrownian, sample_seeds};
use scoreflow::solvers::ode::{Bosh3, Dopri5, Euler, Heun, Midpoint, OdeSolver, Rk4, Tsit5};
use scoreflow::solvers::sde::{EulerMaruyama, SdeSolver, Sra1, StochasticHeun};
use scoreflow::solvers::{FnSde, State};

const SIZES: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];

fn decay<S: State>(_: f64, y: &S) -> S {
    y.clone().scale(-1.0)
}

fn bench_ode<S: State, M: OdeSolver<S>>(
    c: &mut Criterion,
    backend: &str,
    solver: M,
    make: &dyn Fn(usize) -> S,
) {
    let mut group = c.benchmark_group(format!("ode_step/{}/{backend}", solver.name()));
    for n in SIZES {
        let y = make(n);
        let (state, _) = solver.init(&decay::<S>, 0.0, &y);
        group.bench_with_input(BenchmarkId::from_parameter(n), &y, |b, y| {
            b.iter(|| black_box(solver.step(&decay::<S>, 0.0, 0.01, y, &state).y1))
        });
    }
    group.finish();
}

fn bench_sde<S: State, M: SdeSolver<S>>(
    c: &mut Criterion,
    backend: &str,
    solver: M,
    make: &dyn Fn(usize) -> S,
) {
    let mut group = c.benchmark_group(format!("sde_step/{}/{backend}", solver.name()));
    let sde = FnSde::additive(decay::<S>, |_: f64, _: &S, dw: S| dw.scale(0.5));
    for n in SIZES {
        let y = make(n);
        let state = solver.init(&sde, 0.0, &y).unwrap();
        // The Brownian draw is the same for every solver: keep it out of the step's cost.
        let mut bm = SequentialBrownian::new(&y, &sample_seeds(0, y.batch_layout().0)).unwrap();
        let inc = bm.increment(0.0, 0.01, solver.needs_levy_area()).unwrap();
        group.bench_with_input(BenchmarkId::from_parameter(n), &y, |b, y| {
            b.iter(|| black_box(solver.step(&sde, 0.0, 0.01, y, &inc, &state).unwrap().y1))
        });
    }
    group.finish();
}

fn ndarray_state(n: usize) -> Array1<f32> {
    Array1::from_shape_fn(n, |i| (i as f32 * 1e-3).sin())
}

fn burn_state(n: usize) -> Tensor<1> {
    Tensor::from_data(
        TensorData::new(ndarray_state(n).to_vec(), [n]),
        &Device::flex(),
    )
}

fn memory_bound(c: &mut Criterion) {
    let mut group = c.benchmark_group("copy/ndarray");
    for n in SIZES {
        let src = ndarray_state(n);
        let mut dst = ndarray_state(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &src, |b, src| {
            b.iter(|| dst.assign(black_box(src)))
        });
    }
    group.finish();
    let mut group = c.benchmark_group("copy/burn-flex");
    for n in SIZES {
        let src = burn_state(n);
        group.bench_with_input(BenchmarkId::from_parameter(n), &src, |b, src| {
            b.iter(|| black_box(src.clone().mul_scalar(1.0)))
        });
    }
    group.finish();
}

fn solvers(c: &mut Criterion) {
    let nd: &dyn Fn(usize) -> Array1<f32> = &ndarray_state;
    let bt: &dyn Fn(usize) -> Tensor<1> = &burn_state;
    bench_ode(c, "ndarray", Euler, nd);
    bench_ode(c, "ndarray", Midpoint, nd);
    bench_ode(c, "ndarray", Heun, nd);
    bench_ode(c, "ndarray", Rk4, nd);
    bench_ode(c, "ndarray", Bosh3, nd);
    bench_ode(c, "ndarray", Dopri5, nd);
    bench_ode(c, "ndarray", Tsit5, nd);
    bench_ode(c, "burn-flex", Euler, bt);
    bench_ode(c, "burn-flex", Midpoint, bt);
    bench_ode(c, "burn-flex", Heun, bt);
    bench_ode(c, "burn-flex", Rk4, bt);
    bench_ode(c, "burn-flex", Bosh3, bt);
    bench_ode(c, "burn-flex", Dopri5, bt);
    bench_ode(c, "burn-flex", Tsit5, bt);
    bench_sde(c, "ndarray", EulerMaruyama, nd);
    bench_sde(c, "ndarray", StochasticHeun, nd);
    bench_sde(c, "ndarray", Sra1, nd);
    bench_sde(c, "burn-flex", EulerMaruyama, bt);
    bench_sde(c, "burn-flex", StochasticHeun, bt);
    bench_sde(c, "burn-flex", Sra1, bt);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).warm_up_time(Duration::from_millis(300)).measurement_time(Duration::from_secs(1));
    targets = memory_bound, solvers
}
criterion_main!(benches);
