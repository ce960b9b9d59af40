//! nova's request validation messages for the resources in this module.
//!
//! nova validates bodies and query strings with JSON schemas and words the
//! failures as `Invalid input for field/attribute <field>. Value: <value>.
//! <jsonschema message>` (query strings: `Invalid input for query
//! parameters <name>. ...`). Values appear as Python prints them
//! (`'abc'`, `{'a': 1}`, `True`), so clients that show or match the text see
//! what nova would say. These helpers check the few schema keywords the
//! resources use (imperatively, in the order nova's schemas list them) and
//! build those messages with the crate's Python-repr rules.

use serde_json::{Map, Value};

use crate::fault::ApiError;

use crate::validation::{int_of, Bounded};
pub use crate::validation::{py_repr, py_str};

/// A string as Python's `repr` prints it.
fn py_str_repr(s: &str) -> String {
    py_repr(&Value::String(s.to_string()))
}

/// `Invalid input for field/attribute <field>. Value: <value>. <message>`.
pub fn field_error(field: &str, value: &Value, message: impl AsRef<str>) -> ApiError {
    ApiError::BadRequest(format!(
        "Invalid input for field/attribute {field}. Value: {}. {}",
        py_str(value),
        message.as_ref()
    ))
}

/// `Invalid input for query parameters <name>. Value: <value>. <message>`.
pub fn query_error(name: &str, value: &str, message: impl AsRef<str>) -> ApiError {
    ApiError::BadRequest(format!(
        "Invalid input for query parameters {name}. Value: {value}. {}",
        message.as_ref()
    ))
}

/// The body must be an object holding `key` (an object) and nothing else;
/// returns that inner object. Messages are jsonschema's.
pub fn wrapper<'a>(body: &'a Value, key: &str) -> Result<&'a Map<String, Value>, ApiError> {
    let outer = body.as_object().ok_or_else(|| {
        ApiError::BadRequest(format!("{} is not of type 'object'", py_repr(body)))
    })?;
    let inner = outer
        .get(key)
        .ok_or_else(|| ApiError::BadRequest(format!("'{key}' is a required property")))?;
    no_additional(outer, &[key], None)?;
    inner.as_object().ok_or_else(|| {
        field_error(
            key,
            inner,
            format!("{} is not of type 'object'", py_repr(inner)),
        )
    })
}

/// Fails on keys of `object` not in `allowed` (jsonschema's
/// `additionalProperties: false`). `field` names the object in the message
/// (`None` at the top of the body).
pub fn no_additional(
    object: &Map<String, Value>,
    allowed: &[&str],
    field: Option<(&str, &Value)>,
) -> Result<(), ApiError> {
    let extra: Vec<&String> = object
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .collect();
    if extra.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = extra.iter().map(|k| py_str_repr(k)).collect();
    let verb = if extra.len() == 1 { "was" } else { "were" };
    let message = format!(
        "Additional properties are not allowed ({} {verb} unexpected)",
        names.join(", ")
    );
    Err(match field {
        Some((name, value)) => field_error(name, value, message),
        None => ApiError::BadRequest(message),
    })
}

/// Fails when a required key is missing from the object `field`.
pub fn required(
    object: &Map<String, Value>,
    keys: &[&str],
    field: &str,
    whole: &Value,
) -> Result<(), ApiError> {
    for key in keys {
        if !object.contains_key(*key) {
            return Err(field_error(
                field,
                whole,
                format!("'{key}' is a required property"),
            ));
        }
    }
    Ok(())
}

/// nova's `name` format: 1-255 printable characters, no leading or trailing
/// whitespace. Returns the name.
pub fn name(field: &str, value: &Value) -> Result<String, ApiError> {
    let text = string(field, value)?;
    if text.is_empty() {
        return Err(field_error(
            field,
            value,
            format!("{} should be non-empty", py_repr(value)),
        ));
    }
    if text.chars().count() > 255 {
        return Err(field_error(
            field,
            value,
            format!("{} is too long", py_repr(value)),
        ));
    }
    let printable = text.chars().all(|c| !c.is_control());
    let trimmed = text.trim() == text;
    if !printable || !trimmed {
        return Err(ApiError::BadRequest(
            "An invalid 'name' value was provided. The name must be: printable characters. \
             Can not start or end with whitespace."
                .into(),
        ));
    }
    Ok(text.to_string())
}

/// A JSON string, else jsonschema's type error.
pub fn string<'a>(field: &str, value: &'a Value) -> Result<&'a str, ApiError> {
    value.as_str().ok_or_else(|| {
        field_error(
            field,
            value,
            format!("{} is not of type 'string'", py_repr(value)),
        )
    })
}

