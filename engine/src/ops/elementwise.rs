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

/// `F.gelu`'s `approximate` argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GeluApproximate {
    /// The exact `x Φ(x)` (PyTorch's default, `'none'`).
    #[default]
    None,
    /// The tanh approximation (`'tanh'`).
    Tanh,
}

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
    /// `x` for `x > 0`, else `slope * x` (`F.leaky_relu`; the gradient at 0 is `slope`).
    LeakyRelu(f64),
    /// `x Φ(x) = x (1 + erf(x / √2)) / 2` (`F.gelu(approximate='none')`).
    Gelu,
    /// `x (1 + tanh(√(2/π) (x + 0.044715 x³))) / 2` (`F.gelu(approximate='tanh')`).
    GeluTanh,
    /// `x σ(x)` (`F.silu`).
    Silu,
    /// `max(x, c)`, NaN kept; gradient 1 where `x >= c` (half of `clamp`).
    ClampMin(f64),
    /// `min(x, c)`, NaN kept; gradient 1 where `x <= c` (half of `clamp`).
    ClampMax(f64),
}

/// √(2/π), the tanh GELU's scale (PyTorch's `M_SQRT2 * M_2_SQRTPI * 0.5`).
const GELU_TANH_BETA: f64 = 0.797_884_560_802_865_4;
/// The cubic coefficient of the tanh GELU.
const GELU_TANH_KAPPA: f64 = 0.044715;
/// 1/√(2π), the normal density's constant.
const INV_SQRT_2PI: f64 = 0.398_942_280_401_432_7;

/// Φ(x) = (1 + erf(x / √2)) / 2, the GELU's gate.
#[inline]
fn normal_cdf<F: Float>(x: F) -> F {
    let e = crate::special::erf((x * F::from_f64(std::f64::consts::FRAC_1_SQRT_2)).to_f64());
    F::from_f64(0.5) * (F::ONE + F::from_f64(e))
}

