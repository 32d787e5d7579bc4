//! Seed inputs, made from the real MNIST files where they can be found (the first images
//! and labels, re-encoded small so that millions of mutants parse quickly) and from the
//! project's own writers (checkpoints, configs, `.npy`, PNG) and PTX files.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use engine::Tensor;
use mnist::config::TrainConfig;
use mnist::data;
use mnist::idx;
use mnist::models::ModelKind;

/// The first real MNIST images and labels: (pixels of `n` images, their labels).
pub fn real_digits() -> &'static (Vec<u8>, Vec<u8>) {
    static DIGITS: OnceLock<(Vec<u8>, Vec<u8>)> = OnceLock::new();
    DIGITS.get_or_init(|| {
        let n = 64;
        let dir = mnist_dir();
        let read = |name: &str| -> Option<Vec<u8>> {
            let d = dir.as_ref()?;
            idx::read_file_bytes(&d.join(name)).ok()
        };
        let images = read("t10k-images-idx3-ubyte.gz")
            .and_then(|b| idx::parse_images("images", &b).ok())
            .map(|im| im.pixels[..n * idx::IMAGE_PIXELS].to_vec());
        let labels = read("t10k-labels-idx1-ubyte.gz")
            .and_then(|b| idx::parse_labels("labels", &b).ok())
            .map(|l| l[..n].to_vec());
        match (images, labels) {
            (Some(i), Some(l)) => (i, l),
            // No data here: a deterministic stand-in keeps the fuzzer usable.
            _ => (
                (0..n * idx::IMAGE_PIXELS)
                    .map(|i| (i * 37 % 256) as u8)
                    .collect(),
                (0..n).map(|i| (i % 10) as u8).collect(),
            ),
        }
    })
}

/// Where the real MNIST files are: `$MNIST_DIR`, the workspace's `data/mnist`, or
/// `../shared/mnist` beside the workspace (as the mnist tests look).
pub fn mnist_dir() -> Option<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let env = std::env::var_os(data::ENV_DATA_DIR).filter(|v| !v.is_empty());
    let dirs: Vec<PathBuf> = env
        .map(PathBuf::from)
        .into_iter()
        .chain([
            root.join(data::DEFAULT_DATA_DIR),
            root.join("../shared/mnist"),
        ])
        .collect();
    data::first_complete_dir(&dirs).map(Path::to_path_buf)
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip to memory");
    enc.finish().expect("gzip to memory")
}

/// Raw IDX files: a few real images, real labels, and the empty files.
pub fn idx_raw() -> Vec<Vec<u8>> {
    let (pixels, labels) = real_digits();
    vec![
        idx::encode_images(4, &pixels[..4 * idx::IMAGE_PIXELS]),
        idx::encode_images(1, &pixels[4 * idx::IMAGE_PIXELS..5 * idx::IMAGE_PIXELS]),
        idx::encode_labels(&labels[..32]),
        idx::encode_images(0, &[]),
        idx::encode_labels(&[]),
    ]
}

/// The same, gzipped.
pub fn idx_gz() -> Vec<Vec<u8>> {
    idx_raw().iter().map(|b| gzip(b)).collect()
}

