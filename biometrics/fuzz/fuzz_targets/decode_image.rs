//! The untrusted-bytes entry point of the engine: every camera frame and
//! registry photo goes through `decode_image`. It must return an error, never
//! panic or allocate without bound, whatever the bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tanu_biometrics::{decode_image, DecodeLimits};

fuzz_target!(|data: &[u8]| {
    // Small limits so that the fuzzer explores the limit checks too.
    let limits = DecodeLimits { max_bytes: 1 << 20, max_width: 2048, max_height: 2048, max_alloc: 64 << 20 };
    if let Ok(img) = decode_image(data, &limits) {
        assert!(img.width() <= 2048 && img.height() <= 2048);
    }
});
