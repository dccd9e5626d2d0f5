//! CPU throughput of the networks: forward pass and training step (forward, MSE, backward,
//! AdamW) of the DDPM CIFAR-10 UNet at batch 8, the small MNIST UNet at batch 32 and the 2-D MLP
//! at batch 1024, on every CPU backend this build has. The workloads are
//! `scoreflow::models::bench`, the same ones `scoreflow bench-model` times and
//! `scripts/bench_torch.py` mirrors in PyTorch (docs/benchmarks.md).
//!
//! `cargo bench --bench models` (flex); `cargo bench --bench models --features ndarray` adds
//! ndarray, whose CIFAR-10 training step (minutes per iteration: its convolution backward is
//! ≈ 70× flex's) is left to `scoreflow bench-model --device ndarray --steps 1`.

use std::time::Duration;

/// As the CLI: burn's CPU backends allocate per operation, and glibc's mmap/munmap of the large
/// buffers would be part of what is measured (docs/architecture.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use scoreflow::models::bench::{BenchNetwork, ModelBench, Workload};
use scoreflow::models::{compiled_backends, device_from_name};

fn networks(c: &mut Criterion) {
    for &backend in compiled_backends()
        .iter()
        .filter(|b| matches!(**b, "flex" | "ndarray"))
    {
        let device = device_from_name(backend).expect("a compiled-in backend");
        for network in BenchNetwork::ALL {
            for workload in Workload::ALL {
                if backend == "ndarray"
                    && network == BenchNetwork::UNetCifar10
                    && workload == Workload::TrainStep
                {
                    continue;
                }
                let batch = network.default_batch();
                let mut bench = ModelBench::new(network, workload, batch, &device, 0)
                    .expect("the workload builds");
                let mut group = c.benchmark_group(format!("{network}/{workload}"));
                group.throughput(Throughput::Elements(batch as u64));
                if network != BenchNetwork::Mlp2d {
                    // Seconds per iteration: criterion's minimum of 10 samples is enough.
                    group.sample_size(10);
                    group.measurement_time(Duration::from_secs(20));
                }
                group.bench_function(BenchmarkId::new(backend, batch), |b| {
                    b.iter(|| bench.step().expect("the step runs"))
                });
                group.finish();
            }
        }
    }
}

criterion_group!(benches, networks);
criterion_main!(benches);
