//! Structure-aware hostile inputs for an inference module, generated from its own example: the
//! example's JSON tree with parts replaced by wrong types, missing, extra and repeated members,
//! huge, tiny and unsafe numbers, long strings and deep nesting; its text truncated, corrupted
//! or made invalid UTF-8; batches that mix good and bad items; oversized inputs; unknown flags;
//! and Open Inference Protocol requests built from the example and mutated the same ways. A
//! share of the cases are the example with its numbers nudged, mostly still valid, so that the
//! answers are compared too. Deterministic for a seed.

use module_kit::cli::InferenceModel;
use module_kit::oip::Inputs;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

/// One call of a module: its arguments (after the program name) and its stdin.
#[derive(Debug, Clone)]
pub struct Case {
    /// What the case tries, for the report.
    pub kind: &'static str,
    pub args: Vec<String>,
    pub stdin: Vec<u8>,
}

/// `count` cases for `M`, the same ones for the same `seed`, made one at a time (oversized
/// ones are megabytes).
pub fn cases<M: InferenceModel>(count: usize, seed: u64) -> impl Iterator<Item = Case> {
    let mut oip = example_request::<M>();
    oip["id"] = json!("case");
    let mut generator = Generator {
        rng: ChaCha8Rng::seed_from_u64(seed),
        oip,
        example: serde_json::from_str(M::EXAMPLE).expect("the example is JSON"),
        max_input_bytes: M::MAX_INPUT_BYTES,
    };
    (0..count).map(move |_| generator.case())
}

struct Generator {
    rng: ChaCha8Rng,
    example: Value,
    oip: Value,
    max_input_bytes: usize,
}

impl Generator {
    fn case(&mut self) -> Case {
        match self.rng.random_range(0..1000) {
            0..250 => self.nudged(),
            250..500 => self.mutated(),
            500..620 => self.corrupted_text(),
            620..700 => self.batch(),
            700..850 => self.oip_case(),
            850..900 => self.invalid_utf8(),
            900..960 => self.flags(),
            960..998 => self.deep(),
            _ => self.oversized(),
        }
    }

    /// The example with every number moved by a few percent: mostly still a valid input.
    fn nudged(&mut self) -> Case {
        let mut value = self.example.clone();
        nudge_numbers(&mut value, &mut self.rng);
        let text = value.to_string();
        self.as_input("nudged", text.into_bytes())
    }

    /// The example's tree with one to three parts replaced, removed or added.
    fn mutated(&mut self) -> Case {
        let mut value = self.example.clone();
        for _ in 0..self.rng.random_range(1..=3) {
            mutate(&mut value, &mut self.rng);
        }
        let text = value.to_string();
        self.as_input("mutated tree", text.into_bytes())
    }

    /// The example's text cut, with bytes changed or inserted, a member named twice, or
    /// something before or after it.
    fn corrupted_text(&mut self) -> Case {
        let mut text = self.example.to_string().into_bytes();
        match self.rng.random_range(0..8) {
            0 => text.truncate(self.rng.random_range(0..text.len())),
            1 => {
                let at = self.rng.random_range(0..text.len());
                text[at] = self.rng.random_range(0x20..0x7f);
            }
            2 => {
                let at = self.rng.random_range(0..=text.len());
                let junk = pick(
                    &mut self.rng,
                    &[",", "]", "}", "\"", ":", "\\", "//x", "/*", "\t", "\0"],
                );
                text.splice(at..at, junk.bytes());
            }
            3 => text = repeat_first_member(&text),
            4 => {
                text.splice(0..0, "\u{feff}".bytes());
            }
            5 => text.extend_from_slice(pick(&mut self.rng, &[b" x", b" {}", b",", b"\0", b" 1"])),
            6 => text = replace_first_number(&text, &mut self.rng),
            _ => text = single_quoted(&text),
        }
        self.as_input("corrupted text", text)
    }

    /// An array of examples, nudged and mutated ones mixed, sometimes empty or nested.
    fn batch(&mut self) -> Case {
        let len = self.rng.random_range(0..6);
        let items: Vec<Value> = (0..len)
            .map(|_| {
                let mut item = self.example.clone();
                if self.rng.random_bool(0.3) {
                    mutate(&mut item, &mut self.rng);
                } else {
                    nudge_numbers(&mut item, &mut self.rng);
                }
                item
            })
            .collect();
        let mut batch = Value::Array(items);
        if self.rng.random_bool(0.1) {
            batch = json!([batch]);
        }
        let text = batch.to_string();
        self.as_input("batch", text.into_bytes())
    }

    /// An inference request made from the example, mutated like the inputs, sometimes with a
    /// binary-tensor header length that does or does not match.
    fn oip_case(&mut self) -> Case {
        let mut request = self.oip.clone();
        let mutations = self.rng.random_range(0..=2);
        if mutations == 0 {
            nudge_numbers(&mut request, &mut self.rng);
        }
        for _ in 0..mutations {
            mutate(&mut request, &mut self.rng);
        }
        let body = request.to_string().into_bytes();
        let mut args = vec!["--oip".to_owned()];
        if self.rng.random_bool(0.15) {
            let length = match self.rng.random_range(0..3) {
                0 => body.len(),
                1 => self.rng.random_range(0..=body.len()),
                _ => body.len() + self.rng.random_range(1..100),
            };
            args.push("--inference-header-content-length".to_owned());
            args.push(length.to_string());
        }
        Case {
            kind: "inference request",
            args,
            stdin: body,
        }
    }

