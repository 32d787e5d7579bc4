//! IDX parsing: the real MNIST files, every malformed-header case, and robustness
//! (truncating and mutating a real file at many offsets never panics).

mod common;

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::Compression;
use mnist::data::{load_mnist, resolve_data_dir_from, DataError, DownloadPolicy};
use mnist::idx::{self, IdxProblem};

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn err_text(r: Result<impl std::fmt::Debug, idx::IdxError>) -> String {
    r.expect_err("expected an error").to_string()
}

#[test]
fn real_files_parse() {
    let m = common::load();
    assert_eq!(m.train.len(), 60_000);
    assert_eq!(m.test.len(), 10_000);
    assert_eq!(m.train.images.len(), 60_000 * 784);
    assert_eq!(m.train.labels[..5], [5, 0, 4, 1, 9]);
    assert_eq!(m.test.labels[..5], [7, 2, 1, 0, 4]);
    assert_eq!(
        m.train.class_counts(),
        [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    );
    // Pixels are real images: some ink, mostly background.
    let ink = m.test.image(0).iter().filter(|&&p| p > 128).count();
    assert!((50..400).contains(&ink), "ink {ink}");
}

#[test]
fn raw_and_gzip_give_the_same_content() {
    let gz = common::real_file("t10k-labels-idx1-ubyte.gz");
    let raw = idx::decompress("x", &gz).unwrap().into_owned();
    assert!(!idx::is_gzip(&raw));
    let a = idx::parse_labels("t10k-labels-idx1-ubyte.gz", &gz).unwrap();
    // Detection is by magic, not by name: raw bytes under a .gz name still parse.
    let b = idx::parse_labels("t10k-labels-idx1-ubyte.gz", &raw).unwrap();
    let c = idx::parse_labels("t10k-labels-idx1-ubyte", &gzip(&raw)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a, c);
}

#[test]
fn truncated_labels_name_file_and_sizes() {
    let mut raw = idx::encode_labels(&[3u8; 10_000]);
    raw.truncate(raw.len() - 10);
    let msg = err_text(idx::parse_labels("t10k-labels-idx1-ubyte.gz", &gzip(&raw)));
    assert_eq!(
        msg,
        "t10k-labels-idx1-ubyte.gz: truncated: header says 10000 items but only 9990 bytes of data"
    );
}

#[test]
fn truncated_and_trailing_images() {
    let mut raw = idx::encode_images(3, &[0u8; 3 * 784]);
    raw.pop();
    let msg = err_text(idx::parse_images("imgs", &raw));
    assert!(
        msg.starts_with("imgs: truncated: header says 3 images of 28x28 (2352 bytes)"),
        "{msg}"
    );
    raw.extend_from_slice(&[0, 0]);
    let msg = err_text(idx::parse_images("imgs", &raw));
    assert!(msg.contains("trailing data"), "{msg}");
    assert!(msg.contains("2353 bytes"), "{msg}");
}

#[test]
fn header_checks() {
    let good = idx::encode_labels(&[1, 2, 3]);
    let case = |mutate: &dyn Fn(&mut Vec<u8>)| {
        let mut b = good.clone();
        mutate(&mut b);
        idx::parse_labels("labels", &b).unwrap_err()
    };
    assert!(matches!(
        case(&|b| b[0] = 1).problem,
        IdxProblem::BadMagic { .. }
    ));
    assert!(matches!(
        case(&|b| b[2] = 0x0D).problem,
        IdxProblem::WrongType { code: 0x0D }
    ));
    assert!(matches!(
        case(&|b| b[3] = 3).problem,
        IdxProblem::WrongDims {
            expected: 1,
            found: 3
        }
    ));
    assert!(matches!(
        case(&|b| b.truncate(6)).problem,
        IdxProblem::ShortHeader {
            needed: 8,
            actual: 6
        }
    ));
    assert!(matches!(
        case(&|b| b.clear()).problem,
        IdxProblem::ShortHeader {
            needed: 4,
            actual: 0
        }
    ));
    let e = case(&|b| b[9] = 10);
    assert!(matches!(
        e.problem,
        IdxProblem::LabelOutOfRange {
            index: 1,
            value: 10
        }
    ));
    assert_eq!(e.to_string(), "labels: label 1 is 10, outside 0..=9");
    // A wrong type is reported with its code.
    assert!(case(&|b| b[2] = 0x0D).to_string().contains("0x0d"));
}

#[test]
fn images_must_be_28x28_and_3d() {
    let mut raw = idx::encode_images(1, &[0u8; 784]);
    raw[11] = 27; // rows = 27
    let e = idx::parse_images("imgs", &raw).unwrap_err();
    assert!(matches!(
        e.problem,
        IdxProblem::WrongImageSize { rows: 27, cols: 28 }
    ));
    // A labels file is not an images file.
    let e = idx::parse_images("imgs", &idx::encode_labels(&[1])).unwrap_err();
    assert!(
        e.to_string()
            .contains("wrong number of dimensions: 1, expected 3"),
        "{e}"
    );
}

#[test]
fn gz_name_with_garbage_content() {
    let msg = err_text(idx::parse_labels(
        "train-labels-idx1-ubyte.gz",
        b"<html>403 Forbidden</html>",
    ));
    assert!(
        msg.starts_with("train-labels-idx1-ubyte.gz: named .gz but is neither gzip"),
        "{msg}"
    );
    // Without the .gz name the same bytes are a bad IDX magic.
    let msg = err_text(idx::parse_labels("labels", b"<html>403 Forbidden</html>"));
    assert!(msg.contains("bad magic [3c 68 74 6d]"), "{msg}");
}

#[test]
fn corrupt_gzip_is_an_error() {
    let mut gz = gzip(&idx::encode_labels(&[1; 100]));
    let n = gz.len();
    gz[n - 6] ^= 0xFF; // inside the CRC32 trailer
    let msg = err_text(idx::parse_labels("l.gz", &gz));
    assert!(msg.starts_with("l.gz: corrupt gzip data"), "{msg}");
    // Garbage after a complete gzip member is an error too.
    let mut gz = gzip(&idx::encode_labels(&[1; 100]));
    gz.extend_from_slice(b"junk");
    assert!(idx::parse_labels("l.gz", &gz).is_err());
}

#[test]
fn missing_file_and_io_errors_name_the_file() {
    let e = idx::read_labels(std::path::Path::new("/nonexistent/x-labels.gz")).unwrap_err();
    assert!(matches!(e.problem, IdxProblem::Io(_)));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x-labels.gz: cannot read"),
        "{e}"
    );

    let dir = tempfile::tempdir().unwrap();
    let e = load_mnist(dir.path(), DownloadPolicy::Never).unwrap_err();
    assert!(matches!(e, DataError::Missing { .. }));
    assert!(
        e.to_string()
            .starts_with("train-images-idx3-ubyte.gz: not found in"),
        "{e}"
    );
}