fn write_through_file(name: &str, write: impl FnOnce(&Path)) -> Vec<u8> {
    let dir = std::env::temp_dir().join(format!("fuzz-seeds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join(name);
    write(&path);
    let bytes = std::fs::read(&path).expect("seed file");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// Our checkpoints (a `small` model's best and last, with Adam state) and foreign ones:
/// other dtypes, scalars, empty tensors, no metadata.
pub fn checkpoints() -> Vec<Vec<u8>> {
    use engine::nn::Module;
    use engine::optim::{Adam, Optimizer};
    let model = ModelKind::Small.build(3);
    let mut adam = Adam::new(model.parameters(), 1e-3);
    // One step so the optimizer has moments to save.
    for p in model.parameters() {
        p.set_grad(Some(p.ones_like().expect("ones")));
    }
    adam.step().expect("adam step");
    let progress = mnist::train::Progress {
        epochs_done: 2,
        best_epoch: 1,
        best_val_accuracy: 0.75,
        best_val_loss: 0.5,
        epochs_without_improvement: 1,
    };
    let save = |opt: Option<&dyn Optimizer>| {
        write_through_file("ck.safetensors", |p| {
            mnist::train::save_state(p, ModelKind::Small, &model, opt, &progress).expect("save")
        })
    };
    let mut seeds = vec![save(Some(&adam)), save(None)];
    let small = write_through_file("f.safetensors", |p| {
        let t = |v: Vec<f32>, s: &[usize]| Tensor::from_vec(v, s.to_vec()).expect("tensor");
        let tensors = vec![
            ("0.weight".to_string(), t(vec![1.0, 2.0, 3.0, 4.0], &[2, 2])),
            ("0.bias".to_string(), t(vec![0.5], &[1])),
            ("scalar".to_string(), t(vec![7.0], &[])),
            ("empty".to_string(), t(vec![], &[0, 3])),
        ];
        let checkpoint = engine::io::Checkpoint {
            tensors,
            counts: vec![("counter".to_string(), 3)],
            metadata: HashMap::from([("model".to_string(), "mlp".to_string())]),
        };
        engine::io::save_checkpoint(p, &checkpoint).expect("save")
    });
    seeds.push(small);
    seeds.push(foreign_safetensors());
    seeds
}

/// A hand-written safetensors file with dtypes we do not load (I8, BF16, I64).
fn foreign_safetensors() -> Vec<u8> {
    let header = br#"{"__metadata__":{"format":"pt"},"a":{"dtype":"I8","shape":[2],"data_offsets":[0,2]},"b":{"dtype":"BF16","shape":[1,2],"data_offsets":[2,6]},"c":{"dtype":"I64","shape":[1],"data_offsets":[6,14]}}"#;
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header);
    out.extend_from_slice(&[1, 2, 0, 0x3f, 0x80, 0x3f, 9, 0, 0, 0, 0, 0, 0, 0]);
    out
}

/// Config files as users write them: JSON and TOML, full and partial.
pub fn configs_json() -> Vec<Vec<u8>> {
    let full = serde_json::to_string_pretty(&TrainConfig::default()).expect("json");
    vec![
        full.into_bytes(),
        br#"{"model": "mlp", "epochs": 2, "lr": 0.01, "optimizer": "sgd", "patience": 3, "train_limit": 100}"#.to_vec(),
        b"{}".to_vec(),
    ]
}

pub fn configs_toml() -> Vec<Vec<u8>> {
    vec![
        b"model = \"cnn\"\nepochs = 3\nbatch_size = 64\nlr = 0.001\noptimizer = \"adamw\"\nweight_decay = 0.0001\nscheduler = \"cosine\"\nlabel_smoothing = 0.1\nseed = 7\naugment = true\nelastic = false\nval_split = 5000\npatience = 2\ntrain_limit = 1000\ndata_dir = \"data/mnist\"\nout_dir = \"runs\"\n".to_vec(),
        b"model = \"small\"\n[extra]\nx = 1\n".to_vec(),
        b"epochs = 1\n".to_vec(),
    ]
}

/// Digit pictures as `predict` gets them: real digits as 8-bit gray PNG, RGB, RGBA and
/// 16-bit PNG, gray+alpha, palette, binary PGM and text PGM.
pub fn images() -> Vec<Vec<u8>> {
    let (pixels, _) = real_digits();
    let digit = &pixels[..idx::IMAGE_PIXELS];
    let png = |color: png::ColorType, depth: png::BitDepth, data: Vec<u8>| -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, 28, 28);
            enc.set_color(color);
            enc.set_depth(depth);
            if color == png::ColorType::Indexed {
                enc.set_palette(
                    (0..=255u8)
                        .flat_map(|v| [v, v, 255 - v])
                        .collect::<Vec<_>>(),
                );
            }
            let mut w = enc.write_header().expect("png header");
            w.write_image_data(&data).expect("png data");
        }
        out
    };
    use png::{BitDepth::*, ColorType::*};
    let rgb: Vec<u8> = digit.iter().flat_map(|&v| [v, v / 2, 255 - v]).collect();
    let rgba: Vec<u8> = digit.iter().flat_map(|&v| [v, v, v, 200]).collect();
    let ga: Vec<u8> = digit.iter().flat_map(|&v| [v, 255]).collect();
    let g16: Vec<u8> = digit.iter().flat_map(|&v| [v, 0x80]).collect();
    let mut pgm = b"P5\n# a digit\n28 28\n255\n".to_vec();
    pgm.extend_from_slice(digit);
    let mut pgm16 = b"P5 28 28 65535\n".to_vec();
    pgm16.extend_from_slice(&g16);
    let mut p2 = b"P2\n28 28\n255\n".to_vec();
    for row in digit.chunks(28) {
        let line: Vec<String> = row.iter().map(|v| v.to_string()).collect();
        p2.extend_from_slice(line.join(" ").as_bytes());
        p2.push(b'\n');
    }
    vec![
        png(Grayscale, Eight, digit.to_vec()),
        png(Rgb, Eight, rgb),
        png(Rgba, Eight, rgba),
        png(GrayscaleAlpha, Eight, ga),
        png(Grayscale, Sixteen, g16),
        png(Indexed, Eight, digit.to_vec()),
        pgm,
        pgm16,
        p2,
    ]
}

