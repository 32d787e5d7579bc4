//! `mnist sweep`: a grid of settings times several seeds, each a normal run folder under one
//! sweep folder, then a table of test accuracy (mean +- std over the seeds) and wall time per
//! setting: `sweep.md`, `sweep.csv`, `sweep.png` and `sweep.json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::{ConfigFormat, TrainConfig};
use crate::data::Mnist;
use crate::report::{save_png, text_width, Canvas, Rgb};
use crate::train::{train, RunOptions};

/// A sweep file (TOML, YAML or JSON): `base` settings for every run, a `grid` of values to
/// cross, the `seeds` each setting runs with and the parallel `jobs`.
#[derive(Clone, Debug, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepSpec {
    /// Training settings shared by every run (config.json's names).
    pub base: Map<String, Value>,
    /// Setting name -> the values to try; every combination is one setting.
    pub grid: BTreeMap<String, Vec<Value>>,
    pub seeds: Vec<u64>,
    pub jobs: Option<usize>,
}

/// Seeds of a sweep that names none.
pub const DEFAULT_SEEDS: [u64; 3] = [1, 2, 3];

impl SweepSpec {
    pub fn from_file(path: &Path) -> Result<SweepSpec, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read sweep config: {e}", path.display()))?;
        ConfigFormat::of_path(path).parse(&path.display().to_string(), &text)
    }

    /// Adds `KEY=V1,V2,...` (values parsed as YAML scalars: numbers, booleans, words) to the
    /// grid, replacing the file's values for KEY.
    pub fn set(&mut self, assignment: &str) -> Result<(), String> {
        let (key, values) = assignment
            .split_once('=')
            .ok_or_else(|| format!("invalid --set '{assignment}': expected KEY=V1,V2,..."))?;
        let values = values
            .split(',')
            .map(|v| {
                serde_norway::from_str::<Value>(v.trim())
                    .map_err(|e| format!("invalid --set value '{v}' for {key}: {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.grid.insert(key.trim().to_string(), values);
        Ok(())
    }

    /// Every combination of the grid's values, in a fixed order (keys sorted, the last key
    /// varying fastest); one empty setting when the grid is empty.
    pub fn settings(&self) -> Vec<Vec<(String, Value)>> {
        let mut settings = vec![Vec::new()];
        for (key, values) in &self.grid {
            settings = settings
                .into_iter()
                .flat_map(|s| {
                    values.iter().map(move |v| {
                        let mut s = s.clone();
                        s.push((key.clone(), v.clone()));
                        s
                    })
                })
                .collect();
        }
        settings
    }

    pub fn seeds(&self) -> Vec<u64> {
        if self.seeds.is_empty() {
            DEFAULT_SEEDS.to_vec()
        } else {
            self.seeds.clone()
        }
    }

    /// The training config of `setting` with `seed`, every key checked by TrainConfig's
    /// parser (an unknown one is an error naming it) and every value validated.
    pub fn config(&self, setting: &[(String, Value)], seed: u64) -> Result<TrainConfig, String> {
        for key in self.base.keys().chain(self.grid.keys()) {
            if key == "seed" || key == "out_dir" {
                return Err(format!(
                    "invalid sweep setting '{key}': the sweep sets it (use seeds and --out-dir)"
                ));
            }
        }
        let mut map = self.base.clone();
        for (k, v) in setting {
            map.insert(k.clone(), v.clone());
        }
        map.insert("seed".into(), Value::from(seed));
        let config: TrainConfig = serde_json::from_value(Value::Object(map)).map_err(|e| {
            format!(
                "invalid sweep setting {}: {e}",
                label(setting).replace('_', " ")
            )
        })?;
        config.validate()?;
        Ok(config)
    }
}

/// `key=value key=value`, the setting's name in the table ("base" when the grid is empty).
pub fn label(setting: &[(String, Value)]) -> String {
    if setting.is_empty() {
        return "base".into();
    }
    setting
        .iter()
        .map(|(k, v)| match v {
            Value::String(s) => format!("{k}={s}"),
            v => format!("{k}={v}"),
        })
        .collect::<Vec<_>>()
        .join("_")
}

/// A folder name from a label: letters, digits, `.`, `-` and `_` only.
fn folder_name(label: &str) -> String {
    label
        .chars()
        .map(|c| match c {
            '=' => '-',
            c if c.is_ascii_alphanumeric() || "._-".contains(c) => c,
            _ => '_',
        })
        .collect()
}

/// One finished run of the sweep.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRun {
    pub setting: String,
    pub seed: u64,
    pub run_dir: PathBuf,
    pub test_accuracy: f64,
    pub seconds: f64,
}

/// One row of the table: a setting over its seeds.
#[derive(Clone, Debug, Serialize)]
pub struct SweepRow {
    pub setting: String,
    pub runs: usize,
    pub mean_accuracy: f64,
    /// Sample standard deviation (n - 1); 0 for a single seed.
    pub std_accuracy: f64,
    pub mean_seconds: f64,
}

/// What a sweep wrote.
pub struct SweepOutcome {
    pub dir: PathBuf,
    pub rows: Vec<SweepRow>,
    pub interrupted: bool,
}

/// Runs the sweep into `out_dir/sweep_<UTC timestamp>`, `jobs` runs at a time.
pub fn run_sweep(
    spec: &SweepSpec,
    data: &Mnist,
    out_dir: &Path,
    jobs: usize,
    stop: &AtomicBool,
    quiet: bool,
) -> Result<SweepOutcome, String> {
    let settings = spec.settings();
    let seeds = spec.seeds();
    // Every run's config is checked before the first one starts.
    let mut plan = Vec::new();
    for (k, setting) in settings.iter().enumerate() {
        for &seed in &seeds {
            let config = spec.config(setting, seed)?;
            let name = format!("{:02}_{}_seed{seed}", k + 1, folder_name(&label(setting)));
            plan.push((label(setting), seed, name, config));
        }
    }
    let dir = out_dir.join(format!("sweep_{}", crate::run_dir::utc_timestamp()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    if !quiet {
        println!(
            "sweep: {} settings x {} seeds = {} runs, {jobs} at a time -> {}",
            settings.len(),
            seeds.len(),
            plan.len(),
            dir.display()
        );
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let results: Mutex<Vec<Option<Result<SweepRun, String>>>> = Mutex::new(vec![None; plan.len()]);
    let mut interrupted = false;
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, plan.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= plan.len() || failed.load(Ordering::Relaxed) || stop.load(Ordering::Relaxed)
                {
                    return;
                }
                let (setting, seed, name, config) = &plan[i];
                let mut config = config.clone();
                config.out_dir = dir.clone();
                let opts = RunOptions {
                    quiet: true,
                    stop,
                    resume: None,
                    run_name: Some(name.clone()),
                };
                let result = match train(&config, data, opts) {
                    Ok(o) if o.interrupted => Err("interrupted".to_string()),
                    Ok(o) => Ok(SweepRun {
                        setting: setting.clone(),
                        seed: *seed,
                        run_dir: o.dir,
                        test_accuracy: o.test_accuracy,
                        seconds: o.total_seconds,
                    }),
                    Err(e) => Err(format!("run {name}: {e}")),
                };
                match &result {
                    Ok(r) if !quiet => println!(
                        "  {name}: test accuracy {:.2}% in {:.1}s",
                        100.0 * r.test_accuracy,
                        r.seconds
                    ),
                    Err(_) => failed.store(true, Ordering::Relaxed),
                    _ => {}
                }
                if let Ok(mut all) = results.lock() {
                    all[i] = Some(result);
                }
            });
        }
    });
    let results = results.into_inner().map_err(|_| "a sweep run panicked")?;
    let mut runs = Vec::new();
    for r in results {
        match r {
            Some(Ok(run)) => runs.push(run),
            Some(Err(e)) if e == "interrupted" => interrupted = true,
            Some(Err(e)) => return Err(e),
            None => interrupted = true,
        }
    }
    let rows = summarize(&runs);
    write_tables(&dir, &rows, &runs)?;
    Ok(SweepOutcome {
        dir,
        rows,
        interrupted,
    })
}

