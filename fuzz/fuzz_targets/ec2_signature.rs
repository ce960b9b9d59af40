//! cargo-fuzz target `ec2_signature`: see `nova_api_fuzz::ec2_signature`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::ec2_signature(data);
});
