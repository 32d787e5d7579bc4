//! The whole training path on the CUDA backend, run on the PTX simulator (and on a GPU when
//! one is present): the same model, seed and data give the same losses as on the CPU, a
//! hybrid model (conv blocks on the GPU, head on the CPU) matches single-device training,
//! and `small` learns from a few hundred real digits.

mod common;

use engine::nn::{Module, Sequential};
use engine::optim::Adam;
use engine::{Device, Labels, Tensor};
use mnist::dataset::{normalize, Dataset};
use mnist::models::ModelKind;
use mnist::train::supervised_step;

/// The first `n` training images as a `(n, 1, 28, 28)` batch and their labels.
fn batch(data: &Dataset, n: usize) -> (Tensor, Vec<usize>) {
    let x = Tensor::from_vec(normalize(&data.images[..n * 784]), [n, 1, 28, 28]).unwrap();
    (x, data.labels[..n].iter().map(|&l| l as usize).collect())
}

/// Per-step losses of `steps` Adam steps of `model` on batches of `bs` cycling through
/// `images`, with batches placed on `input_device`.
fn losses(
    mut model: Sequential,
    data: &Dataset,
    input_device: Device,
    steps: usize,
    bs: usize,
) -> Vec<f64> {
    let mut opt = Adam::new(model.parameters(), 3e-3);
    model.set_training(true);
    let (x, y) = batch(data, bs * steps);
    (0..steps)
        .map(|s| {
            let xb = x.narrow(0, s * bs, bs).unwrap().contiguous().unwrap();
            let xb = xb.to_device(input_device).unwrap();
            let labels = Labels::host(&y[s * bs..(s + 1) * bs]);
            let loss = supervised_step(&model, &mut opt, &xb, &labels).unwrap();
            loss.item().unwrap()
        })
        .collect()
}

/// cuda-sim always; the first GPU too when the driver sees one.
fn devices() -> Vec<Device> {
    let mut d = vec![Device::CudaSim];
    if engine::backend::cuda::gpu_count() > 0 {
        d.push(Device::Cuda(0));
    } else {
        eprintln!("note: no GPU: the CUDA training checks run on cuda-sim only");
    }
    d
}

fn assert_close(name: &str, got: &[f64], want: &[f64], tol: f64) {
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= tol * b.abs(),
            "{name}: step {i}: {a} vs {b} (cpu)"
        );
    }
}

#[test]
fn cpu_and_cuda_losses_agree_for_every_model() {
    let data = common::load().train;
    for kind in [ModelKind::Small, ModelKind::Mlp, ModelKind::Cnn] {
        let (steps, bs) = if kind == ModelKind::Cnn {
            (2, 4)
        } else {
            (3, 8)
        };
        let cpu = losses(kind.build(5), &data, Device::Cpu, steps, bs);
        for dev in devices() {
            let mut model = kind.build(5);
            model.to_device(dev).unwrap();
            let got = losses(model, &data, dev, steps, bs);
            assert_close(&format!("{kind} on {dev}"), &got, &cpu, 1e-4);
        }
    }
}

#[test]
fn hybrid_placement_matches_single_device() {
    let data = common::load().train;
    let cpu = losses(ModelKind::Small.build(9), &data, Device::Cpu, 3, 8);
    for dev in devices() {
        let mut model = ModelKind::Small.build(9);
        let flatten = 17; // the conv blocks and the pool come first
        assert!(model
            .get(flatten)
            .unwrap()
            .describe()
            .starts_with("Flatten"));
        model
            .place(|i| if i < flatten { dev } else { Device::Cpu })
            .unwrap();
        assert_eq!(model.parameters()[0].device(), dev);
        assert_eq!(model.parameters().last().unwrap().device(), Device::Cpu);
        let got = losses(model, &data, dev, 3, 8);
        assert_close(&format!("hybrid small on {dev}"), &got, &cpu, 1e-4);
    }
}

#[test]
fn small_learns_on_the_cuda_backend() {
    let data = common::load().train;
    let mut model = ModelKind::Small.build(3);
    model.to_device(Device::CudaSim).unwrap();
    let l = losses(model, &data, Device::CudaSim, 24, 16);
    let (first, last) = (
        l[..4].iter().sum::<f64>() / 4.0,
        l[20..].iter().sum::<f64>() / 4.0,
    );
    assert!(
        last < 0.8 * first,
        "loss did not fall: first {first:.3}, last {last:.3} ({l:?})"
    );
}

/// The whole trainer on cuda-sim (resident dataset, on-device batches and metrics, the best
/// checkpoint reloaded on the device for the test set) against the same run on the CPU.
#[test]
fn the_trainer_on_cuda_sim_matches_the_cpu() {
    use mnist::config::TrainConfig;
    use mnist::train::{train, RunOptions};
    let data = common::load();
    let stop = std::sync::atomic::AtomicBool::new(false);
    let run = |device: &str| {
        let config = TrainConfig {
            model: ModelKind::Mlp,
            device: device.into(),
            epochs: 1,
            train_limit: Some(640),
            val_split: 500,
            out_dir: common::scratch(&format!("trainer_{device}")),
            ..TrainConfig::default()
        };
        let opts = RunOptions {
            quiet: true,
            stop: &stop,
            resume: None,
            run_name: None,
        };
        train(&config, &data, opts).unwrap()
    };
    let (cpu, sim) = (run("cpu"), run("cuda-sim"));
    let (a, b) = (&sim.metrics[0], &cpu.metrics[0]);
    let close = |x: f64, y: f64| (x - y).abs() <= 1e-4 * y.abs().max(1e-3);
    assert!(
        close(a.train_loss as f64, b.train_loss as f64),
        "train loss {a:?} vs {b:?}"
    );
    assert!(
        close(a.val_loss.unwrap() as f64, b.val_loss.unwrap() as f64),
        "{a:?} vs {b:?}"
    );
    assert!(
        (sim.test_accuracy - cpu.test_accuracy).abs() <= 0.002,
        "test accuracy"
    );
    assert!(
        cpu.test_accuracy > 0.5,
        "the run learned (chance is 0.1): {}",
        cpu.test_accuracy
    );
}
