//! The AWS Query protocol: decoding a query string or form body into
//! parameters, and typed views of EC2's list parameters (`InstanceId.N`,
//! `Filter.N.Name`/`Filter.N.Value.M`, `Tag.N.Key`, `TagSpecification.N…`).
//!
//! [`parse_query`] is a fuzz target: it must never panic, whatever the bytes.

use std::collections::BTreeMap;

use crate::error::Ec2Error;

/// Why a query string or form body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum QueryError {
    /// A name or value is not UTF-8 once percent-decoded.
    #[error("parameter {0:?} is not valid UTF-8")]
    InvalidUtf8(String),
    /// A list index (`Name.N`) too large for a list.
    #[error("parameter {0:?} has a list index out of range")]
    IndexOutOfRange(String),
}

impl From<QueryError> for Ec2Error {
    fn from(e: QueryError) -> Self {
        Ec2Error::InvalidParameterValue(e.to_string())
    }
}

/// Decodes `application/x-www-form-urlencoded` bytes into (name, value) pairs
/// in order. `+` is a space; a `%` not followed by two hex digits is kept as
/// is (as Python's `unquote` does); empty names are dropped.
pub fn decode_pairs(input: &[u8]) -> Result<Vec<(String, String)>, QueryError> {
    let mut pairs = Vec::new();
    for piece in input.split(|b| *b == b'&') {
        if piece.is_empty() {
            continue;
        }
        let (name, value) = match piece.iter().position(|b| *b == b'=') {
            Some(i) => (&piece[..i], &piece[i + 1..]),
            None => (piece, &b""[..]),
        };
        let name = decode_component(name)?;
        if name.is_empty() {
            continue;
        }
        let value = decode_component(value)?;
        pairs.push((name, value));
    }
    Ok(pairs)
}

fn hex_val(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

fn decode_component(raw: &[u8]) -> Result<String, QueryError> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        match raw[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hi = raw.get(i + 1).copied().and_then(hex_val);
                let lo = raw.get(i + 2).copied().and_then(hex_val);
                match (hi, lo) {
                    (Some(h), Some(l)) => {
                        out.push(h << 4 | l);
                        i += 3;
                        continue;
                    }
                    _ => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|e| {
        QueryError::InvalidUtf8(
            String::from_utf8_lossy(e.as_bytes())
                .chars()
                .take(64)
                .collect(),
        )
    })
}

/// The decoded parameters of one EC2 request: the URL's query string merged
/// with the form body (the body wins on a repeated name, as webob's
/// `req.params` did; within one source the last occurrence wins).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Params {
    map: BTreeMap<String, String>,
}

/// One `Filter.N`: a name and its values.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    /// `Filter.N.Name`.
    pub name: String,
    /// `Filter.N.Value.M`, in M order.
    pub values: Vec<String>,
}

/// One `Tag.N` (or `TagSpecification.N.Tag.M`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tag {
    /// `.Key`.
    pub key: String,
    /// `.Value`; absent in DeleteTags means "whatever the value".
    pub value: Option<String>,
}

/// One `TagSpecification.N`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagSpecification {
    /// `.ResourceType` (`instance`, `image`, ...).
    pub resource_type: String,
    /// `.Tag.M`.
    pub tags: Vec<Tag>,
}

impl Params {
    /// Builds parameters from pairs; a later pair replaces an earlier one.
    pub fn from_pairs<I: IntoIterator<Item = (String, String)>>(pairs: I) -> Self {
        Self {
            map: pairs.into_iter().collect(),
        }
    }

