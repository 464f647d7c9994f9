//! The AG News tokenizer with the committed vocabulary on made-up text: ids within the
//! vocabulary, never more than the model reads.
#![no_main]

use std::sync::LazyLock;

use ag_news::tokenizer::Tokenizer;

static TOKENIZER: LazyLock<Tokenizer> = LazyLock::new(|| {
    serde_json::from_slice(include_bytes!("../../artifacts/ag-news/vocab.json"))
        .expect("the committed vocabulary loads")
});

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let words = ag_news::tokenizer::words(text);
    assert!(words.iter().all(|w| !w.is_empty()), "no empty word");
    let ids = TOKENIZER.encode(text);
    let vocabulary = TOKENIZER.vocab_size();
    assert!(ids.iter().all(|&id| (id as usize) < vocabulary), "ids within the vocabulary");
});
