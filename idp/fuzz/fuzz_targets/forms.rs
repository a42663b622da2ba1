//! `cargo +nightly fuzz run forms` (from `idp/`): see `tanu_parse::fuzzing::forms`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    tanu_parse::fuzzing::forms(data);
});
