//! A dense layer's product `y = x W` (burn's layout: `W` is `[inputs, outputs]`) and its backward
//! pass, every product one strided gemm: burn's generic backward transposes `x` and `W` into
//! new buffers first.

use crate::matmul::{View, matmul};

/// `[rows, inputs] x [inputs, outputs]`.
pub(crate) fn forward(x: &[f32], weight: &[f32], [rows, inputs, outputs]: [usize; 3]) -> Vec<f32> {
    let mut y = vec![0.0; rows * outputs];
    matmul(
        &mut y,
        View::rows(x, rows, inputs),
        View::rows(weight, inputs, outputs),
        false,
    );
    y
}

/// Gradients of `x` and `W`, each when asked for.
pub(crate) fn backward(
    grad_out: &[f32],
    x: &[f32],
    weight: &[f32],
    [rows, inputs, outputs]: [usize; 3],
    [want_x, want_weight]: [bool; 2],
) -> (Option<Vec<f32>>, Option<Vec<f32>>) {
    let dy = View::rows(grad_out, rows, outputs);
    let grad_x = want_x.then(|| {
        let mut dx = vec![0.0; rows * inputs];
        matmul(&mut dx, dy, View::rows(weight, inputs, outputs).t(), false);
        dx
    });
    let grad_weight = want_weight.then(|| {
        let mut dw = vec![0.0; inputs * outputs];
        matmul(&mut dw, View::rows(x, rows, inputs).t(), dy, false);
        dw
    });
    (grad_x, grad_weight)
}
