//! Turning model outputs into answers, the same way in every module.

/// Index of the largest value; the first one on ties, so the answer is deterministic.
pub fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// A probability rounded to six decimals for JSON output: enough to rank classes, and short.
pub fn round6(p: f32) -> f64 {
    (f64::from(p) * 1e6).round() / 1e6
}

/// `{"class": ..., "probabilities": {label: p, ...}}`, the `--json` answer of a classifier.
pub fn classification_json(
    class: &str,
    labels: &[&str],
    probabilities: &[f32],
) -> serde_json::Value {
    let probabilities: serde_json::Map<String, serde_json::Value> = labels
        .iter()
        .zip(probabilities)
        .map(|(label, &p)| ((*label).to_owned(), serde_json::json!(round6(p))))
        .collect();
    serde_json::json!({ "class": class, "probabilities": probabilities })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_takes_the_first_of_equal_maxima() {
        assert_eq!(argmax(&[0.1, 0.7, 0.2]), 1);
        assert_eq!(argmax(&[0.5, 0.5]), 0);
    }

    #[test]
    fn round6_keeps_six_decimals() {
        assert_eq!(round6(0.123_456_78), 0.123457);
    }
}