    /// The value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.map.get(name).map(String::as_str)
    }

    /// The value of a required parameter, or `MissingParameter`.
    pub fn require(&self, name: &str) -> Result<&str, Ec2Error> {
        match self.get(name) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(Ec2Error::MissingParameter(name.to_string())),
        }
    }

    /// All parameters in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.map.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Whether no parameter is set.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// An integer parameter: EC2's `Integer` is 32-bit, so a value that is
    /// not an integer, or one outside `i32`, is `InvalidParameterValue`
    /// (never wrapped or clamped).
    pub fn int(&self, name: &str) -> Result<Option<i32>, Ec2Error> {
        self.get(name)
            .map(|v| {
                let v = v.trim();
                let digits = v.strip_prefix(['+', '-']).unwrap_or(v);
                let integral = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
                v.parse::<i32>().map_err(|_| {
                    Ec2Error::InvalidParameterValue(if integral {
                        format!(
                            "Value ({v}) for parameter {name} is invalid. Expected an integer from {} to {}",
                            i32::MIN,
                            i32::MAX
                        )
                    } else {
                        format!("Value ({v}) for parameter {name} is invalid. Expected an integer")
                    })
                })
            })
            .transpose()
    }

    /// A boolean parameter (`true`/`false`, any case).
    pub fn bool(&self, name: &str) -> Result<Option<bool>, Ec2Error> {
        self.get(name)
            .map(|v| match v.trim().to_ascii_lowercase().as_str() {
                "true" | "1" => Ok(true),
                "false" | "0" => Ok(false),
                _ => Err(Ec2Error::InvalidParameterValue(format!(
                    "Value ({v}) for parameter {name} is invalid. Expected a boolean"
                ))),
            })
            .transpose()
    }

    /// The members `prefix.N` of a list, in N order, as sub-parameter sets
    /// whose names are what follows `prefix.N.` (a scalar member `prefix.N`
    /// appears under the empty name). Non-numeric or zero indexes are ignored.
    pub fn members(&self, prefix: &str) -> Vec<Params> {
        let mut by_index: BTreeMap<u32, Params> = BTreeMap::new();
        let start = format!("{prefix}.");
        for (name, value) in self.map.range(start.clone()..) {
            let Some(rest) = name.strip_prefix(&start) else {
                break;
            };
            let (index, tail) = match rest.split_once('.') {
                Some((i, t)) => (i, t),
                None => (rest, ""),
            };
            if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            // parse_query refuses an index beyond u32; here it is skipped.
            let Ok(index) = index.parse::<u32>() else {
                continue;
            };
            if index == 0 {
                continue;
            }
            by_index
                .entry(index)
                .or_default()
                .map
                .insert(tail.to_string(), value.clone());
        }
        by_index.into_values().collect()
    }

    /// The scalar list `prefix.N` (e.g. `InstanceId.1`, `InstanceId.2`), in N order.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.members(prefix)
            .into_iter()
            .filter_map(|m| m.get("").map(str::to_string))
            .collect()
    }

    /// `Filter.N.Name` / `Filter.N.Value.M`; a filter without a name is `InvalidParameterValue`.
    pub fn filters(&self) -> Result<Vec<Filter>, Ec2Error> {
        self.members("Filter")
            .into_iter()
            .map(|m| {
                let name = m
                    .get("Name")
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| {
                        Ec2Error::InvalidParameterValue("The filter 'null' is invalid".into())
                    })?
                    .to_string();
                Ok(Filter {
                    name,
                    values: m.list("Value"),
                })
            })
            .collect()
    }

    /// The tag list `prefix.N.Key` / `prefix.N.Value`; a tag without a key is
    /// `InvalidParameterValue`.
    pub fn tags(&self, prefix: &str) -> Result<Vec<Tag>, Ec2Error> {
        self.members(prefix)
            .into_iter()
            .map(|m| {
                let key = m
                    .get("Key")
                    .ok_or_else(|| {
                        Ec2Error::InvalidParameterValue("Tag keys must be given".into())
                    })?
                    .to_string();
                Ok(Tag {
                    key,
                    value: m.get("Value").map(str::to_string),
                })
            })
            .collect()
    }

    /// `TagSpecification.N.ResourceType` and `TagSpecification.N.Tag.M.Key/Value`.
    pub fn tag_specifications(&self) -> Result<Vec<TagSpecification>, Ec2Error> {
        self.members("TagSpecification")
            .into_iter()
            .map(|m| {
                let resource_type = m.require("ResourceType")?.to_string();
                Ok(TagSpecification {
                    resource_type,
                    tags: m.tags("Tag")?,
                })
            })
            .collect()
    }
}

