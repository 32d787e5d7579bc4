//! Elementwise ops. Unary ops are rows of one table ([`UnaryOp`]): the function and its
//! derivative side by side, shared by the forward kernel and the fused backward kernel.
//! Binary ops broadcast like NumPy; their gradients are reduced back to each input's shape.

use crate::autograd::{record, BackwardOp};
use crate::backend::cuda::elementwise::BinaryCode;
use crate::backend::{cpu, cuda};
use crate::device::Storage;
use crate::dtype::Float;
use crate::error::{Error, Result};
use crate::ops::check_same;
use crate::tensor::{Reads, Tensor};
use crate::{cpu_map, cpu_map2};

/// One row per unary op: `f(x)` and `df/dx` given `x` and `y = f(x)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum UnaryOp {
    Neg,
    Exp,
    Log,
    Sqrt,
    Abs,
    Relu,
    Sigmoid,
    Tanh,
    /// `x^p`.
    Powf(f64),
    /// `x + c`.
    AddScalar(f64),
    /// `x * c`.
    MulScalar(f64),
}

impl UnaryOp {
    #[inline]
    pub fn f<F: Float>(self, x: F) -> F {
        match self {
            UnaryOp::Neg => -x,
            UnaryOp::Exp => x.exp(),
            UnaryOp::Log => x.ln(),
            UnaryOp::Sqrt => x.sqrt(),
            UnaryOp::Abs => x.abs(),
            UnaryOp::Relu => {
                if x > F::ZERO {
                    x
                } else {
                    F::ZERO
                }
            }
            UnaryOp::Sigmoid => F::ONE / (F::ONE + (-x).exp()),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Powf(p) => x.powf(F::from_f64(p)),
            UnaryOp::AddScalar(c) => x + F::from_f64(c),
            UnaryOp::MulScalar(c) => x * F::from_f64(c),
        }
    }

    #[inline]
    pub fn df<F: Float>(self, x: F, y: F) -> F {
        match self {
            UnaryOp::Neg => -F::ONE,
            UnaryOp::Exp => y,
            UnaryOp::Log => F::ONE / x,
            UnaryOp::Sqrt => F::from_f64(0.5) / y,
            UnaryOp::Abs => {
                if x > F::ZERO {
                    F::ONE
                } else if x < F::ZERO {
                    -F::ONE
                } else {
                    F::ZERO
                }
            }
            UnaryOp::Relu => {
                if x > F::ZERO {
                    F::ONE
                } else {
                    F::ZERO
                }
            }
            UnaryOp::Sigmoid => y * (F::ONE - y),
            UnaryOp::Tanh => F::ONE - y * y,
            UnaryOp::Powf(p) => F::from_f64(p) * x.powf(F::from_f64(p - 1.0)),
            UnaryOp::AddScalar(_) => F::ONE,
            UnaryOp::MulScalar(c) => F::from_f64(c),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            UnaryOp::Neg => "neg",
            UnaryOp::Exp => "exp",
            UnaryOp::Log => "log",
            UnaryOp::Sqrt => "sqrt",
            UnaryOp::Abs => "abs",
            UnaryOp::Relu => "relu",
            UnaryOp::Sigmoid => "sigmoid",
            UnaryOp::Tanh => "tanh",
            UnaryOp::Powf(_) => "powf",
            UnaryOp::AddScalar(_) => "add_scalar",
            UnaryOp::MulScalar(_) => "mul_scalar",
        }
    }
}