#[test]
fn image_and_label_counts_must_match() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, bytes: Vec<u8>| std::fs::write(dir.path().join(name), bytes).unwrap();
    w(
        "train-images-idx3-ubyte",
        idx::encode_images(3, &[0; 3 * 784]),
    );
    w(
        "train-labels-idx1-ubyte.gz",
        gzip(&idx::encode_labels(&[1, 2])),
    );
    let e = load_mnist(dir.path(), DownloadPolicy::Never).unwrap_err();
    assert_eq!(
        e.to_string(),
        "train-images-idx3-ubyte has 3 images but train-labels-idx1-ubyte.gz has 2 labels"
    );
    // Fix the labels; the test files load.
    w(
        "train-labels-idx1-ubyte.gz",
        gzip(&idx::encode_labels(&[1, 2, 3])),
    );
    w("t10k-images-idx3-ubyte", idx::encode_images(1, &[7; 784]));
    w("t10k-labels-idx1-ubyte", idx::encode_labels(&[9]));
    let m = load_mnist(dir.path(), DownloadPolicy::Never).unwrap();
    assert_eq!((m.train.len(), m.test.len()), (3, 1));
    assert_eq!(m.test.labels, [9]);
}

#[test]
fn data_dir_resolution_order() {
    use std::ffi::OsStr;
    use std::path::Path;
    let explicit = Path::new("/explicit");
    assert_eq!(
        resolve_data_dir_from(Some(explicit), Some(OsStr::new("/env"))),
        explicit
    );
    assert_eq!(
        resolve_data_dir_from(None, Some(OsStr::new("/env"))),
        Path::new("/env")
    );
    assert_eq!(
        resolve_data_dir_from(None, Some(OsStr::new(""))),
        Path::new("data/mnist")
    );
    assert_eq!(resolve_data_dir_from(None, None), Path::new("data/mnist"));
}

