//! Every failure a user meets is one line on stderr and a non-zero exit, never a panic or
//! a partial file (issue 16): unwritable, full or non-folder output directories, a run
//! folder that already exists, a checkpoint of another model or a newer format, a data
//! directory that is a file, a path that is a directory, and Ctrl-C during evaluation.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use common::fails_with_one_line;
use mnist::models::ModelKind;

const TINY: [&str; 10] = [
    "--model",
    "mlp",
    "--train-limit",
    "500",
    "--val-split",
    "100",
    "--epochs",
    "1",
    "--device",
    "cpu",
];

fn mnist(args: &[&str], extra: &[&Path]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(args)
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .expect("run mnist")
}

fn train_into(out_dir: &Path) -> Output {
    let data = common::mnist_dir();
    let mut args: Vec<&Path> = vec![
        Path::new("--data-dir"),
        &data,
        Path::new("--out-dir"),
        out_dir,
    ];
    args.insert(0, Path::new("--quiet"));
    mnist(&TINY, &args)
}

/// Files (recursively) under `dir`.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(it) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    it.flatten()
        .flat_map(|e| {
            let p = e.path();
            if p.is_dir() {
                files(&p)
            } else {
                vec![p]
            }
        })
        .collect()
}

#[test]
fn read_only_output_directory() {
    let dir = common::scratch("cli_ro");
    let ro = dir.join("ro");
    std::fs::create_dir(&ro).unwrap();
    let mut perms = std::fs::metadata(&ro).unwrap().permissions();
    std::os::unix::fs::PermissionsExt::set_mode(&mut perms, 0o555);
    std::fs::set_permissions(&ro, perms).unwrap();
    // Root ignores permission bits; /proc is read-only for everyone.
    let target = if std::fs::write(ro.join("probe"), b"x").is_ok() {
        PathBuf::from("/proc/self/mnist-out")
    } else {
        ro.clone()
    };
    fails_with_one_line(&train_into(&target), "error:");
    assert!(files(&target).is_empty());
}

#[test]
fn full_output_directory_leaves_no_partial_file() {
    let dir = common::scratch("cli_full");
    let full = dir.join("full");
    std::fs::create_dir(&full).unwrap();
    // A 64 KiB tmpfs: config.json fits, a checkpoint (900 KB) does not.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&full)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("skipped: cannot mount a small tmpfs here (not root?)");
        return;
    }
    let out = train_into(&full);
    let left = files(&full);
    let _ = Command::new("umount").arg(&full).status();
    fails_with_one_line(&out, "No space left on device");
    let partial: Vec<_> = left
        .iter()
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with('.') || name.ends_with(".safetensors")
        })
        .collect();
    assert!(partial.is_empty(), "partial files left: {partial:?}");
}

#[test]
fn output_path_that_is_a_file() {
    let dir = common::scratch("cli_outfile");
    let file = dir.join("a-file");
    std::fs::write(&file, b"x").unwrap();
    fails_with_one_line(&train_into(&file), "Not a directory");
}

#[test]
fn existing_run_folder_is_never_reused() {
    let dir = common::scratch("cli_twice");
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| train_into(&dir));
        let b = s.spawn(|| train_into(&dir));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.status.success() && b.status.success());
    let runs: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().collect();
    assert_eq!(
        runs.len(),
        2,
        "two runs started in the same second get two folders"
    );
    for r in runs {
        assert!(r.path().join("checkpoints/best.safetensors").is_file());
    }
}

#[test]
fn data_directory_that_is_a_file() {
    let dir = common::scratch("cli_datafile");
    let file = dir.join("mnist");
    std::fs::write(&file, b"x").unwrap();
    let out = mnist(
        &["--quiet", "--data-dir"],
        &[&file, Path::new("--out-dir"), &dir.join("out")],
    );
    fails_with_one_line(&out, "is a file, not a folder");
    let out = mnist(
        &["eval", "--device", "cpu", "--checkpoint"],
        &[&file, Path::new("--data-dir"), &file],
    );
    assert!(!out.status.success());
}

#[test]
fn paths_that_are_directories() {
    let dir = common::scratch("cli_dirs");
    fails_with_one_line(&mnist(&["--config"], &[&dir]), "Is a directory");
    fails_with_one_line(
        &mnist(&["eval", "--device", "cpu", "--checkpoint"], &[&dir]),
        "Is a directory",
    );
    fails_with_one_line(
        &mnist(
            &["predict", "--device", "cpu", "--checkpoint"],
            &[&dir, &dir],
        ),
        "Is a directory",
    );
    fails_with_one_line(&mnist(&["--resume"], &[&dir]), "not a resumable run folder");
}

/// A checkpoint of `kind` with extra metadata.
fn checkpoint(dir: &Path, kind: ModelKind, meta: &[(&str, &str)]) -> PathBuf {
    let path = dir.join(format!("{kind}.safetensors"));
    let model = kind.build(0);
    let mut m: HashMap<String, String> = HashMap::from([("model".into(), kind.name().into())]);
    m.extend(meta.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let mut ck = engine::io::Checkpoint::of(&model);
    ck.metadata = m;
    engine::io::save_checkpoint(&path, &ck).unwrap();
    path
}

#[test]
fn checkpoint_of_another_model_or_a_newer_format() {
    let dir = common::scratch("cli_ckpt");
    let data = common::mnist_dir();
    let mlp = checkpoint(&dir, ModelKind::Mlp, &[]);
    let eval = |ck: &Path, model: &str| {
        mnist(
            &["eval", "--device", "cpu", "--model", model, "--checkpoint"],
            &[ck, Path::new("--data-dir"), &data],
        )
    };
    fails_with_one_line(&eval(&mlp, "cnn"), "is this a 'cnn' checkpoint?");
    let newer = dir.join("newer");
    std::fs::create_dir(&newer).unwrap();
    let newer = checkpoint(&newer, ModelKind::Mlp, &[("format", "99")]);
    fails_with_one_line(&eval(&newer, "mlp"), "checkpoint format 99 is newer");
    // And `--resume` of a run whose last checkpoint is of a newer format.
    let out = dir.join("runs");
    assert!(train_into(&out).status.success());
    let run = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .path();
    let last = run.join("checkpoints/last.safetensors");
    let mut ck = engine::io::load_checkpoint(&last).unwrap();
    let next = mnist::train::CHECKPOINT_FORMAT + 1;
    ck.metadata.insert("format".into(), next.to_string());
    engine::io::save_checkpoint(&last, &ck).unwrap();
    fails_with_one_line(
        &mnist(&["--quiet", "--epochs", "2", "--resume"], &[&run]),
        &format!("checkpoint format {next} is newer"),
    );
}

#[test]
fn ctrl_c_during_evaluation() {
    let dir = common::scratch("cli_ctrlc");
    let cnn = checkpoint(&dir, ModelKind::Cnn, &[]);
    // Batches of one image: evaluating 10,000 takes far longer than the wait below.
    let child = Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args([
            "eval",
            "--device",
            "cpu",
            "--batch-size",
            "1",
            "--checkpoint",
        ])
        .arg(&cnn)
        .arg("--data-dir")
        .arg(common::mnist_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2500));
    common::interrupt(&child);
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "exit status after Ctrl-C");
    fails_with_one_line(&out, "interrupted during evaluation");
}
