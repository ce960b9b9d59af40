//! The osapi-compute binary.

fn main() {}
