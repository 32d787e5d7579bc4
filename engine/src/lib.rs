//! A from-scratch tensor engine: tensors with reverse-mode autograd, neural-network
//! ops (conv2d, pooling, BatchNorm, dropout, losses), `nn` layers, optimizers and
//! safetensors checkpoints. The CPU backend uses rayon and `matrixmultiply`; every op
//! dispatches on [`Storage`] so further backends plug in below the same API.

pub mod atomic;
pub mod autograd;
pub mod backend;
pub mod device;
pub mod dtype;
pub mod error;
pub mod io;
pub mod labels;
pub mod metrics;
pub mod nn;
pub mod ops;
pub mod optim;
pub mod resident;
pub mod rng;
pub mod shape;
pub mod special;
pub mod tensor;

pub use autograd::{is_grad_enabled, no_grad, NoGradGuard};
pub use device::{Device, Storage};
pub use dtype::{DType, Float};
pub use error::{Error, Result};
pub use labels::Labels;
pub use ops::{
    AvgPool2dOptions, BceWithLogitsOptions, Conv2dParams, CrossEntropyOptions, GeluApproximate,
    MaxPool2dOptions, NllLossOptions, Reduction, UnaryOp,
};
pub use rng::Rng;
pub use shape::{Layout, Shape};
pub use tensor::{Tensor, TensorId};
