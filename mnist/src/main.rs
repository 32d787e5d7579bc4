//! `mnist`: train (default), evaluate and use models on real MNIST. Every failure is one
//! line on stderr and a non-zero exit.

mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use cli::{
    AugmentPreviewArgs, Cli, Command, EnsembleArgs, EvalArgs, PredictArgs, SweepArgs, TrainArgs,
    VisualizeArgs,
};
use engine::nn::Module;
use engine::no_grad;
use mnist::commands::{augment_preview, ensemble, sweep, visualize};
use mnist::data::{load_mnist, resolve_data_dir, DownloadPolicy};
use mnist::run_dir::RunDir;
use mnist::train::{self, evaluate, load_model_checkpoint, resolve_device, RunOptions};

#[global_allocator]
static ALLOCATOR: mnist::allocator::MiMalloc = mnist::allocator::MiMalloc;

static STOP: AtomicBool = AtomicBool::new(false);

fn main() -> ExitCode {
    mnist::allocator::keep_freed_pages();
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Train(args)) => run_train(&args),
        None => run_train(&cli.train),
        Some(Command::Eval(args)) => run_eval(&args),
        Some(Command::Predict(args)) => run_predict(&args),
        Some(Command::Visualize(args)) => run_visualize(&args),
        Some(Command::AugmentPreview(args)) => run_augment_preview(&args),
        Some(Command::Sweep(args)) => run_sweep(&args),
        Some(Command::Ensemble(args)) => run_ensemble(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run_train(args: &TrainArgs) -> Result<(), String> {
    if let Some(n) = args.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n)
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    let config = match &args.resume {
        // A resumed run keeps its recorded configuration; only the epoch count may grow.
        Some(dir) => {
            let mut config = RunDir::open(dir)
                .and_then(|run| run.read_config())
                .map_err(|e| e.to_string())?;
            config.epochs = args.epochs.unwrap_or(config.epochs);
            config
        }
        None => args.to_config()?,
    };
    let data = load_mnist(
        &data_dir(config.data_dir.as_deref())?,
        DownloadPolicy::if_missing(args.quiet),
    )
    .map_err(|e| e.to_string())?;
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::Relaxed) {
            std::process::exit(130); // second Ctrl-C: give up at once
        }
        eprintln!(
            "\ninterrupted: stopping after this batch and saving checkpoints/last.safetensors"
        );
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let opts = RunOptions {
        quiet: args.quiet,
        stop: &STOP,
        resume: args.resume.clone(),
        run_name: None,
    };
    let outcome = train::train(&config, &data, opts).map_err(|e| e.to_string())?;
    if outcome.interrupted {
        println!(
            "stopped; resume with: mnist --resume {}",
            outcome.dir.display()
        );
    }
    Ok(())
}

/// The data directory to use; one that exists but is not a folder is an error, not a
/// reason to download into it.
fn data_dir(explicit: Option<&std::path::Path>) -> Result<std::path::PathBuf, String> {
    let dir = resolve_data_dir(explicit);
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "data directory {} is a file, not a folder",
            dir.display()
        ));
    }
    Ok(dir)
}

/// Ctrl-C in a command that writes nothing: one line and exit status 130, at once.
fn exit_on_ctrl_c(what: &'static str) -> Result<(), String> {
    ctrlc::set_handler(move || {
        eprintln!("\nerror: interrupted during {what}");
        std::process::exit(130);
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))
}

fn run_eval(args: &EvalArgs) -> Result<(), String> {
    exit_on_ctrl_c("evaluation")?;
    resolve_device(&args.device).map_err(|e| e.to_string())?;
    if args.batch_size == 0 {
        return Err("invalid batch size: must be at least 1".into());
    }
    let (kind, mut model) =
        load_model_checkpoint(&args.checkpoint, args.model).map_err(|e| e.to_string())?;
    let data = load_mnist(
        &data_dir(args.data_dir.as_deref())?,
        DownloadPolicy::if_missing(false),
    )
    .map_err(|e| e.to_string())?;
    let batches = mnist::train::BatchSource::eval(&data.test, args.batch_size, engine::Device::Cpu)
        .map_err(|e| e.to_string())?;
    let result = evaluate(&mut model, &batches).map_err(|e| e.to_string())?;
    println!(
        "{kind} {}: test loss {:.4}, accuracy {:.2}% ({} images)",
        args.checkpoint.display(),
        result.loss,
        100.0 * result.accuracy,
        data.test.len()
    );
    Ok(())
}

fn run_predict(args: &PredictArgs) -> Result<(), String> {
    exit_on_ctrl_c("prediction")?;
    resolve_device(&args.device).map_err(|e| e.to_string())?;
    let pixels = mnist::image_io::load_digit(&args.image).map_err(|e| e.to_string())?;
    let (_, mut model) =
        load_model_checkpoint(&args.checkpoint, args.model).map_err(|e| e.to_string())?;
    model.set_training(false);
    let _guard = no_grad();
    let x = engine::Tensor::from_vec(mnist::dataset::normalize(&pixels), [1, 1, 28, 28])
        .map_err(|e| e.to_string())?;
    let probs = model
        .forward(&x)
        .and_then(|logits| logits.softmax(1))
        .and_then(|p| p.to_vec_f32())
        .map_err(|e| e.to_string())?;
    let (best, p) = probs
        .iter()
        .enumerate()
        .fold((0, f32::MIN), |b, (i, &p)| if p > b.1 { (i, p) } else { b });
    println!("{}: {best} ({:.1}%)", args.image.display(), 100.0 * p);
    for (digit, p) in probs.iter().enumerate() {
        println!("  {digit}: {:6.2}%", 100.0 * p);
    }
    Ok(())
}

