//! The `mnist` command line end to end: a short training run, eval and predict on its
//! checkpoint, Ctrl-C, and bad input of every kind (one-line error, non-zero exit).

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{mnist, only_entry, read_json, succeeds};

/// Asserts failure with a first stderr line that mentions `needle`.
fn assert_fails_with(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "expected failure, got success; stderr: {stderr}"
    );
    let first = stderr.lines().next().unwrap_or("");
    assert!(
        first.starts_with("error"),
        "first stderr line is not an error: {stderr}"
    );
    assert!(
        first.contains(needle),
        "error '{first}' does not mention '{needle}'"
    );
    assert!(!stderr.contains("panicked"), "panic: {stderr}");
}

/// A one-epoch cpu mlp run on the first `train_limit` images into `out_dir`, with `extra` flags.
fn mlp_run(out_dir: &Path, train_limit: &str, extra: &[&str]) -> Output {
    let base = [
        "--model",
        "mlp",
        "--epochs",
        "1",
        "--train-limit",
        train_limit,
        "--val-split",
        "100",
        "--quiet",
        "--device",
        "cpu",
        "--out-dir",
        out_dir.to_str().unwrap(),
    ];
    mnist(&[&base[..], extra].concat())
}

/// A one-epoch mlp run on 1,000 images; returns its run folder.
fn quick_run(out_dir: &Path) -> PathBuf {
    succeeds(&mlp_run(out_dir, "1000", &[]));
    only_entry(out_dir)
}

