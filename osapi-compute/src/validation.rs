//! Request validation with nova's JSON-schema messages.
//!
//! nova validates bodies with jsonschema and shows the first error as
//! "Invalid input for field/attribute <name>. Value: <value>. <message>"
//! (or the bare message when the error is at the top). [`Schema`] is a
//! small builder for the subset of JSON Schema nova's schemas use, checked
//! in the keyword order nova's schemas are written in, so that the first
//! error a client sees is the one nova would show.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use regex::Regex;
use serde_json::Value;

use crate::fault::ApiError;
use crate::microversion::LegacyV2;

/// A JSON type name as JSON Schema spells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ty {
    /// `string`
    String,
    /// `integer` (a JSON number without fraction)
    Integer,
    /// `number`
    Number,
    /// `boolean`
    Boolean,
    /// `object`
    Object,
    /// `array`
    Array,
    /// `null`
    Null,
}

impl Ty {
    fn name(self) -> &'static str {
        match self {
            Ty::String => "string",
            Ty::Integer => "integer",
            Ty::Number => "number",
            Ty::Boolean => "boolean",
            Ty::Object => "object",
            Ty::Array => "array",
            Ty::Null => "null",
        }
    }

    fn accepts(self, value: &Value) -> bool {
        match self {
            Ty::String => value.is_string(),
            Ty::Integer => {
                value.is_i64() || value.is_u64() || value.as_f64().is_some_and(|f| f.fract() == 0.0)
            }
            Ty::Number => value.is_number(),
            Ty::Boolean => value.is_boolean(),
            Ty::Object => value.is_object(),
            Ty::Array => value.is_array(),
            Ty::Null => value.is_null(),
        }
    }
}

/// A named string format nova checks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// A UUID (nova accepts the hex form with or without dashes).
    Uuid,
    /// nova's `name`: printable, no leading or trailing whitespace.
    Name,
    /// nova's `name_with_leading_trailing_spaces`: printable.
    NameWithSpaces,
    /// Base64 text.
    Base64,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// Text without control characters (the flavor description: nova's
    /// schema spells the printable ranges out as a pattern, shown here by
    /// name).
    Printable,
}

/// A schema node (only the keywords nova's schemas use).
#[derive(Clone, Debug, Default)]
pub struct Schema {
    types: Vec<Ty>,
    enum_values: Option<Vec<Value>>,
    min_length: Option<usize>,
    max_length: Option<usize>,
    pattern: Option<(String, Regex)>,
    format: Option<Format>,
    minimum: Option<i64>,
    maximum: Option<i64>,
    float_bounds: Option<FloatBounds>,
    items: Option<Box<Schema>>,
    min_items: Option<usize>,
    max_items: Option<usize>,
    unique_items: bool,
    properties: Vec<(String, Schema)>,
    required: Vec<String>,
    additional_properties: Option<bool>,
    additional_schema: Option<Box<Schema>>,
    pattern_properties: Vec<(String, Regex, Schema)>,
    one_of: Vec<Schema>,
    all_of: Vec<Schema>,
    min_properties: Option<usize>,
    max_properties: Option<usize>,
    nullable: bool,
    plain_type_list: bool,
    unmatched_keys_message: bool,
}

/// `exclusiveMinimum` and `maximum` compared as floats (strings through
/// Python's `float()`), each with its limit as nova's message prints it.
#[derive(Clone, Debug)]
struct FloatBounds {
    exclusive_minimum: (f64, String),
    maximum: (f64, String),
}

/// A validation failure: the path to the value, the value, the message.
#[derive(Clone, Debug, PartialEq)]
pub struct Invalid {
    /// The last path element (field name or index), if any.
    pub field: Option<String>,
    /// The value at fault.
    pub value: Value,
    /// jsonschema's message.
    pub message: String,
    /// A message that replaces the whole text (nova's custom format errors).
    pub full: Option<String>,
}