/// The table rows, settings in the order they first appear in `runs`.
pub fn summarize(runs: &[SweepRun]) -> Vec<SweepRow> {
    let mut order: Vec<&str> = Vec::new();
    for r in runs {
        if !order.contains(&r.setting.as_str()) {
            order.push(&r.setting);
        }
    }
    order
        .into_iter()
        .map(|setting| {
            let of: Vec<&SweepRun> = runs.iter().filter(|r| r.setting == setting).collect();
            let n = of.len() as f64;
            let mean = of.iter().map(|r| r.test_accuracy).sum::<f64>() / n;
            let var = if of.len() > 1 {
                of.iter()
                    .map(|r| (r.test_accuracy - mean).powi(2))
                    .sum::<f64>()
                    / (n - 1.0)
            } else {
                0.0
            };
            SweepRow {
                setting: setting.to_string(),
                runs: of.len(),
                mean_accuracy: mean,
                std_accuracy: var.sqrt(),
                mean_seconds: of.iter().map(|r| r.seconds).sum::<f64>() / n,
            }
        })
        .collect()
}

fn write_tables(dir: &Path, rows: &[SweepRow], runs: &[SweepRun]) -> Result<(), String> {
    let write = |name: &str, text: String| {
        let path = dir.join(name);
        crate::fs_atomic::write_atomic(&path, text.as_bytes())
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))
    };
    let mut md = String::from(
        "| setting | runs | test accuracy (%) mean +- std | seconds per run |\n| --- | --- | --- | --- |\n",
    );
    let mut csv = String::from("setting,runs,mean_accuracy,std_accuracy,mean_seconds\n");
    for r in rows {
        md += &format!(
            "| {} | {} | {:.2} +- {:.2} | {:.1} |\n",
            r.setting,
            r.runs,
            100.0 * r.mean_accuracy,
            100.0 * r.std_accuracy,
            r.mean_seconds
        );
        csv += &format!(
            "{},{},{},{},{}\n",
            r.setting, r.runs, r.mean_accuracy, r.std_accuracy, r.mean_seconds
        );
    }
    write("sweep.md", md)?;
    write("sweep.csv", csv)?;
    let json = serde_json::json!({ "rows": rows, "runs": runs });
    write(
        "sweep.json",
        serde_json::to_string_pretty(&json).map_err(|e| e.to_string())?,
    )?;
    sweep_png(rows, &dir.join("sweep.png"))
}

