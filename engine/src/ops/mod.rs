//! Ops: each file holds one op family's forward, its backward node right underneath, and
//! the dispatch to each backend's kernel.

pub mod concat;
pub mod conv;
pub mod convert;
pub mod dropout;
pub mod elementwise;
pub mod gather;
pub mod layer_norm;
pub mod loss;
pub mod loss_options;
pub mod matmul;
pub mod norm;
pub mod pointwise_loss;
pub mod pool;
pub mod reduce;
pub mod select;
pub mod softmax;
pub mod transfer;
pub mod view;

pub use conv::Conv2dParams;
pub use elementwise::{GeluApproximate, UnaryOp};
pub use loss_options::{CrossEntropyOptions, NllLossOptions, Reduction};
pub use pointwise_loss::BceWithLogitsOptions;
pub use pool::{AvgPool2dOptions, MaxPool2dOptions};

use crate::error::{Error, Result};
use crate::tensor::Tensor;

/// Checks that two operands share a device and dtype.
pub(crate) fn check_same(op: &'static str, a: &Tensor, b: &Tensor) -> Result<()> {
    if a.device() != b.device() {
        return Err(Error::device(
            op,
            format!("operands on {} and {}", a.device(), b.device()),
        ));
    }
    if a.dtype() != b.dtype() {
        return Err(Error::dtype(
            op,
            format!("operands are {} and {}", a.dtype(), b.dtype()),
        ));
    }
    Ok(())
}

/// The error for operands on different devices (after `check_same` it means a backward
/// produced a gradient on another device than its input).
pub(crate) fn mixed_devices(op: &'static str, a: &Tensor, b: &Tensor) -> Error {
    Error::device(op, format!("operands on {} and {}", a.device(), b.device()))
}

/// Checks that `t` has the given rank.
pub(crate) fn check_rank(op: &'static str, t: &Tensor, rank: usize, what: &str) -> Result<()> {
    if t.rank() != rank {
        return Err(Error::shape(
            op,
            format!("{what} must be {rank}-D, got shape {:?}", t.shape()),
        ));
    }
    Ok(())
}
