//! Download and verification against a loopback HTTP server (no internet needed): the happy
//! path, a corrupt download, mirror fall-through, and the checksums of the shared files.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use flate2::write::GzEncoder;
use flate2::Compression;
use mnist::data::{load_mnist, verify_checksums, DataError, DownloadPolicy};
use mnist::download::{
    self, DownloadError, DownloadOptions, MirrorFailure, VerifyError, ALL_FILES, TEST_LABELS,
};
use mnist::idx;

/// A minimal HTTP/1.1 server on 127.0.0.1 serving `files` (path -> body) and 404 otherwise.
/// It answers at most `max_requests` requests and stops by itself after 60 s.
fn serve(files: HashMap<String, Vec<u8>>, max_requests: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}/mnist/", listener.local_addr().unwrap());
    listener.set_nonblocking(true).unwrap();
    let files = Arc::new(files);
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut served = 0;
        while served < max_requests && Instant::now() < deadline {
            let (stream, _) = match listener.accept() {
                Ok(c) => c,
                Err(_) => {
                    thread::sleep(Duration::from_millis(5));
                    continue;
                }
            };
            served += 1;
            let _ = stream.set_nonblocking(false);
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut reader = BufReader::new(&stream);
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            // Skip headers up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).map(|n| n > 2).unwrap_or(false) {
                line.clear();
            }
            let path = request_line.split_whitespace().nth(1).unwrap_or("/");
            let (status, body) = match files.get(path) {
                Some(b) => ("200 OK", b.as_slice()),
                None => ("404 Not Found", &b"not found"[..]),
            };
            let mut out = &stream;
            let _ = write!(
                out,
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = out.write_all(body);
        }
    });
    base
}

fn options(mirrors: Vec<String>) -> DownloadOptions {
    DownloadOptions {
        mirrors,
        quiet: true,
        timeout: Duration::from_secs(10),
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn shared_files_pass_the_checksums() {
    let problems = verify_checksums(&common::mnist_dir());
    assert!(problems.is_empty(), "{problems:?}");
    // The raw (decompressed) content has the same checksum.
    let raw = idx::decompress("x", &common::real_file("t10k-labels-idx1-ubyte.gz"))
        .unwrap()
        .into_owned();
    assert!(download::verify_bytes(&TEST_LABELS, &raw).is_ok());
    // A file with other content is a mismatch naming the path; a missing one is reported.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t10k-labels-idx1-ubyte");
    std::fs::write(&p, idx::encode_labels(&[1, 2, 3])).unwrap();
    let e = download::verify_path(&p, &TEST_LABELS).unwrap_err();
    assert!(matches!(e, VerifyError::Mismatch { .. }));
    assert!(
        e.to_string()
            .contains("t10k-labels-idx1-ubyte: checksum mismatch"),
        "{e}"
    );
    let problems = verify_checksums(dir.path());
    assert_eq!(problems.len(), 4);
    assert!(problems[0]
        .to_string()
        .starts_with("train-images-idx3-ubyte.gz: not found"));
}

#[test]
fn load_mnist_downloads_missing_files() {
    let files: HashMap<String, Vec<u8>> = ALL_FILES
        .iter()
        .map(|f| {
            (
                format!("/mnist/{}", f.gz_name()),
                common::real_file(&f.gz_name()),
            )
        })
        .collect();
    let base = serve(files, 8);
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("nested/mnist");
    let policy = DownloadPolicy::IfMissing(options(vec![base]));
    let m = load_mnist(&data_dir, policy).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (60_000, 10_000));
    assert_eq!(
        dir_entries(&data_dir),
        [
            "t10k-images-idx3-ubyte.gz",
            "t10k-labels-idx1-ubyte.gz",
            "train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz"
        ]
    );
    assert!(verify_checksums(&data_dir).is_empty());
    // Second load finds the files: no server needed.
    let m2 = load_mnist(&data_dir, DownloadPolicy::Never).unwrap();
    assert_eq!(m2.test.labels, m.test.labels);
}

#[test]
fn corrupt_download_is_rejected_and_leaves_no_file() {
    let mut raw = idx::decompress("x", &common::real_file("t10k-labels-idx1-ubyte.gz"))
        .unwrap()
        .into_owned();
    raw[100] = (raw[100] + 1) % 10; // still a valid IDX file, wrong content
    let files = HashMap::from([("/mnist/t10k-labels-idx1-ubyte.gz".to_string(), gzip(&raw))]);
    let base = serve(files, 1);
    let dir = tempfile::tempdir().unwrap();
    let e = download::download_file(dir.path(), &TEST_LABELS, &options(vec![base.clone()]))
        .unwrap_err();
    let DownloadError::AllMirrorsFailed { file, failures } = &e else {
        panic!("unexpected {e:?}")
    };
    assert_eq!(file, "t10k-labels-idx1-ubyte.gz");
    assert_eq!(failures.len(), 1);
    assert!(matches!(failures[0].1, MirrorFailure::Checksum { .. }));
    let msg = e.to_string();
    assert!(
        msg.contains(&format!(
            "{base}t10k-labels-idx1-ubyte.gz: checksum mismatch"
        )),
        "{msg}"
    );
    assert!(msg.contains(TEST_LABELS.sha256), "{msg}");
    assert!(
        dir_entries(dir.path()).is_empty(),
        "{:?}",
        dir_entries(dir.path())
    );
}

#[test]
fn failing_mirror_falls_through_to_the_next() {
    let good = serve(
        HashMap::from([(
            "/mnist/t10k-labels-idx1-ubyte.gz".to_string(),
            common::real_file("t10k-labels-idx1-ubyte.gz"),
        )]),
        1,
    );
    let empty = serve(HashMap::new(), 1); // answers 404
    let garbage = serve(
        HashMap::from([(
            "/mnist/t10k-labels-idx1-ubyte.gz".to_string(),
            b"<html>oops</html>".to_vec(),
        )]),
        1,
    );
    let dir = tempfile::tempdir().unwrap();
    let opts = options(vec![empty, garbage, good]);
    let path = download::download_file(dir.path(), &TEST_LABELS, &opts).unwrap();
    assert_eq!(path, dir.path().join("t10k-labels-idx1-ubyte.gz"));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        common::real_file("t10k-labels-idx1-ubyte.gz")
    );
    assert_eq!(dir_entries(dir.path()), ["t10k-labels-idx1-ubyte.gz"]);
}

