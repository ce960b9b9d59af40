//! Glance's vocabularies and the checks it makes of an image's attributes
//! before anything is written: formats, visibilities, names, tags,
//! property names that are read-only or reserved, and its quotas.

use crate::{Error, Result};

/// Glance's `disk_formats` default.
pub const DISK_FORMATS: &[&str] = &[
    "ami", "ari", "aki", "vhd", "vhdx", "vmdk", "raw", "qcow2", "vdi", "iso", "ploop",
];

/// Glance's `container_formats` default.
pub const CONTAINER_FORMATS: &[&str] = &[
    "ami",
    "ari",
    "aki",
    "bare",
    "ovf",
    "ova",
    "docker",
    "compressed",
];

/// The four visibilities.
pub const VISIBILITIES: &[&str] = &["public", "private", "shared", "community"];

/// Attributes an image has that no caller sets.
pub const READ_ONLY: &[&str] = &[
    "id",
    "created_at",
    "updated_at",
    "status",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "size",
    "virtual_size",
    "direct_url",
    "self",
    "file",
    "schema",
    "stores",
];

/// Names Glance keeps for itself (403 "reserved").
pub const RESERVED: &[&str] = &["location", "locations", "deleted", "deleted_at"];

/// The attributes of Glance's image schema (the rest are properties).
pub const CORE: &[&str] = &[
    "id",
    "name",
    "status",
    "visibility",
    "protected",
    "os_hidden",
    "checksum",
    "os_hash_algo",
    "os_hash_value",
    "owner",
    "size",
    "virtual_size",
    "min_ram",
    "min_disk",
    "disk_format",
    "container_format",
    "created_at",
    "updated_at",
    "tags",
    "self",
    "file",
    "schema",
    "direct_url",
    "locations",
    "stores",
];

/// Glance's `image_property_quota`.
pub const PROPERTY_QUOTA: usize = 128;
/// Glance's `image_tag_quota`.
pub const TAG_QUOTA: usize = 128;
/// Glance's `image_member_quota`.
pub const MEMBER_QUOTA: usize = 128;
/// The longest name, tag, property name or value Glance takes.
pub const MAX_LENGTH: usize = 255;

/// A value of `field` that must be one of `allowed` (400 otherwise).
pub fn one_of(field: &str, value: &str, allowed: &[&str]) -> Result<()> {
    if allowed.contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "Invalid value '{value}' for {field}: expected one of {}",
            allowed.join(", ")
        )))
    }
}

/// A disk format, if any.
pub fn disk_format(value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| one_of("disk_format", v, DISK_FORMATS))
}

/// A container format, if any.
pub fn container_format(value: Option<&str>) -> Result<()> {
    value.map_or(Ok(()), |v| one_of("container_format", v, CONTAINER_FORMATS))
}

/// A visibility.
pub fn visibility(value: &str) -> Result<()> {
    if VISIBILITIES.contains(&value) {
        Ok(())
    } else {
        Err(Error::invalid(format!("Invalid visibility value: {value}")))
    }
}

/// A name of at most 255 characters.
pub fn name(value: &str) -> Result<()> {
    if value.chars().count() > MAX_LENGTH {
        return Err(Error::invalid(format!(
            "Image name too long: {} characters, at most {MAX_LENGTH}",
            value.chars().count()
        )));
    }
    Ok(())
}

/// A tag: at most 255 characters, no comma or slash (Glance's schema).
pub fn tag(value: &str) -> Result<()> {
    if value.chars().count() > MAX_LENGTH {
        return Err(Error::invalid(format!(
            "Tag too long: at most {MAX_LENGTH} characters"
        )));
    }
    if value.contains(',') || value.contains('/') {
        return Err(Error::invalid(format!(
            "Invalid tag '{value}': a tag has no ',' or '/'"
        )));
    }
    Ok(())
}

/// A minimum disk or RAM: not negative.
pub fn minimum(field: &str, value: i64) -> Result<()> {
    if value < 0 {
        return Err(Error::invalid(format!(
            "Invalid value '{value}' for {field}: must be at least 0"
        )));
    }
    Ok(())
}

/// A name a caller may give a property: not a core attribute, not
/// reserved, not Glance's own `os_glance` namespace, at most 255
/// characters. Read-only and reserved names are 403 as Glance answers.
pub fn property_name(key: &str) -> Result<()> {
    if READ_ONLY.contains(&key) {
        return Err(Error::Forbidden(format!("Attribute '{key}' is read-only.")));
    }
    if RESERVED.contains(&key) || key.starts_with("os_glance") {
        return Err(Error::Forbidden(format!("Attribute '{key}' is reserved.")));
    }
    if key.is_empty() || key.chars().count() > MAX_LENGTH {
        return Err(Error::invalid(format!(
            "Invalid property name '{key}': 1 to {MAX_LENGTH} characters"
        )));
    }
    Ok(())
}

/// Glance's quotas on the number of properties and tags (413 in Glance;
/// reported as a quota error).
pub fn quotas(properties: usize, tags: usize) -> Result<()> {
    if properties > PROPERTY_QUOTA {
        return Err(over_limit("properties", properties, PROPERTY_QUOTA));
    }
    if tags > TAG_QUOTA {
        return Err(over_limit("tags", tags, TAG_QUOTA));
    }
    Ok(())
}

pub(crate) fn over_limit(what: &str, requested: usize, allowed: usize) -> Error {
    let as_i64 = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
    Error::QuotaExceeded {
        resource: format!("image_{what}"),
        requested: as_i64(requested),
        used: 0,
        allowed: as_i64(allowed),
        message: format!("Maximum number of {what} exceeded: {requested} given, at most {allowed}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_only_and_reserved_names_are_refused_as_glance_does() {
        assert!(
            matches!(property_name("status"), Err(Error::Forbidden(m)) if m == "Attribute 'status' is read-only.")
        );
        assert!(
            matches!(property_name("locations"), Err(Error::Forbidden(m)) if m == "Attribute 'locations' is reserved.")
        );
        assert!(matches!(
            property_name("os_glance_importing_to_stores"),
            Err(Error::Forbidden(_))
        ));
        assert!(property_name("os_distro").is_ok());
        assert!(matches!(
            property_name(&"k".repeat(256)),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn formats_come_from_glance_s_lists() {
        assert!(disk_format(Some("qcow2")).is_ok());
        assert!(disk_format(None).is_ok());
        assert!(matches!(
            disk_format(Some("floppy")),
            Err(Error::Invalid(_))
        ));
        assert!(container_format(Some("bare")).is_ok());
        assert!(matches!(
            container_format(Some("tarball")),
            Err(Error::Invalid(_))
        ));
    }

    #[test]
    fn tags_are_short_and_have_no_separators() {
        assert!(tag("gold").is_ok());
        assert!(tag("a,b").is_err());
        assert!(tag(&"t".repeat(256)).is_err());
    }
}
