//! Text-to-value parsers with oslo.config's rules, and `$option` substitution.
//!
//! Every parser takes the raw text of one option and returns the typed value
//! or the reason it is wrong ("expected an integer >= 0"); the caller adds the
//! source, section and option to make a [`crate::ConfigError`].

use std::net::IpAddr;
use std::path::PathBuf;

/// A string option: the text as written.
pub fn string(text: &str) -> Result<String, String> {
    Ok(text.to_owned())
}

/// A file system path option.
pub fn path(text: &str) -> Result<PathBuf, String> {
    Ok(PathBuf::from(text.trim()))
}

/// A boolean as oslo.config reads one: `true/false`, `yes/no`, `on/off`,
/// `1/0`, in any letter case.
pub fn boolean(text: &str) -> Result<bool, String> {
    parse_bool(text)
        .ok_or_else(|| "expected a boolean (true/false, yes/no, on/off, 1/0)".to_owned())
}

/// oslo.config's booleans: `1/t/true/on/y/yes` and `0/f/false/off/n/no`,
/// any case, around spaces: the one boolean parser of every crate's options.
pub fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "t" | "true" | "on" | "y" | "yes" => Some(true),
        "0" | "f" | "false" | "off" | "n" | "no" => Some(false),
        _ => None,
    }
}

/// What an integer option with these bounds expects, for error messages.
fn int_expectation(min: Option<i64>, max: Option<i64>) -> String {
    match (min, max) {
        (Some(min), Some(max)) => format!("expected an integer between {min} and {max}"),
        (Some(min), None) => format!("expected an integer >= {min}"),
        (None, Some(max)) => format!("expected an integer <= {max}"),
        (None, None) => "expected an integer".to_owned(),
    }
}

/// An integer option with optional inclusive bounds, converted to `T`.
pub fn int<T: TryFrom<i64>>(
    min: Option<i64>,
    max: Option<i64>,
) -> impl Fn(&str) -> Result<T, String> {
    move |text| {
        let expected = || int_expectation(min, max);
        let n: i64 = text.trim().parse().map_err(|_| expected())?;
        if min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            return Err(expected());
        }
        T::try_from(n).map_err(|_| expected())
    }
}

/// A floating-point option with optional inclusive bounds.
pub fn float(min: Option<f64>, max: Option<f64>) -> impl Fn(&str) -> Result<f64, String> {
    move |text| {
        let expected = || match (min, max) {
            (Some(min), Some(max)) => format!("expected a number between {min} and {max}"),
            (Some(min), None) => format!("expected a number >= {min}"),
            (None, Some(max)) => format!("expected a number <= {max}"),
            (None, None) => "expected a number".to_owned(),
        };
        let n: f64 = text.trim().parse().map_err(|_| expected())?;
        if !n.is_finite() || min.is_some_and(|m| n < m) || max.is_some_and(|m| n > m) {
            return Err(expected());
        }
        Ok(n)
    }
}

/// A TCP port, as oslo.config's `PortOpt`: 0 to 65535.
pub fn port(text: &str) -> Result<u16, String> {
    text.trim()
        .parse::<u16>()
        .map_err(|_| "expected a port number between 0 and 65535".to_owned())
}

/// A comma-separated list; items are trimmed and empty items dropped, so
/// `a, b,` is `["a", "b"]`.
pub fn list(text: &str) -> Result<Vec<String>, String> {
    Ok(text
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect())
}

/// A list whose every item must be one of `choices`.
pub fn list_of(choices: &'static [&'static str]) -> impl Fn(&str) -> Result<Vec<String>, String> {
    move |text| {
        let items = list(text)?;
        match items.iter().find(|item| !choices.contains(&item.as_str())) {
            Some(bad) => Err(format!("{bad:?} is not one of {}", choices.join(", "))),
            None => Ok(items),
        }
    }
}

/// A string that must be one of `choices` (compared exactly, as oslo does).
pub fn choice(choices: &'static [&'static str]) -> impl Fn(&str) -> Result<String, String> {
    move |text| {
        let text = text.trim();
        if choices.contains(&text) {
            Ok(text.to_owned())
        } else {
            Err(format!("expected one of {}", choices.join(", ")))
        }
    }
}

/// An IP address (v4 or v6).
pub fn ip(text: &str) -> Result<IpAddr, String> {
    text.trim()
        .parse()
        .map_err(|_| "expected an IP address".to_owned())
}

/// An IP address or a host name (oslo.config's `HostAddressOpt`), as the
/// `*_listen` options take.
pub fn host(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.parse::<IpAddr>().is_ok() || is_host_name(text) {
        Ok(text.to_owned())
    } else {
        Err("expected an IP address or a host name".to_owned())
    }
}

/// Whether `name` is an RFC 1123 host name (a trailing dot is allowed).
fn is_host_name(name: &str) -> bool {
    let name = name.strip_suffix('.').unwrap_or(name);
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        // An all-numeric name would be a mistyped IPv4 address.
        && !name.split('.').all(|label| label.bytes().all(|b| b.is_ascii_digit()))
}

