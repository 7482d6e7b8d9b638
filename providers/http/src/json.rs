//! Reading provider JSON with errors that never quote the content: a failure names where it
//! happened (the field path, the line and column) and what was expected or found by type —
//! never the text that was there, which may be an e-mail address or a person's name, and
//! which would otherwise travel into logs and the ledger's skip reasons.

use serde::de::DeserializeOwned;
use serde_json::Value;

/// Parses a body as `T`; the error says where and what kind of value, not which.
pub fn read_json<T: DeserializeOwned>(body: &[u8]) -> Result<T, String> {
    let mut de = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| describe(&e.path().to_string(), e.inner()))?;
    de.end().map_err(|e| json_error(&e))?;
    Ok(value)
}

/// Reads `T` out of an already parsed value, with the same content-free errors.
pub fn from_json_value<T: DeserializeOwned>(value: &Value) -> Result<T, String> {
    serde_path_to_error::deserialize(value).map_err(|e| describe(&e.path().to_string(), e.inner()))
}

/// A serde_json error in words that carry no content: its kind, the expectation or the
/// missing field, and where.
pub fn json_error(e: &serde_json::Error) -> String {
    describe("", e)
}

/// `at` is the field path (`data[3].email`), empty or `.` for the whole document.
fn describe(at: &str, e: &serde_json::Error) -> String {
    let what = match e.classify() {
        serde_json::error::Category::Syntax => "not valid JSON".to_owned(),
        serde_json::error::Category::Eof => "cut off before its end".to_owned(),
        serde_json::error::Category::Io => "unreadable".to_owned(),
        serde_json::error::Category::Data => data_error(&e.to_string()),
    };
    let field = if at.is_empty() || at == "." {
        String::new()
    } else {
        format!(" at `{at}`")
    };
    let position = if e.line() > 0 {
        format!(" (line {}, column {})", e.line(), e.column())
    } else {
        String::new()
    };
    format!("{what}{field}{position}")
}

/// serde's data messages quote the offending value ("invalid type: string \"ann@…\",
/// expected i64"): keep only the kind of value found and what was expected.
fn data_error(message: &str) -> String {
    let message = message.split(" at line ").next().unwrap_or(message).trim();
    let expected = message
        .split_once(", expected ")
        .map(|(_, e)| format!("expected {e}"));
    if let Some(rest) = message.strip_prefix("invalid type: ") {
        let found = rest.split([' ', ',']).next().unwrap_or("value");
        return match expected {
            Some(e) => format!("found {found}, {e}"),
            None => format!("found {found}"),
        };
    }
    for prefix in ["invalid value", "invalid length", "unknown variant"] {
        if message.starts_with(prefix) {
            return match expected {
                Some(e) => format!("{prefix}, {e}"),
                None => prefix.to_owned(),
            };
        }
    }
    // "missing field `x`", "unknown field `x`", "duplicate field `x`": the schema's names.
    if ["missing field", "unknown field", "duplicate field"]
        .iter()
        .any(|p| message.starts_with(p))
    {
        return message
            .split_once(", expected")
            .map(|(m, _)| m)
            .unwrap_or(message)
            .to_owned();
    }
    // Anything else may be a custom message built from the value: say only that it failed.
    "a value of the wrong shape".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct User {
        id: i64,
        email: String,
        role: Role,
    }

    #[derive(Debug, serde::Deserialize)]
    enum Role {
        Admin,
    }

    const PRIVATE: [&str; 3] = ["ann.smith", "Ann Smith", "secret-role"];

    fn assert_private(text: &str) {
        for p in PRIVATE {
            assert!(!text.contains(p), "{p} leaked: {text}");
        }
    }

    #[test]
    fn errors_name_the_field_and_types_never_the_content() {
        let cases = [
            (
                r#"{"id": "ann.smith@example.com", "email": "x", "role": "Admin"}"#,
                "found string, expected i64 at `id`",
            ),
            (
                r#"{"id": 1, "email": 7, "role": "Admin"}"#,
                "found integer, expected a string at `email`",
            ),
            (
                r#"{"id": 1, "email": "x", "role": "secret-role"}"#,
                "unknown variant, expected `Admin` at `role`",
            ),
            (r#"{"id": 1, "role": "Admin"}"#, "missing field `email`"),
            (r#"{"id": 1, "email": "Ann Smith"#, "cut off before its end"),
            (r#"{"id": 1, "email": Ann Smith}"#, "not valid JSON"),
        ];
        for (body, says) in cases {
            let text = read_json::<User>(body.as_bytes()).unwrap_err();
            assert!(text.contains(says), "{body}: {text}");
            assert!(text.contains("line 1"), "{text}");
            assert_private(&text);
            let value: Result<Value, _> = serde_json::from_str(body);
            if let Ok(value) = value {
                let text = from_json_value::<User>(&value).unwrap_err();
                assert!(text.contains(says), "{body}: {text}");
                assert_private(&text);
            }
        }
        let err = serde_json::from_str::<User>(r#"{"id": "Ann Smith"}"#).unwrap_err();
        assert!(
            err.to_string().contains("Ann Smith"),
            "serde itself quotes it"
        );
        assert_private(&json_error(&err));
    }

    #[test]
    fn trailing_content_is_an_error_too() {
        let text = read_json::<Value>(br#"{"a": 1} Ann Smith"#).unwrap_err();
        assert!(text.contains("not valid JSON"), "{text}");
        assert_private(&text);
    }
}
