//! `cargo +nightly fuzz run params` (from `idp/`): see `tanu_parse::fuzzing::params`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tanu_parse::fuzzing::params(data);
});
