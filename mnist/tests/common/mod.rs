//! Helpers shared by the mnist integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The real MNIST files: `$MNIST_DIR`, else `<workspace>/../shared/mnist`.
pub fn mnist_dir() -> PathBuf {
    match std::env::var_os("MNIST_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/mnist"),
    }
}

/// The bytes of one of the real MNIST files (`t10k-labels-idx1-ubyte.gz`, ...).
pub fn real_file(name: &str) -> Vec<u8> {
    let p = mnist_dir().join(name);
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e} (set MNIST_DIR)", p.display()))
}

/// Loads the real data set (never downloads in tests).
pub fn load() -> mnist::data::Mnist {
    mnist::data::load_mnist(&mnist_dir(), mnist::data::DownloadPolicy::Never)
        .unwrap_or_else(|e| panic!("{e} (set MNIST_DIR to the folder with the four MNIST files)"))
}

/// A fresh empty folder under the target dir for run outputs.
pub fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