/// A decoded EC2 request: its parameters, with `Action` and `Version` picked out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ec2Query {
    /// The `Action` parameter, if any.
    pub action: Option<String>,
    /// The `Version` parameter, if any.
    pub version: Option<String>,
    /// Every parameter, `Action` and `Version` included.
    pub params: Params,
}

/// Decodes a request's query string and, for a form POST, its body into an
/// [`Ec2Query`]. Never panics, whatever the bytes; invalid UTF-8 is an error.
pub fn parse_query(query: &[u8], form_body: Option<&[u8]>) -> Result<Ec2Query, QueryError> {
    let mut pairs = decode_pairs(query)?;
    if let Some(body) = form_body {
        pairs.extend(decode_pairs(body)?);
    }
    if let Some((name, _)) = pairs.iter().find(|(name, _)| !indexes_in_range(name)) {
        return Err(QueryError::IndexOutOfRange(name.chars().take(64).collect()));
    }
    let params = Params::from_pairs(pairs);
    Ok(Ec2Query {
        action: params.get("Action").map(str::to_string),
        version: params.get("Version").map(str::to_string),
        params,
    })
}

/// Whether every list index of a parameter name (its all-digit segments,
/// as in `Filter.1.Value.2`) fits a `u32`, so that none is silently lost.
fn indexes_in_range(name: &str) -> bool {
    name.split('.')
        .filter(|seg| !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()))
        .all(|seg| seg.parse::<u32>().is_ok())
}

