//! Minibatch optimal transport from points: exact OT (cost matrix + assignment) and Sinkhorn
//! (cost matrix + entropic plan) at batch 64, 256 and 1024 in 2-D and 784-D, on the workloads
//! `scripts/bench_pot.py` runs through POT (`ot.dist` + `ot.emd` / `ot.sinkhorn`):
//! x0 ~ N(0, I), x1 ~ N(1, 0.5² I), ε = 0.05 × the median cost (fixed per problem, computed
//! before timing), stopping tolerance 1e-9 (docs/benchmarks.md, "Optimal transport").
//!
//! `cargo bench --bench ot`

use std::time::Duration;

/// As the other benches: glibc would serve the megabyte-sized cost matrices and plans with
/// mmap/munmap and page-fault them in on every call (docs/architecture.md, "Allocator").
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use ndarray::Array2;
use scoreflow::flow::coupling::{Coupling, ExactOt, Sinkhorn, cost};

const SIZES: [usize; 3] = [64, 256, 1024];
const DIMS: [usize; 2] = [2, 784];

/// Standard normals from SplitMix64 and Box–Muller: a fixed, dependency-free stream.
struct Normals(u64);

impl Normals {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }

    fn next(&mut self) -> f64 {
        let u = 1.0 - self.uniform();
        let v = self.uniform();
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// x0 ~ N(0, I) and x1 ~ N(1, 0.5² I), n × d each.
fn batches(n: usize, d: usize) -> (Array2<f64>, Array2<f64>) {
    let mut z = Normals((n + d) as u64);
    let x0 = Array2::from_shape_fn((n, d), |_| z.next());
    let x1 = Array2::from_shape_fn((n, d), |_| 1.0 + 0.5 * z.next());
    (x0, x1)
}

fn ot(c: &mut Criterion) {
    for d in DIMS {
        for n in SIZES {
            let (x0, x1) = batches(n, d);
            let c0 = cost::squared_euclidean(x0.view(), x1.view()).expect("valid batches");
            let eps = 0.05 * cost::median_cost(c0.view()).expect("a median");
            let sinkhorn = Sinkhorn::absolute(eps).with_tolerance(1e-9);
            let mut group = c.benchmark_group(format!("ot/{d}d"));
            if n >= 1024 {
                group.sample_size(10);
                group.measurement_time(Duration::from_secs(4));
            }
            group.bench_function(BenchmarkId::new("exact", n), |b| {
                b.iter(|| {
                    ExactOt::new()
                        .pair(x0.view(), x1.view(), 0)
                        .expect("exact OT")
                })
            });
            group.bench_function(BenchmarkId::new("sinkhorn", n), |b| {
                b.iter(|| {
                    let cost = cost::squared_euclidean(x0.view(), x1.view()).expect("valid");
                    sinkhorn.solve_uniform(cost.view()).expect("converges")
                })
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    targets = ot
}
criterion_main!(benches);
