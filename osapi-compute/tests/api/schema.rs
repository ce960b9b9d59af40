//! A small JSON Schema checker for the response schemas in `schemas/`
//! (the keywords tempest's compute response schemas use), and the function
//! that checks an answer against one.

use serde_json::Value;

fn type_ok(name: &str, v: &Value) -> bool {
    match name {
        "string" => v.is_string(),
        "integer" => v.is_i64() || v.is_u64(),
        "number" => v.is_number(),
        "boolean" => v.is_boolean(),
        "object" => v.is_object(),
        "array" => v.is_array(),
        "null" => v.is_null(),
        _ => false,
    }
}

fn check(schema: &Value, v: &Value, path: &str, errors: &mut Vec<String>) {
    if let Some(t) = schema.get("type") {
        let ok = match t {
            Value::String(s) => type_ok(s, v),
            Value::Array(ts) => ts.iter().any(|t| type_ok(t.as_str().unwrap(), v)),
            _ => true,
        };
        if !ok {
            errors.push(format!("{path}: {v} is not of type {t}"));
            return;
        }
    }
    if let Some(Value::Array(options)) = schema.get("enum") {
        if !options.contains(v) {
            errors.push(format!("{path}: {v} not in {options:?}"));
        }
    }
    if let (Some("date-time"), Some(s)) = (schema.get("format").and_then(Value::as_str), v.as_str())
    {
        if chrono::DateTime::parse_from_rfc3339(s).is_err()
            && chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f").is_err()
        {
            errors.push(format!("{path}: {s} is not a date-time"));
        }
    }
    if let (Some(format @ ("ipv4" | "ipv6")), Some(s)) =
        (schema.get("format").and_then(Value::as_str), v.as_str())
    {
        let ok = match format {
            "ipv4" => s.parse::<std::net::Ipv4Addr>().is_ok(),
            _ => s.parse::<std::net::Ipv6Addr>().is_ok(),
        };
        if !ok {
            errors.push(format!("{path}: {s} is not an {format} address"));
        }
    }
    if let (Some(pattern), Some(s)) = (schema.get("pattern").and_then(Value::as_str), v.as_str()) {
        if !regex::Regex::new(pattern).unwrap().is_match(s) {
            errors.push(format!("{path}: {s} does not match {pattern}"));
        }
    }
    if let Some(Value::Array(options)) = schema.get("oneOf") {
        let matching = options
            .iter()
            .filter(|o| {
                let mut e = Vec::new();
                check(o, v, path, &mut e);
                e.is_empty()
            })
            .count();
        if matching != 1 {
            errors.push(format!(
                "{path}: {v} matches {matching} of the oneOf schemas"
            ));
        }
    }
    if let Value::Object(map) = v {
        let props = schema.get("properties").and_then(Value::as_object);
        let patterns = schema.get("patternProperties").and_then(Value::as_object);
        for (k, item) in map {
            let mut known = false;
            if let Some(s) = props.and_then(|p| p.get(k)) {
                known = true;
                check(s, item, &format!("{path}.{k}"), errors);
            }
            for (pattern, s) in patterns.into_iter().flatten() {
                if regex::Regex::new(pattern).unwrap().is_match(k) {
                    known = true;
                    check(s, item, &format!("{path}.{k}"), errors);
                }
            }
            if !known && schema.get("additionalProperties") == Some(&Value::Bool(false)) {
                errors.push(format!("{path}: unexpected property '{k}'"));
            }
        }
        for r in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let r = r.as_str().unwrap();
            if !map.contains_key(r) {
                errors.push(format!("{path}: missing required '{r}'"));
            }
        }
    }
    if let (Value::Array(items), Some(s)) = (v, schema.get("items")) {
        for (i, item) in items.iter().enumerate() {
            check(s, item, &format!("{path}[{i}]"), errors);
        }
    }
}

/// Loads `schemas/<name>.json` (a `{"status_code": [...], "response_body": {...}}`
/// document) and checks `status` and `body` against it; panics with every error.
pub fn assert_matches(name: &str, status: u16, body: &Value) {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/api/schemas")
        .join(format!("{name}.json"));
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let codes: Vec<u64> = doc["status_code"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_u64().unwrap())
        .collect();
    assert!(
        codes.contains(&(status as u64)),
        "{name}: status {status} not in {codes:?}"
    );
    let mut errors = Vec::new();
    if let Some(schema) = doc.get("response_body") {
        check(schema, body, "$", &mut errors);
    }
    assert!(errors.is_empty(), "{name}: {errors:#?}\nbody: {body:#}");
}

#[test]
fn checker_rejects_what_it_should() {
    let schema = serde_json::json!({
        "type": "object",
        "properties": {"a": {"type": "integer"}},
        "required": ["a"],
        "additionalProperties": false
    });
    let mut errors = Vec::new();
    check(
        &schema,
        &serde_json::json!({"a": "x", "b": 1}),
        "$",
        &mut errors,
    );
    assert_eq!(errors.len(), 2, "{errors:?}");
    errors.clear();
    check(&schema, &serde_json::json!({}), "$", &mut errors);
    assert_eq!(errors, vec!["$: missing required 'a'".to_string()]);
}