/// An integer given as a JSON integer or a string matching `pattern`
/// (nova's `flavor_param_*`/quota types), within `[min, max]`. As nova's
/// validator, strings are compared with the bounds as the integer they
/// spell, so a value of any size gets the bound's message.
pub fn integer(
    field: &str,
    value: &Value,
    pattern: &str,
    min: i64,
    max: i64,
) -> Result<i64, ApiError> {
    let not_integer = || {
        field_error(
            field,
            value,
            format!("{} is not of type 'integer', 'string'", py_repr(value)),
        )
    };
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => {}
        Value::Number(n) if n.as_f64().is_some_and(|f| f.fract() == 0.0) => {}
        Value::String(s) => {
            let re = regex::Regex::new(pattern).map_err(|e| ApiError::Internal(e.to_string()))?;
            if !re.is_match(s) {
                return Err(field_error(
                    field,
                    value,
                    format!("{} does not match '{pattern}'", py_repr(value)),
                ));
            }
        }
        _ => return Err(not_integer()),
    }
    if let Some(number) = Bounded::of(value) {
        if number.below(min) {
            return Err(field_error(field, value, number.below_message(min)));
        }
        if number.above(max) {
            return Err(field_error(field, value, number.above_message(max)));
        }
    }
    // Within [min, max] now: the value is exact in an i64.
    int_of(value).ok_or_else(not_integer)
}

/// nova's `parameter_types.boolean`: JSON booleans and the usual strings.
pub fn boolean(field: &str, value: &Value) -> Result<bool, ApiError> {
    const TRUE: &[&str] = &[
        "True", "TRUE", "true", "1", "ON", "On", "on", "YES", "Yes", "yes",
    ];
    const FALSE: &[&str] = &[
        "False", "FALSE", "false", "0", "OFF", "Off", "off", "NO", "No", "no",
    ];
    match value {
        Value::Bool(b) => Ok(*b),
        Value::String(s) if TRUE.contains(&s.as_str()) => Ok(true),
        Value::String(s) if FALSE.contains(&s.as_str()) => Ok(false),
        other => {
            let all: Vec<String> = std::iter::once("True".to_string())
                .chain(TRUE.iter().map(|s| format!("'{s}'")))
                .chain(std::iter::once("False".to_string()))
                .chain(FALSE.iter().map(|s| format!("'{s}'")))
                .collect();
            Err(field_error(
                field,
                other,
                format!("{} is not one of [{}]", py_repr(other), all.join(", ")),
            ))
        }
    }
}

/// From 2.75 nova rejects query parameters its schema does not name
/// (`additionalProperties: false`); earlier versions ignore them.
pub fn reject_unknown_query(query: &[(String, String)], allowed: &[&str]) -> Result<(), ApiError> {
    let mut extra: Vec<&str> = Vec::new();
    for (key, _) in query {
        if !allowed.contains(&key.as_str()) && !extra.contains(&key.as_str()) {
            extra.push(key);
        }
    }
    if extra.is_empty() {
        return Ok(());
    }
    let names: Vec<String> = extra.iter().map(|k| py_str_repr(k)).collect();
    let verb = if extra.len() == 1 { "was" } else { "were" };
    Err(ApiError::BadRequest(format!(
        "Additional properties are not allowed ({} {verb} unexpected)",
        names.join(", ")
    )))
}

/// Checks a metadata-like map (extra specs, image metadata): keys of 1-255
/// of `[a-zA-Z0-9-_:. ]`, values strings (or numbers when `numbers_ok`) of
/// at most 255 characters. Returns the map with values as strings.
pub fn metadata_map(
    field: &str,
    value: &Value,
    numbers_ok: bool,
) -> Result<Vec<(String, String)>, ApiError> {
    const KEY_PATTERN: &str = "^[a-zA-Z0-9-_:. ]{1,255}$";
    let object = value.as_object().ok_or_else(|| {
        field_error(
            field,
            value,
            format!("{} is not of type 'object'", py_repr(value)),
        )
    })?;
    let mut out = Vec::with_capacity(object.len());
    for (key, item) in object {
        let key_ok = !key.is_empty()
            && key.chars().count() <= 255
            && key
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_:. ".contains(c));
        if !key_ok {
            return Err(field_error(
                field,
                value,
                format!(
                    "{} does not match any of the regexes: '{KEY_PATTERN}'",
                    py_str_repr(key)
                ),
            ));
        }
        let text = match item {
            Value::String(s) => s.clone(),
            Value::Number(n) if numbers_ok => n.to_string(),
            other => {
                let types = if numbers_ok {
                    "'string', 'number'"
                } else {
                    "'string'"
                };
                return Err(field_error(
                    key,
                    other,
                    format!("{} is not of type {types}", py_repr(other)),
                ));
            }
        };
        if text.chars().count() > 255 {
            return Err(field_error(
                key,
                item,
                format!("{} is too long", py_repr(item)),
            ));
        }
        out.push((key.clone(), text));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
    fn integer_messages_are_jsonschemas() {
        let err = integer("ram", &json!(0), "^[0-9]+$", 1, i64::from(i32::MAX)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute ram. Value: 0. 0 is less than the minimum of 1"
        );
        let err = integer("ram", &json!("x"), "^[0-9]+$", 1, 10).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Invalid input for field/attribute ram. Value: x. 'x' does not match '^[0-9]+$'"
        );
        assert_eq!(
            integer("ram", &json!("64"), "^[0-9]+$", 1, 10_000).unwrap(),
            64
        );
    }

    #[test]
    fn unknown_query_parameters_are_listed() {
        let q = vec![
            ("foo".to_string(), "1".to_string()),
            ("limit".to_string(), "1".to_string()),
        ];
        let err = reject_unknown_query(&q, &["limit"]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Additional properties are not allowed ('foo' was unexpected)"
        );
    }
}
