//! Accuracy on real MNIST: the `small` model passes 95% test accuracy after one epoch on
//! the CPU; a model memorises 128 samples; shuffled labels stay at chance on the test set.

mod common;

use std::sync::atomic::AtomicBool;

use engine::optim::{Adam, Optimizer};
use engine::Device;
use indicatif::ProgressBar;
use mnist::config::{SchedulerKind, TrainConfig};
use mnist::dataset::{Dataset, Loader};
use mnist::models::ModelKind;
use mnist::train::{evaluate, train, train_epoch, BatchSource, LrPlan, RunOptions};

#[test]
fn small_passes_95_percent_after_one_epoch() {
    let data = common::load();
    let config = TrainConfig {
        model: ModelKind::Small,
        device: "cpu".into(),
        epochs: 1,
        batch_size: 64,
        lr: 0.01,
        scheduler: SchedulerKind::Onecycle,
        out_dir: common::scratch("small_one_epoch"),
        ..TrainConfig::default()
    };
    let stop = AtomicBool::new(false);
    let outcome = train(
        &config,
        &data,
        RunOptions {
            quiet: true,
            stop: &stop,
            resume: None,
            run_name: None,
        },
    )
    .unwrap();
    println!("small, 1 epoch: test accuracy {:.4}", outcome.test_accuracy);
    assert!(
        outcome.test_accuracy > 0.95,
        "test accuracy {:.4}",
        outcome.test_accuracy
    );
    for file in [
        "config.json",
        "metrics.json",
        "test_report.json",
        "loss_curve.png",
        "accuracy_curve.png",
        "confusion_matrix.png",
        "correct_examples.png",
        "incorrect_examples.png",
        "checkpoints/best.safetensors",
        "checkpoints/last.safetensors",
    ] {
        assert!(outcome.dir.join(file).is_file(), "run folder lacks {file}");
    }
}

/// Trains `kind` on `data` for `epochs` with Adam and returns the accuracy on each of `eval_on`.
fn fit(kind: ModelKind, data: &Dataset, eval_on: &[&Dataset], epochs: usize, lr: f64) -> Vec<f64> {
    let mut model = kind.build(7);
    let mut opt = Adam::new(engine::nn::Module::parameters(&model), lr);
    let config = TrainConfig {
        lr,
        epochs,
        ..TrainConfig::default()
    };
    let loader = Loader::new(data, 32).shuffle(true).seed(3);
    let plan = LrPlan::new(&config, loader.num_batches());
    let batches = BatchSource::new(loader, Device::Cpu).unwrap();
    let stop = AtomicBool::new(false);
    for epoch in 0..epochs {
        train_epoch(
            &mut model,
            &mut opt as &mut dyn Optimizer,
            &batches,
            epoch,
            &plan,
            0.0,
            &ProgressBar::hidden(),
            &stop,
            &mut |_| {},
        )
        .unwrap();
    }
    eval_on
        .iter()
        .map(|d| {
            let b = BatchSource::eval(d, 256, Device::Cpu).unwrap();
            evaluate(&mut model, &b).unwrap().accuracy
        })
        .collect()
}

#[test]
fn memorises_128_samples() {
    let data = common::load();
    let few = data.train.take(128);
    let accuracy = fit(ModelKind::Mlp, &few, &[&few], 40, 1e-3)[0];
    assert_eq!(accuracy, 1.0, "train accuracy on 128 samples: {accuracy}");
}

#[test]
fn shuffled_labels_stay_near_chance() {
    let data = common::load();
    let mut train = data.train.take(1000);
    // A random permutation of the labels breaks every image-label relation.
    let mut rng = engine::Rng::new(11);
    rng.shuffle(&mut train.labels);
    let acc = fit(ModelKind::Mlp, &train, &[&train, &data.test], 20, 1e-3);
    // It fits its random training labels above chance, yet learns nothing that
    // transfers: the test accuracy stays at chance level (10%, give or take which
    // digits happen to map to themselves), far from the >90% of real labels.
    assert!(acc[0] > 0.3, "train accuracy on random labels: {}", acc[0]);
    assert!(acc[1] < 0.2, "test accuracy with random labels: {}", acc[1]);
}
