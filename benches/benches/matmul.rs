//! Matmul at the MNIST models' fully connected shapes (the cnn's fc1: 3136 -> 128).

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::{DType, Device, Rng, Tensor};

fn matmul(c: &mut Criterion) {
    let mut rng = Rng::new(0);
    let mut group = c.benchmark_group("matmul");
    group.sample_size(20);
    for (id, dev) in benches::devices("matmul") {
        for batch in [64usize, 1024] {
            let (k, n) = (3136, 128);
            let x = Tensor::randn([batch, k], 0.0, 1.0, DType::F32, Device::Cpu, &mut rng).unwrap();
            let w = Tensor::randn([n, k], 0.0, 0.02, DType::F32, Device::Cpu, &mut rng).unwrap();
            let (x, w) = (x.to_device(dev).unwrap(), w.to_device(dev).unwrap());
            group.throughput(Throughput::Elements((2 * batch * k * n) as u64));
            group.bench_with_input(BenchmarkId::new(id, batch), &batch, |b, _| {
                b.iter(|| {
                    let y = x.matmul(&w.t().unwrap()).unwrap();
                    benches::sync(dev);
                    y
                })
            });
        }
    }
    group.finish();
}

criterion_group!(benches, matmul);
criterion_main!(benches);
