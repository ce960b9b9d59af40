//! cargo-fuzz target `metadata_path`: see `nova_api_fuzz::metadata_path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::metadata_path(data);
});
