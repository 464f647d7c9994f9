//! Inputs made of named numbers (Iris' measurements, Wine's analysis), each listed once per
//! model in a table of [`Feature`]s: the JSON keys, their order in the model's input, their
//! units, the physically possible values, and the input schema `--info` shows all come from it.

use serde_json::{Map, Value, json};

/// One named number of a model's input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Feature {
    /// The JSON key (snake_case).
    pub key: &'static str,
    pub unit: &'static str,
    /// The smallest and largest possible values; anything else is refused.
    pub min: f32,
    pub max: f32,
}

impl Feature {
    /// A dataset file's text field as this feature's value: a number within its range.
    pub fn parse_field(&self, field: &str) -> Result<f32, String> {
        let value: f32 = field
            .trim()
            .parse()
            .map_err(|_| format!("{} '{field}' is not a number", self.key))?;
        if !(self.min..=self.max).contains(&value) {
            return Err(format!(
                "{} '{field}' is outside {} to {} {}",
                self.key, self.min, self.max, self.unit
            ));
        }
        Ok(value)
    }

    /// The value, if it is finite and possible.
    pub fn check(&self, value: f32) -> Result<f32, String> {
        require_range(self.key, value, self.min, self.max)?;
        Ok(value)
    }

    /// This feature in `--info`'s input schema.
    pub fn schema(&self) -> Value {
        json!({"type": "number", "unit": self.unit, "minimum": self.min, "maximum": self.max})
    }
}

/// Takes the table's features out of a JSON object, in table order, checked. Serde's wording
/// for a missing field or a wrong type, so messages read the same as for derived inputs.
pub fn take_features<const N: usize>(
    object: &mut Map<String, Value>,
    table: &[Feature; N],
) -> Result<[f32; N], String> {
    let mut values = [0f32; N];
    for (slot, feature) in values.iter_mut().zip(table) {
        let value = object
            .remove(feature.key)
            .ok_or_else(|| format!("missing field `{}`", feature.key))?;
        let value: f32 = serde_json::from_value(value).map_err(|e| e.to_string())?;
        *slot = feature.check(value)?;
    }
    Ok(values)
}

/// Refuses any key left in `object` once the known ones were taken, naming the known keys.
/// The known keys are only listed when there is an unknown one.
pub fn refuse_unknown<'a>(
    object: &Map<String, Value>,
    known: impl IntoIterator<Item = &'a str>,
) -> Result<(), String> {
    let Some(unknown) = object.keys().next() else {
        return Ok(());
    };
    let expected: Vec<String> = known.into_iter().map(|key| format!("`{key}`")).collect();
    Err(format!(
        "unknown field `{unknown}`, expected one of {}",
        expected.join(", ")
    ))
}

/// The features as a JSON object, keys in table order.
pub fn features_json(table: &[Feature], values: &[f32]) -> Map<String, Value> {
    table
        .iter()
        .zip(values)
        .map(|(feature, &value)| (feature.key.to_owned(), json!(value)))
        .collect()
}

/// `--info`'s input schema of a table.
/// The table's features as Open Inference Protocol inputs: one FP32 tensor each, one element
/// per input, named after the JSON key.
pub fn oip_inputs(table: &[Feature]) -> Vec<crate::oip::TensorSpec> {
    table
        .iter()
        .map(|feature| crate::oip::TensorSpec::per_input(feature.key, "FP32"))
        .collect()
}

pub fn schema(table: &[Feature]) -> Map<String, Value> {
    table
        .iter()
        .map(|feature| (feature.key.to_owned(), feature.schema()))
        .collect()
}

/// The table's keys, in order.
pub fn keys<const N: usize>(table: &[Feature; N]) -> [&'static str; N] {
    table.map(|feature| feature.key)
}

/// Checks that a number is finite; inputs are f32 and JSON numbers beyond f32 become infinite.
pub fn require_finite(field: &str, value: f32) -> Result<(), String> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(format!("field '{field}' must be a finite number"))
    }
}

/// Checks that a number lies in `[min, max]` (and is finite).
pub fn require_range(field: &str, value: f32, min: f32, max: f32) -> Result<(), String> {
    require_finite(field, value)?;
    if (min..=max).contains(&value) {
        Ok(())
    } else {
        Err(format!(
            "field '{field}' is {value}, outside the possible range {min} to {max}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TABLE: [Feature; 2] = [
        Feature {
            key: "length",
            unit: "cm",
            min: 0.0,
            max: 10.0,
        },
        Feature {
            key: "width",
            unit: "cm",
            min: 0.0,
            max: 10.0,
        },
    ];

    fn object(json: &str) -> Map<String, Value> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn takes_the_features_in_table_order() {
        let mut input = object(r#"{"width": 2, "length": 1.5}"#);
        assert_eq!(take_features(&mut input, &TABLE), Ok([1.5, 2.0]));
        assert!(input.is_empty());
        assert_eq!(refuse_unknown(&input, keys(&TABLE)), Ok(()));
    }

    #[test]
    fn names_what_is_wrong_as_serde_would() {
        let message = |json: &str| {
            let mut input = object(json);
            take_features(&mut input, &TABLE)
                .and_then(|_| refuse_unknown(&input, keys(&TABLE)))
                .unwrap_err()
        };
        assert_eq!(message(r#"{"length": 1}"#), "missing field `width`");
        assert!(message(r#"{"length": "1", "width": 1}"#).starts_with("invalid type: string"));
        assert_eq!(
            message(r#"{"length": 1, "width": 1, "depth": 1}"#),
            "unknown field `depth`, expected one of `length`, `width`"
        );
        assert!(message(r#"{"length": 11, "width": 1}"#).contains("outside the possible range"));
        assert!(message(r#"{"length": 1e39, "width": 1}"#).contains("finite"));
    }

    #[test]
    fn round_trips_through_json() {
        let json = features_json(&TABLE, &[1.5, 2.0]);
        let mut input = json;
        assert_eq!(take_features(&mut input, &TABLE), Ok([1.5, 2.0]));
        assert_eq!(schema(&TABLE)["width"]["unit"], "cm");
    }
}