#[inline]
fn sigmoid<F: Float>(x: F) -> F {
    F::ONE / (F::ONE + (-x).exp())
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
            UnaryOp::Sigmoid => sigmoid(x),
            UnaryOp::Tanh => x.tanh(),
            UnaryOp::Powf(p) => x.powf(F::from_f64(p)),
            UnaryOp::AddScalar(c) => x + F::from_f64(c),
            UnaryOp::MulScalar(c) => x * F::from_f64(c),
            UnaryOp::LeakyRelu(s) => {
                if x > F::ZERO {
                    x
                } else {
                    x * F::from_f64(s)
                }
            }
            UnaryOp::Gelu => x * normal_cdf(x),
            UnaryOp::GeluTanh => {
                let inner =
                    F::from_f64(GELU_TANH_BETA) * (x + F::from_f64(GELU_TANH_KAPPA) * x * x * x);
                F::from_f64(0.5) * x * (F::ONE + inner.tanh())
            }
            UnaryOp::Silu => x / (F::ONE + (-x).exp()),
            UnaryOp::ClampMin(c) => {
                let c = F::from_f64(c);
                if x < c {
                    c
                } else {
                    x
                }
            }
            UnaryOp::ClampMax(c) => {
                let c = F::from_f64(c);
                if x > c {
                    c
                } else {
                    x
                }
            }
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
            UnaryOp::LeakyRelu(s) => {
                if x > F::ZERO {
                    F::ONE
                } else {
                    F::from_f64(s)
                }
            }
            UnaryOp::Gelu => {
                normal_cdf(x) + x * (F::from_f64(-0.5) * x * x).exp() * F::from_f64(INV_SQRT_2PI)
            }
            UnaryOp::GeluTanh => {
                let (beta, kappa) = (F::from_f64(GELU_TANH_BETA), F::from_f64(GELU_TANH_KAPPA));
                let t = (beta * (x + kappa * x * x * x)).tanh();
                let half = F::from_f64(0.5);
                half * (F::ONE + t)
                    + half
                        * x
                        * (F::ONE - t * t)
                        * beta
                        * (F::ONE + F::from_f64(3.0) * kappa * x * x)
            }
            UnaryOp::Silu => {
                let s = sigmoid(x);
                s * (F::ONE + x * (F::ONE - s))
            }
            UnaryOp::ClampMin(c) => {
                if x >= F::from_f64(c) {
                    F::ONE
                } else {
                    F::ZERO
                }
            }
            UnaryOp::ClampMax(c) => {
                if x <= F::from_f64(c) {
                    F::ONE
                } else {
                    F::ZERO
                }
            }
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
            UnaryOp::LeakyRelu(_) => "leaky_relu",
            UnaryOp::Gelu => "gelu",
            UnaryOp::GeluTanh => "gelu_tanh",
            UnaryOp::Silu => "silu",
            UnaryOp::ClampMin(_) => "clamp_min",
            UnaryOp::ClampMax(_) => "clamp_max",
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
            UnaryOp::LeakyRelu(s) => hoist_op!(@arm $o, UnaryOp::LeakyRelu(s), $body),
            UnaryOp::Gelu => hoist_op!(@arm $o, UnaryOp::Gelu, $body),
            UnaryOp::GeluTanh => hoist_op!(@arm $o, UnaryOp::GeluTanh, $body),
            UnaryOp::Silu => hoist_op!(@arm $o, UnaryOp::Silu, $body),
            UnaryOp::ClampMin(c) => hoist_op!(@arm $o, UnaryOp::ClampMin(c), $body),
            UnaryOp::ClampMax(c) => hoist_op!(@arm $o, UnaryOp::ClampMax(c), $body),
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
    /// `F.leaky_relu(x, negative_slope)`.
    pub fn leaky_relu(&self, negative_slope: f64) -> Result<Tensor> {
        self.unary(UnaryOp::LeakyRelu(negative_slope))
    }
    /// `F.gelu(x, approximate=...)`.
    pub fn gelu(&self, approximate: GeluApproximate) -> Result<Tensor> {
        self.unary(match approximate {
            GeluApproximate::None => UnaryOp::Gelu,
            GeluApproximate::Tanh => UnaryOp::GeluTanh,
        })
    }
    /// `F.silu(x) = x * sigmoid(x)`.
    pub fn silu(&self) -> Result<Tensor> {
        self.unary(UnaryOp::Silu)
    }
    /// `torch.clamp(x, min, max)`: either bound may be `None`, not both. Like PyTorch, the
    /// gradient is 1 where `min <= x <= max` (inclusive) and 0 elsewhere; `min > max` gives
    /// `max` everywhere (with gradient 0); NaN stays NaN.
    pub fn clamp(&self, min: Option<f64>, max: Option<f64>) -> Result<Tensor> {
        for b in [min, max].into_iter().flatten() {
            if b.is_nan() {
                return Err(Error::argument("clamp", "a bound is NaN"));
            }
        }
        match (min, max) {
            (None, None) => Err(Error::argument(
                "clamp",
                "at least one of min and max must be given",
            )),
            (Some(lo), None) => self.unary(UnaryOp::ClampMin(lo)),
            (None, Some(hi)) => self.unary(UnaryOp::ClampMax(hi)),
            // max(x, lo) then min(., hi): the second gate is closed wherever the result is
            // `hi` from above, so the product of the two gates is PyTorch's mask.
            (Some(lo), Some(hi)) => self
                .unary(UnaryOp::ClampMin(lo))?
                .unary(UnaryOp::ClampMax(hi)),
        }
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

    /// `torch.minimum`: elementwise, broadcasting; NaN if either is NaN; on a tie each
    /// input gets half the gradient (PyTorch's rule).
    pub fn minimum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Minimum)
    }
    /// `torch.maximum` (see [`Tensor::minimum`]).
    pub fn maximum(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Maximum)
    }
    /// `torch.pow(self, exponent)` with a tensor exponent, broadcasting. Gradients follow
    /// PyTorch at the corners: d/dbase is 0 where the exponent is 0; d/dexponent is 0 where
    /// the base is 0 and the exponent >= 0 (NaN for negative bases, as `ln` is).
    pub fn pow(&self, exponent: &Tensor) -> Result<Tensor> {
        self.binary(exponent, BinaryOp::Pow)
    }
    /// `self > rhs` as a 0/1 mask in this dtype (no gradient), for [`Tensor::where_cond`].
    pub fn gt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Gt)
    }
    /// `self >= rhs` as a 0/1 mask.
    pub fn ge(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Ge)
    }
    /// `self < rhs` as a 0/1 mask.
    pub fn lt(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Lt)
    }
    /// `self <= rhs` as a 0/1 mask.
    pub fn le(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Le)
    }
    /// `self == rhs` as a 0/1 mask.
    pub fn eq(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Eq)
    }
    /// `self != rhs` as a 0/1 mask.
    pub fn ne(&self, rhs: &Tensor) -> Result<Tensor> {
        self.binary(rhs, BinaryOp::Ne)
    }

    pub(crate) fn binary(&self, rhs: &Tensor, op: BinaryOp) -> Result<Tensor> {
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
        if !op.differentiable() {
            return Ok(out);
        }
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

/// The broadcasting binary ops. The last rows are not user ops: the comparisons give 0/1
/// masks (for `where_cond`), the others are the gradient factors of minimum, maximum and pow.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum BinaryOp {
    Add,
    Sub,
    Mul,
    Div,
    /// NaN if either is NaN (`torch.minimum`).
    Minimum,
    Maximum,
    /// `a^b` (`torch.pow(a, b)`).
    Pow,
    /// Share of the gradient `a` gets in `maximum(a, b)`: 1/2 on a tie, 0 when `a < b`, else 1
    /// (also when either is NaN), PyTorch's rule; `minimum(a, b)` gives `a` the share
    /// `MaxShare(b, a)`.
    MaxShare,
    /// `d(a^b)/da = b a^(b-1)`, and 0 where `b == 0` (PyTorch's `pow_backward_self`).
    PowDBase,
    /// `d(a^b)/db = a^b ln a`, and 0 where `a == 0` and `b >= 0` (`pow_backward_exponent`).
    PowDExp,
    Gt,
    Ge,
    Lt,
    Le,
    Eq,
    Ne,
}

