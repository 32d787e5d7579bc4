//! The tensor: shared storage, a layout (shape, strides, offset) and, when it was made
//! by a differentiable op, the autograd node that made it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

#[cfg(test)]
use crate::device::CpuStorage;
use crate::device::{Device, Storage};
use crate::dtype::{DType, Float};
use crate::error::{Error, Result};
use crate::rng::Rng;
use crate::shape::{Layout, Shape};

/// The backward rule of one op. Lives in the op's file, right under its forward.
/// (Defined here, not in `autograd`, so that `autograd` depends on `tensor` one way.)
pub trait BackwardOp: Send + Sync {
    /// The op's name, for error messages.
    fn name(&self) -> &'static str;
    /// Gradients with respect to each of `inputs` (same order), given the gradient of
    /// the output. `None` where an input needs no gradient.
    fn backward(&self, inputs: &[Tensor], grad_output: &Tensor) -> Result<Vec<Option<Tensor>>>;
}

/// A recorded op application.
pub struct Node {
    pub(crate) inputs: Vec<Tensor>,
    pub(crate) op: Box<dyn BackwardOp>,
}

/// A process-unique tensor identity, used to key gradients.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TensorId(u64);

impl TensorId {
    fn fresh() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        TensorId(NEXT.fetch_add(1, Ordering::Relaxed))
    }
}

/// An n-dimensional array with reverse-mode autograd. Cloning is cheap (shared handle).
#[derive(Clone)]
pub struct Tensor(Arc<Inner>);

struct Inner {
    id: TensorId,
    storage: Arc<RwLock<Storage>>,
    layout: Layout,
    dtype: DType,
    device: Device,
    requires_grad: AtomicBool,
    /// Set when an op recorded a node here; stays set after backward frees the node.
    op_output: AtomicBool,
    /// The op that made this tensor; taken (and its saved tensors freed) by backward.
    node: Mutex<Option<Node>>,
    /// Accumulated gradient of a leaf tensor (`.grad` in PyTorch).
    grad: Mutex<Option<Tensor>>,
}

impl Tensor {
    // ---------------------------------------------------------------- construction

    /// A tensor over `storage` viewed through `layout`, not tracked by autograd.
    /// Errors when the layout reaches past the end of the storage: every kernel indexes
    /// (or hands raw pointers into) the storage trusting that invariant.
    pub(crate) fn from_parts(storage: Arc<RwLock<Storage>>, layout: Layout) -> Result<Tensor> {
        let (dtype, device, len) = {
            let s = storage.read().unwrap_or_else(PoisonError::into_inner);
            (s.dtype(), s.device(), s.len())
        };
        let span = layout.storage_span().ok_or_else(|| {
            Error::shape("tensor", format!("layout {layout:?} is malformed (strides do not match the rank, or the span overflows)"))
        })?;
        if span > len {
            return Err(Error::shape(
                "tensor",
                format!(
                    "layout {:?} (strides {:?}, offset {}) needs {span} elements but the storage holds {len}",
                    layout.shape, layout.strides, layout.offset
                ),
            ));
        }
        Ok(Tensor::new_unchecked(storage, layout, dtype, device))
    }

    /// A fresh untracked tensor; `layout` must fit `storage` (see [`Tensor::from_parts`]).
    fn new_unchecked(
        storage: Arc<RwLock<Storage>>,
        layout: Layout,
        dtype: DType,
        device: Device,
    ) -> Tensor {
        Tensor(Arc::new(Inner {
            id: TensorId::fresh(),
            storage,
            layout,
            dtype,
            device,
            requires_grad: AtomicBool::new(false),
            op_output: AtomicBool::new(false),
            node: Mutex::new(None),
            grad: Mutex::new(None),
        }))
    }

    /// A fresh contiguous tensor owning `storage` (an error when it is too short).
    pub fn from_storage(storage: Storage, shape: impl Into<Shape>) -> Result<Tensor> {
        Tensor::from_parts(
            Arc::new(RwLock::new(storage)),
            Layout::contiguous(shape.into()),
        )
    }