impl Invalid {
    /// nova's text for a body error.
    pub fn body_message(&self) -> String {
        if let Some(full) = &self.full {
            return full.clone();
        }
        match &self.field {
            Some(field) => format!(
                "Invalid input for field/attribute {field}. Value: {}. {}",
                py_str(&self.value),
                self.message
            ),
            None => self.message.clone(),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::BadRequest(invalid.body_message())
    }
}

/// Python's `repr` of a JSON value (what jsonschema puts in its messages).
pub fn py_repr(value: &Value) -> String {
    match value {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => py_str_repr(s),
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(py_repr).collect::<Vec<_>>().join(", ")
        ),
        Value::Object(map) => format!(
            "{{{}}}",
            map.iter()
                .map(|(k, v)| format!("{}: {}", py_str_repr(k), py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `str` of a JSON value: strings bare, the rest as `repr`.
pub fn py_str(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

fn py_str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

fn is_printable(c: char) -> bool {
    !c.is_control()
}

/// The sign and the significant digits of an integer as Python's `int()`
/// reads a string: surrounding whitespace, an optional sign, ASCII digits.
/// `None` for anything else.
fn py_int_digits(s: &str) -> Option<(bool, &str)> {
    let s = s.trim();
    let (negative, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let significant = digits.trim_start_matches('0');
    if significant.is_empty() {
        Some((false, "0"))
    } else {
        Some((negative, significant))
    }
}

/// An integer as Python's `int()` reads the string `s`, saturated to the
/// range of `i64`; `None` when `s` is no integer. nova compares such
/// numbers with limits, quotas and row values that never come near `i64`'s
/// bounds, so the saturated value decides as the exact one would.
pub fn int_from_str(s: &str) -> Option<i64> {
    let (negative, digits) = py_int_digits(s)?;
    let saturated = if negative { i64::MIN } else { i64::MAX };
    Some(
        format!("{}{digits}", if negative { "-" } else { "" })
            .parse()
            .unwrap_or(saturated),
    )
}

/// The integer a value stands for once an integer-or-string schema has
/// passed it (nova's `int(value)`): a JSON integer (or a float without
/// fraction) or a string of one, saturated as [`int_from_str`] saturates.
pub fn int_of(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_u64().map(|_| i64::MAX))
            // `as` saturates a float beyond i64's range.
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => int_from_str(s),
        _ => None,
    }
}

/// A value as nova's validator compares it with `minimum` and `maximum`:
/// a JSON number as it is, and a string through `int()` first (nova's
/// `_number_from_str`), so that `"0"` is below a minimum of 1 as `0` is.
/// Its message shows the number compared, as jsonschema's does.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Bounded {
    value: Magnitude,
    repr: String,
}

/// A compared number: integers exactly (any beyond `i128` saturated, which
/// compares alike with `i64` bounds), other numbers as floats.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Magnitude {
    Int(i128),
    Float(f64),
}

impl Bounded {
    /// The number `value` is compared as; `None` for values the bounds do
    /// not apply to (strings that are no integer: every nova schema that
    /// bounds a string also restricts it to digits).
    pub(crate) fn of(value: &Value) -> Option<Bounded> {
        let magnitude = match value {
            Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
                (Some(i), _, _) => Magnitude::Int(i128::from(i)),
                (None, Some(u), _) => Magnitude::Int(i128::from(u)),
                // `as` saturates a float beyond i128's range.
                (None, None, Some(f)) if f.fract() == 0.0 => Magnitude::Int(f as i128),
                (None, None, Some(f)) => Magnitude::Float(f),
                (None, None, None) => return None,
            },
            Value::String(s) => {
                let (negative, digits) = py_int_digits(s)?;
                let magnitude: i128 = digits.parse().unwrap_or(i128::MAX);
                let repr = if negative {
                    format!("-{digits}")
                } else {
                    digits.to_string()
                };
                let value = Magnitude::Int(if negative { -magnitude } else { magnitude });
                return Some(Bounded { value, repr });
            }
            _ => return None,
        };
        Some(Bounded {
            value: magnitude,
            repr: py_repr(value),
        })
    }

    pub(crate) fn below(&self, min: i64) -> bool {
        match self.value {
            Magnitude::Int(i) => i < i128::from(min),
            Magnitude::Float(f) => f < min as f64,
        }
    }

    pub(crate) fn above(&self, max: i64) -> bool {
        match self.value {
            Magnitude::Int(i) => i > i128::from(max),
            Magnitude::Float(f) => f > max as f64,
        }
    }

    pub(crate) fn below_message(&self, min: i64) -> String {
        format!("{} is less than the minimum of {min}", self.repr)
    }

    pub(crate) fn above_message(&self, max: i64) -> String {
        format!("{} is greater than the maximum of {max}", self.repr)
    }
}

impl Schema {
    /// A schema accepting any of `types`.
    pub fn of(types: &[Ty]) -> Self {
        Schema {
            types: types.to_vec(),
            ..Schema::default()
        }
    }
    /// `{"type": "string"}`.
    pub fn string() -> Self {
        Schema::of(&[Ty::String])
    }
    /// `{"type": "object"}`.
    pub fn object() -> Self {
        Schema::of(&[Ty::Object])
    }
    /// `{"type": "array"}` of `items`.
    pub fn array(items: Schema) -> Self {
        Schema {
            items: Some(Box::new(items)),
            ..Schema::of(&[Ty::Array])
        }
    }
    /// A schema with no constraint (`{}`).
    pub fn any() -> Self {
        Schema::default()
    }
    /// `oneOf` the given schemas.
    pub fn one_of(options: Vec<Schema>) -> Self {
        Schema {
            one_of: options,
            ..Schema::default()
        }
    }
    /// `allOf` the given schemas, checked in order (the first error wins).
    pub fn all_of(parts: Vec<Schema>) -> Self {
        Schema {
            all_of: parts,
            ..Schema::default()
        }
    }
    /// Adds `enum`.
    pub fn enumerated(mut self, values: &[Value]) -> Self {
        self.enum_values = Some(values.to_vec());
        self
    }
    /// Adds `minLength`/`maxLength`.
    pub fn length(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        self.min_length = min;
        self.max_length = max;
        self
    }
    /// Adds `pattern`.
    pub fn pattern(mut self, pattern: &str) -> Self {
        let regex = Regex::new(pattern).expect("schema patterns are constants");
        self.pattern = Some((pattern.to_string(), regex));
        self
    }
    /// Adds `format`.
    pub fn format(mut self, format: Format) -> Self {
        self.format = Some(format);
        self
    }
    /// Adds `minimum`/`maximum`.
    pub fn range(mut self, min: Option<i64>, max: Option<i64>) -> Self {
        self.minimum = min;
        self.maximum = max;
        self
    }
    /// Adds `pattern` shown as `shown` in its message: nova's pattern uses
    /// lookaround, which `regex` lacks, so `regex` is an equivalent one.
    pub fn pattern_shown(mut self, shown: &str, regex: &str) -> Self {
        let regex = Regex::new(regex).expect("schema patterns are constants");
        self.pattern = Some((shown.to_string(), regex));
        self
    }
    /// Adds `exclusiveMinimum` and `maximum` for non-integral numbers,
    /// compared as floats (a string as Python's `float()` reads it), each
    /// limit with the text its message shows; the message shows the value
    /// as given (a string quoted).
    pub fn float_range(mut self, exclusive_minimum: (f64, &str), maximum: (f64, &str)) -> Self {
        self.float_bounds = Some(FloatBounds {
            exclusive_minimum: (exclusive_minimum.0, exclusive_minimum.1.to_string()),
            maximum: (maximum.0, maximum.1.to_string()),
        });
        self
    }
    /// Adds `minProperties`/`maxProperties` (checked after the properties).
    pub fn properties_count(mut self, min: Option<usize>, max: Option<usize>) -> Self {
        self.min_properties = min;
        self.max_properties = max;
        self
    }
    /// Lets `null` through before any other keyword, so that a type error
    /// names only the other types (a property nova reads as "absent or
    /// null").
    pub fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }
    /// Words a type error naming several types as jsonschema does
    /// (`'integer', 'string'`) rather than as a bracketed list (which the
    /// server schemas keep).
    pub fn plain_type_list(mut self) -> Self {
        self.plain_type_list = true;
        self
    }
    /// Sets `additionalProperties: false` with jsonschema's wording for an
    /// object with `patternProperties`: the first key outside the patterns
    /// `does not match any of the regexes`, reported at the object.
    pub fn only_pattern_keys(mut self) -> Self {
        self.additional_properties = Some(false);
        self.unmatched_keys_message = true;
        self
    }
    /// Adds `minItems`/`maxItems`/`uniqueItems`.
    pub fn items_count(mut self, min: Option<usize>, max: Option<usize>, unique: bool) -> Self {
        self.min_items = min;
        self.max_items = max;
        self.unique_items = unique;
        self
    }
    /// Adds a property.
    pub fn prop(mut self, name: &str, schema: Schema) -> Self {
        self.properties.retain(|(n, _)| n != name);
        self.properties.push((name.to_string(), schema));
        self
    }
    /// Removes a property (for schemas of later microversions).
    pub fn without(mut self, name: &str) -> Self {
        self.properties.retain(|(n, _)| n != name);
        self.required.retain(|n| n != name);
        self
    }
    /// Sets `required`.
    pub fn required(mut self, names: &[&str]) -> Self {
        self.required = names.iter().map(|s| s.to_string()).collect();
        self
    }
    /// Sets `additionalProperties: false` (or true).
    pub fn additional(mut self, allowed: bool) -> Self {
        self.additional_properties = Some(allowed);
        self
    }
    /// Sets `additionalProperties` to a schema.
    pub fn additional_schema(mut self, schema: Schema) -> Self {
        self.additional_schema = Some(Box::new(schema));
        self
    }
    /// Adds a `patternProperties` entry.
    pub fn pattern_prop(mut self, pattern: &str, schema: Schema) -> Self {
        let regex = Regex::new(pattern).expect("schema patterns are constants");
        self.pattern_properties
            .push((pattern.to_string(), regex, schema));
        self
    }
    /// A mutable handle on a property's schema.
    pub fn prop_mut(&mut self, name: &str) -> Option<&mut Schema> {
        self.properties
            .iter_mut()
            .find(|(n, _)| n == name)
            .map(|(_, s)| s)
    }

    /// The same schema with `additionalProperties: false` lifted everywhere
    /// (nova's legacy v2 mode accepts extra properties).
    pub fn relaxed(mut self) -> Self {
        if self.additional_properties == Some(false) {
            self.additional_properties = Some(true);
        }
        self.properties = self
            .properties
            .into_iter()
            .map(|(n, s)| (n, s.relaxed()))
            .collect();
        self.items = self.items.map(|s| Box::new(s.relaxed()));
        self.one_of = self.one_of.into_iter().map(Schema::relaxed).collect();
        self
    }

    /// Validates `value`, returning the first error in nova's order.
    pub fn validate(&self, value: &Value) -> Result<(), Invalid> {
        self.check(value, None)
    }

    /// Validates a query string against this object schema, as the
    /// handlers read it: each property's schema checks the parameter's
    /// last value as a string (an empty value counts as absent), then
    /// `additionalProperties: false` names the unknown parameters in the
    /// order they first appear. Messages are nova's for query strings
    /// (`Invalid input for query parameters <name>. ...`).
    pub fn validate_query(&self, query: &[(String, String)]) -> Result<(), ApiError> {
        for (name, schema) in &self.properties {
            let last = query.iter().rev().find(|(k, _)| k == name);
            let Some((_, raw)) = last.filter(|(_, v)| !v.is_empty()) else {
                continue;
            };
            if let Err(invalid) = schema.check(&Value::String(raw.clone()), Some(name.clone())) {
                return Err(match invalid.full {
                    Some(full) => ApiError::BadRequest(full),
                    None => query_error(name, raw, &invalid.message),
                });
            }
        }
        if self.additional_properties == Some(false) {
            let mut extra: Vec<&str> = Vec::new();
            for (key, _) in query {
                let known = self.properties.iter().any(|(n, _)| n == key);
                if !known && !extra.contains(&key.as_str()) {
                    extra.push(key);
                }
            }
            if !extra.is_empty() {
                let names = extra
                    .iter()
                    .map(|k| py_str_repr(k))
                    .collect::<Vec<_>>()
                    .join(", ");
                let verb = if extra.len() == 1 { "was" } else { "were" };
                return Err(ApiError::BadRequest(format!(
                    "Additional properties are not allowed ({names} {verb} unexpected)"
                )));
            }
        }
        Ok(())
    }

    fn fail(field: &Option<String>, value: &Value, message: String) -> Result<(), Invalid> {
        Err(Invalid {
            field: field.clone(),
            value: value.clone(),
            message,
            full: None,
        })
    }

    fn check(&self, value: &Value, field: Option<String>) -> Result<(), Invalid> {
        if self.nullable && value.is_null() {
            return Ok(());
        }
        for part in &self.all_of {
            part.check(value, field.clone())?;
        }
        if !self.types.is_empty() && !self.types.iter().any(|t| t.accepts(value)) {
            let names = self
                .types
                .iter()
                .map(|t| format!("'{}'", t.name()))
                .collect::<Vec<_>>()
                .join(", ");
            let expected = if self.types.len() == 1 || self.plain_type_list {
                names
            } else {
                format!("[{names}]")
            };
            return Self::fail(
                &field,
                value,
                format!("{} is not of type {expected}", py_repr(value)),
            );
        }
        if let Some(values) = &self.enum_values {
            if !values.contains(value) {
                return Self::fail(
                    &field,
                    value,
                    format!(
                        "{} is not one of {}",
                        py_repr(value),
                        py_repr(&Value::Array(values.clone()))
                    ),
                );
            }
        }
        if let Value::String(s) = value {
            let len = s.chars().count();
            if let Some(min) = self.min_length {
                if len < min {
                    let message = if min == 1 {
                        format!("{} should be non-empty", py_repr(value))
                    } else {
                        format!("{} is too short", py_repr(value))
                    };
                    return Self::fail(&field, value, message);
                }
            }
            if let Some(max) = self.max_length {
                if len > max {
                    return Self::fail(&field, value, format!("{} is too long", py_repr(value)));
                }
            }
            if let Some((text, regex)) = &self.pattern {
                if !regex.is_match(s) {
                    return Self::fail(
                        &field,
                        value,
                        format!("{} does not match '{}'", py_repr(value), text),
                    );
                }
            }
            if let Some(format) = self.format {
                self.check_format(format, s, value, &field)?;
            }
        }
        if let Some(number) = Bounded::of(value) {
            if let Some(min) = self.minimum {
                if number.below(min) {
                    return Self::fail(&field, value, number.below_message(min));
                }
            }
            if let Some(max) = self.maximum {
                if number.above(max) {
                    return Self::fail(&field, value, number.above_message(max));
                }
            }
        }
        if let Some(bounds) = &self.float_bounds {
            let number = match value {
                Value::Number(n) => n.as_f64(),
                Value::String(s) => s.parse::<f64>().ok(),
                _ => None,
            };
            if let Some(number) = number {
                let (min, min_text) = &bounds.exclusive_minimum;
                if number <= *min {
                    let message = format!(
                        "{} is less than or equal to the minimum of {min_text}",
                        py_repr(value)
                    );
                    return Self::fail(&field, value, message);
                }
                let (max, max_text) = &bounds.maximum;
                if number > *max {
                    let message = format!(
                        "{} is greater than the maximum of {max_text}",
                        py_repr(value)
                    );
                    return Self::fail(&field, value, message);
                }
            }
        }
        if let Value::Array(items) = value {
            if let Some(schema) = &self.items {
                for (i, item) in items.iter().enumerate() {
                    schema.check(item, Some(i.to_string()))?;
                }
            }
            if let Some(min) = self.min_items {
                if items.len() < min {
                    let message = if min == 1 {
                        format!("{} should be non-empty", py_repr(value))
                    } else {
                        format!("{} is too short", py_repr(value))
                    };
                    return Self::fail(&field, value, message);
                }
            }
            if let Some(max) = self.max_items {
                if items.len() > max {
                    return Self::fail(&field, value, format!("{} is too long", py_repr(value)));
                }
            }
            if self.unique_items {
                for (i, a) in items.iter().enumerate() {
                    if items[..i].contains(a) {
                        return Self::fail(
                            &field,
                            value,
                            format!("{} has non-unique elements", py_repr(value)),
                        );
                    }
                }
            }
        }
        if let Value::Object(map) = value {
            for (name, schema) in &self.properties {
                if let Some(v) = map.get(name) {
                    schema.check(v, Some(name.clone()))?;
                }
            }
            for (_, regex, schema) in &self.pattern_properties {
                for (k, v) in map {
                    if regex.is_match(k) {
                        schema.check(v, Some(k.clone()))?;
                    }
                }
            }
            for name in &self.required {
                if !map.contains_key(name) {
                    return Self::fail(&field, value, format!("'{name}' is a required property"))
                        .map_err(|mut e| {
                            // A missing property is reported at the object.
                            e.field = field.clone();
                            e
                        });
                }
            }
            let extra: Vec<&String> = map
                .keys()
                .filter(|k| {
                    !self.properties.iter().any(|(n, _)| n == *k)
                        && !self
                            .pattern_properties
                            .iter()
                            .any(|(_, r, _)| r.is_match(k))
                })
                .collect();
            if let Some(schema) = &self.additional_schema {
                for k in &extra {
                    schema.check(&map[k.as_str()], Some((*k).clone()))?;
                }
            }
            if self.unmatched_keys_message && !extra.is_empty() {
                let patterns = self
                    .pattern_properties
                    .iter()
                    .map(|(p, _, _)| py_str_repr(p))
                    .collect::<Vec<_>>()
                    .join(", ");
                return Self::fail(
                    &field,
                    value,
                    format!(
                        "{} does not match any of the regexes: {patterns}",
                        py_str_repr(extra[0])
                    ),
                );
            }
            if self.additional_properties == Some(false) && !extra.is_empty() {
                let names = extra
                    .iter()
                    .map(|k| py_str_repr(k))
                    .collect::<Vec<_>>()
                    .join(", ");
                let verb = if extra.len() == 1 { "was" } else { "were" };
                return Self::fail(
                    &field,
                    value,
                    format!("Additional properties are not allowed ({names} {verb} unexpected)"),
                );
            }
            if self.min_properties.is_some_and(|min| map.len() < min) {
                let message = if self.min_properties == Some(1) {
                    format!("{} should be non-empty", py_repr(value))
                } else {
                    format!("{} does not have enough properties", py_repr(value))
                };
                return Self::fail(&field, value, message);
            }
            if self.max_properties.is_some_and(|max| map.len() > max) {
                let message = format!("{} has too many properties", py_repr(value));
                return Self::fail(&field, value, message);
            }
        }
        if !self.one_of.is_empty() {
            let matching = self
                .one_of
                .iter()
                .filter(|s| s.check(value, field.clone()).is_ok())
                .count();
            if matching == 0 {
                return Self::fail(
                    &field,
                    value,
                    format!(
                        "{} is not valid under any of the given schemas",
                        py_repr(value)
                    ),
                );
            }
            if matching > 1 {
                return Self::fail(
                    &field,
                    value,
                    format!(
                        "{} is valid under each of the given schemas",
                        py_repr(value)
                    ),
                );
            }
        }
        Ok(())
    }

    fn check_format(
        &self,
        format: Format,
        s: &str,
        value: &Value,
        field: &Option<String>,
    ) -> Result<(), Invalid> {
        let ok = match format {
            Format::Uuid => {
                let hex: String = s.chars().filter(|c| *c != '-').collect();
                hex.len() == 32
                    && hex.chars().all(|c| c.is_ascii_hexdigit())
                    && uuid::Uuid::parse_str(s).is_ok()
            }
            Format::Name => {
                if s.chars().all(is_printable)
                    && !s.starts_with(char::is_whitespace)
                    && !s.ends_with(char::is_whitespace)
                {
                    true
                } else {
                    return Err(Invalid {
                        field: field.clone(),
                        value: value.clone(),
                        message: String::new(),
                        full: Some(
                            "An invalid 'name' value was provided. The name must be: printable characters. \
                             Can not start or end with whitespace."
                                .into(),
                        ),
                    });
                }
            }
            Format::NameWithSpaces => {
                if s.chars().all(is_printable) {
                    true
                } else {
                    return Err(Invalid {
                        field: field.clone(),
                        value: value.clone(),
                        message: String::new(),
                        full: Some(
                            "An invalid 'name' value was provided. The name must be: printable characters with at least one non space character"
                                .into(),
                        ),
                    });
                }
            }
            Format::Base64 => {
                use base64::Engine;
                base64::engine::general_purpose::STANDARD
                    .decode(s.trim())
                    .is_ok()
            }
            Format::Ipv4 => s.parse::<std::net::Ipv4Addr>().is_ok(),
            Format::Ipv6 => s.parse::<std::net::Ipv6Addr>().is_ok(),
            Format::Printable => {
                if s.chars().any(char::is_control) {
                    return Self::fail(
                        field,
                        value,
                        format!(
                            "{} does not match the printable-characters pattern",
                            py_repr(value)
                        ),
                    );
                }
                true
            }
        };
        if ok {
            return Ok(());
        }
        let name = match format {
            Format::Uuid => "uuid",
            Format::Base64 => "base64",
            Format::Ipv4 => "ipv4",
            Format::Ipv6 => "ipv6",
            Format::Name | Format::NameWithSpaces | Format::Printable => "name",
        };
        Self::fail(
            field,
            value,
            format!("{} is not a '{name}'", py_repr(value)),
        )
    }
}

/// Common nova parameter types.
pub mod types {
    use super::*;

