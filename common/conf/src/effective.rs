//! The effective configuration as a report shows it: every declared option
//! with the value in force (set or default) and where it came from, every
//! other option a source set, and secrets masked.
//!
//! What is secret is oslo.config's `secret=True`: an option its group
//! declares `secret = true` (see [`crate::option_group!`]), and any option
//! named as the libraries nova uses name their secrets (keystonemiddleware,
//! oslo.messaging, keystoneauth's client groups, and our own crates'
//! `bootstrap_password`, `metadata_proxy_shared_secret`, ...): passwords,
//! shared secrets and keys, tokens, and the URLs that may carry a password
//! (`connection`, `transport_url`). The name rule errs on the side of
//! masking; only switches (`enable_*`, `use_*`) are exempt from it.

use crate::{NovaConf, ValueSource};

/// What a report prints instead of a secret's value (oslo.config's mask).
pub const MASK: &str = "****";

/// One option of the effective configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EffectiveValue {
    /// Its group, as nova.conf names it (`DEFAULT` or lower case).
    pub group: String,
    /// Its name in the group.
    pub option: String,
    /// Its value as written (or the default's text); [`MASK`] for a secret
    /// that is set, empty when unset.
    pub value: String,
    /// Where the value came from; `None` for the built-in default.
    pub source: Option<ValueSource>,
}

/// Whether an option's name is one that the libraries nova uses mark
/// secret.
fn secret_by_name(option: &str) -> bool {
    if option.starts_with("enable_") || option.starts_with("use_") {
        return false;
    }
    option.ends_with("password")
        || option.ends_with("secret")
        || option.ends_with("secret_key")
        || option.ends_with("_token")
        || option == "connection"
        || option.ends_with("_connection")
        || option == "transport_url"
}

impl NovaConf {
    /// Whether `[group] option` holds a secret (see the module's notes).
    pub fn is_secret(&self, group: &str, option: &str) -> bool {
        self.schema()
            .option(group, option)
            .is_some_and(|spec| spec.secret)
            || secret_by_name(option)
    }

    /// Every declared option with its value in force, then every option a
    /// source set that no group declares, sorted by group and option,
    /// secrets masked.
    pub fn effective_values(&self) -> Vec<EffectiveValue> {
        let mut out = Vec::new();
        for decl in self.schema().decls() {
            for spec in decl.spec.options {
                let raw = self.raw(decl.spec.group, spec.name);
                let value = raw
                    .map(|r| r.value.clone())
                    .or_else(|| spec.default.map(str::to_owned))
                    .unwrap_or_default();
                out.push(EffectiveValue {
                    group: decl.spec.group.to_owned(),
                    option: spec.name.to_owned(),
                    value,
                    source: raw.map(|r| r.source.clone()),
                });
            }
        }
        for ((group, option), raw) in self.raw_values() {
            if self.schema().option(group, option).is_none() {
                out.push(EffectiveValue {
                    group: group.clone(),
                    option: option.clone(),
                    value: raw.value.clone(),
                    source: Some(raw.source.clone()),
                });
            }
        }
        for value in &mut out {
            if !value.value.is_empty() && self.is_secret(&value.group, &value.option) {
                value.value = MASK.to_owned();
            }
        }
        out.sort_by(|a, b| (&a.group, &a.option).cmp(&(&b.group, &b.option)));
        out.dedup_by(|a, b| a.group == b.group && a.option == b.option);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ConfigSources, Schema};

    fn conf(options: &[(&str, &str, &str)]) -> NovaConf {
        let sources = ConfigSources::from_options(options);
        NovaConf::load(&sources, &Schema::new(&[])).unwrap().0
    }

    fn value<'a>(values: &'a [EffectiveValue], group: &str, option: &str) -> &'a EffectiveValue {
        values
            .iter()
            .find(|v| v.group == group && v.option == option)
            .unwrap_or_else(|| panic!("[{group}] {option} missing"))
    }

    #[test]
    fn declared_secrets_and_library_secrets_are_masked_and_the_rest_shown() {
        let conf = conf(&[
            ("DEFAULT", "debug", "true"),
            ("DEFAULT", "transport_url", "rabbit://nova:hunter2@mq//"),
            (
                "database",
                "connection",
                "postgresql://nova:hunter2@db/nova",
            ),
            ("keystone_authtoken", "password", "hunter2"),
            ("keystone_authtoken", "username", "nova"),
        ]);
        let values = conf.effective_values();
        assert_eq!(value(&values, "database", "connection").value, MASK);
        assert_eq!(value(&values, "keystone_authtoken", "password").value, MASK);
        assert_eq!(value(&values, "DEFAULT", "transport_url").value, MASK);
        assert_eq!(
            value(&values, "keystone_authtoken", "username").value,
            "nova"
        );
        assert_eq!(value(&values, "DEFAULT", "debug").value, "true");
        assert!(values.iter().all(|v| !v.value.contains("hunter2")));
    }

    #[test]
    fn unset_options_show_their_default_and_no_source() {
        let conf = conf(&[("DEFAULT", "debug", "true")]);
        let values = conf.effective_values();
        let pool = value(&values, "wsgi", "default_pool_size");
        assert_eq!(pool.value, "1000");
        assert_eq!(pool.source, None);
        assert!(value(&values, "DEFAULT", "debug").source.is_some());
        // The default connection is a secret too: it is masked even unset.
        assert_eq!(value(&values, "database", "connection").value, MASK);
    }
}
