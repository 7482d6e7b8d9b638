//! CSV writing (RFC 4180 quoting): a field is quoted when it holds a comma, a double quote,
//! a line break or leading/trailing spaces, and quotes inside are doubled. Lines end in
//! `\n`. Values are written as they are (no spreadsheet formula escaping: exports must be
//! exact; see docs/ledger.md).

use std::io::{self, Write};

fn needs_quotes(field: &str) -> bool {
    field
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
        || field.starts_with(' ')
        || field.ends_with(' ')
}

/// Writes one field, quoted if needed.
pub fn write_field<W: Write + ?Sized>(out: &mut W, field: &str) -> io::Result<()> {
    if needs_quotes(field) {
        out.write_all(b"\"")?;
        let mut rest = field;
        while let Some(i) = rest.find('"') {
            out.write_all(&rest.as_bytes()[..=i])?;
            out.write_all(b"\"")?;
            rest = &rest[i + 1..];
        }
        out.write_all(rest.as_bytes())?;
        out.write_all(b"\"")
    } else {
        out.write_all(field.as_bytes())
    }
}

/// Writes one record: the fields separated by commas, then a newline.
pub fn write_record<W, I, S>(out: &mut W, fields: I) -> io::Result<()>
where
    W: Write + ?Sized,
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_field(out, field.as_ref())?;
    }
    out.write_all(b"\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(fields: &[&str]) -> String {
        let mut out = Vec::new();
        write_record(&mut out, fields).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn plain_fields_are_bare_and_special_ones_quoted() {
        assert_eq!(record(&["a", "", "1.5"]), "a,,1.5\n");
        assert_eq!(record(&["a,b"]), "\"a,b\"\n");
        assert_eq!(record(&["say \"hi\""]), "\"say \"\"hi\"\"\"\n");
        assert_eq!(record(&["\""]), "\"\"\"\"\n");
        assert_eq!(record(&["two\nlines", "cr\r"]), "\"two\nlines\",\"cr\r\"\n");
        assert_eq!(record(&[" padded"]), "\" padded\"\n");
        assert_eq!(record(&["Zoë <&>"]), "Zoë <&>\n");
    }
}