/// Truncating the real gzipped labels file anywhere gives an error, never a panic.
#[test]
fn truncation_at_every_offset_is_an_error() {
    let gz = common::real_file("t10k-labels-idx1-ubyte.gz");
    let step = (gz.len() / 400).max(1);
    for cut in (0..gz.len()).step_by(step).chain(gz.len() - 12..gz.len()) {
        let r = idx::parse_labels("t10k-labels-idx1-ubyte.gz", &gz[..cut]);
        assert!(r.is_err(), "truncated at {cut} of {} parsed", gz.len());
    }
    let raw = idx::decompress("x", &gz).unwrap().into_owned();
    for cut in (0..raw.len()).step_by(97).chain(0..16) {
        assert!(
            idx::parse_labels("raw", &raw[..cut]).is_err(),
            "raw cut {cut}"
        );
    }
}

/// Flipping bytes of real files (gzipped and raw) never panics; the result is an error or
/// exactly the original content (a flip the format cannot see, e.g. the gzip mtime).
#[test]
fn mutation_never_panics() {
    let gz = common::real_file("t10k-labels-idx1-ubyte.gz");
    let want = idx::parse_labels("l.gz", &gz).unwrap();
    let step = (gz.len() / 300).max(1);
    for off in (0..gz.len()).step_by(step).chain(0..24) {
        for flip in [0x01u8, 0x80, 0xFF] {
            let mut b = gz.clone();
            b[off] ^= flip;
            if let Ok(got) = idx::parse_labels("l.gz", &b) {
                assert_eq!(
                    got, want,
                    "mutation at {off} (^{flip:#x}) changed the content silently"
                );
            }
        }
    }
    // Raw header bytes: each flip in the header must be rejected (except the count, which
    // then disagrees with the data length).
    let raw = idx::decompress("x", &gz).unwrap().into_owned();
    for off in 0..8 {
        let mut b = raw.clone();
        b[off] ^= 0x40;
        assert!(
            idx::parse_labels("raw", &b).is_err(),
            "header flip at {off}"
        );
    }
    // Images: header flips and a truncated copy of the real test images.
    let img_gz = common::real_file("t10k-images-idx3-ubyte.gz");
    let img_raw = idx::decompress("x", &img_gz).unwrap().into_owned();
    for off in 0..16 {
        let mut b = img_raw[..16 + 784 * 10].to_vec();
        b[off] ^= 0x10;
        assert!(
            idx::parse_images("raw", &b).is_err(),
            "image header flip at {off}"
        );
    }
    for cut in [
        0,
        1,
        3,
        4,
        15,
        16,
        17,
        1000,
        img_gz.len() / 2,
        img_gz.len() - 1,
    ] {
        assert!(
            idx::parse_images("i.gz", &img_gz[..cut]).is_err(),
            "cut {cut}"
        );
    }
}
