//! Server-side printing: `meta.k8s.io/v1` Tables for `kubectl get`.
//!
//! Columns: upstream's for each built-in kind ([`printers`]), a custom
//! resource's `additionalPrinterColumns` (simple `.a.b` JSON paths) between
//! NAME and AGE, and NAME, AGE for everything else.

mod cells;
mod pod;
mod printers;

use serde_json::{Value, json};

use crate::object;
use crate::resources::Resource;

/// How much of each object a Table row carries (`includeObject`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IncludeObject {
    None,
    Metadata,
    Object,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TableRequest {
    pub include: IncludeObject,
}

impl TableRequest {
    /// A table request when `Accept` names `as=Table` first among what we serve.
    pub fn from_accept(accept: &str, include_object: Option<&str>) -> Option<Self> {
        let wants = accept.split(',').next().is_some_and(|first| {
            let p: String = first.chars().filter(|c| !c.is_whitespace()).collect();
            p.contains("as=Table") && p.contains("g=meta.k8s.io")
        });
        if !wants {
            return None;
        }
        let include = match include_object {
            Some("None") => IncludeObject::None,
            Some("Object") => IncludeObject::Object,
            _ => IncludeObject::Metadata,
        };
        Some(Self { include })
    }
}

/// kubectl's short human duration ("5s", "3m20s", "2d4h", "3y").
pub fn human_duration(seconds: i64) -> String {
    if seconds < -1 {
        return "<invalid>".into();
    }
    let s = seconds.max(0);
    let (m, h, d) = (s / 60, s / 3600, s / 86400);
    match () {
        _ if s < 120 => format!("{s}s"),
        _ if m < 10 && s % 60 == 0 => format!("{m}m"),
        _ if m < 10 => format!("{m}m{}s", s % 60),
        _ if m < 180 => format!("{m}m"),
        _ if h < 8 && m % 60 == 0 => format!("{h}h"),
        _ if h < 8 => format!("{h}h{}m", m % 60),
        _ if h < 48 => format!("{h}h"),
        _ if h < 192 && h % 24 == 0 => format!("{d}d"),
        _ if h < 192 => format!("{d}d{}h", h % 24),
        _ if d < 730 => format!("{d}d"),
        _ if d < 2920 && d % 365 == 0 => format!("{}y", d / 365),
        _ if d < 2920 => format!("{}y{}d", d / 365, d % 365),
        _ => format!("{}y", d / 365),
    }
}

fn age(obj: &Value) -> String {
    let Some(ts) = object::get_str(obj, &["metadata", "creationTimestamp"]) else {
        return "<unknown>".into();
    };
    match ts.parse::<jiff::Timestamp>() {
        Ok(t) => human_duration(jiff::Timestamp::now().as_second() - t.as_second()),
        Err(_) => "<unknown>".into(),
    }
}

fn column(name: &str, ty: &str, format: &str, description: &str, priority: i64) -> Value {
    json!({"name": name, "type": ty, "format": format, "description": description, "priority": priority})
}

fn path_value(obj: &Value, json_path: &str) -> Value {
    let path: Vec<&str> = json_path
        .trim_start_matches('.')
        .split('.')
        .filter(|s| !s.is_empty())
        .collect();
    object::get(obj, &path).cloned().unwrap_or(Value::Null)
}

/// Builds a Table of `objects` with list metadata `meta`.
pub fn build(res: &Resource, objects: &[Value], meta: Value, req: TableRequest) -> Value {
    let (columns, cells): (Vec<Value>, Vec<Vec<Value>>) =
        match printers::for_kind(&res.info.group, &res.info.kind) {
            Some(cols) if !matches!(res.strategy, crate::resources::StrategyRef::Custom(_)) => (
                cols.iter()
                    .map(|c| column(c.name, c.ty, "", "", c.priority))
                    .collect(),
                objects
                    .iter()
                    .map(|o| cols.iter().map(|c| (c.cell)(o)).collect())
                    .collect(),
            ),
            _ => custom_columns(res, objects),
        };
    let rows: Vec<Value> = objects
        .iter()
        .zip(cells)
        .map(|(obj, cells)| {
            let mut row = json!({"cells": cells});
            match req.include {
                IncludeObject::None => {}
                IncludeObject::Object => row["object"] = obj.clone(),
                IncludeObject::Metadata => {
                    row["object"] = json!({
                        "kind": "PartialObjectMetadata",
                        "apiVersion": "meta.k8s.io/v1",
                        "metadata": obj.get("metadata").cloned().unwrap_or(json!({})),
                    })
                }
            }
            row
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "columnDefinitions": columns, "rows": rows})
}

/// NAME and the custom resource's printer columns; AGE only when it
/// declares none (upstream defaults the columns to Age in that case).
fn custom_columns(res: &Resource, objects: &[Value]) -> (Vec<Value>, Vec<Vec<Value>>) {
    let mut columns = vec![column(
        "Name",
        "string",
        "name",
        "Name must be unique within a namespace.",
        0,
    )];
    for c in &res.printer_columns {
        let s = |k: &str| c.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let priority = c.get("priority").and_then(Value::as_i64).unwrap_or(0);
        columns.push(column(
            &s("name"),
            &s("type"),
            &s("format"),
            &s("description"),
            priority,
        ));
    }
    let default_age = res.printer_columns.is_empty();
    if default_age {
        columns.push(column("Age", "date", "", "CreationTimestamp is a timestamp representing the server time when this object was created.", 0));
    }
    let cells = objects
        .iter()
        .map(|obj| {
            let mut cells = vec![json!(
                object::get_str(obj, &["metadata", "name"]).unwrap_or("")
            )];
            for c in &res.printer_columns {
                let v = path_value(obj, c.get("jsonPath").and_then(Value::as_str).unwrap_or(""));
                let is_date = c.get("type").and_then(Value::as_str) == Some("date");
                cells.push(match (&v, is_date) {
                    (Value::String(t), true) => json!(cells::age_of(t)),
                    _ => v,
                });
            }
            if default_age {
                cells.push(json!(age(obj)));
            }
            cells
        })
        .collect();
    (columns, cells)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_kubectl_prints_them() {
        let cases = [
            (5, "5s"),
            (119, "119s"),
            (125, "2m5s"),
            (600, "10m"),
            (3 * 3600 + 60, "3h1m"),
            (10 * 3600, "10h"),
            (3 * 86400 + 3600, "3d1h"),
            (30 * 86400, "30d"),
            (3 * 365 * 86400, "3y"),
        ];
        for (secs, want) in cases {
            assert_eq!(human_duration(secs), want, "for {secs}s");
        }
    }

    #[test]
    fn table_accept_header_is_recognised_with_include_object() {
        let accept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";
        let t = TableRequest::from_accept(accept, Some("Object")).expect("table");
        assert_eq!(t.include, IncludeObject::Object);
        assert!(TableRequest::from_accept("application/json", None).is_none());
    }
}
