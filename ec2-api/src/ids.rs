//! EC2 ids as nova made them: `i-%08x` for instances, `ami-%08x` (`aki-`,
//! `ari-` for kernels and ramdisks) for images, from the integer ids of
//! compute's EC2 id mapping; `sg-` ids of security groups from their uuids.

/// `i-%08x`.
pub fn instance_ec2_id(id: i64) -> String {
    format!("i-{id:08x}")
}

/// `ami-%08x` (or `aki-`/`ari-` for the given kind prefix).
pub fn image_ec2_id(prefix: &str, id: i64) -> String {
    format!("{prefix}-{id:08x}")
}

/// The most hex digits an id has: AWS's long form (`i-0123456789abcdef0`,
/// its only form since 2016); nova's is 8.
pub const MAX_ID_DIGITS: usize = 17;

/// The integer behind `<prefix>-<hex>`; `None` when it is not an id of
/// that kind at all. A well-formed id too large to be one of ours (AWS's
/// long form can exceed 63 bits) is `i64::MAX`, which names nothing, so
/// that it is answered NotFound, as AWS answers an id it does not know.
fn parse_hex_id(value: &str, prefixes: &[&str]) -> Option<i64> {
    let (prefix, hex) = value.split_once('-')?;
    if !prefixes.contains(&prefix)
        || hex.is_empty()
        || hex.len() > MAX_ID_DIGITS
        || !hex.bytes().all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let id = u128::from_str_radix(hex, 16).ok()?;
    Some(i64::try_from(id).unwrap_or(i64::MAX))
}

/// The EC2 id of the security group with this uuid: `sg-` and the first
/// 17 hex digits of the uuid (AWS's long form). Stable, and unique as
/// long as uuids differ within their first 68 bits.
pub fn security_group_ec2_id(uuid: &str) -> String {
    let hex: String = uuid
        .chars()
        .filter(char::is_ascii_hexdigit)
        .take(MAX_ID_DIGITS)
        .collect();
    format!("sg-{}", hex.to_ascii_lowercase())
}

/// Whether `value` is a well-formed security group id: `sg-` and 1 to 17
/// hex digits.
pub fn is_security_group_id(value: &str) -> bool {
    parse_hex_id(value, &["sg"]).is_some()
}

/// The integer id of `i-…`, `None` when malformed.
pub fn parse_instance_id(value: &str) -> Option<i64> {
    parse_hex_id(value, &["i"])
}

/// The integer id of `ami-…`/`aki-…`/`ari-…`, `None` when malformed.
pub fn parse_image_id(value: &str) -> Option<i64> {
    parse_hex_id(value, &["ami", "aki", "ari"])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_in_novas_format() {
        assert_eq!(instance_ec2_id(1), "i-00000001");
        assert_eq!(image_ec2_id("ami", 0x2a), "ami-0000002a");
        assert_eq!(parse_instance_id("i-0000002a"), Some(42));
        assert_eq!(parse_image_id("ami-00000001"), Some(1));
        assert_eq!(parse_image_id("aki-00000001"), Some(1));
    }

    #[test]
    fn aws_long_ids_are_well_formed() {
        assert_eq!(
            parse_instance_id("i-0123456789abcdef0"),
            Some(0x0123_4567_89ab_cdef_i64 * 16)
        );
        assert_eq!(parse_instance_id("i-f123456789abcdef0"), Some(i64::MAX));
        assert_eq!(
            parse_image_id("ami-0123456789abcdef0").map(|id| id > 0),
            Some(true)
        );
    }

    #[test]
    fn security_group_ids_come_from_the_uuid() {
        let id = security_group_ec2_id("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
        assert_eq!(id, "sg-0f1e2d3c4b5a49788");
        assert!(is_security_group_id(&id));
        assert!(is_security_group_id("sg-2a97516c"));
        assert!(!is_security_group_id("sg-"));
        assert!(!is_security_group_id("web"));
        assert!(!is_security_group_id("sg-0123456789abcdef01"));
    }

    #[test]
    fn malformed_ids_are_refused() {
        for bad in [
            "",
            "i-",
            "x-00000001",
            "i-zz",
            "i-1234567890abcdef012",
            "ami-00000001",
        ] {
            assert_eq!(parse_instance_id(bad), None, "{bad}");
        }
        assert_eq!(parse_image_id("i-00000001"), None);
    }
}