    /// The example on stdin with bytes that are not UTF-8.
    fn invalid_utf8(&mut self) -> Case {
        let mut text = self.example.to_string().into_bytes();
        let at = self.rng.random_range(0..=text.len());
        let bad: &[u8] = pick(
            &mut self.rng,
            &[
                &[0xff],
                &[0xc3],
                &[0xed, 0xa0, 0x80],
                &[0xf8, 0x88, 0x80, 0x80, 0x80],
            ],
        );
        text.splice(at..at, bad.iter().copied());
        let args = if self.rng.random_bool(0.5) {
            vec!["-".to_owned()]
        } else {
            vec!["--oip".to_owned()]
        };
        Case {
            kind: "invalid UTF-8",
            args,
            stdin: text,
        }
    }

    /// Flags the modules do not know, or known ones combined wrongly.
    fn flags(&mut self) -> Case {
        let example = self.example.to_string();
        let args: Vec<String> = match self.rng.random_range(0..7) {
            0 => vec!["--frobnicate".into(), example],
            1 => vec![example.clone(), example],
            2 => vec!["--oip".into(), example],
            3 => vec![
                "--inference-header-content-length".into(),
                "12".into(),
                example,
            ],
            4 => vec!["--inference-header-content-length".into()],
            5 => vec!["--json".into(), "--oip".into()],
            _ => vec![],
        };
        Case {
            kind: "flags",
            args,
            stdin: Vec::new(),
        }
    }

    /// Arrays or objects nested far deeper than any input.
    fn deep(&mut self) -> Case {
        let depth = self.rng.random_range(100..20_000);
        let (open, close) = if self.rng.random_bool(0.5) {
            ("[", "]")
        } else {
            ("{\"a\":", "}")
        };
        let text = format!("{}1{}", open.repeat(depth), close.repeat(depth));
        self.as_input("deep nesting", text.into_bytes())
    }

    /// More bytes than the module reads: a long string value, or the example padded.
    fn oversized(&mut self) -> Case {
        let size = self.max_input_bytes + self.rng.random_range(1..1024);
        let text = if self.rng.random_bool(0.5) {
            format!("{{\"text\": \"{}\"}}", "a".repeat(size))
        } else {
            format!("{}{}", self.example, " ".repeat(size))
        };
        Case {
            kind: "oversized",
            args: vec!["-".to_owned()],
            stdin: text.into_bytes(),
        }
    }

    /// `text` as the argument (when it is UTF-8 and has no NUL) or on stdin, with or without
    /// `--json`.
    fn as_input(&mut self, kind: &'static str, text: Vec<u8>) -> Case {
        let mut args = Vec::new();
        if self.rng.random_bool(0.3) {
            args.push("--json".to_owned());
        }
        let argument = String::from_utf8(text.clone())
            .ok()
            .filter(|t| !t.contains('\0') && !t.starts_with('-'));
        match argument {
            Some(text) if self.rng.random_bool(0.5) => {
                args.push(text);
                Case {
                    kind,
                    args,
                    stdin: Vec::new(),
                }
            }
            _ => {
                args.push("-".to_owned());
                Case {
                    kind,
                    args,
                    stdin: text,
                }
            }
        }
    }
}

/// The Open Inference Protocol request a client would send for `M`'s example: one tensor per
/// key of the example (AG News takes `title` and `description` though its metadata names
/// `text`), or the one tensor of rows in the signature's shape. Also the serving benchmark's
/// request body.
pub fn example_request<M: InferenceModel>() -> Value {
    let example: Value = serde_json::from_str(M::EXAMPLE).expect("the example is JSON");
    let tensors: Vec<Value> = match (&M::signature().inputs, example) {
        (Inputs::Rows(spec), rows) => {
            let mut shape = spec.shape.clone();
            shape[0] = 1;
            vec![
                json!({"name": spec.name, "datatype": spec.datatype, "shape": shape, "data": rows}),
            ]
        }
        (Inputs::Fields(_), Value::Object(fields)) => fields
            .into_iter()
            .map(|(key, value)| {
                let datatype = if value.is_string() { "BYTES" } else { "FP32" };
                json!({"name": key, "datatype": datatype, "shape": [1], "data": [value]})
            })
            .collect(),
        (Inputs::Fields(_), other) => panic!("an example of named fields is an object: {other}"),
    };
    json!({ "inputs": tensors })
}