    /// A fresh CPU tensor from a vector of f32 or f64 values in row-major order.
    pub fn from_vec<F: Float>(data: Vec<F>, shape: impl Into<Shape>) -> Result<Tensor> {
        let shape = shape.into();
        if data.len() != shape.numel() {
            return Err(Error::shape(
                "from_vec",
                format!(
                    "{} values do not fill shape {shape:?} ({} elements)",
                    data.len(),
                    shape.numel()
                ),
            ));
        }
        Tensor::from_storage(Storage::Cpu(F::into_storage(data)), shape)
    }

    /// A tensor filled with `value`.
    pub fn full(
        shape: impl Into<Shape>,
        value: f64,
        dtype: DType,
        device: Device,
    ) -> Result<Tensor> {
        device.ensure_available()?;
        if device.is_cuda() {
            let shape = shape.into();
            let dev = crate::backend::cuda::CudaDevice::get(device)?;
            let s = crate::backend::cuda::copy::fill(&dev, shape.numel(), dtype, value)?;
            return Tensor::from_storage(Storage::Cuda(s), shape);
        }
        Ok(match dtype {
            DType::F32 => Tensor::from_fn(shape, || value as f32),
            DType::F64 => Tensor::from_fn(shape, || value),
        })
    }

    /// A contiguous CPU tensor whose elements are drawn in order from `draw`. The storage
    /// is sized from the shape, so it always fits: infallible.
    pub(crate) fn from_fn<F: Float>(
        shape: impl Into<Shape>,
        mut draw: impl FnMut() -> F,
    ) -> Tensor {
        let shape = shape.into();
        let values: Vec<F> = (0..shape.numel()).map(|_| draw()).collect();
        let storage = Arc::new(RwLock::new(Storage::Cpu(F::into_storage(values))));
        Tensor::new_unchecked(storage, Layout::contiguous(shape), F::DTYPE, Device::Cpu)
    }

    /// `values` (computed in f64) as a CPU tensor of `dtype`: the one dtype-matched
    /// constructor the ops use for results they compute in f64.
    pub(crate) fn from_f64_in(
        values: &[f64],
        shape: impl Into<Shape>,
        dtype: DType,
    ) -> Result<Tensor> {
        match dtype {
            DType::F32 => Tensor::from_vec(values.iter().map(|&v| v as f32).collect(), shape),
            DType::F64 => Tensor::from_vec(values.to_vec(), shape),
        }
    }

    pub fn zeros(shape: impl Into<Shape>, dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::full(shape, 0.0, dtype, device)
    }

    pub fn ones(shape: impl Into<Shape>, dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::full(shape, 1.0, dtype, device)
    }

    /// A 0-dimensional tensor holding `value`.
    pub fn scalar(value: f64, dtype: DType, device: Device) -> Result<Tensor> {
        Tensor::full(Shape::new(vec![]), value, dtype, device)
    }

    pub fn zeros_like(&self) -> Result<Tensor> {
        Tensor::zeros(self.shape(), self.dtype(), self.device())
    }

    pub fn ones_like(&self) -> Result<Tensor> {
        Tensor::ones(self.shape(), self.dtype(), self.device())
    }

    /// `start, start + step, ...` up to but excluding `end`, as a 1-D tensor.
    pub fn arange(start: f64, end: f64, step: f64, dtype: DType, device: Device) -> Result<Tensor> {
        if step == 0.0 || !step.is_finite() {
            return Err(Error::argument(
                "arange",
                format!("step must be finite and non-zero, got {step}"),
            ));
        }
        let n = ((end - start) / step).ceil().max(0.0) as usize;
        let values: Vec<f64> = (0..n).map(|i| start + i as f64 * step).collect();
        Tensor::from_f64s(values, [n], dtype, device)
    }

    /// Uniform samples in `[low, high)` from `rng`.
    pub fn rand(
        shape: impl Into<Shape>,
        low: f64,
        high: f64,
        dtype: DType,
        device: Device,
        rng: &mut Rng,
    ) -> Result<Tensor> {
        Tensor::sample(shape, dtype, device, || low + (high - low) * rng.uniform())
    }

