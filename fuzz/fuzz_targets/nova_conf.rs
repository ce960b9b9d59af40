//! cargo-fuzz target `nova_conf`: see `nova_api_fuzz::nova_conf`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::nova_conf(data);
});
