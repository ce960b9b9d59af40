//! cargo-fuzz target `paste_ini`: see `nova_api_fuzz::paste_ini`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::paste_ini(data);
});
