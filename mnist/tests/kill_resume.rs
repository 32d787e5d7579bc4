//! Crash safety (issue 16): real training runs of the `mnist` binary are killed with
//! SIGKILL at random moments, some while a checkpoint or metrics file is being written.
//! After every kill the checkpoints that exist must load, and `--resume` must finish with
//! exactly the metrics of a run that was never interrupted.

mod common;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use mnist::train::load_model_checkpoint;

const ARGS: [&str; 12] = [
    "--model",
    "mlp",
    "--train-limit",
    "2000",
    "--val-split",
    "500",
    "--epochs",
    "3",
    "--device",
    "cpu",
    "--batch-size",
    "64",
];

fn spawn(out: &Path, resume: Option<&Path>) -> Child {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_mnist"));
    match resume {
        Some(dir) => cmd.arg("--resume").arg(dir),
        None => cmd.args(ARGS).arg("--out-dir").arg(out),
    };
    cmd.arg("--quiet")
        .arg("--data-dir")
        .arg(common::mnist_dir())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start mnist")
}

/// The one run folder inside `out`, once it exists.
fn run_dir(out: &Path) -> Option<PathBuf> {
    std::fs::read_dir(out)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
}

/// metrics.json without the wall-clock fields.
fn metrics(run: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(run.join("metrics.json")).expect("metrics.json");
    let mut v: serde_json::Value = serde_json::from_str(&text).expect("metrics.json is JSON");
    strip_seconds(&mut v);
    v
}

fn strip_seconds(v: &mut serde_json::Value) {
    match v {
        serde_json::Value::Object(m) => {
            m.retain(|k, _| !k.contains("seconds"));
            m.values_mut().for_each(strip_seconds);
        }
        serde_json::Value::Array(a) => a.iter_mut().for_each(strip_seconds),
        _ => {}
    }
}

/// Dot files (temporaries of atomic writes: checkpoints and JSON) in the run folder.
fn temp_files(out: &Path) -> HashSet<PathBuf> {
    let Some(run) = run_dir(out) else {
        return HashSet::new();
    };
    [run.clone(), run.join("checkpoints")]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flat_map(|it| it.flatten())
        .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
        .map(|e| e.path())
        .collect()
}

/// How a kill landed.
#[derive(Debug, PartialEq)]
enum Kill {
    /// The process had already exited.
    TooLate,
    Running,
    /// While a temporary file of an atomic write (not left by an earlier kill) existed.
    DuringWrite,
}

/// Kills `child` at a random moment of `run_time`, or (`during_write`) as soon as a new temporary file
/// of an atomic write shows up.
fn kill_somewhere(
    child: &mut Child,
    out: &Path,
    rng: &mut u64,
    during_write: bool,
    run_time: Duration,
) -> Kill {
    *rng = rng
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    // Anywhere in a whole run's lifetime: data loading, training, evaluation, writes.
    let delay = run_time.mul_f64((*rng >> 11) as f64 / (1u64 << 53) as f64);
    let leftovers = temp_files(out);
    let start = Instant::now();
    let limit = if during_write {
        Duration::from_secs(20)
    } else {
        delay
    };
    let mut how = Kill::Running;
    while start.elapsed() < limit {
        if during_write && !temp_files(out).is_subset(&leftovers) {
            how = Kill::DuringWrite;
            break;
        }
        if child.try_wait().expect("wait").is_some() {
            how = Kill::TooLate;
            break;
        }
        std::thread::sleep(Duration::from_micros(if during_write { 100 } else { 2000 }));
    }
    if child.try_wait().expect("wait").is_some() {
        how = Kill::TooLate;
    }
    let _ = child.kill(); // SIGKILL
    child.wait().expect("reap");
    how
}

/// Every checkpoint present loads (a model, and for `last` the resume metadata).
fn check_checkpoints(run: &Path) -> bool {
    let ck = run.join("checkpoints");
    for name in ["best.safetensors", "last.safetensors"] {
        let path = ck.join(name);
        if path.exists() {
            load_model_checkpoint(&path, None)
                .unwrap_or_else(|e| panic!("{} does not load after SIGKILL: {e}", path.display()));
        }
    }
    ck.join("last.safetensors").exists()
}

#[test]
fn sigkill_at_random_moments_never_loses_a_run() {
    let data_dir = common::mnist_dir();
    assert!(data_dir.is_dir());
    let base = common::scratch("kill_resume");
    let reference_out = base.join("reference");
    let t0 = Instant::now();
    let mut child = spawn(&reference_out, None);
    assert!(child.wait().unwrap().success(), "uninterrupted run");
    let run_time = t0.elapsed();
    let reference = metrics(&run_dir(&reference_out).unwrap());

    let mut rng = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    eprintln!("kill schedule seed {rng}; an uninterrupted run takes {run_time:?}");
    let (mut kills, mut during_writes, mut too_late, mut resumed_runs) = (0, 0, 0, 0);
    let mut chain = 0;
    while kills < 24 || during_writes < 8 {
        chain += 1;
        let out = base.join(format!("chain{chain}"));
        let mut resume: Option<PathBuf> = None;
        for round in 0..6 {
            let mut child = spawn(&out, resume.as_deref());
            let during_write = round % 2 == 1;
            let how = kill_somewhere(&mut child, &out, &mut rng, during_write, run_time);
            match how {
                Kill::TooLate => too_late += 1,
                Kill::Running => kills += 1,
                Kill::DuringWrite => {
                    kills += 1;
                    during_writes += 1;
                }
            }
            let Some(run) = run_dir(&out) else { break };
            if check_checkpoints(&run) {
                resume = Some(run);
            } else if resume.is_none() {
                break; // killed before the first checkpoint: nothing to resume yet
            }
        }
        if let Some(run) = resume {
            let mut child = spawn(&out, Some(&run));
            assert!(
                child.wait().unwrap().success(),
                "resume of {}",
                run.display()
            );
            check_checkpoints(&run);
            assert_eq!(
                metrics(&run),
                reference,
                "resumed run {} differs",
                run.display()
            );
            resumed_runs += 1;
        }
    }
    eprintln!("{kills} kills ({during_writes} during a write, {too_late} too late), {resumed_runs} runs resumed");
    assert!(
        resumed_runs >= 2,
        "only {resumed_runs} chains reached a checkpoint"
    );
    assert!(
        during_writes >= 3,
        "only {during_writes} kills landed during a write"
    );
}
