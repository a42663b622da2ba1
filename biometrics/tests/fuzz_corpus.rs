#![allow(clippy::unwrap_used, clippy::expect_used)] // a test or a measurement: a panic is the failure report
//! Every input the fuzzer kept (`biometrics/fuzz/corpus/decode_image`, grown by
//! `cargo +nightly fuzz run decode_image`) goes through the decoder on every
//! `make test`: errors are fine, panics are not.

use tanu_biometrics::{decode_image, DecodeLimits};

#[test]
fn the_fuzz_corpus_decodes_or_errs_without_panicking() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/decode_image");
    let limits = DecodeLimits { max_bytes: 1 << 20, max_width: 2048, max_height: 2048, max_alloc: 64 << 20 };
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("the corpus is kept in the repository") {
        let bytes = std::fs::read(entry.unwrap().path()).unwrap();
        if let Ok(img) = decode_image(&bytes, &limits) {
            assert!(img.width() <= 2048 && img.height() <= 2048);
        }
        n += 1;
    }
    assert!(n >= 2, "corpus at {} is empty", dir.display());
}
