//! The run folder `runs/<model>_<timestamp>/`: config.json, metrics.json, checkpoints/,
//! the curves, the test-set confusion matrix and example grids, and test_report.json.

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};

use crate::config::TrainConfig;
use crate::dataset::Dataset;
use crate::fs_atomic::write_atomic;
use crate::models::ModelKind;
use crate::report::{self, EpochMetrics};
use crate::train::{io_err, EvalResult, TrainError};

/// What config.json records beyond the hyperparameters.
const RUN_INFO: [&str; 3] = ["resolved_device", "crate_version", "git_commit"];

/// Test digits shown in hardest_examples.png.
const HARDEST_EXAMPLES: usize = 24;

/// A run folder on disk.
pub struct RunDir {
    pub path: PathBuf,
}

impl RunDir {
    /// Creates `out_dir/<model>_<UTC timestamp>` (with a suffix if it exists already).
    pub fn create(out_dir: &Path, model: ModelKind) -> Result<RunDir, TrainError> {
        let stamp = utc_timestamp();
        let mut path = out_dir.join(format!("{model}_{stamp}"));
        let mut n = 1;
        while path.exists() {
            n += 1;
            path = out_dir.join(format!("{model}_{stamp}_{n}"));
        }
        let checkpoints = path.join("checkpoints");
        std::fs::create_dir_all(&checkpoints).map_err(io_err(&checkpoints))?;
        Ok(RunDir { path })
    }

    /// Creates exactly `path` (a sweep's runs are named by their setting and seed); one that
    /// exists already is an error, never overwritten.
    pub fn create_named(path: &Path) -> Result<RunDir, TrainError> {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io_err(parent))?;
        }
        std::fs::create_dir(path).map_err(io_err(path))?;
        let checkpoints = path.join("checkpoints");
        std::fs::create_dir(&checkpoints).map_err(io_err(&checkpoints))?;
        Ok(RunDir {
            path: path.to_path_buf(),
        })
    }

    /// An existing run folder (for `--resume`).
    pub fn open(path: &Path) -> Result<RunDir, TrainError> {
        let run = RunDir {
            path: path.to_path_buf(),
        };
        for needed in [run.path.join("config.json"), run.last_checkpoint()] {
            if !needed.is_file() {
                return Err(TrainError::Config(format!(
                    "{}: not a resumable run folder ({} is missing)",
                    path.display(),
                    needed.display()
                )));
            }
        }
        Ok(run)
    }

    pub fn last_checkpoint(&self) -> PathBuf {
        self.path.join("checkpoints").join("last.safetensors")
    }

    pub fn best_checkpoint(&self) -> PathBuf {
        self.path.join("checkpoints").join("best.safetensors")
    }

    /// config.json: every hyperparameter plus device, crate version and git commit.
    pub fn write_config(&self, config: &TrainConfig, device: &str) -> Result<(), TrainError> {
        let mut value =
            serde_json::to_value(config).map_err(|e| TrainError::Config(e.to_string()))?;
        value[RUN_INFO[0]] = json!(device);
        value[RUN_INFO[1]] = json!(env!("CARGO_PKG_VERSION"));
        value[RUN_INFO[2]] = json!(git_commit());
        self.write_json("config.json", &value)
    }

    /// The hyperparameters recorded in config.json (for `--resume`).
    pub fn read_config(&self) -> Result<TrainConfig, TrainError> {
        let path = self.path.join("config.json");
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let bad = |e: serde_json::Error| {
            TrainError::Config(format!("{}: invalid config: {e}", path.display()))
        };
        let mut value: Value = serde_json::from_str(&text).map_err(bad)?;
        if let Some(map) = value.as_object_mut() {
            for key in RUN_INFO {
                map.remove(key);
            }
        }
        serde_json::from_value(value).map_err(bad)
    }

    /// metrics.json: one entry per finished epoch.
    pub fn write_metrics(&self, metrics: &[EpochMetrics]) -> Result<(), TrainError> {
        self.write_json("metrics.json", &json!({ "epochs": metrics }))
    }

    /// Reads metrics.json back (for `--resume`).
    pub fn read_metrics(&self) -> Result<Vec<EpochMetrics>, TrainError> {
        #[derive(serde::Deserialize)]
        struct MetricsFile {
            epochs: Vec<EpochMetrics>,
        }
        let path = self.path.join("metrics.json");
        let text = std::fs::read_to_string(&path).map_err(io_err(&path))?;
        let file: MetricsFile = serde_json::from_str(&text).map_err(|e| {
            TrainError::Config(format!("{}: not a metrics file: {e}", path.display()))
        })?;
        Ok(file.epochs)
    }

    /// loss_curve.png and accuracy_curve.png.
    pub fn write_curves(&self, metrics: &[EpochMetrics]) -> Result<(), TrainError> {
        report::loss_curve(metrics, &self.path.join("loss_curve.png"))?;
        report::accuracy_curve(metrics, &self.path.join("accuracy_curve.png"))?;
        Ok(())
    }

    /// The test-set report: confusion matrix, example grids, test_report.json and the failure
    /// analysis (failure_analysis.json, hardest_examples.png). Returns the per-class accuracy.
    pub fn write_test_report(
        &self,
        test: &Dataset,
        result: &EvalResult,
        best_epoch: usize,
    ) -> Result<[f64; 10], TrainError> {
        let confusion = report::confusion_matrix(&test.labels, &result.predictions);
        report::confusion_matrix_png(&confusion, &self.path.join("confusion_matrix.png"))?;
        report::example_grids(
            &test.images,
            &test.labels,
            &result.predictions,
            40,
            &self.path,
        )?;
        let mut per_class = [0.0; 10];
        for (c, row) in confusion.iter().enumerate() {
            let total: u32 = row.iter().sum();
            per_class[c] = if total == 0 {
                0.0
            } else {
                row[c] as f64 / total as f64
            };
        }
        let analysis = report::analyse(
            &test.labels,
            &result.predictions,
            &result.probabilities,
            HARDEST_EXAMPLES,
        )
        .map_err(TrainError::Config)?;
        report::hardest_examples_png(
            &test.images,
            &analysis.hardest,
            &self.path.join("hardest_examples.png"),
        )?;
        let value =
            serde_json::to_value(&analysis).map_err(|e| TrainError::Config(e.to_string()))?;
        self.write_json("failure_analysis.json", &value)?;
        self.write_json(
            "test_report.json",
            &json!({
                "checkpoint": "checkpoints/best.safetensors",
                "best_epoch": best_epoch,
                "test_loss": result.loss,
                "test_accuracy": result.accuracy,
                "per_class_accuracy": per_class,
                "confusion_matrix": confusion,
            }),
        )?;
        Ok(per_class)
    }

    /// timing.json: wall time of the whole run, seconds and images per second of each epoch.
    pub fn write_timing(&self, timing: &Value) -> Result<(), TrainError> {
        self.write_json("timing.json", timing)
    }

    fn write_json(&self, name: &str, value: &Value) -> Result<(), TrainError> {
        let path = self.path.join(name);
        let text =
            serde_json::to_string_pretty(value).map_err(|e| TrainError::Config(e.to_string()))?;
        write_atomic(&path, text.as_bytes()).map_err(io_err(&path))
    }
}

/// The current commit of the working directory's git checkout, when there is one.
fn git_commit() -> Option<String> {
    let out = std::process::Command::new("git")
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// `YYYYMMDD-HHMMSS` in UTC (civil-from-days, no time-zone crate needed).
pub(crate) fn utc_timestamp() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}
