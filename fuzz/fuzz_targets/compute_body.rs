//! cargo-fuzz target `compute_body`: see `nova_api_fuzz::compute_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::compute_body(data);
});
