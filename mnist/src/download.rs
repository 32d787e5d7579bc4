//! Downloading the MNIST files from public mirrors, verified by SHA-256.
//!
//! Each file is fetched from the mirrors in turn (an HTTP error, a corrupt gzip stream or a
//! checksum mismatch moves on to the next). The SHA-256 is that of the DECOMPRESSED IDX
//! content, so a re-compressed copy of the same data is accepted. A verified download is
//! written to a temporary file in the target directory and renamed into place, so a crash
//! or a bad mirror never leaves a partial file under the final name.

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use sha2::{Digest, Sha256};

pub use crate::fs_atomic::write_atomic;
use crate::idx::{self, IdxError, MAX_FILE_BYTES};

/// One of the four MNIST files: its base name (no `.gz`) and the SHA-256 of its
/// decompressed content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MnistFile {
    pub name: &'static str,
    pub sha256: &'static str,
}

impl MnistFile {
    const fn new(name: &'static str, sha256: &'static str) -> Self {
        Self { name, sha256 }
    }

    /// The name the mirrors serve and the downloader writes (`<name>.gz`).
    pub fn gz_name(&self) -> String {
        format!("{}.gz", self.name)
    }
}

/// All four files.
#[rustfmt::skip] // one file a line
pub const ALL_FILES: [MnistFile; 4] = [
    MnistFile::new("train-images-idx3-ubyte", "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db"),
    MnistFile::new("train-labels-idx1-ubyte", "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5"),
    MnistFile::new("t10k-images-idx3-ubyte", "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7"),
    MnistFile::new("t10k-labels-idx1-ubyte", "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
];
pub const TRAIN_IMAGES: MnistFile = ALL_FILES[0];
pub const TRAIN_LABELS: MnistFile = ALL_FILES[1];
pub const TEST_IMAGES: MnistFile = ALL_FILES[2];
pub const TEST_LABELS: MnistFile = ALL_FILES[3];

/// Mirrors that still serve the original files (the LeCun site answers 403).
pub const DEFAULT_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// How to download: which mirrors (base URLs, tried in order), quiet or with a progress bar.
#[derive(Debug, Clone)]
pub struct DownloadOptions {
    pub mirrors: Vec<String>,
    /// No progress bar when true.
    pub quiet: bool,
    /// Connect and read timeout per request.
    pub timeout: Duration,
}

impl Default for DownloadOptions {
    fn default() -> Self {
        Self {
            mirrors: DEFAULT_MIRRORS.iter().map(|s| s.to_string()).collect(),
            quiet: false,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Why one mirror did not deliver a good file.
#[derive(Debug)]
pub enum MirrorFailure {
    /// Connection failure or an HTTP error status.
    Http(String),
    /// The response body could not be read.
    Io(io::Error),
    /// The body was larger than any MNIST file.
    TooLarge,
    /// The body is not a valid (gzipped) file.
    Corrupt(IdxError),
    /// The decompressed content has the wrong SHA-256.
    Checksum { expected: String, actual: String },
}

impl fmt::Display for MirrorFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MirrorFailure::Http(e) => write!(f, "{e}"),
            MirrorFailure::Io(e) => write!(f, "reading the response: {e}"),
            MirrorFailure::TooLarge => write!(f, "response larger than {MAX_FILE_BYTES} bytes"),
            MirrorFailure::Corrupt(e) => write!(f, "{}", e.problem),
            MirrorFailure::Checksum { expected, actual } => write!(
                f,
                "checksum mismatch: SHA-256 of the content is {actual}, expected {expected}"
            ),
        }
    }
}

/// A download that did not produce a verified file.
#[derive(Debug)]
pub enum DownloadError {
    /// No mirror was configured.
    NoMirrors { file: String },
    /// Every mirror failed; one entry per mirror URL, in the order tried.
    AllMirrorsFailed {
        file: String,
        failures: Vec<(String, MirrorFailure)>,
    },
    /// The verified file could not be written into the data directory.
    Write { path: PathBuf, source: io::Error },
}

impl fmt::Display for DownloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DownloadError::NoMirrors { file } => {
                write!(f, "{file}: cannot download: no mirror configured")
            }
            DownloadError::AllMirrorsFailed { file, failures } => {
                write!(f, "{file}: download failed from every mirror:")?;
                for (url, why) in failures {
                    write!(f, "\n  {url}: {why}")?;
                }
                Ok(())
            }
            DownloadError::Write { path, source } => {
                write!(f, "{}: cannot write: {source}", path.display())
            }
        }
    }
}

impl std::error::Error for DownloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DownloadError::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 of the IDX content: of the decompressed bytes when `bytes` are gzip.
pub fn content_sha256(file: &str, bytes: &[u8]) -> Result<String, IdxError> {
    Ok(sha256_hex(&idx::decompress(file, bytes)?))
}

/// Checks `bytes` (gzipped or raw) against `file`'s checksum.
pub fn verify_bytes(file: &MnistFile, bytes: &[u8]) -> Result<(), MirrorFailure> {
    let actual = content_sha256(&file.gz_name(), bytes).map_err(MirrorFailure::Corrupt)?;
    if actual == file.sha256 {
        Ok(())
    } else {
        Err(MirrorFailure::Checksum {
            expected: file.sha256.to_string(),
            actual,
        })
    }
}

