//! A whole training run: data split, model, optimizer, epochs with validation, checkpoints,
//! early stopping, then the final test of the reloaded best checkpoint and the report.

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use engine::nn::{LayerSummary, Module, Sequential};
use engine::optim::{Adam, AdamW, Optimizer, Sgd};
use engine::Device;
use indicatif::{ProgressBar, ProgressStyle};

use super::batches::BatchSource;
use super::board::Board;
use super::epoch::{evaluate, train_epoch};
use super::schedule::LrPlan;
use super::state::{load_state, resolve_device, save_state, Progress};
use super::TrainError;
use crate::config::{OptimizerKind, Placement, TrainConfig};
use crate::data::Mnist;
use crate::dataset::{split_train_val, Loader};
use crate::report::EpochMetrics;
use crate::run_dir::RunDir;

/// Images per evaluation batch.
const EVAL_BATCH: usize = 1000;

/// How the run talks to the user and the outside world.
pub struct RunOptions<'a> {
    /// No progress bars or per-epoch lines.
    pub quiet: bool,
    /// Set by Ctrl-C: stop after the current batch, saving `last`.
    pub stop: &'a AtomicBool,
    /// Continue the run in this folder from its `last` checkpoint.
    pub resume: Option<PathBuf>,
    /// The new run folder's name under `out_dir` (default `<model>_<UTC timestamp>`).
    pub run_name: Option<String>,
}

/// What a finished run produced.
#[derive(Clone, Debug)]
pub struct RunOutcome {
    pub dir: PathBuf,
    pub metrics: Vec<EpochMetrics>,
    pub best_epoch: usize,
    pub test_loss: f64,
    pub test_accuracy: f64,
    pub per_class_accuracy: [f64; 10],
    pub stopped_early: bool,
    pub interrupted: bool,
    /// Wall time of the whole run (timing.json's `total_seconds`).
    pub total_seconds: f64,
}

