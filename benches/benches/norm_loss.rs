//! BatchNorm (forward, backward), fused cross-entropy (forward + backward) and dropout
//! at the MNIST `cnn` shapes (batch 64), f32, on the CPU and (when present) a GPU.
//! Ids: `batch_norm_fwd/<device>/<shape>`, `batch_norm_bwd/<device>/<shape>`,
//! `cross_entropy/<device>/<shape>`, `dropout/<device>/<shape>`.

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

fn randn(dims: &[usize], rng: &mut Rng, dev: Device) -> Tensor {
    let t = Tensor::randn(dims, 0.0, 1.0, DType::F32, Device::Cpu, rng).unwrap();
    t.to_device(dev).unwrap()
}

fn batch_norm(c: &mut Criterion) {
    let mut rng = Rng::new(0);
    let devices = benches::devices("batch_norm");
    let mut fwd = c.benchmark_group("batch_norm_fwd");
    for (dims, &(id, dev)) in BN_SHAPES
        .iter()
        .flat_map(|d| devices.iter().map(move |v| (*d, v)))
    {
        let ch = dims[1];
        let x = randn(&dims, &mut rng, dev);
        let rm = Tensor::zeros([ch], DType::F32, dev).unwrap();
        let rv = Tensor::ones([ch], DType::F32, dev).unwrap();
        let w = Tensor::ones([ch], DType::F32, dev).unwrap();
        let b = Tensor::zeros([ch], DType::F32, dev).unwrap();
        fwd.throughput(Throughput::Elements(x.numel() as u64));
        fwd.bench_function(BenchmarkId::new(id, name(&dims)), |bch| {
            let _guard = no_grad();
            bch.iter(|| {
                let y = x.batch_norm(&rm, &rv, Some(&w), Some(&b), true, 0.1, 1e-5);
                benches::sync(dev);
                y.unwrap()
            })
        });
    }
    fwd.finish();

    let mut bwd = c.benchmark_group("batch_norm_bwd");
    for (dims, &(id, dev)) in BN_SHAPES
        .iter()
        .flat_map(|d| devices.iter().map(move |v| (*d, v)))
    {
        let ch = dims[1];
        let x = randn(&dims, &mut rng, dev).requires_grad_(true);
        let dy = randn(&dims, &mut rng, dev);
        let rm = Tensor::zeros([ch], DType::F32, dev).unwrap();
        let rv = Tensor::ones([ch], DType::F32, dev).unwrap();
        let w = Tensor::ones([ch], DType::F32, dev)
            .unwrap()
            .requires_grad_(true);
        let b = Tensor::zeros([ch], DType::F32, dev)
            .unwrap()
            .requires_grad_(true);
        bwd.throughput(Throughput::Elements(x.numel() as u64));
        // Only the backward is timed (dx, dgamma, dbeta); one graph alive at a time.
        bwd.bench_function(BenchmarkId::new(id, name(&dims)), |bch| {
            bch.iter_batched(
                || {
                    for t in [&x, &w, &b] {
                        t.zero_grad();
                    }
                    x.batch_norm(&rm, &rv, Some(&w), Some(&b), true, 0.1, 1e-5)
                        .unwrap()
                },
                |y| {
                    y.backward_with(&dy).unwrap();
                    benches::sync(dev);
                },
                BatchSize::PerIteration,
            )
        });
    }
    bwd.finish();
}

fn cross_entropy(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let mut g = c.benchmark_group("cross_entropy");
    for (id, dev) in benches::devices("cross_entropy") {
        for n in [64, 1024] {
            let x = randn(&[n, 10], &mut rng, dev).requires_grad_(true);
            let targets: Vec<usize> = (0..n).map(|i| (i * 7) % 10).collect();
            let targets = engine::Labels::host(&targets).to_device(dev).unwrap();
            // Forward and backward together, as one training step uses them.
            g.bench_function(BenchmarkId::new(id, format!("{n}x10")), |bch| {
                bch.iter(|| {
                    x.zero_grad();
                    let loss = x.cross_entropy_labels(&targets, 0.0).unwrap();
                    loss.backward().unwrap();
                    benches::sync(dev);
                })
            });
        }
    }
    g.finish();
}

fn dropout(c: &mut Criterion) {
    let mut rng = Rng::new(2);
    let mut g = c.benchmark_group("dropout");
    // The cnn's dropout sits after fc128; the large shape shows the per-element cost.
    for (id, dev) in benches::devices("dropout") {
        for dims in [vec![64, 128], vec![64, 32, 28, 28]] {
            let x = randn(&dims, &mut rng, dev);
            g.throughput(Throughput::Elements(x.numel() as u64));
            g.bench_function(BenchmarkId::new(id, name(&dims)), |bch| {
                let mut offset = 0u64;
                bch.iter(|| {
                    offset += 1;
                    let y = x.dropout(0.5, true, 1234, offset).unwrap();
                    benches::sync(dev);
                    y
                })
            });
        }
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
