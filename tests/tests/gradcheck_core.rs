//! Gradient checks of the core ops: elementwise (with broadcasting), reductions,
//! matmul and views, including non-contiguous (transposed) inputs.

use engine::{Rng, UnaryOp};
use tests::{check, gradcheck, leaf, positive_leaf};

#[test]
fn unary_gradcheck() {
    let mut rng = Rng::new(1);
    for op in tests::sample_unary_ops() {
        let x = leaf(&[3, 5], &mut rng);
        check(&[x], |t| t[0].unary(op));
    }
    for op in [
        UnaryOp::Log,
        UnaryOp::Sqrt,
        UnaryOp::Powf(2.5),
        UnaryOp::Powf(-1.5),
    ] {
        let x = positive_leaf(&[4, 3], &mut rng);
        check(&[x], |t| t[0].unary(op));
    }
}

#[test]
fn binary_broadcast_gradcheck() {
    let mut rng = Rng::new(2);
    let shapes: [(&[usize], &[usize]); 4] = [
        (&[3, 4], &[3, 4]),
        (&[2, 3, 4], &[4]),
        (&[3, 1], &[1, 5]),
        (&[2, 1, 3], &[4, 1]),
    ];
    for (sa, sb) in shapes {
        let a = leaf(sa, &mut rng);
        let b = positive_leaf(sb, &mut rng);
        check(&[a.clone(), b.clone()], |t| t[0].add(&t[1]));
        check(&[a.clone(), b.clone()], |t| t[0].sub(&t[1]));
        check(&[a.clone(), b.clone()], |t| t[0].mul(&t[1]));
        check(&[a, b], |t| t[0].div(&t[1]));
    }
}

#[test]
fn reduce_gradcheck() {
    let mut rng = Rng::new(3);
    let x = leaf(&[3, 4, 5], &mut rng);
    check(std::slice::from_ref(&x), |t| t[0].sum(&[1], false));
    check(std::slice::from_ref(&x), |t| t[0].sum(&[0, 2], true));
    check(std::slice::from_ref(&x), |t| t[0].mean(&[2], false));
    check(std::slice::from_ref(&x), |t| t[0].mean_all());
    check(std::slice::from_ref(&x), |t| t[0].max(&[1], false));
    check(&[x], |t| t[0].max(&[0, 2], true));
}

#[test]
fn matmul_gradcheck() {
    let mut rng = Rng::new(4);
    let a = leaf(&[3, 5], &mut rng);
    let b = leaf(&[5, 7], &mut rng);
    check(&[a, b], |t| t[0].matmul(&t[1]));
    // Batched with a broadcast right-hand side, and a transposed (strided) operand.
    let a = leaf(&[2, 3, 4], &mut rng);
    let b = leaf(&[6, 4], &mut rng);
    check(&[a, b], |t| t[0].matmul(&t[1].t()?));
    let x = leaf(&[4, 3], &mut rng);
    let w = leaf(&[2, 3], &mut rng);
    let bias = leaf(&[2], &mut rng);
    check(&[x, w, bias], |t| t[0].linear(&t[1], Some(&t[2])));
}

#[test]
fn view_gradcheck() {
    let mut rng = Rng::new(5);
    let x = leaf(&[2, 3, 4], &mut rng);
    check(std::slice::from_ref(&x), |t| {
        t[0].permute(&[2, 0, 1])?.contiguous()
    });
    check(std::slice::from_ref(&x), |t| {
        t[0].transpose(0, 2)?.reshape([4, 6])
    });
    check(std::slice::from_ref(&x), |t| t[0].narrow(2, 1, 2)?.exp());
    check(std::slice::from_ref(&x), |t| t[0].flatten(1, 2));
    check(std::slice::from_ref(&x), |t| {
        t[0].index_select(1, &[2, 0, 2])
    });
    let y = leaf(&[3, 1], &mut rng);
    check(&[y], |t| t[0].broadcast_to([2, 3, 4]));
    // Non-contiguous input to an elementwise op and a reduction.
    check(&[x], |t| t[0].transpose(1, 2)?.tanh()?.sum(&[1], false));
}

#[test]
fn gradcheck_catches_a_wrong_gradient() {
    // x * detach(x) has analytic gradient x but true derivative 2x: the check must fail.
    let mut rng = Rng::new(6);
    let x = leaf(&[4], &mut rng);
    let verdict = gradcheck(&[x], |t| t[0].mul(&t[0].detach()));
    assert!(verdict.is_err(), "gradcheck accepted a wrong gradient");
}