    /// `parameter_types.name`.
    pub fn name() -> Schema {
        Schema::string()
            .length(Some(1), Some(255))
            .format(Format::Name)
    }
    /// `parameter_types.name_with_leading_trailing_spaces`.
    pub fn name_with_spaces() -> Schema {
        Schema::string()
            .length(Some(1), Some(255))
            .format(Format::NameWithSpaces)
    }
    /// `parameter_types.description`.
    pub fn description() -> Schema {
        Schema::of(&[Ty::String, Ty::Null]).length(Some(0), Some(255))
    }
    /// `parameter_types.boolean` (JSON booleans and nova's accepted strings).
    pub fn boolean() -> Schema {
        Schema::of(&[Ty::Boolean, Ty::String]).enumerated(&[
            Value::Bool(true),
            "True".into(),
            "TRUE".into(),
            "true".into(),
            "1".into(),
            "ON".into(),
            "On".into(),
            "on".into(),
            "YES".into(),
            "Yes".into(),
            "yes".into(),
            Value::Bool(false),
            "False".into(),
            "FALSE".into(),
            "false".into(),
            "0".into(),
            "OFF".into(),
            "Off".into(),
            "off".into(),
            "NO".into(),
            "No".into(),
            "no".into(),
        ])
    }
    /// `parameter_types.boolean` with one more accepted string (2.25's
    /// `block_migration: "auto"`).
    pub fn boolean_or(extra: &str) -> Schema {
        let mut schema = boolean();
        if let Some(values) = schema.enum_values.as_mut() {
            values.push(Value::String(extra.to_string()));
        }
        schema
    }
    /// `parameter_types.boolean`'s values without its type, so that any
    /// other value (a number too) gets the enum's message.
    pub fn boolean_values() -> Schema {
        let mut schema = boolean();
        schema.types.clear();
        schema
    }
    /// `parameter_types.positive_integer`.
    pub fn positive_integer() -> Schema {
        Schema::of(&[Ty::Integer, Ty::String])
            .pattern("^[0-9]*$")
            .range(Some(1), None)
            .length(Some(1), None)
    }
    /// `parameter_types.volume_size`: 1 to 2^31-1 (the database's integer).
    pub fn volume_size() -> Schema {
        Schema::of(&[Ty::Integer, Ty::String])
            .pattern("^[0-9]+$")
            .range(Some(1), Some(0x7FFF_FFFF))
    }
    /// `parameter_types.metadata`: string keys 1-255, string values 0-255.
    pub fn metadata() -> Schema {
        Schema::object()
            .pattern_prop(
                "^[a-zA-Z0-9-_:. ]{1,255}$",
                Schema::string().length(None, Some(255)),
            )
            .additional(false)
    }
    /// `parameter_types.tag`.
    pub fn tag() -> Schema {
        Schema::string()
            .length(Some(1), Some(60))
            .pattern("^[^,/]*$")
    }
    /// `parameter_types.admin_password`.
    pub fn admin_password() -> Schema {
        Schema::string()
    }
    /// `parameter_types.accessIPv4`.
    pub fn access_ipv4() -> Schema {
        Schema::string().format(Format::Ipv4)
    }
    /// `parameter_types.accessIPv6`.
    pub fn access_ipv6() -> Schema {
        Schema::string().format(Format::Ipv6)
    }
    /// A UUID string.
    pub fn uuid() -> Schema {
        Schema::string().format(Format::Uuid)
    }
}

/// The request body as JSON: empty is `Null`; invalid JSON is nova's
/// "Malformed request body". Also tells whether the request is legacy v2
/// (which relaxes `additionalProperties`).
#[derive(Debug, Clone)]
pub struct JsonBody {
    /// The parsed body.
    pub value: Value,
    /// True under `/v2` (legacy mode).
    pub legacy: bool,
}

impl JsonBody {
    /// Validates against `schema` (relaxed in legacy mode).
    pub fn validate(&self, schema: Schema) -> Result<&Value, ApiError> {
        let schema = if self.legacy {
            schema.relaxed()
        } else {
            schema
        };
        schema.validate(&self.value)?;
        Ok(&self.value)
    }
}

impl<S: Send + Sync> FromRequest<S> for JsonBody {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let legacy = request.extensions().get::<LegacyV2>().is_some();
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|_| ApiError::BadRequest("Malformed request body".into()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(JsonBody {
                value: Value::Null,
                legacy,
            });
        }
        let value = serde_json::from_slice(&bytes)
            .map_err(|_| ApiError::BadRequest("Malformed request body".into()))?;
        Ok(JsonBody { value, legacy })
    }
}

