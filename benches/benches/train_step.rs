//! A whole training step (forward, cross-entropy, backward, Adam) of the MNIST models:
//! the figure that matters for training speed, in images per second.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use engine::nn::Module;
use engine::optim::Adam;
use engine::{DType, Device, Rng, Tensor};
use mnist::models::ModelKind;
use mnist::train::supervised_step;

/// The same allocator policy as the `mnist` binary, so the figures match training.
#[global_allocator]
static ALLOCATOR: mnist::allocator::MiMalloc = mnist::allocator::MiMalloc;

fn train_step(c: &mut Criterion) {
    mnist::allocator::keep_freed_pages();
    let mut group = c.benchmark_group("train_step");
    group.sample_size(10);
    let cases = [
        (ModelKind::Cnn, 64),
        (ModelKind::Cnn, 256),
        (ModelKind::Small, 64),
        (ModelKind::Mlp, 64),
    ];
    for (id, dev) in benches::devices("train_step") {
        for (kind, batch) in cases {
            let mut rng = Rng::new(1);
            let mut model = kind.build(0);
            model.to_device(dev).unwrap();
            model.set_training(true);
            let mut opt = Adam::new(model.parameters(), 1e-3);
            let x = Tensor::randn(
                [batch, 1, 28, 28],
                0.0,
                1.0,
                DType::F32,
                Device::Cpu,
                &mut rng,
            )
            .unwrap()
            .to_device(dev)
            .unwrap();
            let labels: Vec<usize> = (0..batch).map(|_| rng.below(10) as usize).collect();
            let labels = engine::Labels::host(&labels).to_device(dev).unwrap();
            group.throughput(Throughput::Elements(batch as u64));
            group.bench_with_input(
                BenchmarkId::new(format!("{kind}/{id}"), batch),
                &batch,
                |b, _| {
                    b.iter(|| {
                        supervised_step(&model, &mut opt, &x, &labels).unwrap();
                        benches::sync(dev);
                    })
                },
            );
        }
    }
    group.finish();
}

criterion_group!(benches, train_step);
criterion_main!(benches);