/// The MNIST files, downloaded if missing.
fn load_data(explicit: Option<&std::path::Path>) -> Result<mnist::data::Mnist, String> {
    load_mnist(&data_dir(explicit)?, DownloadPolicy::if_missing(false)).map_err(|e| e.to_string())
}

fn run_visualize(args: &VisualizeArgs) -> Result<(), String> {
    exit_on_ctrl_c("visualize")?;
    let digit = match &args.image {
        Some(path) => visualize::DigitSource::Image(path.clone()),
        None => {
            let index = args.index.unwrap_or(0);
            let test = load_data(args.data_dir.as_deref())?.test;
            if index >= test.len() {
                return Err(format!(
                    "invalid --index {index}: the test set has {} images",
                    test.len()
                ));
            }
            visualize::DigitSource::Test {
                index,
                pixels: test.image(index).to_vec(),
                label: test.labels[index],
            }
        }
    };
    let out = visualize::visualize(&args.checkpoint, &digit, &args.out_dir)?;
    println!("{}", out.filters.display());
    for path in out.blocks {
        println!("{}", path.display());
    }
    Ok(())
}

fn run_augment_preview(args: &AugmentPreviewArgs) -> Result<(), String> {
    exit_on_ctrl_c("augment-preview")?;
    let config = mnist::config::TrainConfig {
        augment: true,
        elastic: args.elastic,
        val_split: args.val_split,
        seed: args.seed,
        ..Default::default()
    };
    config.validate()?;
    let augment = config.augmentation().ok_or("augmentation is off")?;
    let data = load_data(args.data_dir.as_deref())?;
    let opts = augment_preview::PreviewOptions {
        samples: args.samples,
        per_sample: args.per_sample,
        seed: args.seed,
        val_split: args.val_split,
        augment,
    };
    augment_preview::augment_preview(&data, &opts, &args.out)?;
    println!("{}", args.out.display());
    Ok(())
}

fn run_sweep(args: &SweepArgs) -> Result<(), String> {
    let mut spec = match &args.config {
        Some(path) => sweep::SweepSpec::from_file(path)?,
        None => sweep::SweepSpec::default(),
    };
    for assignment in &args.set {
        spec.set(assignment)?;
    }
    if !args.seeds.is_empty() {
        spec.seeds = args.seeds.clone();
    }
    let jobs = args.jobs.or(spec.jobs).unwrap_or(1);
    if jobs == 0 {
        return Err("invalid --jobs: must be at least 1".into());
    }
    // Every run's settings are checked before the data is loaded.
    let named = |e: String| match &args.config {
        Some(path) => format!("{}: {e}", path.display()),
        None => e,
    };
    for setting in spec.settings() {
        for seed in spec.seeds() {
            spec.config(&setting, seed).map_err(named)?;
        }
    }
    let data_from = spec
        .settings()
        .first()
        .and_then(|s| spec.config(s, 0).ok())
        .and_then(|c| c.data_dir);
    let data = load_data(args.data_dir.as_deref().or(data_from.as_deref()))?;
    ctrlc::set_handler(|| {
        if STOP.swap(true, Ordering::Relaxed) {
            std::process::exit(130);
        }
        eprintln!("\ninterrupted: stopping the sweep after the current batches");
    })
    .map_err(|e| format!("cannot install the Ctrl-C handler: {e}"))?;
    let outcome = sweep::run_sweep(&spec, &data, &args.out_dir, jobs, &STOP, args.quiet)?;
    if outcome.interrupted {
        return Err(format!(
            "sweep interrupted; the finished runs are summarised in {}",
            outcome.dir.display()
        ));
    }
    let md = std::fs::read_to_string(outcome.dir.join("sweep.md")).unwrap_or_default();
    print!("{md}");
    println!("-> {}", outcome.dir.display());
    Ok(())
}

fn run_ensemble(args: &EnsembleArgs) -> Result<(), String> {
    exit_on_ctrl_c("ensemble evaluation")?;
    if args.batch_size == 0 {
        return Err("invalid batch size: must be at least 1".into());
    }
    // Every checkpoint is checked before the data is loaded.
    for path in &args.checkpoints {
        mnist::train::load_model_checkpoint(path, None).map_err(|e| e.to_string())?;
    }
    let data = load_data(args.data_dir.as_deref())?;
    let result = ensemble::ensemble(&args.checkpoints, &data.test, args.batch_size)?;
    print!(
        "{}",
        ensemble::describe(&result, |p| p.display().to_string())
    );
    if let Some(path) = &args.report {
        let text = serde_json::to_string_pretty(&result).map_err(|e| e.to_string())?;
        mnist::fs_atomic::write_atomic(path, text.as_bytes())
            .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    }
    Ok(())
}