/// Runs `$body` with `$o` bound to a closure that returns `$op`, built in each arm so the
/// variant is a compile-time constant there: the `match` inside [`UnaryOp::f`] and
/// [`UnaryOp::df`] folds away and the element loops vectorize.
macro_rules! hoist_op {
    ($op:expr, $o:ident => $body:expr) => {
        match $op {
            UnaryOp::Neg => hoist_op!(@arm $o, UnaryOp::Neg, $body),
            UnaryOp::Exp => hoist_op!(@arm $o, UnaryOp::Exp, $body),
            UnaryOp::Log => hoist_op!(@arm $o, UnaryOp::Log, $body),
            UnaryOp::Sqrt => hoist_op!(@arm $o, UnaryOp::Sqrt, $body),
            UnaryOp::Abs => hoist_op!(@arm $o, UnaryOp::Abs, $body),
            UnaryOp::Relu => hoist_op!(@arm $o, UnaryOp::Relu, $body),
            UnaryOp::Sigmoid => hoist_op!(@arm $o, UnaryOp::Sigmoid, $body),
            UnaryOp::Tanh => hoist_op!(@arm $o, UnaryOp::Tanh, $body),
            UnaryOp::Powf(p) => hoist_op!(@arm $o, UnaryOp::Powf(p), $body),
            UnaryOp::AddScalar(c) => hoist_op!(@arm $o, UnaryOp::AddScalar(c), $body),
            UnaryOp::MulScalar(c) => hoist_op!(@arm $o, UnaryOp::MulScalar(c), $body),
        }
    };
    (@arm $o:ident, $val:expr, $body:expr) => {{
        let $o = move || $val;
        $body
    }};
}

impl Tensor {
    /// Applies one row of the [`UnaryOp`] table.
    pub fn unary(&self, op: UnaryOp) -> Result<Tensor> {
        let x = self.contiguous()?;
        let range = x.dense_range();
        let storage = match &*x.read_storage() {
            Storage::Cpu(s) => Storage::Cpu(cpu_map!(s, |v: F| hoist_op!(op, o => {
                cpu::elementwise::unary(&v[range.clone()], move |a: F| o().f(a))
            }))),
            Storage::Cuda(s) => {
                Storage::Cuda(cuda::elementwise::unary(s, range.start, range.len(), op)?)
            }
        };
        let y = Tensor::from_storage(storage, x.shape())?;
        let saved_y = y.detach();
        Ok(record(y, &[&x], || UnaryBackward { op, y: saved_y }))
    }

    pub fn neg(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Neg)
    }
    pub fn exp(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Exp)
    }
    pub fn log(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Log)
    }
    pub fn sqrt(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sqrt)
    }
    pub fn abs(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Abs)
    }
    pub fn relu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Relu)
    }
    pub fn sigmoid(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Sigmoid)
    }
    pub fn tanh(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Tanh)
    }
    pub fn powf(&self, p: f64) -> Result<Tensor> {
        self.unary(UnaryOp::Powf(p))
    }
    pub fn add_scalar(&self, c: f64) -> Result<Tensor> {
        self.unary(UnaryOp::AddScalar(c))
    }
    pub fn sub_scalar(&self, c: f64) -> Result<Tensor> {
        self.unary(UnaryOp::AddScalar(-c))
    }
    pub fn mul_scalar(&self, c: f64) -> Result<Tensor> {
        self.unary(UnaryOp::MulScalar(c))
    }
    pub fn div_scalar(&self, c: f64) -> Result<Tensor> {
        self.unary(UnaryOp::MulScalar(1.0 / c))
    }

    pub fn add(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Add)
    }
    pub fn sub(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Sub)
    }
    pub fn mul(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Mul)
    }
    pub fn div(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Div)
    }

    fn binary(&self, rhs: &Tensor, op: BinaryOp) -> Result<Tensor> {
        let name = op.name();
        check_same(name, self, rhs)?;
        let shape = self.shape().broadcast(rhs.shape(), name)?;
        let reads = Reads::new(&[self, rhs]);
        let storage = match (reads.get(0), reads.get(1)) {
            (Storage::Cpu(a), Storage::Cpu(b)) => {
                Storage::Cpu(cpu_map2!(name, a, b, |a, b: F| cpu::elementwise::binary(
                    a,
                    self.layout(),
                    b,
                    rhs.layout(),
                    &shape,
                    |x: F, y: F| op.f(x, y)
                )?)?)
            }
            (Storage::Cuda(a), Storage::Cuda(b)) => Storage::Cuda(cuda::elementwise::binary(
                name,
                op.code(),
                (a, self.layout()),
                (b, rhs.layout()),
                &shape,
            )?),
            _ => return Err(crate::ops::mixed_devices(name, self, rhs)),
        };
        let out = Tensor::from_storage(storage, shape)?;
        Ok(record(out, &[self, rhs], || BinaryBackward { op }))
    }
}

