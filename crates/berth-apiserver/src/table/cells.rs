//! Reading objects for table cells, as kubectl's printers format them.

use serde_json::Value;

use crate::object;

pub fn s<'a>(obj: &'a Value, path: &[&str]) -> &'a str {
    object::get_str(obj, path).unwrap_or("")
}

pub fn i(obj: &Value, path: &[&str]) -> i64 {
    object::get(obj, path).and_then(Value::as_i64).unwrap_or(0)
}

pub fn arr<'a>(obj: &'a Value, path: &[&str]) -> &'a [Value] {
    object::get(obj, path)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// "<none>" for empty values, as kubectl prints them.
pub fn or_none(v: String) -> String {
    if v.is_empty() { "<none>".into() } else { v }
}

/// Seconds since an RFC 3339 timestamp.
pub fn since(ts: &str) -> Option<i64> {
    let t = ts.parse::<jiff::Timestamp>().ok()?;
    Some(jiff::Timestamp::now().as_second() - t.as_second())
}

pub fn age_of(ts: &str) -> String {
    since(ts)
        .map(super::human_duration)
        .unwrap_or_else(|| "<unknown>".into())
}

/// Container names and images of a pod template, comma-joined.
pub fn containers_and_images(spec: &Value) -> (String, String) {
    let cs = arr(spec, &["containers"]);
    let names: Vec<&str> = cs.iter().map(|c| s(c, &["name"])).collect();
    let images: Vec<&str> = cs.iter().map(|c| s(c, &["image"])).collect();
    (names.join(","), images.join(","))
}

/// A structured label selector in kubectl's string form.
pub fn selector(sel: &Value) -> String {
    let mut parts: Vec<String> = Vec::new();
    if let Some(m) = sel.get("matchLabels").and_then(Value::as_object) {
        parts.extend(
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or(""))),
        );
    }
    for e in sel
        .get("matchExpressions")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let key = s(e, &["key"]);
        let values: Vec<&str> = arr(e, &["values"])
            .iter()
            .filter_map(Value::as_str)
            .collect();
        parts.push(match s(e, &["operator"]) {
            "In" => format!("{key} in ({})", values.join(",")),
            "NotIn" => format!("{key} notin ({})", values.join(",")),
            "Exists" => key.to_string(),
            _ => format!("!{key}"),
        });
    }
    parts.join(",")
}

/// A plain `map[string]string` selector (Services, RCs).
pub fn map_selector(sel: Option<&Value>) -> String {
    let Some(m) = sel.and_then(Value::as_object) else {
        return String::new();
    };
    m.iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
        .collect::<Vec<_>>()
        .join(",")
}

/// Number of keys of a map field plus those of a second one (ConfigMap data + binaryData).
pub fn count_keys(obj: &Value, fields: &[&str]) -> i64 {
    fields
        .iter()
        .filter_map(|f| obj.get(*f).and_then(Value::as_object))
        .map(|m| m.len() as i64)
        .sum()
}
