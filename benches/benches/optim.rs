//! Optimizer step over the MNIST cnn's 421,834 parameters (12 tensors, one of 401k).
//! Adam reads p, g, m, v and writes p, m, v: 28 bytes per f32 parameter per step.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use engine::optim::{Adam, Optimizer, Sgd};
use engine::{DType, Device, Rng, Tensor};

/// Parameter shapes of conv32-bn-conv64-bn-fc128-fc10 on 1x28x28.
const CNN_SHAPES: &[&[usize]] = &[
    &[32, 1, 3, 3],
    &[32],
    &[32],
    &[32],
    &[64, 32, 3, 3],
    &[64],
    &[64],
    &[64],
    &[128, 3136],
    &[128],
    &[10, 128],
    &[10],
];

fn params_with_grads(dev: Device) -> Vec<Tensor> {
    let mut rng = Rng::new(0);
    CNN_SHAPES
        .iter()
        .map(|&s| {
            let p = Tensor::rand(s, -0.1, 0.1, DType::F32, Device::Cpu, &mut rng)
                .and_then(|p| p.to_device(dev))
                .unwrap()
                .requires_grad_(true);
            let g = Tensor::rand(s, -1e-3, 1e-3, DType::F32, Device::Cpu, &mut rng)
                .and_then(|g| g.to_device(dev))
                .unwrap();
            p.set_grad(Some(g));
            p
        })
        .collect()
}

fn optim(c: &mut Criterion) {
    for (id, dev) in benches::devices("adam_step") {
        let params = params_with_grads(dev);
        let n: usize = params.iter().map(|p| p.numel()).sum();
        assert_eq!(n, 421_834);
        let mut group = c.benchmark_group("adam_step");
        group.throughput(Throughput::Bytes(28 * n as u64));
        let mut adam = Adam::new(params.clone(), 1e-3);
        group.bench_function(id, |b| {
            b.iter(|| {
                adam.step().unwrap();
                benches::sync(dev);
            })
        });
        group.finish();

        let mut group = c.benchmark_group("sgd_momentum_step");
        group.throughput(Throughput::Bytes(20 * n as u64));
        let mut sgd = Sgd::new(params, 1e-2).momentum(0.9);
        group.bench_function(id, |b| {
            b.iter(|| {
                sgd.step().unwrap();
                benches::sync(dev);
            })
        });
        group.finish();
    }
}

criterion_group!(benches, optim);
criterion_main!(benches);
