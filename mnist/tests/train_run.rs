//! The run folder: reproducibility (same seed, same metrics), exact resume, checkpoints
//! that reload, and the report files.

mod common;

use std::sync::atomic::AtomicBool;

use mnist::config::TrainConfig;
use mnist::models::ModelKind;
use mnist::train::{load_model_checkpoint, train, RunOptions, RunOutcome};

fn config(name: &str, epochs: usize) -> TrainConfig {
    TrainConfig {
        model: ModelKind::Mlp,
        device: "cpu".into(),
        epochs,
        train_limit: Some(3000),
        val_split: 1000,
        out_dir: common::scratch(name),
        ..TrainConfig::default()
    }
}

fn run(
    config: &TrainConfig,
    data: &mnist::data::Mnist,
    resume: Option<std::path::PathBuf>,
) -> RunOutcome {
    let stop = AtomicBool::new(false);
    train(
        config,
        data,
        RunOptions {
            quiet: true,
            stop: &stop,
            resume,
            run_name: None,
        },
    )
    .unwrap()
}

/// metrics.json without the wall-clock fields.
fn metrics_without_time(outcome: &RunOutcome) -> serde_json::Value {
    let text = std::fs::read_to_string(outcome.dir.join("metrics.json")).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&text).unwrap();
    for e in v["epochs"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("seconds");
    }
    v
}

#[test]
fn same_seed_gives_identical_metrics() {
    let data = common::load();
    let a = run(&config("repro_a", 2), &data, None);
    let b = run(&config("repro_b", 2), &data, None);
    assert_eq!(metrics_without_time(&a), metrics_without_time(&b));
    assert_eq!(a.test_accuracy, b.test_accuracy);
    let mut other = config("repro_c", 2);
    other.seed = 43;
    let c = run(&other, &data, None);
    assert_ne!(
        metrics_without_time(&a),
        metrics_without_time(&c),
        "the seed must matter"
    );
}

#[test]
fn resume_continues_exactly() {
    let data = common::load();
    let straight = run(&config("resume_straight", 2), &data, None);
    let first = run(&config("resume_split", 1), &data, None);
    let mut more = config("unused", 2);
    more.out_dir = first.dir.parent().unwrap().to_path_buf();
    let resumed = run(&more, &data, Some(first.dir.clone()));
    assert_eq!(resumed.dir, first.dir);
    assert_eq!(
        metrics_without_time(&straight),
        metrics_without_time(&resumed)
    );
    assert_eq!(straight.test_accuracy, resumed.test_accuracy);
}

#[test]
fn best_checkpoint_reloads_to_the_reported_accuracy() {
    let data = common::load();
    let outcome = run(&config("reload", 1), &data, None);
    let (kind, mut model) =
        load_model_checkpoint(&outcome.dir.join("checkpoints/best.safetensors"), None).unwrap();
    assert_eq!(kind, ModelKind::Mlp);
    let batches = mnist::train::BatchSource::eval(&data.test, 500, engine::Device::Cpu).unwrap();
    let again = mnist::train::evaluate(&mut model, &batches).unwrap();
    assert_eq!(again.accuracy, outcome.test_accuracy);
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(outcome.dir.join("test_report.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(
        report["test_accuracy"].as_f64().unwrap(),
        outcome.test_accuracy
    );
    assert_eq!(report["per_class_accuracy"].as_array().unwrap().len(), 10);
    // A checkpoint of one model does not load into another.
    let err = load_model_checkpoint(
        &outcome.dir.join("checkpoints/best.safetensors"),
        Some(ModelKind::Cnn),
    )
    .err()
    .expect("an mlp checkpoint must not load as a cnn")
    .to_string();
    assert!(err.contains("cnn"), "{err}");
}
