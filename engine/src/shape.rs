//! Shapes, strides and broadcasting.

use crate::error::{Error, Result};

/// The extent of each dimension of a tensor.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct Shape(Vec<usize>);

impl Shape {
    pub fn new(dims: Vec<usize>) -> Self {
        Shape(dims)
    }
    pub fn dims(&self) -> &[usize] {
        &self.0
    }
    pub fn rank(&self) -> usize {
        self.0.len()
    }
    pub fn numel(&self) -> usize {
        self.0.iter().product()
    }
    /// Row-major (C order) strides.
    pub fn contiguous_strides(&self) -> Vec<usize> {
        let mut strides = vec![1; self.0.len()];
        for i in (0..self.0.len().saturating_sub(1)).rev() {
            strides[i] = strides[i + 1] * self.0[i + 1];
        }
        strides
    }
    /// The shape both `self` and `other` broadcast to (NumPy rules).
    pub fn broadcast(&self, other: &Shape, op: &'static str) -> Result<Shape> {
        let rank = self.rank().max(other.rank());
        let mut out = vec![0; rank];
        for (i, o) in out.iter_mut().enumerate() {
            let a = dim_from_right(&self.0, rank - 1 - i);
            let b = dim_from_right(&other.0, rank - 1 - i);
            *o = match (a, b) {
                (a, b) if a == b => a,
                (1, b) => b,
                (a, 1) => a,
                _ => {
                    return Err(Error::shape(
                        op,
                        format!("cannot broadcast {self:?} with {other:?}"),
                    ))
                }
            };
        }
        Ok(Shape(out))
    }
}

fn dim_from_right(dims: &[usize], from_right: usize) -> usize {
    if from_right < dims.len() {
        dims[dims.len() - 1 - from_right]
    } else {
        1
    }
}

impl std::fmt::Debug for Shape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape(d.to_vec())
    }
}
impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape(d)
    }
}
impl From<&Vec<usize>> for Shape {
    fn from(d: &Vec<usize>) -> Self {
        Shape(d.clone())
    }
}
impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape(d.to_vec())
    }
}
impl From<&Shape> for Shape {
    fn from(s: &Shape) -> Self {
        s.clone()
    }
}

/// Where a tensor's elements live inside its storage: shape, strides (in elements) and
/// the offset of the first element. Views (transpose, narrow, expand) only change this.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    pub shape: Shape,
    pub strides: Vec<usize>,
    pub offset: usize,
}

impl Layout {
    pub fn contiguous(shape: Shape) -> Self {
        let strides = shape.contiguous_strides();
        Layout {
            shape,
            strides,
            offset: 0,
        }
    }
    pub fn dims(&self) -> &[usize] {
        self.shape.dims()
    }
    /// True when the elements are dense in row-major order (size-1 dims may have any stride).
    pub fn is_contiguous(&self) -> bool {
        let mut expected = 1;
        for (&d, &s) in self.dims().iter().zip(&self.strides).rev() {
            if d != 1 && s != expected {
                return false;
            }
            expected *= d;
        }
        true
    }
    /// How many storage elements this layout reaches: one past its largest index (0 when
    /// it has no elements); `None` on overflow.
    pub fn storage_span(&self) -> Option<usize> {
        if self.strides.len() != self.shape.rank() {
            return None;
        }
        if self.shape.numel() == 0 {
            return Some(0);
        }
        let mut last = self.offset;
        for (&d, &s) in self.dims().iter().zip(&self.strides) {
            last = last.checked_add((d - 1).checked_mul(s)?)?;
        }
        last.checked_add(1)
    }
    /// The storage index of every element, in row-major order of the logical shape.
    pub fn indices(&self) -> StridedIndex<'_> {
        StridedIndex::new(self)
    }
    /// This layout seen with a broadcast `shape` (size-1 or missing dims get stride 0).
    pub fn broadcast_to(&self, shape: &Shape) -> Result<Layout> {
        let rank = shape.rank();
        if self.shape.rank() > rank {
            return Err(Error::shape(
                "broadcast_to",
                format!("cannot broadcast {:?} to {:?}", self.shape, shape),
            ));
        }
        let pad = rank - self.shape.rank();
        let mut strides = vec![0; rank];
        for (i, stride) in strides.iter_mut().enumerate().skip(pad) {
            let d = self.dims()[i - pad];
            if d == shape.dims()[i] {
                *stride = self.strides[i - pad];
            } else if d != 1 {
                return Err(Error::shape(
                    "broadcast_to",
                    format!("cannot broadcast {:?} to {:?}", self.shape, shape),
                ));
            }
        }
        Ok(Layout {
            shape: shape.clone(),
            strides,
            offset: self.offset,
        })
    }
}

/// Iterates storage indices of a strided layout in logical row-major order.
pub struct StridedIndex<'a> {
    layout: &'a Layout,
    counter: Vec<usize>,
    next: Option<usize>,
}

impl<'a> StridedIndex<'a> {
    fn new(layout: &'a Layout) -> Self {
        let next = (layout.shape.numel() > 0).then_some(layout.offset);
        StridedIndex {
            layout,
            counter: vec![0; layout.shape.rank()],
            next,
        }
    }
}

impl Iterator for StridedIndex<'_> {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        let current = self.next?;
        let dims = self.layout.dims();
        let strides = &self.layout.strides;
        let mut idx = current;
        let mut d = dims.len();
        loop {
            if d == 0 {
                self.next = None;
                break;
            }
            d -= 1;
            self.counter[d] += 1;
            idx += strides[d];
            if self.counter[d] < dims[d] {
                self.next = Some(idx);
                break;
            }
            idx -= strides[d] * dims[d];
            self.counter[d] = 0;
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broadcast_rules() {
        let a = Shape::from([3, 1, 5]);
        let b = Shape::from([4, 1]);
        assert_eq!(a.broadcast(&b, "t").unwrap(), Shape::from([3, 4, 5]));
        assert!(Shape::from([3]).broadcast(&Shape::from([4]), "t").is_err());
    }

    #[test]
    fn strided_index_of_transpose() {
        // A 2x3 matrix viewed transposed (3x2): strides (1, 3).
        let l = Layout {
            shape: Shape::from([3, 2]),
            strides: vec![1, 3],
            offset: 0,
        };
        assert_eq!(l.indices().collect::<Vec<_>>(), vec![0, 3, 1, 4, 2, 5]);
        assert!(!l.is_contiguous());
        assert!(Layout::contiguous(Shape::from([2, 3])).is_contiguous());
    }
}