/// `.npy` arrays of every dtype we read, 1-D to 3-D, a scalar, an empty one, and
/// format 2.0 and Fortran-order headers.
pub fn npy() -> Vec<Vec<u8>> {
    use kernels::npy::Array;
    let (pixels, _) = real_digits();
    let f: Vec<f32> = pixels[..56].iter().map(|&v| v as f32 / 255.0).collect();
    let mut seeds = vec![
        Array::from_f32(&[2, 28], &f).to_npy_bytes(),
        Array::from_f64(&[3], &[1.0, -2.5, 1e300]).to_npy_bytes(),
        Array::from_i32(&[2, 2, 1], &[1, -1, i32::MIN, i32::MAX]).to_npy_bytes(),
        Array::from_u32(&[1], &[7]).to_npy_bytes(),
        Array::from_u8(&[28, 28], &pixels[..784]).to_npy_bytes(),
        Array::from_i64(&[], &[42]).to_npy_bytes(),
        Array::from_f32(&[0, 4], &[]).to_npy_bytes(),
    ];
    // Format 2.0 (u32 header length) and a Fortran-order 1-D array.
    let header = b"{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }          \n";
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&(header.len() as u32).to_le_bytes());
    v2.extend_from_slice(header);
    v2.extend_from_slice(&[0, 0, 128, 63, 0, 0, 0, 64]);
    seeds.push(v2);
    seeds
}

/// PTX as NVRTC wrote it: the smaller shipped modules, whole, and one kernel of a large one.
pub fn ptx() -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../kernels/ptx");
    let read = |n: &str| std::fs::read(dir.join(n)).unwrap_or_else(|e| panic!("{n}: {e}"));
    let mut seeds = vec![read("copy.ptx"), read("optim.ptx")];
    // Each `.visible .entry` of data.ptx on its own after the module header.
    let data = String::from_utf8(read("data.ptx")).expect("PTX is text");
    if let Some(first) = data.find(".visible .entry") {
        let header = &data[..first];
        for body in data[first..].split_inclusive("\n}\n").take(3) {
            seeds.push(format!("{header}{body}").into_bytes());
        }
    }
    seeds
}