/// Trains `config.model` on `data`, writing everything into a run folder.
pub fn train(
    config: &TrainConfig,
    data: &Mnist,
    opts: RunOptions,
) -> Result<RunOutcome, TrainError> {
    config.validate().map_err(TrainError::Config)?;
    let started = Instant::now();
    let device = resolve_device(&config.device)?;
    let (mut train_set, val_set) = split_train_val(&data.train, config.val_split, config.seed);
    if let Some(n) = config.train_limit {
        train_set = train_set.take(n);
    }
    let mut model = config.model.build(config.seed);
    place(&mut model, config, device)?;
    let input_device = model.input_device().unwrap_or(device);
    let mut optimizer = build_optimizer(config, &model);
    let augment = config.augmentation();
    let loader = Loader::new(&train_set, config.batch_size)
        .shuffle(true)
        .seed(config.seed)
        .augment(augment);
    let plan = LrPlan::new(config, loader.num_batches());
    let batches = BatchSource::new(loader, input_device)?;
    let val_batches = BatchSource::eval(&val_set, EVAL_BATCH, input_device)?;

    let (run, mut metrics, mut progress) = match &opts.resume {
        Some(dir) => {
            let run = RunDir::open(dir)?;
            let progress = load_state(&run.last_checkpoint(), &model, Some(optimizer.as_mut()))?;
            let mut metrics = run.read_metrics()?;
            metrics.truncate(progress.epochs_done);
            (run, metrics, progress)
        }
        None => {
            let run = match &opts.run_name {
                Some(name) => RunDir::create_named(&config.out_dir.join(name))?,
                None => RunDir::create(&config.out_dir, config.model)?,
            };
            run.write_config(config, &device.to_string())?;
            (run, Vec::new(), Progress::default())
        }
    };
    if !opts.quiet {
        print_summary(
            config,
            &model,
            (train_set.len(), val_set.len()),
            device,
            &run.path,
        );
    }

    // The resumable checkpoint: model, optimizer and progress after the last finished epoch.
    let save_last = |model: &Sequential, optimizer: &dyn Optimizer, progress: &Progress| {
        save_state(
            &run.last_checkpoint(),
            config.model,
            model,
            Some(optimizer),
            progress,
        )
    };
    let mut board = config
        .tensorboard
        .then(|| Board::create(&run.path))
        .transpose()?;
    let mut stopped_early = false;
    let mut interrupted = false;
    for epoch in progress.epochs_done..config.epochs {
        let bar = progress_bar(opts.quiet, batches.num_batches(), epoch, config.epochs);
        let result = train_epoch(
            &mut model,
            optimizer.as_mut(),
            &batches,
            epoch,
            &plan,
            config.label_smoothing,
            &bar,
            opts.stop,
            &mut |interval| {
                if let Some(b) = board.as_mut() {
                    b.interval(interval);
                }
            },
        )?;
        bar.finish_and_clear();
        if result.interrupted {
            // Keep the finished epochs' progress; the partial epoch is redone on resume.
            save_last(&model, optimizer.as_ref(), &progress)?;
            interrupted = true;
            break;
        }
        let val = (!val_set.is_empty())
            .then(|| evaluate(&mut model, &val_batches))
            .transpose()?;
        let row = EpochMetrics {
            epoch: epoch + 1,
            train_loss: result.loss as f32,
            train_acc: result.accuracy as f32,
            val_loss: val.as_ref().map(|v| v.loss as f32),
            val_acc: val.as_ref().map(|v| v.accuracy as f32),
            lr: optimizer.lr(),
            seconds: result.seconds as f32,
            images: result.images,
        };
        if !opts.quiet {
            print_epoch_line(&row, config.epochs, result.images as f64 / result.seconds);
        }
        if let Some(b) = board.as_mut() {
            b.epoch(&row)?;
        }
        metrics.push(row);
        // Best = highest validation accuracy (training accuracy without a validation set).
        let (accuracy, loss) = match &val {
            Some(v) => (v.accuracy, v.loss),
            None => (result.accuracy, result.loss),
        };
        let (new_best, stop) = progress.observe(epoch + 1, accuracy, loss, config.patience);
        if new_best {
            save_state(
                &run.best_checkpoint(),
                config.model,
                &model,
                None,
                &progress,
            )?;
        }
        // Metrics before the checkpoint: a kill between the two leaves a row that resume
        // truncates and redoes, never a finished epoch missing from metrics.json.
        run.write_metrics(&metrics)?;
        save_last(&model, optimizer.as_ref(), &progress)?;
        if stop {
            if !opts.quiet {
                println!(
                    "early stopping: no lower validation loss for {} epochs",
                    progress.epochs_without_improvement
                );
            }
            stopped_early = true;
            break;
        }
    }

    run.write_metrics(&metrics)?;
    run.write_curves(&metrics)?;
    // The test set is used once, on the reloaded best checkpoint.
    load_state(&run.best_checkpoint(), &model, None)?;
    let test = evaluate(
        &mut model,
        &BatchSource::eval(&data.test, EVAL_BATCH, device)?,
    )?;
    let report = run.write_test_report(&data.test, &test, progress.best_epoch)?;
    let total_seconds = started.elapsed().as_secs_f64();
    run.write_timing(&timing_json(&metrics, total_seconds))?;
    if let Some(b) = board {
        b.finish()?;
    }
    if !opts.quiet {
        println!(
            "test (best checkpoint, epoch {}): loss {:.4}, accuracy {:.2}%  ->  {}",
            progress.best_epoch,
            test.loss,
            100.0 * test.accuracy,
            run.path.display()
        );
    }
    Ok(RunOutcome {
        dir: run.path.clone(),
        metrics,
        best_epoch: progress.best_epoch,
        test_loss: test.loss,
        test_accuracy: test.accuracy,
        per_class_accuracy: report,
        stopped_early,
        interrupted,
        total_seconds,
    })
}

