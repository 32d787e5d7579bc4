//! Helpers shared by the mnist integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::OnceLock;

use mnist::data::{self, DownloadPolicy};
use mnist::download::ALL_FILES;

/// The workspace root (the folder of the top-level Cargo.toml).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where the tests look for MNIST, in order: `$MNIST_DIR`, `data/mnist` in the workspace
/// (where `cargo run -p mnist` downloads it), then `../shared/mnist` beside the workspace.
fn candidate_dirs() -> Vec<PathBuf> {
    let root = workspace_root();
    let env = std::env::var_os(data::ENV_DATA_DIR).filter(|v| !v.is_empty());
    env.map(PathBuf::from)
        .into_iter()
        .chain([
            root.join(data::DEFAULT_DATA_DIR),
            root.join("../shared/mnist"),
        ])
        .collect()
}

/// The real MNIST files, found as the user has them, or downloaded once (verified, atomic) into
/// the workspace's `data/mnist`. Panics with one line naming where it looked when neither works.
pub fn mnist_dir() -> PathBuf {
    static DIR: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    DIR.get_or_init(locate_or_download)
        .clone()
        .unwrap_or_else(|msg| panic!("{msg}"))
}

fn locate_or_download() -> Result<PathBuf, String> {
    let dirs = candidate_dirs();
    if let Some(d) = data::first_complete_dir(&dirs) {
        return Ok(d.to_path_buf());
    }
    let target = workspace_root().join(data::DEFAULT_DATA_DIR);
    eprintln!(
        "MNIST not found; downloading it into {} (verified by SHA-256)",
        target.display()
    );
    download_into(&target).map(|()| target).map_err(|e| {
        let looked: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        format!(
            "MNIST files not found in {} and downloading them failed ({e}); put the four files \
             (train-images-idx3-ubyte.gz, ...) in data/mnist or set MNIST_DIR",
            looked.join(", ")
        )
    })
}

fn download_into(dir: &Path) -> Result<(), data::DataError> {
    let policy = DownloadPolicy::if_missing(true);
    for f in ALL_FILES.iter() {
        data::ensure_file(dir, f, &policy)?;
    }
    Ok(())
}

/// The bytes of one of the real MNIST files as gzip (`t10k-labels-idx1-ubyte.gz`, ...); a
/// folder that holds the raw IDX file instead is served by compressing it.
pub fn real_file(name: &str) -> Vec<u8> {
    let dir = mnist_dir();
    let (gz, raw) = (dir.join(name), dir.join(name.trim_end_matches(".gz")));
    if let (false, Ok(bytes)) = (gz.is_file(), std::fs::read(&raw)) {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut enc, &bytes).unwrap();
        return enc.finish().unwrap();
    }
    std::fs::read(&gz).unwrap_or_else(|e| panic!("{}: {e}", gz.display()))
}

/// Loads the real data set from [`mnist_dir`].
pub fn load() -> mnist::data::Mnist {
    mnist::data::load_mnist(&mnist_dir(), DownloadPolicy::Never)
        .unwrap_or_else(|e| panic!("{e} (MNIST found in {})", mnist_dir().display()))
}

/// A fresh empty folder under the target dir for run outputs.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// The test-set softmax of the checkpoint at `path` (eval mode, batches of 1000), computed
/// here by a plain forward pass: the independent reference for the commands' reports.
pub fn test_probabilities(path: &Path, test: &mnist::dataset::Dataset) -> Vec<f32> {
    let (_, mut model) = mnist::train::load_model_checkpoint(path, None).unwrap();
    engine::nn::Module::set_training(&mut model, false);
    let _guard = engine::no_grad();
    let mut probs = Vec::new();
    for chunk in test.images.chunks(1000 * 784) {
        let x = engine::Tensor::from_vec(
            mnist::dataset::normalize(chunk),
            [chunk.len() / 784, 1, 28, 28],
        )
        .unwrap();
        let y = engine::nn::Module::forward(&model, &x).unwrap();
        probs.extend(y.softmax(1).unwrap().to_vec_f32().unwrap());
    }
    probs
}

/// Runs the `mnist` binary with `args`, reading MNIST from [`mnist_dir`].
pub fn mnist(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mnist"))
        .args(args)
        .env("MNIST_DIR", mnist_dir())
        .output()
        .expect("run mnist")
}

/// Asserts a zero exit (showing stderr otherwise); returns stdout.
#[track_caller]
pub fn succeeds(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// Asserts the command failed, without a panic, with exactly one line on stderr, which
/// contains `needle`.
#[track_caller]
pub fn fails_with_one_line(out: &Output, needle: &str) {
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "should fail; stderr: {err}");
    assert!(!err.contains("panicked"), "panic: {err}");
    assert_eq!(err.trim().lines().count(), 1, "one line, got: {err}");
    assert!(err.contains(needle), "'{needle}' not in: {err}");
}

/// A JSON file parsed (panics naming the file when it cannot be read).
pub fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// Sends SIGINT (Ctrl-C) to a running child.
pub fn interrupt(child: &Child) {
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill -INT failed");
}

/// Width, height and RGB bytes of a PNG the tools wrote (asserting it is 8-bit RGB).
pub fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::fs::File::open(path).unwrap());
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).unwrap();
    buf.truncate(info.buffer_size());
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width, info.height, buf)
}

/// The first entry of `dir` (a run or sweep folder's parent holds just one).
pub fn only_entry(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
}
