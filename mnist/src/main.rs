//! `mnist`: train (default), evaluate and use models on real MNIST. Every failure is one
//! line on stderr and a non-zero exit.

mod cli;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use cli::{Cli, Command, EvalArgs, PredictArgs, TrainArgs};
use engine::nn::Module;
use engine::no_grad;
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
