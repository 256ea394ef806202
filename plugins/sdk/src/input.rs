//! Reading the input: the policy's parameters, the events, and their JSON content.

use serde::de::DeserializeOwned;

use crate::{EvaluationInput, EventStatus, JourneyEvent, PolicyError};

impl EvaluationInput {
    /// The policy's parameters decoded into `T`. Empty parameters read as `{}`, so a `T` whose fields all
    /// have defaults (`#[serde(default)]`) accepts them. Use `#[serde(deny_unknown_fields)]` on `T` to
    /// refuse misspelt parameters.
    pub fn parameters<T: DeserializeOwned>(&self) -> Result<T, PolicyError> {
        let text = if self.parameters.trim().is_empty() {
            "{}"
        } else {
            self.parameters.as_str()
        };
        serde_json::from_str(text).map_err(|e| PolicyError::InvalidParameters(e.to_string()))
    }

    /// The policy's parameters decoded into `T`, each top-level field defaulting to the same field of
    /// `defaults` (the JSON object the policy ships as `parameters.json`, usually `include_str!`d), so that
    /// the shipped file is the one statement of the defaults. Declare `T` with
    /// `#[serde(deny_unknown_fields)]` and without `#[serde(default)]`: a misspelt field is refused, and a
    /// field the defaults lack is a bug the policy's tests catch.
    ///
    /// A wrong value is refused with [`PolicyError::InvalidParameters`] naming the field:
    /// `` parameter `counting`: unknown variant `sideways`, expected `inclusive` or `exclusive` ``.
    pub fn parameters_over<T: DeserializeOwned>(&self, defaults: &str) -> Result<T, PolicyError> {
        use serde_json::Value;
        let invalid = |m: String| PolicyError::InvalidParameters(m);
        // The fast paths, without building JSON values: no parameters (the defaults), or parameters that
        // give every field (as a deployment of the shipped file does).
        if self.parameters.trim().is_empty() {
            return serde_json::from_str(defaults)
                .map_err(|e| PolicyError::Failed(format!("the policy's default parameters: {e}")));
        }
        if let Ok(complete) = serde_json::from_str(&self.parameters) {
            return Ok(complete);
        }
        let given: Value = serde_json::from_str(&self.parameters).map_err(|e| invalid(e.to_string()))?;
        let Value::Object(given) = given else {
            return Err(invalid("the parameters must be a JSON object".into()));
        };
        let Value::Object(defaults) = serde_json::from_str::<Value>(defaults)
            .map_err(|e| PolicyError::Failed(format!("the policy's default parameters: {e}")))?
        else {
            return Err(PolicyError::Failed(
                "the policy's default parameters are not an object".into(),
            ));
        };
        let mut merged = defaults.clone();
        merged.extend(given.clone());
        serde_json::from_value(Value::Object(merged)).map_err(|e| {
            // Find the field to blame: the first given field that fails on its own over the defaults.
            let culprit = given.iter().find(|(key, value)| {
                let mut one = defaults.clone();
                one.insert((*key).clone(), (*value).clone());
                serde_json::from_value::<T>(Value::Object(one)).is_err()
            });
            match culprit {
                Some((key, _)) if defaults.contains_key(key) => invalid(format!("parameter `{key}`: {e}")),
                _ => invalid(e.to_string()),
            }
        })
    }

    /// The event with this id (retracted or not).
    pub fn event(&self, event_id: &str) -> Option<&JourneyEvent> {
        self.events.iter().find(|e| e.event_id == event_id)
    }

    /// The events that are part of the child's state: every event but the retracted ones, in the order they
    /// occurred.
    pub fn in_force(&self) -> impl Iterator<Item = &JourneyEvent> {
        self.events.iter().filter(|e| !e.is_retracted())
    }

    /// The events in force of one kind ("ContactReceived"), in the order they occurred.
    pub fn of_kind<'a>(&'a self, kind: &'a str) -> impl Iterator<Item = &'a JourneyEvent> + 'a {
        self.in_force().filter(move |e| e.kind == kind)
    }
}

impl JourneyEvent {
    pub fn is_retracted(&self) -> bool {
        self.status == EventStatus::Retracted
    }

    /// The event's content decoded into `T`: declare only the fields you need (unknown fields are ignored
    /// unless `T` says otherwise). Field names and code strings are those of Journey's API.
    pub fn data<T: DeserializeOwned>(&self) -> Result<T, PolicyError> {
        serde_json::from_str(&self.content).map_err(|e| {
            PolicyError::Failed(format!(
                "cannot read the content of {} event {}: {e}",
                self.kind, self.event_id
            ))
        })
    }

    /// The event's content as a JSON value.
    pub fn json(&self) -> Result<serde_json::Value, PolicyError> {
        self.data()
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use crate::PolicyError;
    use crate::testing::input;

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct P {
        days: u32,
        codes: Vec<String>,
    }

    const DEFAULTS: &str = r#"{"days": 10, "codes": ["V3", "V4"]}"#;

    fn read(parameters: &str) -> Result<P, PolicyError> {
        let mut i = input("2024-01-01", vec![]);
        i.parameters = parameters.into();
        i.parameters_over(DEFAULTS)
    }

    #[test]
    fn parameters_fall_back_to_the_shipped_defaults_field_by_field() {
        let p = |days, codes: &[&str]| P {
            days,
            codes: codes.iter().map(|c| c.to_string()).collect(),
        };
        assert_eq!(read("").unwrap(), p(10, &["V3", "V4"]));
        assert_eq!(read("{}").unwrap(), p(10, &["V3", "V4"]));
        assert_eq!(read(r#"{"days": 5}"#).unwrap(), p(5, &["V3", "V4"]));
        assert_eq!(read(r#"{"days": 5, "codes": []}"#).unwrap(), p(5, &[]));
        let refused = |parameters: &str| match read(parameters) {
            Err(PolicyError::InvalidParameters(m)) => m,
            other => panic!("{parameters}: {other:?}"),
        };
        assert!(refused(r#"{"days": "5"}"#).starts_with("parameter `days`: invalid type"));
        assert!(refused(r#"{"codes": [1], "days": 3}"#).starts_with("parameter `codes`:"));
        assert!(refused(r#"{"dayz": 5}"#).contains("unknown field `dayz`"));
        assert!(refused("[1]").contains("must be a JSON object"));
        assert!(refused("{").contains("EOF"));
    }
}