#[test]
fn all_mirrors_failing_lists_each_failure() {
    // A closed port (bind then drop) and a server that answers 404.
    let closed = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/", l.local_addr().unwrap())
    };
    let empty = serve(HashMap::new(), 1);
    let dir = tempfile::tempdir().unwrap();
    let policy = DownloadPolicy::IfMissing(options(vec![closed.clone(), empty.clone()]));
    let e = load_mnist(dir.path(), policy).unwrap_err();
    let DataError::Download(DownloadError::AllMirrorsFailed { failures, .. }) = &e else {
        panic!("unexpected {e:?}")
    };
    assert_eq!(failures.len(), 2);
    let msg = e.to_string();
    eprintln!("{msg}");
    assert!(msg.starts_with("train-images-idx3-ubyte.gz: download failed from every mirror:"));
    assert!(
        msg.contains(&format!("{closed}train-images-idx3-ubyte.gz: ")),
        "{msg}"
    );
    assert!(
        msg.contains(&format!("{empty}train-images-idx3-ubyte.gz: HTTP 404")),
        "{msg}"
    );
    assert!(dir_entries(dir.path()).is_empty());

    let e = download::download_file(dir.path(), &TEST_LABELS, &options(vec![])).unwrap_err();
    assert!(matches!(e, DownloadError::NoMirrors { .. }));
}

#[test]
fn write_atomic_replaces_and_cleans_up() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f.bin");
    download::write_atomic(&p, b"one").unwrap();
    download::write_atomic(&p, b"two").unwrap();
    assert_eq!(std::fs::read(&p).unwrap(), b"two");
    assert_eq!(dir_entries(dir.path()), ["f.bin"]);
    // Writing into a missing directory fails and leaves nothing.
    assert!(download::write_atomic(&dir.path().join("no/such/f"), b"x").is_err());
}

/// The test suite's data search: the first folder holding all four files wins, so a partial
/// `$MNIST_DIR` or `data/mnist` falls through to the next place (as `common::mnist_dir` uses it).
#[test]
fn first_complete_dir_skips_partial_folders() {
    let root = common::scratch("first_complete_dir");
    let (partial, raw, gz) = (root.join("partial"), root.join("raw"), root.join("gz"));
    for d in [&partial, &raw, &gz] {
        std::fs::create_dir_all(d).unwrap();
    }
    for f in ALL_FILES.iter().take(3) {
        std::fs::write(partial.join(f.gz_name()), b"x").unwrap();
    }
    for f in ALL_FILES.iter() {
        std::fs::write(raw.join(f.name), b"x").unwrap();
        std::fs::write(gz.join(f.gz_name()), b"x").unwrap();
    }
    assert!(!mnist::data::has_all_files(&partial));
    let dirs = [
        root.join("absent"),
        partial.clone(),
        raw.clone(),
        gz.clone(),
    ];
    assert_eq!(mnist::data::first_complete_dir(&dirs), Some(raw.as_path()));
    assert_eq!(mnist::data::first_complete_dir(&dirs[..2]), None);
}