/// One fuzzing round: the bytes up to the first NUL are a query string, the
/// rest a form body; the request is decoded and every typed view exercised.
/// Used by the `parse_query` fuzz target and the unit sweep; never panics.
pub fn fuzz_one(data: &[u8]) {
    let (query, body) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    };
    if let Ok(q) = parse_query(query, body) {
        let p = &q.params;
        let _ = p.filters();
        let _ = p.tag_specifications();
        let _ = p.tags("Tag");
        let _ = p.list("InstanceId");
        let _ = p.int("MaxResults");
        let _ = p.bool("DryRun");
        let _ = crate::pipeline::validate_params(&q);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Params {
        parse_query(s.as_bytes(), None).unwrap().params
    }

    #[test]
    fn decodes_percent_escapes_and_plus() {
        let p = q("Action=DescribeInstances&A=a%20b+c%2B&B=%zz%4&C");
        assert_eq!(p.get("A"), Some("a b c+"));
        assert_eq!(p.get("B"), Some("%zz%4"));
        assert_eq!(p.get("C"), Some(""));
    }

    #[test]
    fn invalid_utf8_is_an_error_not_a_panic() {
        assert!(matches!(
            parse_query(b"A=%ff%fe", None),
            Err(QueryError::InvalidUtf8(_))
        ));
        assert!(matches!(
            parse_query(b"\xff=1", None),
            Err(QueryError::InvalidUtf8(_))
        ));
    }

    #[test]
    fn body_is_merged_over_query() {
        let r = parse_query(b"Action=X&Version=1", Some(b"Action=DescribeRegions&Z=1")).unwrap();
        assert_eq!(r.action.as_deref(), Some("DescribeRegions"));
        assert_eq!(r.version.as_deref(), Some("1"));
        assert_eq!(r.params.get("Z"), Some("1"));
    }

    #[test]
    fn lists_come_in_numeric_index_order() {
        let p = q("InstanceId.10=i-10&InstanceId.2=i-2&InstanceId.1=i-1&InstanceId.x=bad&InstanceId.0=zero");
        assert_eq!(p.list("InstanceId"), vec!["i-1", "i-2", "i-10"]);
    }

    #[test]
    fn list_indexes_beyond_u32_are_refused_not_dropped() {
        assert_eq!(
            parse_query(b"InstanceId.1=i-1&InstanceId.4294967295=i-2", None)
                .unwrap()
                .params
                .list("InstanceId"),
            vec!["i-1", "i-2"]
        );
        for bad in [
            &b"InstanceId.1=i-1&InstanceId.4294967296=i-2"[..],
            b"Filter.1.Value.99999999999999999999999=x",
        ] {
            assert!(matches!(
                parse_query(bad, None),
                Err(QueryError::IndexOutOfRange(_))
            ));
        }
    }

    #[test]
    fn filters_group_names_and_values() {
        let p = q("Filter.1.Name=instance-state-name&Filter.1.Value.2=stopped&Filter.1.Value.1=running&Filter.2.Name=tag%3AName&Filter.2.Value.1=web");
        let f = p.filters().unwrap();
        assert_eq!(
            f,
            vec![
                Filter {
                    name: "instance-state-name".into(),
                    values: vec!["running".into(), "stopped".into()]
                },
                Filter {
                    name: "tag:Name".into(),
                    values: vec!["web".into()]
                },
            ]
        );
        assert!(q("Filter.1.Value.1=x").filters().is_err());
    }

    #[test]
    fn tag_specifications_and_tags_parse() {
        let p = q("TagSpecification.1.ResourceType=instance&TagSpecification.1.Tag.1.Key=Name&TagSpecification.1.Tag.1.Value=web&TagSpecification.1.Tag.2.Key=env&Tag.1.Key=k");
        let specs = p.tag_specifications().unwrap();
        assert_eq!(specs.len(), 1);
        assert_eq!(specs[0].resource_type, "instance");
        assert_eq!(
            specs[0].tags,
            vec![
                Tag {
                    key: "Name".into(),
                    value: Some("web".into())
                },
                Tag {
                    key: "env".into(),
                    value: None
                }
            ]
        );
        assert_eq!(
            p.tags("Tag").unwrap(),
            vec![Tag {
                key: "k".into(),
                value: None
            }]
        );
    }

    #[test]
    fn typed_scalars_refuse_garbage() {
        let p = q("MaxResults=abc&DryRun=maybe&MinCount=3&Flag=TRUE");
        assert!(matches!(
            p.int("MaxResults"),
            Err(Ec2Error::InvalidParameterValue(_))
        ));
        assert!(matches!(
            p.bool("DryRun"),
            Err(Ec2Error::InvalidParameterValue(_))
        ));
        assert_eq!(p.int("MinCount").unwrap(), Some(3));
        assert_eq!(p.int("Nope").unwrap(), None);
        assert_eq!(p.bool("Flag").unwrap(), Some(true));
        assert!(matches!(p.require("Nope"), Err(Ec2Error::MissingParameter(n)) if n == "Nope"));
    }

    #[test]
    fn integers_outside_ec2s_32_bits_are_refused_not_wrapped() {
        let p = q("A=2147483647&B=-2147483648&C=2147483648&D=4294967296&E=-2147483649&F=99999999999999999999999&G=%2B7");
        assert_eq!(p.int("A").unwrap(), Some(i32::MAX));
        assert_eq!(p.int("B").unwrap(), Some(i32::MIN));
        assert_eq!(p.int("G").unwrap(), Some(7));
        for name in ["C", "D", "E", "F"] {
            match p.int(name) {
                Err(Ec2Error::InvalidParameterValue(m)) => assert!(
                    m.ends_with("Expected an integer from -2147483648 to 2147483647"),
                    "{name}: {m}"
                ),
                other => panic!("{name}: {other:?}"),
            }
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A deterministic sweep standing in for the fuzzer in unit runs.
        let mut seed: u64 = 0x9e3779b97f4a7c15;
        let alphabet = b"%&=+.0123456789abcdefABCDEF\xff\xc3\xa9\x00Filter.Value.Name";
        for len in 0..200 {
            let mut bytes = Vec::with_capacity(len);
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                bytes.push(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            fuzz_one(&bytes);
        }
    }
}
