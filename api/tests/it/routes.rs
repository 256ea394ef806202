//! The routes as the OpenAPI document describes them, so that a test can walk every route of a kind (every
//! route that takes a date, every route about one child) and a route added later is walked too.

use serde_json::Value;

use crate::common::{CHILD, Harness};

/// One parameter of an operation (a query parameter, or a property of its JSON body).
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub required: bool,
    /// `date`, `date-time`, or empty.
    pub format: String,
}

/// One operation: a method on a path, with its query parameters and the properties of its JSON body.
#[derive(Clone, Debug)]
pub struct Operation {
    pub method: axum::http::Method,
    pub path: String,
    pub query: Vec<Param>,
    pub body: Vec<Param>,
}

impl Operation {
    /// The path with its parameters filled in with values that exist in [`Harness::with_policies`].
    pub fn concrete_path(&self, h: &Harness, child: &str) -> String {
        let mut out = String::new();
        for segment in self.path.split('/').skip(1) {
            out.push('/');
            match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                None => out.push_str(segment),
                Some(name) => out.push_str(&path_value(h, name, child)),
            }
        }
        out
    }

    pub fn label(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// A value for a path parameter that names something existing. A new path parameter needs a line here.
fn path_value(h: &Harness, name: &str, child: &str) -> String {
    match name {
        "child_id" => child.to_owned(),
        "name" => "statutory-timescales".into(),
        "version" => "1.0.1".into(),
        "decision" => "1".into(),
        "year" => "2024-25".into(),
        "table" => "episodes.csv".into(),
        "number" => "1".into(),
        "section" => "timeliness".into(),
        "key_id" => h.spare_key_id.clone(),
        "hold_id" => "hold-1".into(),
        "review_id" => "review-1".into(),
        "point_id" => "dp-none".into(),
        "size" => "2".into(),
        "path" => "0/000.p/1".into(),
        other => panic!("no test value for the path parameter {{{other}}}: add one to routes::path_value"),
    }
}

/// A valid value for a required query parameter that is not under test. A new required parameter needs a
/// line here.
pub fn default_query_value(name: &str) -> &'static str {
    match name {
        "from" | "start" => "2024-04-01",
        "to" | "end" => "2025-03-31",
        "la_code" => "878",
        "on" => "2025-01-01",
        "old" | "position" => "1",
        "new" => "2",
        other => panic!(
            "no test value for the required query parameter {other}: add one to routes::default_query_value"
        ),
    }
}

fn format_of(schema: &Value, doc: &Value) -> String {
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return format_of(&doc["components"]["schemas"][name], doc);
    }
    schema["format"].as_str().unwrap_or("").to_owned()
}

/// Every operation of the served document.
pub fn operations() -> Vec<Operation> {
    let doc: Value = serde_json::from_str(&journey_api::openapi_json()).unwrap();
    let mut out = Vec::new();
    for (path, methods) in doc["paths"].as_object().unwrap() {
        for (method, operation) in methods.as_object().unwrap() {
            let query = operation["parameters"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|p| p["in"] == "query")
                .map(|p| Param {
                    name: p["name"].as_str().unwrap().to_owned(),
                    required: p["required"].as_bool().unwrap_or(false),
                    format: format_of(&p["schema"], &doc),
                })
                .collect();
            let body_schema = &operation["requestBody"]["content"]["application/json"]["schema"];
            let body = match body_schema["$ref"].as_str() {
                None => Vec::new(),
                Some(reference) => {
                    let schema = &doc["components"]["schemas"][reference.rsplit('/').next().unwrap()];
                    let required: Vec<&str> = schema["required"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    schema["properties"]
                        .as_object()
                        .into_iter()
                        .flatten()
                        .map(|(name, property)| Param {
                            name: name.clone(),
                            required: required.contains(&name.as_str()),
                            format: format_of(property, &doc),
                        })
                        .collect()
                }
            };
            out.push(Operation {
                method: method.to_uppercase().parse().unwrap(),
                path: path.clone(),
                query,
                body,
            });
        }
    }
    assert!(out.len() > 30, "{out:?}");
    // The default child exists.
    assert!(!CHILD.is_empty());
    out
}