struct UnaryBackward {
    op: UnaryOp,
    y: Tensor,
}

impl BackwardOp for UnaryBackward {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn backward(&self, inputs: &[Tensor], grad: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (x, g) = (&inputs[0], grad.contiguous()?);
        let (rx, ry, rg) = (x.dense_range(), self.y.dense_range(), g.dense_range());
        let op = self.op;
        let reads = Reads::new(&[x, &self.y, &g]);
        let storage = match (reads.get(0), reads.get(1), reads.get(2)) {
            (Storage::Cpu(xs), Storage::Cpu(ys), Storage::Cpu(gs)) => {
                let xy = cpu_map2!("unary backward", xs, ys, |xv, yv: F| {
                    let gv = F::slice(gs).ok_or_else(|| {
                        Error::dtype(
                            op.name(),
                            format!("gradient is {}, input {}", gs.dtype(), F::DTYPE),
                        )
                    })?;
                    hoist_op!(op, o => cpu::elementwise::ternary(
                        &xv[rx.clone()],
                        &yv[ry.clone()],
                        &gv[rg.clone()],
                        move |x: F, y: F, g: F| g * o().df(x, y),
                    ))
                })?;
                Storage::Cpu(xy)
            }
            (Storage::Cuda(xs), Storage::Cuda(ys), Storage::Cuda(gs)) => {
                check_same(op.name(), x, &g)?;
                Storage::Cuda(cuda::elementwise::unary_bwd(
                    op,
                    (xs, rx.start),
                    (ys, ry.start),
                    (gs, rg.start),
                    rx.len(),
                )?)
            }
            _ => return Err(crate::ops::mixed_devices(op.name(), x, &g)),
        };
        Ok(vec![Some(Tensor::from_storage(storage, x.shape())?)])
    }
}

/// The broadcasting binary ops.
#[derive(Clone, Copy, Debug)]
enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
}

impl BinaryOp {
    #[inline]
    fn f<F: Float>(self, a: F, b: F) -> F {
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
        }
    }
    fn code(self) -> BinaryCode {
        match self {
            BinaryOp::Add => BinaryCode::Add,
            BinaryOp::Sub => BinaryCode::Sub,
            BinaryOp::Mul => BinaryCode::Mul,
            BinaryOp::Div => BinaryCode::Div,
        }
    }
    fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
        }
    }
}

struct BinaryBackward {
    op: BinaryOp,
}

impl BackwardOp for BinaryBackward {
    fn name(&self) -> &'static str {
        self.op.name()
    }
    fn backward(&self, inputs: &[Tensor], g: &Tensor) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (&inputs[0], &inputs[1]);
        let ga = |f: &dyn Fn() -> Result<Tensor>| -> Result<Option<Tensor>> {
            if a.requires_grad() {
                Ok(Some(f()?.sum_to(a.shape())?))
            } else {
                Ok(None)
            }
        };
        let gb = |f: &dyn Fn() -> Result<Tensor>| -> Result<Option<Tensor>> {
            if b.requires_grad() {
                Ok(Some(f()?.sum_to(b.shape())?))
            } else {
                Ok(None)
            }
        };
        Ok(match self.op {
            BinaryOp::Add => vec![ga(&|| Ok(g.clone()))?, gb(&|| Ok(g.clone()))?],
            BinaryOp::Sub => vec![ga(&|| Ok(g.clone()))?, gb(&|| g.neg())?],
            BinaryOp::Mul => vec![ga(&|| g.mul(b))?, gb(&|| g.mul(a))?],
            BinaryOp::Div => vec![ga(&|| g.div(b))?, gb(&|| g.mul(a)?.div(&b.mul(b)?)?.neg())?],
        })
    }
}
