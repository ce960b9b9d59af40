//! cargo-fuzz target `compute_query`: see `nova_api_fuzz::compute_query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::compute_query(data);
});
