//! Same seed, same thread count: a run of CPU training steps gives the same bits every
//! time (losses and every parameter after Adam), for each model and thread count. The
//! work split of every kernel is fixed per problem, and partial sums are added in a
//! fixed order, never in the order threads finish.

use engine::nn::Module;
use engine::optim::Adam;
use engine::{DType, Device, Labels, Rng, Tensor};
use mnist::models::ModelKind;
use mnist::train::supervised_step;

/// The bits of the losses of `steps` training steps and of every parameter after them.
fn run_bits(kind: ModelKind, batch: usize, steps: usize) -> Vec<u32> {
    let mut rng = Rng::new(5);
    let mut model = kind.build(1);
    model.set_training(true);
    let mut opt = Adam::new(model.parameters(), 1e-3);
    let mut bits = Vec::new();
    for _ in 0..steps {
        let x = Tensor::randn(
            [batch, 1, 28, 28],
            0.0,
            1.0,
            DType::F32,
            Device::Cpu,
            &mut rng,
        )
        .unwrap();
        let labels: Vec<usize> = (0..batch).map(|_| rng.below(10) as usize).collect();
        let loss = supervised_step(&model, &mut opt, &x, &Labels::host(&labels)).unwrap();
        bits.push((loss.item().unwrap() as f32).to_bits());
    }
    for p in model.parameters() {
        bits.extend(p.to_vec_f32().unwrap().iter().map(|v| v.to_bits()));
    }
    bits
}

fn in_pool<T: Send>(threads: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

#[test]
fn reruns_are_bit_identical_per_thread_count() {
    for (kind, batch) in [
        (ModelKind::Cnn, 32),
        (ModelKind::Small, 16),
        (ModelKind::Mlp, 64),
    ] {
        for threads in [1, 2, 3] {
            let first = in_pool(threads, || run_bits(kind, batch, 3));
            let again = in_pool(threads, || run_bits(kind, batch, 3));
            assert_eq!(first.len(), again.len());
            let differ = first.iter().zip(&again).filter(|(a, b)| a != b).count();
            assert_eq!(
                differ, 0,
                "{kind} batch {batch}, {threads} threads: {differ} values differ"
            );
            // The steps did train: the parameters moved off their initial values.
            let init = run_bits(kind, batch, 0);
            assert_ne!(&first[3..], &init[..], "{kind}: parameters did not change");
        }
    }
}