#[test]
fn train_then_eval_and_predict() {
    let run = quick_run(&common::scratch("cli_run"));
    let config: serde_json::Value = read_json(&run.join("config.json"));
    assert_eq!(config["model"], "mlp");
    assert_eq!(config["epochs"], 1);
    let best = run.join("checkpoints/best.safetensors");
    let out = mnist(&[
        "eval",
        "--checkpoint",
        best.to_str().unwrap(),
        "--device",
        "cpu",
    ]);
    succeeds(&out);
    assert!(String::from_utf8_lossy(&out.stdout).contains("accuracy"));

    // A test digit as PGM, classified by the checkpoint.
    let data = common::load();
    let pgm = run.join("digit.pgm");
    let mut bytes = b"P5\n28 28\n255\n".to_vec();
    bytes.extend_from_slice(data.test.image(0));
    std::fs::write(&pgm, bytes).unwrap();
    let out = mnist(&[
        "predict",
        pgm.to_str().unwrap(),
        "--checkpoint",
        best.to_str().unwrap(),
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    succeeds(&out);
    assert_eq!(
        stdout.lines().count(),
        11,
        "a verdict and ten probabilities: {stdout}"
    );

    // A checkpoint of another model, a missing checkpoint, a non-image.
    assert_fails_with(
        &mnist(&[
            "eval",
            "--checkpoint",
            best.to_str().unwrap(),
            "--model",
            "cnn",
        ]),
        "cnn",
    );
    assert_fails_with(
        &mnist(&["eval", "--checkpoint", "/nonexistent/x.safetensors"]),
        "/nonexistent/x.safetensors",
    );
    assert_fails_with(
        &mnist(&[
            "predict",
            run.join("config.json").to_str().unwrap(),
            "--checkpoint",
            best.to_str().unwrap(),
        ]),
        "config.json",
    );
}

#[test]
fn nonsense_flags_are_rejected() {
    assert_fails_with(&mnist(&["--lr", "-1"]), "learning rate");
    assert_fails_with(&mnist(&["--batch-size", "0"]), "batch size");
    assert_fails_with(&mnist(&["--epochs", "0"]), "epochs");
    assert_fails_with(&mnist(&["--momentum", "1.5"]), "momentum");
    assert_fails_with(&mnist(&["--label-smoothing", "1.5"]), "label smoothing");
    assert_fails_with(&mnist(&["--label-smoothing", "-0.1"]), "label smoothing");
    assert_fails_with(&mnist(&["--val-split", "60000"]), "validation split");
    assert_fails_with(&mnist(&["--model", "resnet"]), "resnet");
    assert_fails_with(&mnist(&["--optimizer", "lbfgs"]), "lbfgs");
    assert_fails_with(&mnist(&["--epochs", "three"]), "three");
    assert_fails_with(&mnist(&["--device", "tpu"]), "tpu");
    if engine::backend::cuda::gpu_count() == 0 {
        assert_fails_with(&mnist(&["--device", "cuda", "--quiet"]), "no NVIDIA driver");
    } else {
        eprintln!("note: a GPU is present, so --device cuda is not an error here");
    }
    assert_fails_with(&mnist(&["--device", "cuda:99", "--quiet"]), "cuda:99");
    assert_fails_with(
        &mnist(&["--placement", "hybrid", "--device", "cpu", "--quiet"]),
        "needs a CUDA device",
    );
    assert_fails_with(
        &mnist(&[
            "--model",
            "mlp",
            "--placement",
            "hybrid",
            "--device",
            "cuda-sim",
            "--quiet",
        ]),
        "convolutional blocks",
    );
    assert_fails_with(
        &mnist(&["--resume", "/nonexistent/run"]),
        "/nonexistent/run",
    );
}

#[test]
fn bad_config_files_are_rejected() {
    let dir = common::scratch("cli_config");
    assert_fails_with(
        &mnist(&["--config", dir.join("missing.toml").to_str().unwrap()]),
        "missing.toml",
    );
    // (file, contents, what the error must name)
    let bad = [
        ("garbage.json", "{ not json", "garbage.json"),
        (
            "unknown.toml",
            "epochs = 2\nlearning_rate = 0.1\n",
            "learning_rate",
        ),
        ("bad.toml", "epochs = 2\nlr = -0.5\n", "learning rate"),
    ];
    for (name, contents, needle) in bad {
        let file = dir.join(name);
        std::fs::write(&file, contents).unwrap();
        assert_fails_with(&mnist(&["--config", file.to_str().unwrap()]), needle);
    }
}

#[test]
fn config_file_values_apply_and_flags_override_them() {
    let dir = common::scratch("cli_config_apply");
    let file = dir.join("run.toml");
    let out_dir = dir.join("runs");
    std::fs::write(
        &file,
        format!("model = \"mlp\"\nepochs = 1\ntrain_limit = 300\nval_split = 100\nlr = 0.002\nout_dir = {:?}\n", out_dir),
    )
    .unwrap();
    let out = mnist(&[
        "--config",
        file.to_str().unwrap(),
        "--lr",
        "0.003",
        "--quiet",
        "--device",
        "cpu",
    ]);
    succeeds(&out);
    let run = only_entry(&out_dir);
    let config: serde_json::Value = read_json(&run.join("config.json"));
    assert_eq!(config["model"], "mlp", "from the file");
    assert_eq!(config["lr"], 0.003, "the flag wins");
}

#[test]
fn corrupt_data_files_are_named() {
    let dir = common::scratch("cli_corrupt_data");
    for name in [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
        "t10k-images-idx3-ubyte.gz",
    ] {
        std::fs::copy(common::mnist_dir().join(name), dir.join(name)).unwrap();
    }
    std::fs::write(
        dir.join("t10k-labels-idx1-ubyte.gz"),
        b"this is not gzip data at all",
    )
    .unwrap();
    let out = mnist(&["--data-dir", dir.to_str().unwrap(), "--quiet"]);
    assert_fails_with(&out, "t10k-labels-idx1-ubyte.gz");
}

#[test]
fn ctrl_c_stops_cleanly_after_saving_last() {
    let out_dir = common::scratch("cli_ctrl_c");
    let child = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args([
            "--model",
            "mlp",
            "--epochs",
            "50",
            "--val-split",
            "100",
            "--quiet",
            "--device",
            "cpu",
        ])
        .args(["--out-dir", out_dir.to_str().unwrap()])
        .env("MNIST_DIR", common::mnist_dir())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the first epoch has written its checkpoint, then interrupt.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let last = loop {
        let found = std::fs::read_dir(&out_dir)
            .ok()
            .and_then(|mut d| d.next())
            .map(|e| e.unwrap().path().join("checkpoints/last.safetensors"))
            .filter(|p| p.is_file());
        if let Some(p) = found {
            break p;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no checkpoint after 120 s"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("resume with"), "{stdout}");
    assert!(last.is_file());
    assert!(
        !std::fs::read_dir(last.parent().unwrap())
            .unwrap()
            .any(|e| { e.unwrap().file_name().to_string_lossy().contains(".tmp") }),
        "a temp file was left behind"
    );
}

#[test]
fn resume_extends_a_finished_run() {
    let run = quick_run(&common::scratch("cli_resume"));
    let out = mnist(&[
        "--resume",
        run.to_str().unwrap(),
        "--epochs",
        "2",
        "--quiet",
    ]);
    succeeds(&out);
    let metrics: serde_json::Value = read_json(&run.join("metrics.json"));
    assert_eq!(metrics["epochs"].as_array().unwrap().len(), 2);
}

#[test]
fn a_diverging_run_stops_with_a_clear_error() {
    let out_dir = common::scratch("cli_nan");
    let out = mlp_run(&out_dir, "2000", &["--optimizer", "sgd", "--lr", "1e12"]);
    assert_fails_with(&out, "diverged");
}

#[test]
fn elastic_augmentation_runs_and_is_recorded() {
    let out_dir = common::scratch("cli_elastic");
    let out = mlp_run(&out_dir, "500", &["--elastic"]);
    succeeds(&out);
    let config = read_json(&only_entry(&out_dir).join("config.json"));
    assert_eq!(
        (config["elastic"].as_bool(), config["augment"].as_bool()),
        (Some(true), Some(true))
    );
}
