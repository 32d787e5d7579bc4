//! Finding, downloading and loading the four MNIST files into memory.
//!
//! The data directory is chosen as: explicit path > `MNIST_DIR` > `data/mnist`. Each file is
//! looked up as `<name>.gz` then `<name>` (raw IDX); a missing one is downloaded when the
//! [`DownloadPolicy`] allows. The result is plain bytes ([`Mnist`]), independent of the engine.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::dataset::Dataset;
use crate::download::{
    self, DownloadError, DownloadOptions, MnistFile, VerifyError, TEST_IMAGES, TEST_LABELS,
    TRAIN_IMAGES, TRAIN_LABELS,
};
use crate::idx::{self, IdxError};

/// Environment variable naming the data directory.
pub const ENV_DATA_DIR: &str = "MNIST_DIR";
/// Data directory used when neither a path nor `MNIST_DIR` is given.
pub const DEFAULT_DATA_DIR: &str = "data/mnist";

/// What to do when a file is missing from the data directory.
#[derive(Debug, Clone)]
pub enum DownloadPolicy {
    /// Fail with [`DataError::Missing`].
    Never,
    /// Download it with these options.
    IfMissing(DownloadOptions),
}

impl DownloadPolicy {
    /// Download from the default mirrors, with a progress bar unless `quiet`.
    pub fn if_missing(quiet: bool) -> Self {
        DownloadPolicy::IfMissing(DownloadOptions {
            quiet,
            ..DownloadOptions::default()
        })
    }
}

/// Failure to produce the MNIST data.
#[derive(Debug)]
pub enum DataError {
    /// A file is missing and downloading is off.
    Missing { dir: PathBuf, file: String },
    /// A file is malformed.
    Idx(IdxError),
    /// A download failed.
    Download(DownloadError),
    /// Image and label files disagree on the number of items.
    CountMismatch {
        images_file: String,
        images: usize,
        labels_file: String,
        labels: usize,
    },
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DataError::Missing { dir, file } => write!(
                f,
                "{file}: not found in {} (enable downloading, or point --data-dir / {ENV_DATA_DIR} at the MNIST files)",
                dir.display()
            ),
            DataError::Idx(e) => write!(f, "{e}"),
            DataError::Download(e) => write!(f, "{e}"),
            DataError::CountMismatch {
                images_file,
                images,
                labels_file,
                labels,
            } => write!(
                f,
                "{images_file} has {images} images but {labels_file} has {labels} labels"
            ),
        }
    }
}

impl std::error::Error for DataError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataError::Idx(e) => Some(e),
            DataError::Download(e) => Some(e),
            _ => None,
        }
    }
}

impl From<IdxError> for DataError {
    fn from(e: IdxError) -> Self {
        DataError::Idx(e)
    }
}

impl From<DownloadError> for DataError {
    fn from(e: DownloadError) -> Self {
        DataError::Download(e)
    }
}

/// The MNIST training (60,000) and test (10,000) sets.
#[derive(Debug, Clone)]
pub struct Mnist {
    pub train: Dataset,
    pub test: Dataset,
}

/// The data directory: `explicit` if given, else `$MNIST_DIR` if set and non-empty, else
/// [`DEFAULT_DATA_DIR`].
pub fn resolve_data_dir(explicit: Option<&Path>) -> PathBuf {
    resolve_data_dir_from(explicit, std::env::var_os(ENV_DATA_DIR).as_deref())
}

/// [`resolve_data_dir`] with the environment value passed in (testable without `set_var`).
pub fn resolve_data_dir_from(explicit: Option<&Path>, env_value: Option<&OsStr>) -> PathBuf {
    match (explicit, env_value) {
        (Some(p), _) => p.to_path_buf(),
        (None, Some(v)) if !v.is_empty() => PathBuf::from(v),
        _ => PathBuf::from(DEFAULT_DATA_DIR),
    }
}

/// The existing copy of `file` in `dir` (`<name>.gz` preferred, then raw `<name>`).
pub fn find_file(dir: &Path, file: &MnistFile) -> Option<PathBuf> {
    [dir.join(file.gz_name()), dir.join(file.name)]
        .into_iter()
        .find(|p| p.is_file())
}

/// True when `dir` holds all four MNIST files (each gzipped or raw).
pub fn has_all_files(dir: &Path) -> bool {
    download::ALL_FILES
        .iter()
        .all(|f| find_file(dir, f).is_some())
}

/// The first of `dirs` that holds all four MNIST files.
pub fn first_complete_dir(dirs: &[PathBuf]) -> Option<&Path> {
    dirs.iter().map(PathBuf::as_path).find(|d| has_all_files(d))
}

/// The path of `file` in `dir`, downloading it when missing and the policy allows.
pub fn ensure_file(
    dir: &Path,
    file: &MnistFile,
    policy: &DownloadPolicy,
) -> Result<PathBuf, DataError> {
    if let Some(p) = find_file(dir, file) {
        return Ok(p);
    }
    match policy {
        DownloadPolicy::Never => Err(DataError::Missing {
            dir: dir.to_path_buf(),
            file: file.gz_name(),
        }),
        DownloadPolicy::IfMissing(opts) => Ok(download::download_file(dir, file, opts)?),
    }
}

/// Loads one images/labels pair and checks that their counts agree.
fn load_pair(
    dir: &Path,
    images: &MnistFile,
    labels: &MnistFile,
    policy: &DownloadPolicy,
) -> Result<Dataset, DataError> {
    let images_path = ensure_file(dir, images, policy)?;
    let labels_path = ensure_file(dir, labels, policy)?;
    let imgs = idx::read_images(&images_path)?;
    let labs = idx::read_labels(&labels_path)?;
    if imgs.count != labs.len() {
        let name = |p: &Path| {
            p.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        };
        return Err(DataError::CountMismatch {
            images_file: name(&images_path),
            images: imgs.count,
            labels_file: name(&labels_path),
            labels: labs.len(),
        });
    }
    Ok(Dataset::new(imgs.pixels, labs))
}

/// Loads MNIST from `dir` (see [`resolve_data_dir`]), downloading missing files when the
/// policy allows. Files already present are validated structurally (header, sizes, label
/// range); use [`verify_checksums`] to also check their SHA-256.
pub fn load_mnist(dir: &Path, download: DownloadPolicy) -> Result<Mnist, DataError> {
    let train = load_pair(dir, &TRAIN_IMAGES, &TRAIN_LABELS, &download)?;
    let test = load_pair(dir, &TEST_IMAGES, &TEST_LABELS, &download)?;
    Ok(Mnist { train, test })
}

/// Checks the SHA-256 of the decompressed content of each of the four files in `dir`.
/// Returns one error per missing or mismatching file; empty means all good.
pub fn verify_checksums(dir: &Path) -> Vec<VerifyError> {
    download::ALL_FILES
        .iter()
        .filter_map(|f| match find_file(dir, f) {
            None => Some(VerifyError::Missing {
                dir: dir.to_path_buf(),
                file: f.gz_name(),
            }),
            Some(p) => download::verify_path(&p, f).err(),
        })
        .collect()
}
