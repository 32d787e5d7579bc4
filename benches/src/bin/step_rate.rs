//! Images per second of a CPU training step (forward, cross-entropy, backward, Adam) and
//! of evaluation (eval-mode forward of 10,000 images, no autograd), on random inputs: the
//! engine side of `benches/compare_pytorch.py`, which alternates it with
//! `benches/pytorch/train_step.py` (the same cases, the same output lines).
//!
//!     cargo run --release -p benches --bin step_rate -- [--repeats 3] [--seconds 2]
//!         [--case train:cnn:64 ...]
//!
//! Prints `case <mode>:<model>:<batch> <median images/s>` per case, after a header line.
//! `RAYON_NUM_THREADS` sets the thread count; `ENGINE_CPU_KERNEL` the SIMD path.

use std::time::Instant;

use engine::nn::{Module, Sequential};
use engine::optim::Adam;
use engine::{no_grad, DType, Device, Labels, Rng, Tensor};
use mnist::models::ModelKind;
use mnist::train::supervised_step;

#[global_allocator]
static ALLOCATOR: mnist::allocator::MiMalloc = mnist::allocator::MiMalloc;

/// The default cases: the training cases, then evaluation of each model.
const CASES: &[&str] = &[
    "train:cnn:64",
    "train:cnn:256",
    "train:cnn:1024",
    "train:small:64",
    "train:mlp:64",
    "eval:cnn:1000",
    "eval:small:1000",
    "eval:mlp:1000",
];

/// Images in one evaluation pass: the size of the MNIST test set.
const EVAL_IMAGES: usize = 10_000;

fn main() {
    mnist::allocator::keep_freed_pages();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
    };
    let repeats: usize = value("--repeats").and_then(|v| v.parse().ok()).unwrap_or(3);
    let seconds: f64 = value("--seconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(2.0);
    let mut cases: Vec<&str> = args
        .windows(2)
        .filter(|w| w[0] == "--case")
        .map(|w| w[1].as_str())
        .collect();
    if cases.is_empty() {
        cases = CASES.to_vec();
    }
    println!(
        "engine, {} threads, cpu kernel {}",
        rayon::current_num_threads(),
        engine::backend::cpu::simd::isa().name()
    );
    for case in cases {
        let parts: Vec<&str> = case.split(':').collect();
        let [mode, model, batch] = parts[..] else {
            panic!("case {case:?}: expected <train|eval>:<model>:<batch>");
        };
        let kind: ModelKind = model.parse().expect("model name");
        let batch: usize = batch.parse().expect("batch size");
        let rate = match mode {
            "train" => train_rate(kind, batch, repeats, seconds),
            "eval" => eval_rate(kind, batch, repeats),
            _ => panic!("case {case:?}: mode must be train or eval"),
        };
        println!("case {case} {rate:.0}");
    }
}

fn random_images(n: usize, rng: &mut Rng) -> Tensor {
    Tensor::randn([n, 1, 28, 28], 0.0, 1.0, DType::F32, Device::Cpu, rng).unwrap()
}

/// Median images/s over `repeats` windows of `seconds` of training steps.
fn train_rate(kind: ModelKind, batch: usize, repeats: usize, seconds: f64) -> f64 {
    let mut rng = Rng::new(1);
    let mut model = kind.build(0);
    model.set_training(true);
    let mut opt = Adam::new(model.parameters(), 1e-3);
    let x = random_images(batch, &mut rng);
    let labels: Vec<usize> = (0..batch).map(|_| rng.below(10) as usize).collect();
    let labels = Labels::host(&labels);
    let mut step = || {
        supervised_step(&model, &mut opt, &x, &labels).unwrap();
    };
    for _ in 0..3 {
        step();
    }
    median(
        (0..repeats)
            .map(|_| {
                let (mut n, start) = (0, Instant::now());
                while start.elapsed().as_secs_f64() < seconds {
                    step();
                    n += 1;
                }
                (n * batch) as f64 / start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

/// Median images/s over `repeats` passes of the eval-mode forward over 10,000 images.
fn eval_rate(kind: ModelKind, batch: usize, repeats: usize) -> f64 {
    let mut rng = Rng::new(2);
    let mut model: Sequential = kind.build(0);
    model.set_training(false);
    let _guard = no_grad();
    let batches: Vec<Tensor> = (0..EVAL_IMAGES.div_ceil(batch))
        .map(|i| random_images(batch.min(EVAL_IMAGES - i * batch), &mut rng))
        .collect();
    let pass = || {
        for x in &batches {
            let pred = model.forward(x).unwrap().argmax(1, false).unwrap();
            std::hint::black_box(pred);
        }
    };
    pass();
    median(
        (0..repeats)
            .map(|_| {
                let start = Instant::now();
                pass();
                EVAL_IMAGES as f64 / start.elapsed().as_secs_f64()
            })
            .collect(),
    )
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}