/// timing.json: this invocation's wall time (data split to test report), and each epoch's
/// seconds and training images per second.
fn timing_json(metrics: &[EpochMetrics], total_seconds: f64) -> serde_json::Value {
    let epochs: Vec<serde_json::Value> = metrics
        .iter()
        .map(|m| {
            serde_json::json!({
                "epoch": m.epoch,
                "seconds": f64::from(m.seconds),
                "images_per_second": m.images as f64 / f64::from(m.seconds).max(1e-9),
            })
        })
        .collect();
    let train_seconds: f64 = metrics.iter().map(|m| f64::from(m.seconds)).sum();
    let images: usize = metrics.iter().map(|m| m.images).sum();
    serde_json::json!({
        "total_seconds": total_seconds,
        "train_seconds": train_seconds,
        "images_per_second": images as f64 / train_seconds.max(1e-9),
        "epochs": epochs,
    })
}

/// Puts `model` on `device`, or with `--placement hybrid` its layers before `Flatten` (the
/// convolutional blocks) on `device` and the rest on the CPU.
fn place(model: &mut Sequential, config: &TrainConfig, device: Device) -> Result<(), TrainError> {
    match config.placement {
        Placement::Single => Ok(model.to_device(device)?),
        Placement::Hybrid => {
            if !device.is_cuda() {
                return Err(TrainError::Config(format!(
                    "--placement hybrid needs a CUDA device (cuda, cuda:N or cuda-sim), not {device}"
                )));
            }
            let split = (0..model.len())
                .find(|&i| model.get(i).is_some_and(|l| l.describe().starts_with("Flatten")))
                .filter(|&i| i > 0)
                .ok_or_else(|| {
                    TrainError::Config(format!(
                        "--placement hybrid needs convolutional blocks before a Flatten; {} has none",
                        config.model
                    ))
                })?;
            Ok(model.place(|i| if i < split { device } else { Device::Cpu })?)
        }
    }
}

fn build_optimizer(config: &TrainConfig, model: &Sequential) -> Box<dyn Optimizer> {
    let params = model.parameters();
    match config.optimizer {
        OptimizerKind::Sgd => Box::new(
            Sgd::new(params, config.lr)
                .momentum(config.momentum)
                .weight_decay(config.weight_decay),
        ),
        OptimizerKind::Adam => {
            Box::new(Adam::new(params, config.lr).weight_decay(config.weight_decay))
        }
        OptimizerKind::Adamw => {
            Box::new(AdamW::new(params, config.lr).weight_decay(config.weight_decay))
        }
    }
}

fn progress_bar(quiet: bool, batches: usize, epoch: usize, epochs: usize) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(batches as u64);
    let style = ProgressStyle::with_template("{prefix} [{bar:30}] {pos}/{len} {msg} ({eta})")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    bar.set_style(style);
    bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
    bar
}

fn print_summary(
    config: &TrainConfig,
    model: &Sequential,
    (train, val): (usize, usize),
    device: Device,
    dir: &Path,
) {
    let picked = if config.device == "auto" {
        " (auto)"
    } else {
        ""
    };
    let on = match device {
        Device::Cpu => "cpu".to_string(),
        d => match engine::backend::cuda::CudaDevice::get(d) {
            Ok(dev) => format!("{d}, {}", dev.name()),
            Err(_) => d.to_string(),
        },
    };
    println!(
        "model {} | device {on}{picked} | {} training / {} validation images | run folder {}",
        config.model,
        train,
        val,
        dir.display()
    );
    match model.summary(&[1, 1, 28, 28]) {
        Ok(rows) => print!("{}", LayerSummary::table(&rows)),
        Err(e) => println!("(no summary: {e})"),
    }
}

fn print_epoch_line(m: &EpochMetrics, epochs: usize, images_per_sec: f64) {
    let val = match (m.val_loss, m.val_acc) {
        (Some(l), Some(a)) => format!("val loss {l:.4} acc {:.2}%", 100.0 * a),
        _ => "no validation".to_string(),
    };
    println!(
        "epoch {}/{epochs}: train loss {:.4} acc {:.2}% | {val} | lr {:.2e} | {:.1}s ({images_per_sec:.0} img/s)",
        m.epoch,
        m.train_loss,
        100.0 * m.train_acc,
        m.lr,
        m.seconds
    );
}
