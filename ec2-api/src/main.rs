//! The ec2-api binary.

fn main() {}
