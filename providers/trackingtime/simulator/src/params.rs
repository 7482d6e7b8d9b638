//! Request parameters as TrackingTime reads them (spec §3): the query string, a form body
//! and a JSON body merged into one map (later sources win), with array parameters
//! (`custom_fields`, `users`, ...) accepted as JSON arrays or as JSON-encoded strings.

use std::collections::HashMap;

use serde_json::Value;

#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, Value>);

impl Params {
    /// Merges the query string and the body (form or JSON, by content type; a body that
    /// parses as a JSON object is read as JSON whatever the content type says).
    pub fn read(
        query: Option<&str>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Params, String> {
        let mut map = HashMap::new();
        if let Some(q) = query {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                map.insert(k.into_owned(), Value::String(v.into_owned()));
            }
        }
        let trimmed = body.iter().position(|b| !b.is_ascii_whitespace());
        if let Some(start) = trimmed {
            let ct = content_type.unwrap_or("").to_ascii_lowercase();
            if ct.contains("json") || body[start] == b'{' {
                match serde_json::from_slice::<Value>(body) {
                    Ok(Value::Object(obj)) => map.extend(obj),
                    Ok(_) => return Err("the JSON body must be an object".into()),
                    Err(e) => return Err(format!("the JSON body could not be read: {e}")),
                }
            } else {
                for (k, v) in url::form_urlencoded::parse(body) {
                    map.insert(k.into_owned(), Value::String(v.into_owned()));
                }
            }
        }
        Ok(Params(map))
    }

    pub fn has(&self, k: &str) -> bool {
        self.0.contains_key(k)
    }

    /// Text of a parameter (numbers and booleans written out); `None` when absent or null.
    pub fn text(&self, k: &str) -> Option<String> {
        match self.0.get(k)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// An integer parameter; absent, null, `""` and `"null"` are `None`.
    pub fn int(&self, k: &str) -> Result<Option<i64>, String> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| format!("{k} must be an integer")),
            Some(Value::String(s)) if s.trim().is_empty() || s == "null" => Ok(None),
            Some(Value::String(s)) => s
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{k} must be an integer, got {s:?}")),
            Some(other) => Err(format!("{k} must be an integer, got {other}")),
        }
    }

    pub fn bool(&self, k: &str) -> Option<bool> {
        match self.0.get(k)? {
            Value::Bool(b) => Some(*b),
            Value::Number(n) => Some(n.as_i64() != Some(0)),
            Value::String(s) => Some(matches!(
                s.trim().to_ascii_lowercase().as_str(),
                "true" | "1" | "yes"
            )),
            _ => None,
        }
    }

    /// A JSON array given raw (JSON body) or as a JSON-encoded string (query or form).
    pub fn array(&self, k: &str) -> Result<Option<Vec<Value>>, String> {
        match self.0.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a.clone())),
            Some(Value::String(s)) if s.trim().is_empty() => Ok(None),
            Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
                Ok(Value::Array(a)) => Ok(Some(a)),
                _ => Err(format!("{k} must be a JSON array")),
            },
            Some(_) => Err(format!("{k} must be a JSON array")),
        }
    }

    pub fn as_json(&self) -> Value {
        Value::Object(self.0.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_sources() {
        let p = Params::read(
            Some("a=1&custom_fields=%5B%7B%22slug%22%3A%22X%22%7D%5D"),
            Some("application/x-www-form-urlencoded"),
            b"b=two&a=3",
        )
        .unwrap();
        assert_eq!(p.int("a").unwrap(), Some(3));
        assert_eq!(p.text("b").as_deref(), Some("two"));
        assert_eq!(p.array("custom_fields").unwrap().unwrap()[0]["slug"], "X");
        let p = Params::read(
            None,
            Some("application/json"),
            br#"{"id": 5, "ok": true, "x": null}"#,
        )
        .unwrap();
        assert_eq!(p.int("id").unwrap(), Some(5));
        assert_eq!(p.bool("ok"), Some(true));
        assert!(p.has("x") && p.int("x").unwrap().is_none());
        assert!(Params::read(None, Some("application/json"), b"[1]").is_err());
        assert!(Params::read(Some("n=abc"), None, b"")
            .unwrap()
            .int("n")
            .is_err());
    }
}