/// A file on disk that does not match its published checksum.
#[derive(Debug)]
pub enum VerifyError {
    /// Neither `<name>.gz` nor `<name>` is in the directory.
    Missing { dir: PathBuf, file: String },
    /// The file cannot be read or is not valid gzip.
    Unreadable(IdxError),
    /// The decompressed content has the wrong SHA-256.
    Mismatch {
        path: PathBuf,
        expected: String,
        actual: String,
    },
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VerifyError::Missing { dir, file } => {
                write!(f, "{file}: not found in {}", dir.display())
            }
            VerifyError::Unreadable(e) => write!(f, "{e}"),
            VerifyError::Mismatch {
                path,
                expected,
                actual,
            } => write!(
                f,
                "{}: checksum mismatch: SHA-256 of the content is {actual}, expected {expected}",
                path.display()
            ),
        }
    }
}

impl std::error::Error for VerifyError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            VerifyError::Unreadable(e) => Some(e),
            _ => None,
        }
    }
}

/// Checks a file on disk (gzipped or raw) against `file`'s checksum.
pub fn verify_path(path: &Path, file: &MnistFile) -> Result<(), VerifyError> {
    let bytes = idx::read_file_bytes(path).map_err(VerifyError::Unreadable)?;
    let name = path.display().to_string();
    let actual = content_sha256(&name, &bytes).map_err(VerifyError::Unreadable)?;
    if actual == file.sha256 {
        Ok(())
    } else {
        Err(VerifyError::Mismatch {
            path: path.to_path_buf(),
            expected: file.sha256.to_string(),
            actual,
        })
    }
}

/// Joins a base URL and a file name with exactly one slash.
fn join_url(base: &str, name: &str) -> String {
    format!("{}/{}", base.trim_end_matches('/'), name)
}

fn progress_bar(len: Option<u64>, name: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = match len {
        Some(n) => ProgressBar::new(n),
        None => ProgressBar::new_spinner(),
    };
    if let Ok(style) = ProgressStyle::with_template(
        "{msg:28} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(name.to_string());
    bar
}

/// Fetches one URL into memory, with a progress bar unless quiet.
fn fetch(
    agent: &ureq::Agent,
    url: &str,
    name: &str,
    quiet: bool,
) -> Result<Vec<u8>, MirrorFailure> {
    let resp = agent.get(url).call().map_err(|e| match e {
        ureq::Error::Status(code, r) => {
            MirrorFailure::Http(format!("HTTP {code} {}", r.status_text()))
        }
        // Transport's Display repeats the URL; the caller already names it.
        ureq::Error::Transport(t) => {
            let mut msg = t.kind().to_string();
            if let Some(m) = t.message() {
                msg += &format!(": {m}");
            }
            if let Some(src) = std::error::Error::source(&t) {
                msg += &format!(": {src}");
            }
            MirrorFailure::Http(msg)
        }
    })?;
    let len = resp
        .header("Content-Length")
        .and_then(|v| v.trim().parse::<u64>().ok());
    if len.is_some_and(|n| n > MAX_FILE_BYTES) {
        return Err(MirrorFailure::TooLarge);
    }
    let bar = progress_bar(len, name, quiet);
    let mut body = Vec::with_capacity(len.unwrap_or(0) as usize);
    let mut reader = bar.wrap_read(resp.into_reader().take(MAX_FILE_BYTES + 1));
    let result = reader.read_to_end(&mut body);
    bar.finish_and_clear();
    result.map_err(MirrorFailure::Io)?;
    if body.len() as u64 > MAX_FILE_BYTES {
        return Err(MirrorFailure::TooLarge);
    }
    if let Some(n) = len {
        if body.len() as u64 != n {
            return Err(MirrorFailure::Http(format!(
                "short body: {} of {n} bytes",
                body.len()
            )));
        }
    }
    Ok(body)
}

/// Downloads `file` into `dir` as `<name>.gz` (whatever exists there is replaced),
/// trying each mirror in turn. Returns the path written.
pub fn download_file(
    dir: &Path,
    file: &MnistFile,
    opts: &DownloadOptions,
) -> Result<PathBuf, DownloadError> {
    let gz_name = file.gz_name();
    if opts.mirrors.is_empty() {
        return Err(DownloadError::NoMirrors { file: gz_name });
    }
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(opts.timeout)
        .timeout_read(opts.timeout)
        .build();
    let mut failures = Vec::new();
    for (i, base) in opts.mirrors.iter().enumerate() {
        let url = join_url(base, &gz_name);
        if !opts.quiet {
            eprintln!("downloading {url}");
        }
        let body = fetch(&agent, &url, &gz_name, opts.quiet)
            .and_then(|body| verify_bytes(file, &body).map(|()| body));
        match body {
            Ok(body) => {
                let dest = dir.join(&gz_name);
                let write = |e| DownloadError::Write {
                    path: dest.clone(),
                    source: e,
                };
                fs::create_dir_all(dir).map_err(write)?;
                write_atomic(&dest, &body).map_err(write)?;
                return Ok(dest);
            }
            Err(why) => {
                if !opts.quiet && i + 1 < opts.mirrors.len() {
                    eprintln!("{gz_name}: {url}: {why}; trying the next mirror");
                }
                failures.push((url, why));
            }
        }
    }
    Err(DownloadError::AllMirrorsFailed {
        file: gz_name,
        failures,
    })
}
