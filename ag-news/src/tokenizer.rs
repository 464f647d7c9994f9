//! The tokenizer, shared byte for byte by training and the wasm module: Unicode-aware word
//! splitting, a vocabulary built from the training text, word bigrams hashed into a fixed
//! number of buckets (as fastText does), and an inverse-document-frequency weight per token
//! that the model's average uses, so that words found everywhere count for little. Nothing is
//! downloaded; the vocabulary and weights ship with the model as `vocab.json`.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// Token id 0 pads short articles in a batch and is masked out of the model's average.
pub const PADDING: u32 = 0;

/// The article text the model reads: the title, then the description.
pub fn article_text(title: &str, description: &str) -> String {
    format!("{title} {description}")
}

/// Lower-cased words: maximal runs of Unicode letters and digits. The release writes line
/// breaks as a literal backslash-n; those separate words too.
pub fn words(text: &str) -> Vec<String> {
    text.replace("\\n", " ")
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// FNV-1a: a fixed, portable hash, so a bigram lands in the same bucket on every machine.
fn fnv1a(parts: &[&str]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for (i, part) in parts.iter().enumerate() {
        let separator: &[u8] = if i == 0 { b"" } else { b" " };
        for &byte in separator.iter().chain(part.as_bytes()) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    hash
}

/// Vocabulary, bigram hashing and token weights. Ids: 0 padding, then the words, then the
/// bigram buckets.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(try_from = "TokenizerFile", into = "TokenizerFile")]
pub struct Tokenizer {
    words: Vec<String>,
    bigram_buckets: u32,
    max_tokens: usize,
    /// Weight of each id in the model's average (0 for padding).
    weights: Vec<f32>,
    index: HashMap<String, u32>,
}

/// What `vocab.json` holds.
#[derive(Serialize, Deserialize)]
struct TokenizerFile {
    bigram_buckets: u32,
    max_tokens: usize,
    /// Word `i` has id `i + 1`.
    words: Vec<String>,
    /// Weight of each id, padding first, in thousandths (compact and exact in JSON).
    weights_milli: Vec<u16>,
}

impl TryFrom<TokenizerFile> for Tokenizer {
    type Error = String;

    fn try_from(file: TokenizerFile) -> Result<Self, String> {
        let weights: Vec<f32> = file
            .weights_milli
            .iter()
            .map(|&w| f32::from(w) / 1000.0)
            .collect();
        let tokenizer = Self::new(file.words, file.bigram_buckets, file.max_tokens, weights);
        if tokenizer.weights.len() != tokenizer.vocab_size() {
            return Err(format!(
                "{} weights for {} token ids",
                tokenizer.weights.len(),
                tokenizer.vocab_size()
            ));
        }
        Ok(tokenizer)
    }
}

impl From<Tokenizer> for TokenizerFile {
    fn from(tokenizer: Tokenizer) -> Self {
        Self {
            bigram_buckets: tokenizer.bigram_buckets,
            max_tokens: tokenizer.max_tokens,
            words: tokenizer.words,
            weights_milli: tokenizer.weights.iter().map(|&w| milli(w)).collect(),
        }
    }
}

/// A weight in whole thousandths, the precision `vocab.json` keeps.
fn milli(weight: f32) -> u16 {
    (weight * 1000.0).round().clamp(0.0, f32::from(u16::MAX)) as u16
}

impl Tokenizer {
    fn new(words: Vec<String>, bigram_buckets: u32, max_tokens: usize, weights: Vec<f32>) -> Self {
        let index = words
            .iter()
            .enumerate()
            .map(|(i, w)| (w.clone(), i as u32 + 1))
            .collect();
        Self {
            words,
            bigram_buckets,
            max_tokens,
            weights,
            index,
        }
    }

    /// Builds the vocabulary from training texts: every word seen at least `min_count` times,
    /// most frequent first (ties alphabetical, so the ids are reproducible); then weighs every
    /// id by its smoothed inverse document frequency, `ln((1 + n) / (1 + df)) + 1`, kept to
    /// thousandths as `vocab.json` stores it.
    pub fn build<'a>(
        texts: impl IntoIterator<Item = &'a str> + Clone,
        min_count: usize,
        bigram_buckets: u32,
        max_tokens: usize,
    ) -> Self {
        let mut counts: HashMap<String, usize> = HashMap::new();
        for text in texts.clone() {
            for word in words(text) {
                *counts.entry(word).or_default() += 1;
            }
        }
        let mut kept: Vec<(String, usize)> = counts
            .into_iter()
            .filter(|(_, n)| *n >= min_count)
            .collect();
        kept.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let words = kept.into_iter().map(|(w, _)| w).collect();
        let unweighted = Self::new(words, bigram_buckets, max_tokens, Vec::new());
        let weights = unweighted.inverse_document_frequencies(texts);
        Self {
            weights,
            ..unweighted
        }
    }

    fn inverse_document_frequencies<'a>(
        &self,
        texts: impl IntoIterator<Item = &'a str>,
    ) -> Vec<f32> {
        let mut document_frequency = vec![0u32; self.vocab_size()];
        let mut documents = 0u32;
        for text in texts {
            documents += 1;
            let mut ids = self.ids(text);
            ids.sort_unstable();
            ids.dedup();
            for id in ids {
                document_frequency[id as usize] += 1;
            }
        }
        let n = f64::from(documents);
        let mut weights: Vec<f32> = document_frequency
            .iter()
            .map(|&df| ((1.0 + n) / (1.0 + f64::from(df))).ln() + 1.0)
            .map(|w| f32::from(milli(w as f32)) / 1000.0)
            .collect();
        weights[PADDING as usize] = 0.0;
        weights
    }

    /// The weight of a token id in the model's average.
    pub fn weight(&self, id: u32) -> f32 {
        self.weights.get(id as usize).copied().unwrap_or(0.0)
    }

    /// Number of embedding rows the model needs: padding, words, bigram buckets.
    pub fn vocab_size(&self) -> usize {
        1 + self.words.len() + self.bigram_buckets as usize
    }

    pub fn num_words(&self) -> usize {
        self.words.len()
    }

    /// Token ids of a text: its known words, then its word bigrams (unknown words included),
    /// at most `max_tokens` in all.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        let mut ids = self.ids(text);
        ids.truncate(self.max_tokens);
        ids
    }

    fn ids(&self, text: &str) -> Vec<u32> {
        let words = words(text);
        let unigrams = words.iter().filter_map(|w| self.index.get(w).copied());
        let first_bucket = 1 + self.words.len() as u32;
        let bigrams = words
            .windows(2)
            .filter(|_| self.bigram_buckets > 0)
            .map(|pair| {
                first_bucket
                    + (fnv1a(&[&pair[0], &pair[1]]) % u64::from(self.bigram_buckets)) as u32
            });
        unigrams.chain(bigrams).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_lowercased_unicode_runs() {
        assert_eq!(
            words("Fed's rate-hike: 0.25%\\nMore"),
            ["fed", "s", "rate", "hike", "0", "25", "more"]
        );
        assert_eq!(words("Zürich Ελλάδα 東京"), ["zürich", "ελλάδα", "東京"]);
        assert!(words("!!! ...").is_empty());
    }

    #[test]
    fn vocabulary_is_by_frequency_then_alphabet_and_survives_json() {
        let tokenizer = Tokenizer::build(["b a b", "c a b"], 2, 8, 100);
        assert_eq!(tokenizer.words, ["b", "a"]);
        let json = serde_json::to_string(&tokenizer).unwrap();
        let back: Tokenizer = serde_json::from_str(&json).unwrap();
        assert_eq!(back.encode("a b c"), tokenizer.encode("a b c"));
    }

    #[test]
    fn encodes_known_words_then_hashed_bigrams() {
        let tokenizer = Tokenizer::build(["rates rise", "rates fall"], 1, 1000, 100);
        let ids = tokenizer.encode("Rates rise unknown");
        let word = |w: &str| tokenizer.index[w];
        assert_eq!(&ids[..2], &[word("rates"), word("rise")]);
        assert_eq!(ids.len(), 4, "two known words, two bigrams");
        assert!(ids[2..].iter().all(|&id| id > tokenizer.num_words() as u32));
        assert!(ids.iter().all(|&id| (id as usize) < tokenizer.vocab_size()));
        assert_eq!(
            tokenizer.encode("rates rise unknown"),
            ids,
            "case does not matter"
        );
    }

    #[test]
    fn rare_tokens_weigh_more_than_common_ones() {
        let tokenizer = Tokenizer::build(["the cat", "the dog", "the bird"], 1, 16, 100);
        let the = tokenizer.weight(tokenizer.index["the"]);
        let cat = tokenizer.weight(tokenizer.index["cat"]);
        assert_eq!(the, 1.0, "in every document: ln(4/4) + 1");
        assert!(cat > the, "{cat} > {the}");
        assert_eq!(tokenizer.weight(PADDING), 0.0);
        let json = serde_json::to_string(&tokenizer).unwrap();
        let back: Tokenizer = serde_json::from_str(&json).unwrap();
        assert_eq!(
            back.weights, tokenizer.weights,
            "weights survive vocab.json exactly"
        );
    }

    #[test]
    fn caps_the_number_of_tokens() {
        let tokenizer = Tokenizer::build(["a"], 1, 16, 3);
        assert_eq!(tokenizer.encode(&"a ".repeat(50)).len(), 3);
    }

    #[test]
    fn fnv1a_is_the_published_function() {
        // FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
        assert_eq!(fnv1a(&["a"]), 0xaf63_dc4c_8601_ec8c);
    }
}
