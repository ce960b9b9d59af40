//! Route labels: the path a request took with its ids replaced by `{id}`,
//! so that the label set stays bounded whatever ids clients send.
//!
//! The filter sits in front of the API's router and does not see which
//! route matched, so the template is read off the path: a segment that
//! looks like an identifier (digits, a UUID, anything of eight or more
//! characters with a digit in it that is not a date, an IP address) is
//! `{id}`; names (API resources, actions, `meta-data` keys, dated metadata
//! versions) stay. Free-form names in a path (a keypair's, a flavor's
//! when it has no digit) are what this cannot recognise:
//! [`super::recorder`] caps the routes it keeps for that.

use std::net::IpAddr;

/// What an identifier segment becomes.
pub const ID: &str = "{id}";

/// The route label of a request for `path` under `script_name` (the
/// prefix a urlmap moved out of the path).
pub fn template(script_name: &str, path: &str) -> String {
    let mut out = String::with_capacity(script_name.len() + path.len());
    for part in [script_name, path] {
        for (i, segment) in part.split('/').enumerate() {
            if i == 0 {
                // The text before the first `/`: empty for an absolute path.
                out.push_str(segment);
                continue;
            }
            out.push('/');
            out.push_str(if is_identifier(segment) { ID } else { segment });
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    out
}

/// Whether a path segment is an identifier rather than a name. Names
/// (most segments) are told apart in one pass over their bytes.
fn is_identifier(segment: &str) -> bool {
    let bytes = segment.as_bytes();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    if digits == 0 {
        // Only a UUID written without a digit (all a-f) is an id here.
        return is_uuid(bytes);
    }
    if digits == bytes.len() || is_uuid(bytes) {
        return true;
    }
    if bytes.iter().any(|b| *b == b'.' || *b == b':') && segment.parse::<IpAddr>().is_ok() {
        return true;
    }
    bytes.len() >= 8 && !is_date(bytes)
}

/// 32 hex digits, with or without the four dashes of 8-4-4-4-12.
fn is_uuid(bytes: &[u8]) -> bool {
    match bytes.len() {
        32 => bytes.iter().all(u8::is_ascii_hexdigit),
        36 => bytes.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        }),
        _ => false,
    }
}

/// `YYYY-MM-DD`: the metadata service's versions, a bounded set.
fn is_date(b: &[u8]) -> bool {
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_placeholders_and_names_stay() {
        let cases = [
            ("", "/", "/"),
            ("", "", "/"),
            ("/v2.1", "/servers/detail", "/v2.1/servers/detail"),
            (
                "/v2.1",
                "/servers/4f7c9d0e-6a8b-4c1d-9e2f-0a1b2c3d4e5f/action",
                "/v2.1/servers/{id}/action",
            ),
            (
                "/v2.1",
                "/flavors/1/os-extra_specs",
                "/v2.1/flavors/{id}/os-extra_specs",
            ),
            ("/v2.1", "/os-fixed-ips/10.0.0.3", "/v2.1/os-fixed-ips/{id}"),
            ("/v2.1", "/os-keypairs/mykey", "/v2.1/os-keypairs/mykey"),
            (
                "/image",
                "/v2/images/4f7c9d0e6a8b4c1d9e2f0a1b2c3d4e5f/file",
                "/image/v2/images/{id}/file",
            ),
            (
                "",
                "/2009-04-04/meta-data/public-keys/0/openssh-key",
                "/2009-04-04/meta-data/public-keys/{id}/openssh-key",
            ),
            (
                "",
                "/openstack/2012-08-10/meta_data.json",
                "/openstack/2012-08-10/meta_data.json",
            ),
            ("/v2.1", "/os-keypairs/key1", "/v2.1/os-keypairs/key1"),
            (
                "/v2.1",
                "/os-instance-actions/req-0d4c8a1e",
                "/v2.1/os-instance-actions/{id}",
            ),
        ];
        for (script, path, want) in cases {
            assert_eq!(template(script, path), want, "{script}{path}");
        }
    }
}
