//! CPU vs CUDA (simulator; a GPU too when present): index_select (repeated and unsorted
//! indices) and narrow, forward and backward.

use engine::Rng;
use tests::agree::{assert_agrees, inputs, F32_TOL};

#[test]
fn index_select_agrees_on_every_dim() {
    let mut rng = Rng::new(61);
    let x = inputs(&[&[4, 5, 3]], &mut rng);
    for (dim, idx) in [
        (0, vec![3, 0, 3, 1]),
        (1, vec![4, 4, 0]),
        (2, vec![2, 1, 0, 0, 2]),
    ] {
        assert_agrees("index_select", &x, F32_TOL, |t| {
            t[0].index_select(dim, &idx)
        });
    }
}

#[test]
fn narrow_agrees() {
    let mut rng = Rng::new(62);
    let x = inputs(&[&[6, 7, 2]], &mut rng);
    for (dim, start, len) in [(0, 1, 3), (1, 0, 7), (1, 5, 2), (2, 1, 1)] {
        assert_agrees("narrow", &x, F32_TOL, |t| {
            t[0].narrow(dim, start, len)?.mul_scalar(2.0)
        });
    }
}
