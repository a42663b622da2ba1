//! Every input the fuzzers kept (`idp/fuzz/corpus/TARGET`, grown by
//! `cargo +nightly fuzz run TARGET` from `idp/` and minimised with `cargo
//! fuzz cmin`) goes through the same harness (`tanu_parse::fuzzing`) on
//! every `make test`: refusals are fine; a panic (a parser's crash, or a
//! bound the harness checks not kept) fails the test. Each corpus holds
//! inputs that are accepted and inputs that are refused, so both paths run
//! (for assertions: signed ones whose claims pass every check).
// A test file: a panic is the failure report (the crate denies these in its code).
#![allow(clippy::unwrap_used, clippy::expect_used)]
use std::path::Path;

fn replay(target: &str, run: fn(&[u8]) -> bool) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/corpus").join(target);
    let (mut n, mut accepted) = (0, 0);
    for entry in std::fs::read_dir(&dir).expect("the corpus is kept in the repository") {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        match std::panic::catch_unwind(|| run(&bytes)) {
            Ok(ok) => accepted += usize::from(ok),
            Err(_) => panic!("{} fails the {target} harness", path.display()),
        }
        n += 1;
    }
    assert!(n >= 3, "corpus at {} is empty", dir.display());
    eprintln!("{target}: {accepted} of {n} inputs accepted");
    assert!(accepted > 0 && accepted < n, "{target}: {accepted} of {n} inputs accepted; both paths should run");
}

#[test]
fn the_params_corpus_parses_or_is_refused_within_bounds() {
    replay("params", tanu_parse::fuzzing::params);
}

#[test]
fn the_forms_corpus_deserialises_or_is_refused_within_bounds() {
    replay("forms", tanu_parse::fuzzing::forms);
}

#[test]
fn the_multipart_corpus_reads_or_is_refused_within_bounds() {
    replay("multipart", tanu_parse::fuzzing::multipart);
}

#[test]
fn the_assertion_corpus_verifies_only_what_is_valid() {
    replay("assertion", tanu_parse::fuzzing::assertion);
}
