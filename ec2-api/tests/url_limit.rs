//! nova's EC2 API accepts request lines up to 16384 bytes (its
//! `max_url_len`), twice eventlet's default: checked on the real binary.

#[path = "../../osapi-compute/tests/runtime_support/mod.rs"]
mod support;

/// The binary these tests run.
const BINARY: &str = env!("CARGO_BIN_EXE_ec2-api");

use support::{http_get, NovaProcess, TestConf};

/// A target that makes `GET <target> HTTP/1.1\r\n` exactly `len` bytes.
fn target_of_line_length(len: usize) -> String {
    format!(
        "/?{}",
        "a".repeat(len - "GET ".len() - " HTTP/1.1\r\n".len() - 2)
    )
}

#[test]
fn ec2_request_line_limit_is_16384() {
    let conf = TestConf::new().stock_paste("nova-2013.2-havana.ini");
    let mut ec2 = NovaProcess::start(&conf, &["--workers", "1"]);
    let port = ec2.port();
    assert_eq!(http_get(port, &target_of_line_length(16385)).0, 414);
    assert_ne!(http_get(port, &target_of_line_length(16000)).0, 414);
    // What is too long for the compute API is fine here.
    assert_ne!(http_get(port, &target_of_line_length(8193)).0, 414);
    assert_eq!(ec2.terminate(), 0);
}
