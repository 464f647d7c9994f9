//! Feature standardisation (zero mean, unit variance) with statistics fitted on the training
//! split only. The fitted statistics are saved with the model and applied unchanged at
//! inference, by this same code.

use serde::{Deserialize, Serialize};

/// Per-feature mean and standard deviation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standardizer {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl Standardizer {
    /// Fits the statistics to `rows` (each of the same width), in f64 for accuracy.
    /// A constant feature gets a standard deviation of 1 so it maps to 0, not NaN.
    pub fn fit<R: AsRef<[f32]>>(rows: &[R]) -> Self {
        let width = rows.first().map_or(0, |r| r.as_ref().len());
        let count = rows.len().max(1) as f64;
        let mut sum = vec![0f64; width];
        for row in rows {
            for (s, &x) in sum.iter_mut().zip(row.as_ref()) {
                *s += f64::from(x);
            }
        }
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let mut squares = vec![0f64; width];
        for row in rows {
            for ((s, &x), m) in squares.iter_mut().zip(row.as_ref()).zip(&mean) {
                *s += (f64::from(x) - m).powi(2);
            }
        }
        let std = squares
            .iter()
            .map(|s| (s / count).sqrt())
            .map(|sd| if sd > 1e-12 { sd as f32 } else { 1.0 })
            .collect();
        Self {
            mean: mean.iter().map(|&m| m as f32).collect(),
            std,
        }
    }

    /// Number of features the statistics were fitted to.
    pub fn width(&self) -> usize {
        self.mean.len()
    }

    /// Standardises one row.
    pub fn apply(&self, row: &[f32]) -> Vec<f32> {
        row.iter()
            .zip(self.mean.iter().zip(&self.std))
            .map(|(&x, (&m, &s))| (x - m) / s)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fitted_statistics_standardise_the_training_rows() {
        let rows = [[1.0f32, 10.0], [3.0, 10.0]];
        let standardizer = Standardizer::fit(&rows);
        assert_eq!(standardizer.mean, vec![2.0, 10.0]);
        assert_eq!(standardizer.std, vec![1.0, 1.0]);
        assert_eq!(standardizer.apply(&[3.0, 10.0]), vec![1.0, 0.0]);
    }

    #[test]
    fn survives_a_json_round_trip_bit_for_bit() {
        let standardizer = Standardizer::fit(&[[0.1f32, 7.3], [0.7, 2.9], [1.3, 4.4]]);
        let json = serde_json::to_string(&standardizer).unwrap();
        assert_eq!(
            serde_json::from_str::<Standardizer>(&json).unwrap(),
            standardizer
        );
    }
}