    /// Normal samples with the given mean and standard deviation from `rng`.
    pub fn randn(
        shape: impl Into<Shape>,
        mean: f64,
        std: f64,
        dtype: DType,
        device: Device,
        rng: &mut Rng,
    ) -> Result<Tensor> {
        Tensor::sample(shape, dtype, device, || mean + std * rng.normal())
    }

    /// A tensor of `shape.numel()` values drawn in order from `draw`.
    fn sample(
        shape: impl Into<Shape>,
        dtype: DType,
        device: Device,
        mut draw: impl FnMut() -> f64,
    ) -> Result<Tensor> {
        let shape = shape.into();
        let values: Vec<f64> = (0..shape.numel()).map(|_| draw()).collect();
        Tensor::from_f64s(values, shape, dtype, device)
    }

    /// `values` (computed in f64) as a `dtype` tensor on `device`.
    pub(crate) fn from_f64s(
        values: Vec<f64>,
        shape: impl Into<Shape>,
        dtype: DType,
        device: Device,
    ) -> Result<Tensor> {
        Tensor::from_f64_in(&values, shape, dtype)?.to_device(device)
    }

    // ---------------------------------------------------------------- accessors

    pub fn id(&self) -> TensorId {
        self.0.id
    }
    pub fn shape(&self) -> &Shape {
        &self.0.layout.shape
    }
    pub fn dims(&self) -> &[usize] {
        self.0.layout.shape.dims()
    }
    /// The size of dimension `d` (panics when out of range, like slice indexing).
    pub fn dim(&self, d: usize) -> usize {
        self.dims()[d]
    }
    pub fn rank(&self) -> usize {
        self.0.layout.shape.rank()
    }
    pub fn numel(&self) -> usize {
        self.0.layout.shape.numel()
    }
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }
    pub fn device(&self) -> Device {
        self.0.device
    }
    pub fn layout(&self) -> &Layout {
        &self.0.layout
    }
    pub fn is_contiguous(&self) -> bool {
        self.0.layout.is_contiguous()
    }
    pub(crate) fn read_storage(&self) -> RwLockReadGuard<'_, Storage> {
        self.0
            .storage
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }
    pub(crate) fn write_storage(&self) -> RwLockWriteGuard<'_, Storage> {
        self.0
            .storage
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }
    /// The device address of a contiguous CUDA tensor's first element (valid while the
    /// tensor lives: its storage cannot move).
    pub(crate) fn cuda_ptr(&self, op: &'static str) -> Result<u64> {
        if !self.is_contiguous() {
            return Err(Error::argument(op, "expected a contiguous tensor"));
        }
        match &*self.read_storage() {
            Storage::Cuda(s) => Ok(s.ptr_at(self.layout().offset)),
            Storage::Cpu(_) => Err(Error::device(
                op,
                format!("expected a CUDA tensor, got one on {}", self.device()),
            )),
        }
    }
    /// The storage range of a contiguous tensor's elements.
    pub(crate) fn dense_range(&self) -> std::ops::Range<usize> {
        debug_assert!(self.is_contiguous(), "dense_range of a strided tensor");
        self.layout().offset..self.layout().offset + self.numel()
    }
    /// Another view of this tensor's memory (untracked; ops record their own node).
    pub(crate) fn view_as(&self, layout: Layout) -> Result<Tensor> {
        Tensor::from_parts(self.0.storage.clone(), layout)
    }
    /// True when both tensors view the same memory.
    pub fn same_storage(&self, other: &Tensor) -> bool {
        Arc::ptr_eq(&self.0.storage, &other.0.storage)
    }

    // ---------------------------------------------------------------- autograd state

    pub fn requires_grad(&self) -> bool {
        self.0.requires_grad.load(Ordering::Relaxed)
    }
    /// Marks a leaf tensor as one whose gradient backward should compute.
    pub fn set_requires_grad(&self, on: bool) -> &Tensor {
        self.0.requires_grad.store(on, Ordering::Relaxed);
        self
    }
    /// Builder form of [`Tensor::set_requires_grad`].
    pub fn requires_grad_(self, on: bool) -> Tensor {
        self.set_requires_grad(on);
        self
    }
    /// True for tensors not produced by a tracked op.
    pub fn is_leaf(&self) -> bool {
        self.0
            .node
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_none()
    }
    pub(crate) fn set_node(&self, node: Node) {
        self.0.requires_grad.store(true, Ordering::Relaxed);
        self.0.op_output.store(true, Ordering::Relaxed);
        *self.0.node.lock().unwrap_or_else(PoisonError::into_inner) = Some(node);
    }
    /// True for outputs of recorded ops, also after backward has freed their node.
    pub(crate) fn is_op_output(&self) -> bool {
        self.0.op_output.load(Ordering::Relaxed)
    }
    pub(crate) fn take_node(&self) -> Option<Node> {
        self.0
            .node
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
    }
    pub(crate) fn node_inputs(&self) -> Option<Vec<Tensor>> {
        self.0
            .node
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .as_ref()
            .map(|n| n.inputs.clone())
    }
    /// The accumulated gradient, if backward has reached this tensor.
    pub fn grad(&self) -> Option<Tensor> {
        self.0
            .grad
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
    pub fn set_grad(&self, grad: Option<Tensor>) {
        *self.0.grad.lock().unwrap_or_else(PoisonError::into_inner) = grad;
    }
    /// Clears the accumulated gradient.
    pub fn zero_grad(&self) {
        self.set_grad(None);
    }
    /// The same data, cut from the graph (no gradient flows through it).
    pub fn detach(&self) -> Tensor {
        // This tensor's layout already passed `from_parts`' check.
        Tensor::new_unchecked(
            self.0.storage.clone(),
            self.0.layout.clone(),
            self.0.dtype,
            self.0.device,
        )
    }

    // ---------------------------------------------------------------- data out

    /// The elements in row-major order, converted to `F`.
    pub fn to_vec<F: Float>(&self) -> Result<Vec<F>> {
        let storage = self.read_storage();
        match &*storage {
            Storage::Cpu(s) => Ok(crate::cpu_with!(s, |v: T| self
                .layout()
                .indices()
                .map(|i| F::from_f64(v[i].to_f64()))
                .collect())),
            Storage::Cuda(s) => {
                let host = s.to_host()?;
                Ok(crate::cpu_with!(&host, |v: T| self
                    .layout()
                    .indices()
                    .map(|i| F::from_f64(v[i].to_f64()))
                    .collect()))
            }
        }
    }
    pub fn to_vec_f32(&self) -> Result<Vec<f32>> {
        self.to_vec::<f32>()
    }
    pub fn to_vec_f64(&self) -> Result<Vec<f64>> {
        self.to_vec::<f64>()
    }
    /// The single value of a one-element tensor.
    pub fn item(&self) -> Result<f64> {
        if self.numel() != 1 {
            return Err(Error::shape(
                "item",
                format!("tensor of shape {:?} is not a single value", self.shape()),
            ));
        }
        Ok(self.to_vec::<f64>()?[0])
    }

    /// Overwrites this tensor's elements with `src`'s (same shape), outside autograd.
    /// Used by optimizers and checkpoint loading; `self` must be contiguous.
    pub fn assign(&self, src: &Tensor) -> Result<()> {
        if src.shape() != self.shape() {
            return Err(Error::shape(
                "assign",
                format!("source {:?} vs destination {:?}", src.shape(), self.shape()),
            ));
        }
        if !self.is_contiguous() {
            return Err(Error::argument("assign", "destination must be contiguous"));
        }
        let (off, n) = (self.layout().offset, self.numel());
        if self.same_storage(src) {
            let copy = src.to_vec::<f64>()?;
            return self.assign(&Tensor::from_vec(copy, self.shape())?);
        }
        let values = src.read_storage();
        let mut dst = self.write_storage();
        match (&mut *dst, &*values) {
            (Storage::Cpu(d), Storage::Cpu(s)) => crate::cpu_with!(d, |d: T| {
                crate::cpu_with!(s, |s: S| {
                    for (o, i) in d[off..off + n].iter_mut().zip(src.layout().indices()) {
                        *o = T::from_f64(s[i].to_f64());
                    }
                })
            }),
            (Storage::Cuda(d), _) => {
                drop(values);
                let host = match d.dtype() {
                    DType::F32 => crate::device::CpuStorage::F32(src.to_vec()?),
                    DType::F64 => crate::device::CpuStorage::F64(src.to_vec()?),
                };
                d.write_at(off, &host)?;
            }
            (Storage::Cpu(_), Storage::Cuda(_)) => {
                drop(values);
                drop(dst);
                return self.assign(&src.to_device(Device::Cpu)?);
            }
        }
        Ok(())
    }
}

