//! Input validation shared by every operation, with nova's messages.

use crate::{Error, Result};

/// Longest instance, flavor or image name (nova: 255).
pub const MAX_NAME_LENGTH: usize = 255;
/// Longest metadata key or value (nova: 255).
pub const MAX_METADATA_LENGTH: usize = 255;
/// Longest user data, base64 text (nova: 65535).
pub const MAX_USER_DATA_LENGTH: usize = 65535;
/// Most tags on one instance (nova: 50).
pub const MAX_TAGS: usize = 50;
/// Longest tag (nova: 60).
pub const MAX_TAG_LENGTH: usize = 60;
/// Longest metadata-service password (nova: 4 chunks of 255 bytes).
pub const MAX_PASSWORD_LENGTH: usize = 1020;

/// A display name: 1-255 characters, printable, no leading or trailing
/// whitespace (nova's `name` parameter type).
pub fn name(field: &str, value: &str) -> Result<()> {
    let n = value.chars().count();
    if n == 0 || n > MAX_NAME_LENGTH {
        return Err(Error::invalid(format!("Invalid input for field/attribute {field}. Value: {value}. Length must be between 1 and {MAX_NAME_LENGTH}")));
    }
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. Value: {value}. Leading or trailing whitespace is not allowed"
        )));
    }
    if value.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute {field}. Value: {value}. Control characters are not allowed"
        )));
    }
    Ok(())
}

/// An optional free text (description): at most 255 characters, no
/// control characters other than whitespace.
pub fn description(value: &str) -> Result<()> {
    if value.chars().count() > MAX_NAME_LENGTH {
        return Err(Error::invalid(format!("Invalid input for field/attribute description. Length must be at most {MAX_NAME_LENGTH}")));
    }
    if value.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(Error::invalid(
            "Invalid input for field/attribute description. Control characters are not allowed",
        ));
    }
    Ok(())
}

/// One metadata pair: key 1-255 characters, value at most 255 (nova's
/// `InvalidMetadata` / `InvalidMetadataSize` messages).
pub fn metadata_item(key: &str, value: &str) -> Result<()> {
    if key.is_empty() {
        return Err(Error::invalid("Metadata property key blank."));
    }
    if key.chars().count() > MAX_METADATA_LENGTH {
        return Err(Error::invalid(
            "Metadata property key greater than 255 characters.",
        ));
    }
    if value.chars().count() > MAX_METADATA_LENGTH {
        return Err(Error::invalid(
            "Metadata property value greater than 255 characters.",
        ));
    }
    Ok(())
}

/// A keypair name: 1-255 characters of letters, digits, `-`, `_`, space,
/// and (nova microversion 2.92) `@` and `.`. API crates that serve older
/// microversions refuse `@` and `.` themselves.
pub fn keypair_name(value: &str) -> Result<()> {
    let n = value.chars().count();
    if n == 0 || n > 255 {
        return Err(Error::invalid("Keypair data is invalid: Keypair name must be string and between 1 and 255 characters long"));
    }
    if !value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_ @.".contains(c))
    {
        return Err(Error::invalid(
            "Keypair data is invalid: Keypair name contains unsafe characters",
        ));
    }
    Ok(())
}

/// A tag: 1-60 characters, no `/` or `,` (nova's tag rules).
pub fn tag(value: &str) -> Result<()> {
    let n = value.chars().count();
    if n == 0 || n > MAX_TAG_LENGTH {
        return Err(Error::invalid(format!("Invalid input for field/attribute tag. Value: {value}. Length must be between 1 and {MAX_TAG_LENGTH}")));
    }
    if value.contains('/') || value.contains(',') {
        return Err(Error::invalid(format!(
            "Invalid input for field/attribute tag. Value: {value}. Tags cannot contain '/' or ','"
        )));
    }
    Ok(())
}

/// User data: base64 text of at most 65535 characters.
pub fn user_data(value: &str) -> Result<()> {
    use base64::Engine as _;
    if value.len() > MAX_USER_DATA_LENGTH {
        return Err(Error::invalid(format!("User data too large. User data must be no larger than {MAX_USER_DATA_LENGTH} bytes once base64 encoded.")));
    }
    let compact: String = value.chars().filter(|c| !c.is_whitespace()).collect();
    if base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .is_err()
    {
        return Err(Error::invalid("User data needs to be valid base 64."));
    }
    Ok(())
}

/// The hostname nova derives from a display name: lower case, runs of
/// other characters than letters, digits and `-` become `-`, trimmed,
/// at most 63 characters; empty becomes `Server-<uuid>`.
pub fn hostname_from(display_name: &str, uuid: &str) -> String {
    let mut out = String::new();
    let mut dash = false;
    for c in display_name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
            dash = false;
        } else if !dash && !out.is_empty() {
            out.push('-');
            dash = true;
        }
    }
    let mut out: String = out
        .trim_matches(|c| c == '-' || c == '.')
        .chars()
        .take(63)
        .collect();
    while out.ends_with('-') {
        out.pop();
    }
    if out.is_empty() {
        format!("server-{uuid}")
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_256_characters_are_refused() {
        assert!(name("name", &"a".repeat(255)).is_ok());
        assert!(matches!(
            name("name", &"a".repeat(256)),
            Err(Error::Invalid(_))
        ));
        assert!(name("name", " lead").is_err());
        assert!(name("name", "").is_err());
    }

    #[test]
    fn keypair_names_allow_nova_charset_only() {
        assert!(keypair_name("my key_1-a@b.c").is_ok());
        assert!(keypair_name("bad/name").is_err());
        assert!(keypair_name(&"k".repeat(256)).is_err());
    }

    #[test]
    fn hostnames_are_sanitised_display_names() {
        assert_eq!(hostname_from("My Server_1", "u"), "my-server-1");
        assert_eq!(hostname_from("***", "u"), "server-u");
    }

    #[test]
    fn user_data_must_be_base64() {
        assert!(user_data("aGVsbG8=").is_ok());
        assert!(user_data("not base64!").is_err());
    }
}
