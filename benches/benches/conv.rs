//! Convolution and pooling at the MNIST `cnn` shapes (batch 64): conv1 1->32 3x3 pad 1
//! on 28x28, conv2 32->64 3x3 pad 1 on 14x14, 2x2 max pools after each. Throughput is
//! in images, so reports read as images/s. Backward is timed alone: the forward that
//! builds its graph runs in the untimed setup.

use criterion::{criterion_group, criterion_main, BatchSize, BenchmarkId, Criterion, Throughput};
use engine::{Conv2dParams, DType, Device, Rng, Tensor};

const BATCH: usize = 64;

struct ConvShape {
    name: &'static str,
    c_in: usize,
    c_out: usize,
    hw: usize,
    /// Whether the input needs a gradient (not for the first layer, whose input is data).
    input_grad: bool,
}

const CONVS: [ConvShape; 2] = [
    ConvShape {
        name: "conv1_1to32_28x28",
        c_in: 1,
        c_out: 32,
        hw: 28,
        input_grad: false,
    },
    ConvShape {
        name: "conv2_32to64_14x14",
        c_in: 32,
        c_out: 64,
        hw: 14,
        input_grad: true,
    },
];

fn rand(shape: &[usize], rng: &mut Rng, dev: Device) -> Tensor {
    let t = Tensor::rand(shape, -1.0, 1.0, DType::F32, Device::Cpu, rng).expect("rand");
    t.to_device(dev).expect("to_device")
}

fn conv(c: &mut Criterion) {
    let mut rng = Rng::new(1);
    let p = Conv2dParams {
        padding: (1, 1),
        ..Default::default()
    };
    for (id, dev) in benches::devices("conv2d") {
        for s in &CONVS {
            let x = rand(&[BATCH, s.c_in, s.hw, s.hw], &mut rng, dev).requires_grad_(s.input_grad);
            let w = rand(&[s.c_out, s.c_in, 3, 3], &mut rng, dev).requires_grad_(true);
            let b = rand(&[s.c_out], &mut rng, dev).requires_grad_(true);
            let dy = rand(&[BATCH, s.c_out, s.hw, s.hw], &mut rng, dev);

            let forward = || x.conv2d(&w, Some(&b), p).expect("conv2d");
            let case = (id, s.name, dev);
            bench_fwd_bwd(c, "conv2d", case, &[&x, &w, &b], &dy, forward);
        }
    }
}

fn pool(c: &mut Criterion) {
    let mut rng = Rng::new(2);
    for (id, dev) in benches::devices("max_pool2d") {
        for (name, ch, hw) in [("pool1_32x28x28", 32, 28), ("pool2_64x14x14", 64, 14)] {
            let x = rand(&[BATCH, ch, hw, hw], &mut rng, dev).requires_grad_(true);
            let dy = rand(&[BATCH, ch, hw / 2, hw / 2], &mut rng, dev);
            let forward = || x.max_pool2d((2, 2), (2, 2), (0, 0)).expect("max_pool2d");
            bench_fwd_bwd(c, "max_pool2d", (id, name, dev), &[&x], &dy, forward);
        }
    }
}

/// Benchmarks `{op}_fwd` (under `no_grad`) and `{op}_bwd`: the backward of `dy` alone, its
/// forward (which builds the graph, after clearing the leaves' gradients) in the untimed setup.
/// `case` is (device id, shape name, device).
fn bench_fwd_bwd(
    c: &mut Criterion,
    op: &str,
    (id, name, dev): (&str, &str, Device),
    leaves: &[&Tensor],
    dy: &Tensor,
    forward: impl Fn() -> Tensor,
) {
    let mut g = c.benchmark_group(format!("{op}_fwd"));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(BenchmarkId::new(id, name), |bch| {
        let _guard = engine::no_grad();
        bch.iter(|| {
            let y = forward();
            benches::sync(dev);
            y
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("{op}_bwd"));
    g.throughput(Throughput::Elements(BATCH as u64));
    g.bench_function(BenchmarkId::new(id, name), |bch| {
        bch.iter_batched(
            || {
                for t in leaves {
                    t.zero_grad();
                }
                let y = forward();
                benches::sync(dev);
                y
            },
            |y| {
                y.backward_with(dy).expect("backward");
                benches::sync(dev);
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn config() -> Criterion {
    // Small samples: the development machine is shared.
    Criterion::default()
        .sample_size(10)
        .warm_up_time(std::time::Duration::from_millis(500))
        .measurement_time(std::time::Duration::from_secs(2))
}

criterion_group! {
    name = benches;
    config = config();
    targets = conv, pool
}
criterion_main!(benches);