/// Whether a date-time text starts with a year Python's `datetime` reads:
/// four digits, 0001 to 9999. chrono also reads longer and signed years
/// (up to ±262143), which nova refuses as invalid date-times.
pub fn has_python_year(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() > 4
        && bytes[..4].iter().all(u8::is_ascii_digit)
        && bytes[4] == b'-'
        && &bytes[..4] != b"0000"
}

/// What a value that passed [`types::boolean`] (or
/// [`types::boolean_values`]) stands for.
pub fn bool_of(value: &Value) -> bool {
    match value {
        Value::Bool(b) => *b,
        Value::String(s) => matches!(
            s.as_str(),
            "True" | "TRUE" | "true" | "1" | "ON" | "On" | "on" | "YES" | "Yes" | "yes"
        ),
        _ => false,
    }
}

/// nova's message for a bad query parameter.
pub fn query_error(param: &str, value: &str, message: &str) -> ApiError {
    ApiError::BadRequest(format!(
        "Invalid input for query parameters {param}. Value: {value}. {message}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn server_schema() -> Schema {
        Schema::object()
            .prop(
                "server",
                Schema::object()
                    .prop("name", types::name())
                    .prop("flavorRef", Schema::of(&[Ty::String, Ty::Integer]))
                    .prop("min_count", types::positive_integer())
                    .required(&["name", "flavorRef"])
                    .additional(false),
            )
            .required(&["server"])
            .additional(false)
    }

    #[test]
    fn messages_match_nova_wording() {
        let s = server_schema();
        let err = s.validate(&json!({"server": {"name": "a"}})).unwrap_err();
        assert_eq!(
            err.body_message(),
            "Invalid input for field/attribute server. Value: {'name': 'a'}. 'flavorRef' is a required property"
        );
        let err = s.validate(&json!({})).unwrap_err();
        assert_eq!(err.body_message(), "'server' is a required property");
        let err = s
            .validate(&json!({"server": {"name": "a", "flavorRef": "1", "min_count": 0}}))
            .unwrap_err();
        assert_eq!(
            err.body_message(),
            "Invalid input for field/attribute min_count. Value: 0. 0 is less than the minimum of 1"
        );
        let err = s
            .validate(&json!({"server": {"name": "a", "flavorRef": "1", "x": 1}}))
            .unwrap_err();
        assert_eq!(
            err.body_message(),
            "Invalid input for field/attribute server. Value: {'flavorRef': '1', 'name': 'a', 'x': 1}. Additional properties are not allowed ('x' was unexpected)"
        );
        let err = s
            .validate(&json!({"server": {"name": " a", "flavorRef": "1"}}))
            .unwrap_err();
        assert!(err
            .body_message()
            .starts_with("An invalid 'name' value was provided."));
    }

    #[test]
    fn bounds_apply_to_integer_strings_as_nova_reads_them() {
        let s = server_schema();
        for (count, shown) in [("0", "0"), ("000", "0")] {
            let err = s
                .validate(&json!({"server": {"name": "a", "flavorRef": "1", "min_count": count}}))
                .unwrap_err();
            assert_eq!(
                err.body_message(),
                format!("Invalid input for field/attribute min_count. Value: {count}. {shown} is less than the minimum of 1")
            );
        }
        let huge = json!({"server": {"name": "a", "flavorRef": "1", "min_count": "99999999999999999999999"}});
        assert!(s.validate(&huge).is_ok());
        // Exact at the edge of 64 bits, where a float would round.
        let max = Schema::of(&[Ty::Integer, Ty::String]).range(None, Some(i64::MAX));
        assert!(max.validate(&json!("9223372036854775807")).is_ok());
        assert!(max.validate(&json!("9223372036854775808")).is_err());
        assert!(max.validate(&json!(9_223_372_036_854_775_808_u64)).is_err());
    }

    #[test]
    fn integers_read_as_python_reads_them_saturate_at_64_bits() {
        assert_eq!(int_from_str(" +42 "), Some(42));
        assert_eq!(int_from_str("-007"), Some(-7));
        assert_eq!(int_from_str("99999999999999999999"), Some(i64::MAX));
        assert_eq!(int_from_str("-99999999999999999999"), Some(i64::MIN));
        for not_an_integer in ["", "-", "1.5", "1e3", "0x10", "four"] {
            assert_eq!(int_from_str(not_an_integer), None, "{not_an_integer}");
        }
        assert_eq!(
            int_of(&json!(18_446_744_073_709_551_615_u64)),
            Some(i64::MAX)
        );
        assert_eq!(int_of(&json!(3.0)), Some(3));
        assert_eq!(int_of(&json!(1e30)), Some(i64::MAX));
        assert_eq!(int_of(&json!(true)), None);
    }

    #[test]
    fn only_four_digit_years_from_0001_are_pythons() {
        assert!(has_python_year("2024-01-02T03:04:05"));
        for bad in ["0000-01-01", "10000-01-01", "+2024-01-01", "24-01-01", ""] {
            assert!(!has_python_year(bad), "{bad}");
        }
    }

    #[test]
    fn relaxed_schema_accepts_extra_properties() {
        assert!(server_schema()
            .relaxed()
            .validate(&json!({"server": {"name": "a", "flavorRef": 1, "x": 1}}))
            .is_ok());
    }

    #[test]
    fn python_repr_matches_python() {
        assert_eq!(
            py_repr(&json!({"a": [1, true, null], "b": "x"})),
            "{'a': [1, True, None], 'b': 'x'}"
        );
        assert_eq!(py_repr(&json!("it's")), "\"it's\"");
        assert_eq!(py_str(&json!("abc")), "abc");
    }

    #[test]
    fn plain_type_lists_and_float_bounds_have_jsonschemas_words() {
        let integer = Schema::of(&[Ty::Integer, Ty::String])
            .plain_type_list()
            .pattern("^[0-9]+$")
            .range(Some(1), Some(10_000));
        let message = |s: &Schema, v: Value| s.validate(&v).unwrap_err().body_message();
        let ram = Schema::object().prop("ram", integer);
        assert_eq!(
            message(&ram, json!({"ram": 0})),
            "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"
        );
        assert_eq!(
            message(&ram, json!({"ram": "x"})),
            "Invalid input for field/attribute ram. Value: x. 'x' does not match '^[0-9]+$'"
        );
        assert_eq!(
            message(&ram, json!({"ram": true})),
            "Invalid input for field/attribute ram. Value: True. True is not of type 'integer', 'string'"
        );
        assert!(ram.validate(&json!({"ram": "64"})).is_ok());
        let factor = Schema::of(&[Ty::Number, Ty::String]).float_range((0.0, "0"), (2.5, "2.5"));
        assert_eq!(
            message(&factor, json!("0")),
            "'0' is less than or equal to the minimum of 0"
        );
        assert_eq!(
            message(&factor, json!(3)),
            "3 is greater than the maximum of 2.5"
        );
        assert!(factor.validate(&json!(0.5)).is_ok());
    }

    #[test]
    fn unknown_query_parameters_are_listed_in_order() {
        let schema = Schema::object()
            .prop("limit", Schema::any())
            .prop("dir", Schema::string().enumerated(&[json!("asc")]))
            .additional(false);
        let q = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect()
        };
        let err = schema
            .validate_query(&q(&[
                ("foo", "1"),
                ("limit", "1"),
                ("bar", ""),
                ("foo", "2"),
            ]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Additional properties are not allowed ('foo', 'bar' were unexpected)"
        );
        let err = schema
            .validate_query(&q(&[("dir", "asc"), ("dir", "up")]))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for query parameters dir. Value: up. 'up' is not one of ['asc']"
        );
        assert!(schema
            .validate_query(&q(&[("dir", "up"), ("dir", ""), ("dir", "asc")]))
            .is_ok());
        assert!(schema.validate_query(&q(&[("dir", "")])).is_ok());
    }
}
