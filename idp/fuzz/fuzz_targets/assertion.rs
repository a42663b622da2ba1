//! `cargo +nightly fuzz run assertion` (from `idp/`): see `tanu_parse::fuzzing::assertion`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tanu_parse::fuzzing::assertion(data);
});