/// Expands oslo.config's substitutions in `text`: `$name` and `${name}` (an
/// option of the same group, else of `[DEFAULT]`), `$group.name` and
/// `${group.name}`; `$$` and `\$` are a literal `$`, and a `$` not followed
/// by a name stays as it is. `lookup` resolves one name to its (already
/// expanded) value or gives the reason it cannot.
pub fn substitute(
    text: &str,
    lookup: &mut dyn FnMut(&str) -> Result<String, String>,
) -> Result<String, String> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let (before, after) = rest.split_at(pos);
        let after = &after[1..];
        if let Some(stripped) = before.strip_suffix('\\') {
            out.push_str(stripped);
            out.push('$');
            rest = after;
            continue;
        }
        out.push_str(before);
        if let Some(after_dollar) = after.strip_prefix('$') {
            out.push('$');
            rest = after_dollar;
        } else if let Some(braced) = after.strip_prefix('{') {
            match braced.find('}') {
                Some(end) if is_identifier(&braced[..end]) => {
                    out.push_str(&lookup(&braced[..end])?);
                    rest = &braced[end + 1..];
                }
                _ => {
                    out.push('$');
                    rest = after;
                }
            }
        } else {
            let len = identifier_len(after);
            if len == 0 {
                out.push('$');
                rest = after;
            } else {
                out.push_str(&lookup(&after[..len])?);
                rest = &after[len..];
            }
        }
    }
    out.push_str(rest);
    Ok(out)
}

/// The length of the oslo identifier (`[_a-z][._a-z0-9]*`, any case) that
/// starts `text`, or 0.
fn identifier_len(text: &str) -> usize {
    let bytes = text.as_bytes();
    match bytes.first() {
        Some(b) if b.is_ascii_alphabetic() || *b == b'_' => bytes
            .iter()
            .take_while(|b| b.is_ascii_alphanumeric() || **b == b'_' || **b == b'.')
            .count(),
        _ => 0,
    }
}

/// Whether all of `text` is one oslo identifier.
fn is_identifier(text: &str) -> bool {
    !text.is_empty() && identifier_len(text) == text.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn booleans_accept_oslo_spellings_in_any_case() {
        for t in ["true", "TRUE", "Yes", "on", "1", " true ", "t", "Y"] {
            assert_eq!(boolean(t), Ok(true), "{t}");
        }
        for t in ["false", "No", "OFF", "0", "f", "N"] {
            assert_eq!(boolean(t), Ok(false), "{t}");
        }
        assert!(boolean("2").is_err());
        assert!(boolean("").is_err());
    }

    #[test]
    fn integers_enforce_bounds_and_say_which() {
        let p = int::<u32>(Some(1), None);
        assert_eq!(p("4"), Ok(4));
        assert_eq!(p("0"), Err("expected an integer >= 1".to_owned()));
        let p = int::<i64>(Some(0), Some(10));
        assert_eq!(
            p("11"),
            Err("expected an integer between 0 and 10".to_owned())
        );
        assert_eq!(
            int::<i64>(None, Some(3))("x"),
            Err("expected an integer <= 3".to_owned())
        );
        assert_eq!(int::<i64>(None, None)("-7"), Ok(-7));
    }

    #[test]
    fn floats_reject_nan_and_bounds() {
        let p = float(Some(0.0), None);
        assert_eq!(p("1.5"), Ok(1.5));
        assert!(p("NaN").is_err());
        assert_eq!(p("-1"), Err("expected a number >= 0".to_owned()));
    }

    #[test]
    fn lists_trim_items_and_drop_empty_ones() {
        assert_eq!(
            list(" a , b,,c ,"),
            Ok(vec!["a".into(), "b".into(), "c".into()])
        );
        assert_eq!(list(""), Ok(vec![]));
        assert_eq!(
            list_of(&["x", "y"])("x, z"),
            Err("\"z\" is not one of x, y".to_owned())
        );
    }

    #[test]
    fn hosts_are_ip_addresses_or_rfc1123_names() {
        for ok in [
            "0.0.0.0",
            "::",
            "fe80::1",
            "api.example.com",
            "localhost",
            "a-b",
        ] {
            assert_eq!(host(ok), Ok(ok.to_owned()));
        }
        for bad in ["", "-a", "a_b", "999.1.1.1", "a..b", "[::]", "a b"] {
            assert!(host(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ports_are_0_to_65535() {
        assert_eq!(port("0"), Ok(0));
        assert_eq!(port("65535"), Ok(65535));
        assert!(port("65536").is_err());
        assert!(port("-1").is_err());
    }

    fn lookup_table(name: &str) -> Result<String, String> {
        match name {
            "state_path" => Ok("/srv/nova".to_owned()),
            "wsgi.keep_alive" => Ok("true".to_owned()),
            other => Err(format!("no option {other}")),
        }
    }

    #[test]
    fn substitution_expands_plain_braced_and_dotted_names() {
        let mut l = lookup_table;
        assert_eq!(
            substitute("sqlite:///$state_path/nova.sqlite", &mut l),
            Ok("sqlite:////srv/nova/nova.sqlite".to_owned())
        );
        assert_eq!(
            substitute("${state_path}x", &mut l),
            Ok("/srv/novax".to_owned())
        );
        assert_eq!(
            substitute("$wsgi.keep_alive", &mut l),
            Ok("true".to_owned())
        );
    }

    #[test]
    fn substitution_keeps_escaped_and_lone_dollars() {
        let mut l = lookup_table;
        assert_eq!(substitute("a$$b", &mut l), Ok("a$b".to_owned()));
        assert_eq!(
            substitute("a\\$state_path", &mut l),
            Ok("a$state_path".to_owned())
        );
        assert_eq!(
            substitute("cost $5 ${", &mut l),
            Ok("cost $5 ${".to_owned())
        );
        assert_eq!(substitute("$", &mut l), Ok("$".to_owned()));
        assert_eq!(
            substitute("$nope", &mut l),
            Err("no option nope".to_owned())
        );
    }
}
