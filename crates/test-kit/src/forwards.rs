//! A network's two forward passes on the committed model: the `inference-kernels` crate's layers,
//! which the self-contained modules run, against Burn's, which training evaluated and which the
//! host's named graphs run.

use module_kit::artifacts::Artifacts;
use module_kit::graph::{Forward, GraphInput, GraphSpec};

/// How far the two may differ: they sum the same products in different orders, so an output
/// may move by a few units in the last place of its largest terms, never more.
const TOLERANCE: f32 = 1e-5;

/// Runs `input` through both networks and fails unless every output agrees within
/// `TOLERANCE * (1 + |burn|)` and every row picks the same class (for more than one column).
/// Returns the largest difference seen.
pub fn assert_forwards_agree<Kernels: Forward, Burn: Forward>(
    artifacts: &Artifacts<'static>,
    spec: &GraphSpec,
    input: GraphInput,
) -> f32 {
    let rows = input.rows();
    assert!(rows > 0, "compare at least one row");
    let kernels = Kernels::load(artifacts, spec).expect("the kernels load the committed model");
    let burn = Burn::load(artifacts, spec).expect("burn loads the committed model");
    let ours = kernels.forward(input.clone()).expect("the kernels answer");
    let theirs = burn.forward(input).expect("burn answers");
    let columns = spec.output_columns();
    assert_eq!(ours.len(), rows * columns, "the kernels' output size");
    assert_eq!(theirs.len(), rows * columns, "burn's output size");
    let mut largest = 0.0f32;
    for (row, (a, b)) in ours.chunks(columns).zip(theirs.chunks(columns)).enumerate() {
        for (column, (&x, &y)) in a.iter().zip(b).enumerate() {
            let difference = (x - y).abs();
            assert!(
                difference <= TOLERANCE * (1.0 + y.abs()),
                "row {row}, output {column}: kernels {x}, burn {y}"
            );
            largest = largest.max(difference);
        }
        if columns > 1 {
            assert_eq!(
                argmax(a),
                argmax(b),
                "row {row}: the kernels pick another class"
            );
        }
    }
    largest
}

fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// A seeded F32 batch of `shape` with values uniform in `low..high`, each replaced by `zero`
/// with probability `zero_share` (images are mostly background).
pub fn random_input(
    shape: &[usize],
    (low, high): (f32, f32),
    zero: (f32, f64),
    seed: u64,
) -> GraphInput {
    use rand::{RngExt, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (zero, zero_share) = zero;
    let values = (0..shape.iter().product::<usize>())
        .map(|_| match rng.random_bool(zero_share) {
            true => zero,
            false => rng.random_range(low..high),
        })
        .collect();
    GraphInput::F32 {
        shape: shape.to_vec(),
        values,
    }
}
