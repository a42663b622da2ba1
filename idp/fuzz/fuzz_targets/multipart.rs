//! `cargo +nightly fuzz run multipart` (from `idp/`): see `tanu_parse::fuzzing::multipart`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tanu_parse::fuzzing::multipart(data);
});