fn nudge_numbers(value: &mut Value, rng: &mut ChaCha8Rng) {
    match value {
        Value::Number(number) => {
            let whole = number.is_i64() || number.is_u64();
            if let Some(x) = number.as_f64() {
                // Whole numbers stay whole and do not grow: MNIST's grey levels are whole and
                // the example's ink is already near their top, 255.
                *value = if whole {
                    json!((x * rng.random_range(0.9..1.0)).round() as i64)
                } else {
                    json!(x * rng.random_range(0.95..1.05))
                };
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| nudge_numbers(item, rng)),
        Value::Object(members) => members
            .values_mut()
            .for_each(|item| nudge_numbers(item, rng)),
        _ => {}
    }
}

/// Replaces, removes or adds one part of the tree, at a random depth.
fn mutate(value: &mut Value, rng: &mut ChaCha8Rng) {
    match value {
        Value::Object(members) if !members.is_empty() && rng.random_bool(0.7) => {
            let keys: Vec<String> = members.keys().cloned().collect();
            let key = &keys[rng.random_range(0..keys.len())];
            match rng.random_range(0..5) {
                0 => {
                    members.remove(key);
                }
                1 => {
                    members.insert(format!("{key}_extra"), hostile_value(rng));
                }
                2 => {
                    let moved = members.remove(key).unwrap_or(Value::Null);
                    members.insert(key.to_uppercase(), moved);
                }
                _ => mutate(members.get_mut(key).expect("a member"), rng),
            }
        }
        Value::Array(items) if !items.is_empty() && rng.random_bool(0.7) => {
            let at = rng.random_range(0..items.len());
            match rng.random_range(0..5) {
                0 => {
                    items.remove(at);
                }
                1 => items.insert(at, hostile_value(rng)),
                2 => items.truncate(at),
                _ => mutate(&mut items[at], rng),
            }
        }
        _ => *value = hostile_value(rng),
    }
}

/// A value no model takes where a value of its input goes.
fn hostile_value(rng: &mut ChaCha8Rng) -> Value {
    match rng.random_range(0..20) {
        0 => Value::Null,
        1 => json!(true),
        2 => json!(""),
        3 => json!("seven"),
        4 => json!("é\u{0}\u{202e}😀"),
        5 => json!("x".repeat(rng.random_range(1000..100_000))),
        6 => json!(0),
        7 => json!(-0.0),
        8 => json!(1e308),
        9 => json!(-1e308),
        10 => json!(5e-324),
        11 => json!(1e39),
        12 => json!(9_007_199_254_740_993_u64),
        13 => json!(-1),
        14 => json!([]),
        15 => json!({}),
        16 => json!([[1, 2], [3]]),
        17 => json!({"nested": {"deeper": [1]}}),
        18 => json!(rng.random_range(-1e6..1e6)),
        _ => json!(u64::MAX),
    }
}

fn pick<'a, T: ?Sized>(rng: &mut ChaCha8Rng, choices: &[&'a T]) -> &'a T {
    choices[rng.random_range(0..choices.len())]
}

/// `{"a": 1, ...}` as `{"a": 1, "a": 1, ...}`: the same member twice.
fn repeat_first_member(text: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(text);
    let Some(body) = text.strip_prefix('{') else {
        return format!("[{text}, {text}").into_bytes();
    };
    let first = body
        .split(',')
        .next()
        .unwrap_or_default()
        .trim_end_matches('}');
    format!("{{{first},{body}").into_bytes()
}

/// The first number spelled as something JSON does not allow, or allows only in principle.
fn replace_first_number(text: &[u8], rng: &mut ChaCha8Rng) -> Vec<u8> {
    let text = String::from_utf8_lossy(text).into_owned();
    let Some(start) = text.find(|c: char| c.is_ascii_digit()) else {
        return text.into_bytes();
    };
    let end = text[start..]
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-')))
        .map_or(text.len(), |n| start + n);
    let spelled = pick(
        rng,
        &[
            "NaN",
            "Infinity",
            "-Infinity",
            "1e400",
            "0x10",
            "01",
            ".5",
            "+1",
            "1.",
            "1e",
            "--1",
            "9007199254740993",
            "1_000",
        ],
    );
    format!("{}{}{}", &text[..start], spelled, &text[end..]).into_bytes()
}

fn single_quoted(text: &[u8]) -> Vec<u8> {
    text.iter()
        .map(|&b| if b == b'"' { b'\'' } else { b })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_seed_gives_the_same_cases() {
        let a = Generator::for_tests(7);
        let b = Generator::for_tests(7);
        assert_eq!(a, b);
        assert_ne!(a, Generator::for_tests(8));
    }

    #[test]
    fn a_member_repeated_stays_json_text_with_the_name_twice() {
        let text = repeat_first_member(br#"{"a":1,"b":2}"#);
        assert_eq!(text, br#"{"a":1,"a":1,"b":2}"#);
    }

    impl Generator {
        fn for_tests(seed: u64) -> Vec<(String, Vec<String>, Vec<u8>)> {
            let mut generator = Generator {
                rng: ChaCha8Rng::seed_from_u64(seed),
                example: json!({"x": 1.5, "y": [1, 2]}),
                oip: json!({"inputs": []}),
                max_input_bytes: 64,
            };
            (0..200)
                .map(|_| generator.case())
                .map(|c| (c.kind.to_owned(), c.args, c.stdin))
                .collect()
        }
    }
}