const WHITE: Rgb = [255, 255, 255];
const AXIS: Rgb = [60, 60, 60];
const BAR: Rgb = [31, 119, 180];

/// Horizontal bars of mean test accuracy with +- std whiskers, one row per setting.
fn sweep_png(rows: &[SweepRow], path: &Path) -> Result<(), String> {
    let label_w = rows
        .iter()
        .map(|r| text_width(&r.setting, 1))
        .max()
        .unwrap_or(0)
        + 16;
    let (bar_w, row_h, top, margin) = (420, 28, 50, 20);
    let value_w = text_width("100.00 +- 0.00 %", 1) + 16;
    let w = margin * 2 + label_w + bar_w + value_w;
    let h = top + rows.len().max(1) as i32 * row_h + 40;
    let lo = rows
        .iter()
        .map(|r| r.mean_accuracy - r.std_accuracy)
        .fold(1.0, f64::min);
    let hi = rows
        .iter()
        .map(|r| r.mean_accuracy + r.std_accuracy)
        .fold(0.0, f64::max);
    // The axis spans the values with some room; bars start at the axis' left end.
    let pad = ((hi - lo) * 0.15).max(0.002);
    let (lo, hi) = ((lo - pad).max(0.0), (hi + pad).min(1.0));
    let x_of = |v: f64| margin + label_w + ((v - lo) / (hi - lo).max(1e-9) * bar_w as f64) as i32;
    let mut c = Canvas::new(w as u32, h as u32, WHITE);
    c.text_centered(
        w / 2,
        12,
        "sweep: test accuracy, mean +- std over seeds",
        1,
        AXIS,
    );
    for (i, r) in rows.iter().enumerate() {
        let y = top + i as i32 * row_h;
        c.text(margin, y + 8, &r.setting, 1, AXIS);
        let x0 = x_of(lo);
        c.fill_rect(x0, y + 4, x_of(r.mean_accuracy) - x0, row_h - 8, BAR);
        let (a, b) = (
            x_of(r.mean_accuracy - r.std_accuracy),
            x_of(r.mean_accuracy + r.std_accuracy),
        );
        let mid = (y + row_h / 2) as f32;
        c.line(a as f32, mid, b as f32, mid, 2.0, AXIS);
        c.line(a as f32, mid - 5.0, a as f32, mid + 5.0, 2.0, AXIS);
        c.line(b as f32, mid - 5.0, b as f32, mid + 5.0, 2.0, AXIS);
        let value = format!(
            "{:.2} +- {:.2} %",
            100.0 * r.mean_accuracy,
            100.0 * r.std_accuracy
        );
        c.text(margin + label_w + bar_w + 8, y + 8, &value, 1, AXIS);
    }
    let axis_y = top + rows.len() as i32 * row_h + 6;
    c.line(
        x_of(lo) as f32,
        axis_y as f32,
        x_of(hi) as f32,
        axis_y as f32,
        1.0,
        AXIS,
    );
    c.text(
        x_of(lo),
        axis_y + 6,
        &format!("{:.2}%", 100.0 * lo),
        1,
        AXIS,
    );
    let right = format!("{:.2}%", 100.0 * hi);
    c.text(
        x_of(hi) - text_width(&right, 1),
        axis_y + 6,
        &right,
        1,
        AXIS,
    );
    save_png(&c, path).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grid_is_crossed_in_key_order_with_the_last_key_fastest() {
        let mut spec = SweepSpec::default();
        spec.set("lr=0.1,0.01").unwrap();
        spec.set("batch_size=32,64,128").unwrap();
        let labels: Vec<String> = spec.settings().iter().map(|s| label(s)).collect();
        assert_eq!(labels.len(), 6);
        assert_eq!(labels[0], "batch_size=32_lr=0.1");
        assert_eq!(labels[1], "batch_size=32_lr=0.01");
        assert_eq!(labels[5], "batch_size=128_lr=0.01");
        let config = spec.config(&spec.settings()[1], 7).unwrap();
        assert_eq!((config.batch_size, config.lr, config.seed), (32, 0.01, 7));
        assert_eq!(spec.seeds(), DEFAULT_SEEDS);
    }

    #[test]
    fn words_numbers_and_booleans_parse_as_their_types() {
        let mut spec = SweepSpec::default();
        spec.set("model=mlp").unwrap();
        spec.set("augment=true").unwrap();
        spec.set("epochs=2").unwrap();
        let config = spec.config(&spec.settings()[0], 1).unwrap();
        assert_eq!(config.model, crate::models::ModelKind::Mlp);
        assert!(config.augment);
        assert_eq!(config.epochs, 2);
        spec.set("epochs=two").unwrap();
        assert!(spec.config(&spec.settings()[0], 1).is_err());
        spec.set("seed=3").unwrap();
        let err = spec.config(&spec.settings()[0], 1).unwrap_err();
        assert!(err.contains("'seed'"), "{err}");
    }
}
