//! BatchNorm (forward, backward), fused cross-entropy (forward + backward) and dropout
//! at the MNIST `cnn` shapes (batch 64), f32 on the CPU.
//! Ids: `batch_norm_fwd/cpu/<shape>`, `batch_norm_bwd/cpu/<shape>`, `cross_entropy/cpu/<shape>`,
//! `dropout/cpu/<shape>`.

use std::time::Duration;

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use engine::{no_grad, DType, Device, Rng, Tensor};

const BN_SHAPES: [[usize; 4]; 2] = [[64, 32, 28, 28], [64, 64, 14, 14]];

fn name(dims: &[usize]) -> String {
    dims.iter()
        .map(|d| d.to_string())
        .collect::<Vec<_>>()
        .join("x")
}

fn randn(dims: &[usize], rng: &mut Rng) -> Tensor {
    Tensor::randn(dims, 0.0, 1.0, DType::F32, Device::Cpu, rng).unwrap()
}

fn batch_norm(c: &mut Criterion) {
    let mut rng = Rng::new(0);
    let mut fwd = c.benchmark_group("batch_norm_fwd");
    for dims in BN_SHAPES {
        let ch = dims[1];
        let x = randn(&dims, &mut rng);
        let rm = Tensor::zeros([ch], DType::F32, Device::Cpu).unwrap();
        let rv = Tensor::ones([ch], DType::F32, Device::Cpu).unwrap();
        let w = Tensor::ones([ch], DType::F32, Device::Cpu).unwrap();
        let b = Tensor::zeros([ch], DType::F32, Device::Cpu).unwrap();
        fwd.throughput(Throughput::Elements(x.numel() as u64));
        fwd.bench_function(BenchmarkId::new("cpu", name(&dims)), |bch| {
            let _guard = no_grad();
            bch.iter(|| {
                x.batch_norm(&rm, &rv, Some(&w), Some(&b), true, 0.1, 1e-5)
                    .unwrap()
            })
        });
    }
    fwd.finish();

    let mut bwd = c.benchmark_group("batch_norm_bwd");
    for dims in BN_SHAPES {
        let ch = dims[1];
        let x = randn(&dims, &mut rng).requires_grad_(true);
        let dy = randn(&dims, &mut rng);
        let rm = Tensor::zeros([ch], DType::F32, Device::Cpu).unwrap();
        let rv = Tensor::ones([ch], DType::F32, Device::Cpu).unwrap();
        let w = Tensor::ones([ch], DType::F32, Device::Cpu)
            .unwrap()
            .requires_grad_(true);
        let b = Tensor::zeros([ch], DType::F32, Device::Cpu)
            .unwrap()
            .requires_grad_(true);
        bwd.throughput(Throughput::Elements(x.numel() as u64));
        // Only the backward is timed (dx, dgamma, dbeta); one graph alive at a time.
        bwd.bench_function(BenchmarkId::new("cpu", name(&dims)), |bch| {
            bch.iter_batched(
                || {
                    for t in [&x, &w, &b] {
                        t.zero_grad();
                    }
                    x.batch_norm(&rm, &rv, Some(&w), Some(&b), true, 0.1, 1e-5)
                        .unwrap()
                },
                |y| y.backward_with(&dy).unwrap(),
                BatchSize::PerIteration,
            )
        });
    }
    bwd.finish();
}

fn cross_entropy(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let mut g = c.benchmark_group("cross_entropy");
    for n in [64, 1024] {
        let x = randn(&[n, 10], &mut rng).requires_grad_(true);
        let targets: Vec<usize> = (0..n).map(|i| (i * 7) % 10).collect();
        // Forward and backward together, as one training step uses them.
        g.bench_function(BenchmarkId::new("cpu", format!("{n}x10")), |bch| {
            bch.iter(|| {
                x.zero_grad();
                let loss = x.cross_entropy(&targets, 0.0).unwrap();
                loss.backward().unwrap();
            })
        });
    }
    g.finish();
}

fn dropout(c: &mut Criterion) {
    let mut rng = Rng::new(2);
    let mut g = c.benchmark_group("dropout");
    // The cnn's dropout sits after fc128; the large shape shows the per-element cost.
    for dims in [vec![64, 128], vec![64, 32, 28, 28]] {
        let x = randn(&dims, &mut rng);
        g.throughput(Throughput::Elements(x.numel() as u64));
        g.bench_function(BenchmarkId::new("cpu", name(&dims)), |bch| {
            let mut offset = 0u64;
            bch.iter(|| {
                offset += 1;
                x.dropout(0.5, true, 1234, offset).unwrap()
            })
        });
    }
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = batch_norm, cross_entropy, dropout
}
criterion_main!(benches);