/// Read guards over the storages of several tensors, one guard per distinct storage:
/// a second read guard of one `RwLock` on the same thread may panic or deadlock when a
/// writer waits in between (std leaves it unspecified), and `x.mul(&x)` would take two.
pub(crate) struct Reads<'a> {
    guards: Vec<RwLockReadGuard<'a, Storage>>,
    /// `slot[i]`: the guard of `tensors[i]`.
    slot: Vec<usize>,
}

impl<'a> Reads<'a> {
    pub(crate) fn new(tensors: &[&'a Tensor]) -> Reads<'a> {
        let mut owners: Vec<&Tensor> = Vec::new();
        let mut guards = Vec::new();
        let slot = tensors
            .iter()
            .map(|t| match owners.iter().position(|o| o.same_storage(t)) {
                Some(i) => i,
                None => {
                    owners.push(t);
                    guards.push(t.read_storage());
                    guards.len() - 1
                }
            })
            .collect();
        Reads { guards, slot }
    }
    /// The storage of the `i`-th tensor passed to [`Reads::new`].
    pub(crate) fn get(&self, i: usize) -> &Storage {
        &self.guards[self.slot[i]]
    }
    /// How many locks are held (one per distinct storage).
    #[cfg(test)]
    pub(crate) fn locks(&self) -> usize {
        self.guards.len()
    }
}

impl std::fmt::Debug for Tensor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let values = self.to_vec::<f64>().unwrap_or_default();
        let shown: Vec<String> = values.iter().take(8).map(|v| format!("{v:.4}")).collect();
        let more = if values.len() > 8 { ", ..." } else { "" };
        write!(
            f,
            "Tensor[{:?}, {}, {}]([{}{more}])",
            self.shape(),
            self.dtype(),
            self.device(),
            shown.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_read_guard_per_storage() {
        let x = Tensor::from_vec(vec![1.0f32, 2.0, 3.0, 4.0], [2, 2]).unwrap();
        let xt = x.t().unwrap();
        let y = Tensor::from_vec(vec![1.0f32; 4], [2, 2]).unwrap();
        let r = Reads::new(&[&x, &xt, &y, &x]);
        assert_eq!(r.locks(), 2);
        assert!(matches!(r.get(3), Storage::Cpu(_)));
    }

    #[test]
    fn layout_past_the_storage_is_an_error() {
        let storage = Arc::new(RwLock::new(Storage::Cpu(CpuStorage::F32(vec![0.0; 5]))));
        let l = |dims: Vec<usize>, strides: Vec<usize>, offset| Layout {
            shape: Shape::new(dims),
            strides,
            offset,
        };
        assert!(Tensor::from_parts(storage.clone(), l(vec![5], vec![1], 0)).is_ok());
        assert!(Tensor::from_parts(storage.clone(), l(vec![5], vec![1], 1)).is_err());
        assert!(Tensor::from_parts(storage.clone(), l(vec![2, 2], vec![4, 1], 0)).is_err());
        assert!(Tensor::from_parts(storage.clone(), l(vec![0, 7], vec![9, 1], 99)).is_ok());
        assert!(Tensor::from_parts(storage.clone(), l(vec![2], vec![1, 1], 0)).is_err());
        assert!(Tensor::from_parts(storage, l(vec![2], vec![usize::MAX], 0)).is_err());
    }
}
