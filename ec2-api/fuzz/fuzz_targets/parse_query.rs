//! Fuzz target: the EC2 Query parser and its typed views on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    ec2_api::query::fuzz_one(data);
});
