//! cargo-fuzz target `ec2_query`: see `nova_api_fuzz::ec2_query`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    nova_api_fuzz::ec2_query(data);
});