impl BinaryOp {
    #[inline]
    pub(crate) fn f<F: Float>(self, a: F, b: F) -> F {
        let mask = |c: bool| if c { F::ONE } else { F::ZERO };
        match self {
            BinaryOp::Add => a + b,
            BinaryOp::Sub => a - b,
            BinaryOp::Mul => a * b,
            BinaryOp::Div => a / b,
            BinaryOp::Minimum => {
                if a.is_nan() || a < b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Maximum => {
                if a.is_nan() || a > b {
                    a
                } else {
                    b
                }
            }
            BinaryOp::Pow => a.powf(b),
            BinaryOp::MaxShare => {
                if a == b {
                    F::from_f64(0.5)
                } else if a < b {
                    F::ZERO
                } else {
                    F::ONE // a > b, or a NaN
                }
            }
            BinaryOp::PowDBase => {
                if b == F::ZERO {
                    F::ZERO
                } else {
                    b * a.powf(b - F::ONE)
                }
            }
            BinaryOp::PowDExp => {
                if a == F::ZERO && b >= F::ZERO {
                    F::ZERO
                } else {
                    a.powf(b) * a.ln()
                }
            }
            BinaryOp::Gt => mask(a > b),
            BinaryOp::Ge => mask(a >= b),
            BinaryOp::Lt => mask(a < b),
            BinaryOp::Le => mask(a <= b),
            BinaryOp::Eq => mask(a == b),
            BinaryOp::Ne => mask(a != b),
        }
    }
    fn code(self) -> BinaryCode {
        match self {
            BinaryOp::Add => BinaryCode::Add,
            BinaryOp::Sub => BinaryCode::Sub,
            BinaryOp::Mul => BinaryCode::Mul,
            BinaryOp::Div => BinaryCode::Div,
            BinaryOp::Minimum => BinaryCode::Minimum,
            BinaryOp::Maximum => BinaryCode::Maximum,
            BinaryOp::Pow => BinaryCode::Pow,
            BinaryOp::MaxShare => BinaryCode::MaxShare,
            BinaryOp::PowDBase => BinaryCode::PowDBase,
            BinaryOp::PowDExp => BinaryCode::PowDExp,
            BinaryOp::Gt => BinaryCode::Gt,
            BinaryOp::Ge => BinaryCode::Ge,
            BinaryOp::Lt => BinaryCode::Lt,
            BinaryOp::Le => BinaryCode::Le,
            BinaryOp::Eq => BinaryCode::Eq,
            BinaryOp::Ne => BinaryCode::Ne,
        }
    }
    fn name(self) -> &'static str {
        match self {
            BinaryOp::Add => "add",
            BinaryOp::Sub => "sub",
            BinaryOp::Mul => "mul",
            BinaryOp::Div => "div",
            BinaryOp::Minimum => "minimum",
            BinaryOp::Maximum => "maximum",
            BinaryOp::Pow => "pow",
            BinaryOp::MaxShare => "maximum backward",
            BinaryOp::PowDBase => "pow backward",
            BinaryOp::PowDExp => "pow backward",
            BinaryOp::Gt => "gt",
            BinaryOp::Ge => "ge",
            BinaryOp::Lt => "lt",
            BinaryOp::Le => "le",
            BinaryOp::Eq => "eq",
            BinaryOp::Ne => "ne",
        }
    }
    /// False for the masks and gradient factors: no node is recorded for them.
    fn differentiable(self) -> bool {
        matches!(
            self,
            BinaryOp::Add
                | BinaryOp::Sub
                | BinaryOp::Mul
                | BinaryOp::Div
                | BinaryOp::Minimum
                | BinaryOp::Maximum
                | BinaryOp::Pow
        )
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
        let share = |x: &Tensor, y: &Tensor| g.mul(&x.binary(y, BinaryOp::MaxShare)?);
        Ok(match self.op {
            BinaryOp::Add => vec![ga(&|| Ok(g.clone()))?, gb(&|| Ok(g.clone()))?],
            BinaryOp::Sub => vec![ga(&|| Ok(g.clone()))?, gb(&|| g.neg())?],
            BinaryOp::Mul => vec![ga(&|| g.mul(b))?, gb(&|| g.mul(a))?],
            BinaryOp::Div => vec![ga(&|| g.div(b))?, gb(&|| g.mul(a)?.div(&b.mul(b)?)?.neg())?],
            BinaryOp::Maximum => vec![ga(&|| share(a, b))?, gb(&|| share(b, a))?],
            BinaryOp::Minimum => vec![ga(&|| share(b, a))?, gb(&|| share(a, b))?],
            BinaryOp::Pow => vec![
                ga(&|| g.mul(&a.binary(b, BinaryOp::PowDBase)?))?,
                gb(&|| g.mul(&a.binary(b, BinaryOp::PowDExp)?))?,
            ],
            op => return Err(Error::Autograd(format!("{} has no gradient", op.name()))),
        })
    }
}
