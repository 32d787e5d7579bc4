//! The fuzz targets: every parser of a file a user hands the tools, each followed by what
//! the tool does next with an accepted input (validation, loading into a model, resizing
//! a picture), since that is where a value the parser let through would crash.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::Path;

use engine::nn::{Module, Sequential};
use engine::optim::Adam;
use mnist::config::TrainConfig;
use mnist::image_io::{self, DigitOptions};
use mnist::models::ModelKind;
use mnist::train;

use super::formats;
use super::runner::Target;
use super::seeds;

fn idx(bytes: &[u8]) -> bool {
    let mut ok = false;
    for name in ["t10k-images-idx3-ubyte.gz", "images"] {
        ok |= mnist::idx::parse_images(name, bytes).is_ok();
        ok |= mnist::idx::parse_labels(name, bytes).is_ok();
    }
    ok
}

thread_local! {
    static MODELS: RefCell<HashMap<&'static str, Sequential>> = RefCell::new(HashMap::new());
    static RESUME: RefCell<Option<(Sequential, Adam)>> = const { RefCell::new(None) };
    static SIM: kernels::sim::Context = kernels::sim::Context::new(Default::default());
}

/// A checkpoint as `eval`/`predict` load it (model named by its metadata) and as
/// `--resume` loads it (into a `small` model with Adam state).
fn checkpoint(bytes: &[u8]) -> bool {
    let path = Path::new("fuzz.safetensors");
    let Ok(checkpoint) = engine::io::parse_checkpoint("fuzz.safetensors", bytes) else {
        return false;
    };
    let mut ok = false;
    if let Ok(kind) = train::checkpoint_kind(&checkpoint.metadata, None, path) {
        ok |= MODELS.with(|m| {
            let mut m = m.borrow_mut();
            let model = m.entry(kind.name()).or_insert_with(|| kind.build(0));
            train::load_model_state(checkpoint.clone(), model, kind, path).is_ok()
        });
    }
    ok |= RESUME.with(|r| {
        let mut r = r.borrow_mut();
        let (model, adam) = r.get_or_insert_with(|| {
            let model = ModelKind::Small.build(0);
            let adam = Adam::new(model.parameters(), 1e-3);
            (model, adam)
        });
        train::restore_state(checkpoint, path, model, Some(adam)).is_ok()
    });
    ok
}

fn config(bytes: &[u8], toml: bool) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    TrainConfig::parse("fuzz", text, toml).is_ok_and(|c| c.validate().is_ok())
}

/// A picture as `predict` reads it: decoded, then centred (and, second, plainly resized)
/// into a 28x28 digit.
fn image(bytes: &[u8]) -> bool {
    let Ok(img) = image_io::decode_gray("fuzz", bytes) else {
        return false;
    };
    for center in [true, false] {
        let opts = DigitOptions {
            center,
            ..DigitOptions::default()
        };
        assert_eq!(image_io::to_mnist(&img, &opts).len(), 784, "to_mnist size");
    }
    true
}

fn npy(bytes: &[u8]) -> bool {
    use kernels::npy::{Array, DType};
    let Ok(a) = Array::from_npy_bytes(bytes) else {
        return false;
    };
    let n = match a.dtype {
        DType::F32 => a.to_f32().map(|v| v.len()),
        DType::F64 => a.to_f64().map(|v| v.len()),
        DType::I32 => a.to_i32().map(|v| v.len()),
        DType::U32 => a.to_u32().map(|v| v.len()),
        DType::U8 => a.to_u8().map(|v| v.len()),
        DType::I64 => a.to_i64().map(|v| v.len()),
    };
    assert_eq!(n.ok(), Some(a.len()), "element count");
    true
}

/// PTX as `ptxsim` loads it (the module is parsed, checked and decoded).
fn ptx(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    SIM.with(|ctx| ctx.load_module(text).is_ok())
}

/// Every target, by name.
pub fn all() -> Vec<Target> {
    vec![
        Target {
            name: "idx",
            seeds: seeds::idx_raw(),
            run: idx,
            structured: Some(formats::idx),
            text: false,
        },
        Target {
            name: "idx-gz",
            seeds: seeds::idx_gz(),
            run: idx,
            structured: Some(formats::idx_gz),
            text: false,
        },
        Target {
            name: "safetensors",
            seeds: seeds::checkpoints(),
            run: checkpoint,
            structured: Some(formats::safetensors),
            text: false,
        },
        Target {
            name: "config-json",
            seeds: seeds::configs_json(),
            run: |b| config(b, false),
            structured: None,
            text: true,
        },
        Target {
            name: "config-toml",
            seeds: seeds::configs_toml(),
            run: |b| config(b, true),
            structured: None,
            text: true,
        },
        Target {
            name: "image",
            seeds: seeds::images(),
            run: image,
            structured: Some(formats::image),
            text: false,
        },
        Target {
            name: "npy",
            seeds: seeds::npy(),
            run: npy,
            structured: Some(formats::npy),
            text: false,
        },
        Target {
            name: "ptx",
            seeds: seeds::ptx(),
            run: ptx,
            structured: None,
            text: true,
        },
    ]
}
