//! Command-line arguments. Training flags are all optional so that a `--config` file can
//! supply them; a flag given on the command line always wins.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mnist::config::{OptimizerKind, Placement, SchedulerKind, TrainConfig};
use mnist::models::ModelKind;

#[derive(Parser, Debug)]
#[command(
    name = "mnist",
    version,
    about = "Train, evaluate and use MNIST models on the engine"
)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// `train` is the default command.
    #[command(flatten)]
    pub train: TrainArgs,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Train a model and write a run folder (the default).
    Train(Box<TrainArgs>),
    /// Evaluate a checkpoint on the test set.
    Eval(EvalArgs),
    /// Classify one digit image (PNG or PGM).
    Predict(PredictArgs),
    /// PNGs of a conv checkpoint's first-layer filters and each conv block's feature maps.
    Visualize(VisualizeArgs),
    /// One PNG grid: training digits beside their augmented versions.
    AugmentPreview(AugmentPreviewArgs),
    /// A grid of settings times several seeds, then a table of test accuracy and time.
    Sweep(SweepArgs),
    /// Test accuracy of several checkpoints' averaged probabilities.
    Ensemble(EnsembleArgs),
}

#[derive(Args, Debug)]
pub struct VisualizeArgs {
    /// A checkpoint of a convolutional model (cnn, small, wide).
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// The digit to show the feature maps of (PNG or PGM)...
    #[arg(long, value_name = "PNG", conflicts_with = "index")]
    pub image: Option<PathBuf>,
    /// ...or test-set image N (default 0).
    #[arg(long, value_name = "N")]
    pub index: Option<usize>,
    /// Where the PNGs go.
    #[arg(long, default_value = "visualize")]
    pub out_dir: PathBuf,
    /// Where the MNIST files are (default: $MNIST_DIR, else data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct AugmentPreviewArgs {
    /// Training digits (rows).
    #[arg(long, default_value_t = 3)]
    pub samples: usize,
    /// Augmented versions of each (the epochs 1, 2, ... of a run).
    #[arg(long, default_value_t = 5)]
    pub per_sample: usize,
    /// Also elastic distortion, as `--elastic` in training.
    #[arg(long)]
    pub elastic: bool,
    /// The run's seed (split and augmentation streams).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// The run's validation split (it decides which digits are training digits).
    #[arg(long, default_value_t = 5000)]
    pub val_split: usize,
    #[arg(long, default_value = "augment_preview.png")]
    pub out: PathBuf,
    /// Where the MNIST files are (default: $MNIST_DIR, else data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub struct SweepArgs {
    /// Sweep file (TOML, YAML or JSON): base, grid, seeds, jobs.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A grid axis KEY=V1,V2,... (repeatable; replaces the file's values for KEY).
    #[arg(long = "set", value_name = "KEY=VALUES")]
    pub set: Vec<String>,
    /// Seeds of every setting, e.g. 1,2,3 (default: the file's, else 1,2,3).
    #[arg(long, value_delimiter = ',')]
    pub seeds: Vec<u64>,
    /// Runs in parallel (default: the file's, else 1).
    #[arg(long)]
    pub jobs: Option<usize>,
    /// Parent of the sweep folder.
    #[arg(long, default_value = "runs")]
    pub out_dir: PathBuf,
    /// Where the MNIST files are (default: $MNIST_DIR, else data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// No per-run lines.
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct EnsembleArgs {
    /// A member checkpoint (repeat for each).
    #[arg(long = "checkpoint", value_name = "FILE", required = true)]
    pub checkpoints: Vec<PathBuf>,
    /// Where the MNIST files are (default: $MNIST_DIR, else data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Also write the result as JSON.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
}

#[derive(Args, Debug, Default)]
pub struct TrainArgs {
    /// Hyperparameters from a TOML, YAML or JSON file (flags override it).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Continue an interrupted run from RUN_DIR/checkpoints/last.safetensors.
    #[arg(long, value_name = "RUN_DIR")]
    pub resume: Option<PathBuf>,
    /// auto, cpu, cuda, cuda:N or cuda-sim.
    #[arg(long)]
    pub device: Option<String>,
    /// single (default) or hybrid: convolutional blocks on the GPU, the head on the CPU.
    #[arg(long, value_enum)]
    pub placement: Option<Placement>,
    /// mlp, cnn (default) or small.
    #[arg(long, value_parser = parse_model)]
    pub model: Option<ModelKind>,
    /// Passes over the training set (default 3).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Images per step (default 64).
    #[arg(long)]
    pub batch_size: Option<usize>,
    /// Learning rate; the peak rate for onecycle (default 1e-3).
    #[arg(long, allow_negative_numbers = true)]
    pub lr: Option<f64>,
    /// Default adam.
    #[arg(long, value_enum)]
    pub optimizer: Option<OptimizerKind>,
    /// SGD momentum.
    #[arg(long, allow_negative_numbers = true)]
    pub momentum: Option<f64>,
    /// L2 penalty (sgd, adam) or decoupled decay (adamw); default 0.
    #[arg(long, allow_negative_numbers = true)]
    pub weight_decay: Option<f64>,
    /// Learning-rate schedule (default none).
    #[arg(long, value_enum)]
    pub scheduler: Option<SchedulerKind>,
    /// Cross-entropy label smoothing in [0, 1] (default 0).
    #[arg(long, allow_negative_numbers = true)]
    pub label_smoothing: Option<f64>,
    /// Seeds initialisation, split, shuffling, augmentation and dropout (default 42).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Random rotation and translation of training images.
    #[arg(long)]
    pub augment: bool,
    /// Also elastic distortion of training images (implies --augment; slower).
    #[arg(long)]
    pub elastic: bool,
    /// Training images held out for validation (default 5000).
    #[arg(long)]
    pub val_split: Option<usize>,
    /// Early stopping: epochs without a lower validation loss.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Train on the first N training images only.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Where the MNIST files are (default: $MNIST_DIR, else data/mnist); missing files are downloaded.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Parent folder of run folders (default runs).
    #[arg(long)]
    pub out_dir: Option<PathBuf>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// No progress bars or per-epoch lines.
    #[arg(long)]
    pub quiet: bool,
    /// Write TensorBoard event files under <run folder>/tensorboard.
    #[arg(long)]
    pub tensorboard: bool,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// A best.safetensors or last.safetensors of a run.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Architecture of the checkpoint (default: read from the checkpoint).
    #[arg(long, value_parser = parse_model)]
    pub model: Option<ModelKind>,
    /// Where the MNIST files are (default: $MNIST_DIR, else data/mnist).
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    #[arg(long, default_value = "auto")]
    pub device: String,
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A digit image, PNG or PGM, any size (white digit on black, or black on white).
    pub image: PathBuf,
    /// A best.safetensors or last.safetensors of a run.
    #[arg(long, value_name = "FILE")]
    pub checkpoint: PathBuf,
    /// Architecture of the checkpoint (default: read from the checkpoint).
    #[arg(long, value_parser = parse_model)]
    pub model: Option<ModelKind>,
    #[arg(long, default_value = "auto")]
    pub device: String,
}

fn parse_model(s: &str) -> Result<ModelKind, String> {
    s.parse()
}

impl TrainArgs {
    /// The config file's values (or the defaults) with every given flag applied on top.
    pub fn to_config(&self) -> Result<TrainConfig, String> {
        let mut c = match &self.config {
            Some(path) => TrainConfig::from_file(path)?,
            None => TrainConfig::default(),
        };
        macro_rules! take {
            ($($field:ident),*) => { $(if let Some(v) = &self.$field { c.$field = v.clone(); })* };
        }
        take!(
            device,
            placement,
            model,
            epochs,
            batch_size,
            lr,
            optimizer,
            momentum,
            weight_decay,
            scheduler,
            label_smoothing,
            seed,
            val_split,
            out_dir
        );
        if self.patience.is_some() {
            c.patience = self.patience;
        }
        if self.train_limit.is_some() {
            c.train_limit = self.train_limit;
        }
        if self.data_dir.is_some() {
            c.data_dir = self.data_dir.clone();
        }
        c.elastic |= self.elastic;
        c.tensorboard |= self.tensorboard;
        c.augment |= self.augment || c.elastic;
        c.validate()?;
        Ok(c)
    }
}
