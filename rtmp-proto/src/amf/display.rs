//! A compact, JSON-like rendering of values for logs.

use super::{Object, Value};
use core::fmt::{self, Display, Formatter, Write};

/// Renders a value on one line, JSON-like: strings quoted and escaped, objects and ECMA arrays
/// as `{"key": value}`, strict arrays as `[...]`. Types JSON lacks get a tag: `Point {...}` for
/// a typed object, `Date(ms)`, `XML("...")`, `ByteArray(3 bytes)`, `Vector<int>[...]`,
/// `Dictionary{key => value}`.
///
/// ```
/// use rtmp_proto::{amf_object, Value};
///
/// let value = amf_object! { "code" => "NetStream.Play.Start", "list" => vec![1, 2] };
/// assert_eq!(value.to_string(), r#"{"code": "NetStream.Play.Start", "list": [1, 2]}"#);
/// assert_eq!(Value::from("a\"b\n").to_string(), r#""a\"b\n""#);
/// ```
impl Display for Value {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Value::Undefined => f.write_str("undefined"),
            Value::Null => f.write_str("null"),
            Value::Boolean(flag) => write!(f, "{flag}"),
            Value::Number(number) => write!(f, "{number}"),
            Value::Integer(integer) => write!(f, "{integer}"),
            Value::String(text) => write_quoted(f, text),
            Value::Object(object) => Display::fmt(object, f),
            Value::EcmaArray(entries) => write_entries(f, entries),
            Value::StrictArray(items) => write_items(f, items),
            Value::MixedArray { assoc, dense } => {
                f.write_char('[')?;
                for (index, item) in dense.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                for (index, (key, value)) in assoc.iter().enumerate() {
                    if index > 0 || !dense.is_empty() {
                        f.write_str(", ")?;
                    }
                    write_quoted(f, key)?;
                    write!(f, ": {value}")?;
                }
                f.write_char(']')
            }
            Value::Date { millis, timezone } => {
                if *timezone == 0 {
                    write!(f, "Date({millis})")
                } else {
                    write!(f, "Date({millis}, tz {timezone})")
                }
            }
            Value::XmlDocument(text) => {
                f.write_str("XMLDocument(")?;
                write_quoted(f, text)?;
                f.write_char(')')
            }
            Value::Xml(text) => {
                f.write_str("XML(")?;
                write_quoted(f, text)?;
                f.write_char(')')
            }
            Value::ByteArray(bytes) => write!(f, "ByteArray({} bytes)", bytes.len()),
            Value::VectorInt { fixed, items } => {
                write_vector_tag(f, "int", *fixed)?;
                write_items(f, items)
            }
            Value::VectorUint { fixed, items } => {
                write_vector_tag(f, "uint", *fixed)?;
                write_items(f, items)
            }
            Value::VectorDouble { fixed, items } => {
                write_vector_tag(f, "Number", *fixed)?;
                write_items(f, items)
            }
            Value::VectorObject {
                fixed,
                type_name,
                items,
            } => {
                let shown = if type_name.is_empty() { "*" } else { type_name };
                write_vector_tag(f, shown, *fixed)?;
                write_items(f, items)
            }
            Value::Dictionary { weak_keys, entries } => {
                f.write_str(if *weak_keys {
                    "Dictionary(weak){"
                } else {
                    "Dictionary{"
                })?;
                for (index, (key, value)) in entries.iter().enumerate() {
                    if index > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{key} => {value}")?;
                }
                f.write_char('}')
            }
            Value::Unsupported => f.write_str("unsupported"),
        }
    }
}

/// Renders an object as `{"key": value, ...}`, prefixed by its class name when typed.
impl Display for Object {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if let Some(class_name) = &self.class_name {
            write!(f, "{class_name} ")?;
        }
        write_entries(f, &self.properties)
    }
}

fn write_entries(f: &mut Formatter<'_>, entries: &[(alloc::string::String, Value)]) -> fmt::Result {
    f.write_char('{')?;
    for (index, (key, value)) in entries.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write_quoted(f, key)?;
        write!(f, ": {value}")?;
    }
    f.write_char('}')
}

fn write_items<T: Display>(f: &mut Formatter<'_>, items: &[T]) -> fmt::Result {
    f.write_char('[')?;
    for (index, item) in items.iter().enumerate() {
        if index > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    f.write_char(']')
}

fn write_vector_tag(f: &mut Formatter<'_>, item_type: &str, fixed: bool) -> fmt::Result {
    if fixed {
        write!(f, "Vector<{item_type}, fixed>")
    } else {
        write!(f, "Vector<{item_type}>")
    }
}

/// Writes `text` as a JSON string literal.
fn write_quoted(f: &mut Formatter<'_>, text: &str) -> fmt::Result {
    f.write_char('"')?;
    for character in text.chars() {
        match character {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\r' => f.write_str("\\r")?,
            '\t' => f.write_str("\\t")?,
            control if control.is_control() => write!(f, "\\u{:04x}", u32::from(control))?,
            other => f.write_char(other)?,
        }
    }
    f.write_char('"')
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;
    use bytes::Bytes;

    #[test]
    fn renders_every_kind_compactly() {
        let value = Value::StrictArray(vec![
            Value::Undefined,
            Value::Integer(-3),
            Value::Number(0.5),
            Value::Object(Object::typed("P").with("x", 1)),
            Value::MixedArray {
                assoc: vec![("k".into(), Value::Null)],
                dense: vec![Value::Boolean(true)],
            },
            Value::Date {
                millis: 5.0,
                timezone: 60,
            },
            Value::Xml("<a/>".into()),
            Value::ByteArray(Bytes::from_static(b"xyz")),
            Value::VectorInt {
                fixed: true,
                items: vec![1, 2],
            },
            Value::VectorObject {
                fixed: false,
                type_name: "".into(),
                items: vec![],
            },
            Value::Dictionary {
                weak_keys: false,
                entries: vec![(Value::Integer(1), "one".into())],
            },
            Value::from("\u{1}"),
        ]);
        assert_eq!(
            value.to_string(),
            r#"[undefined, -3, 0.5, P {"x": 1}, [true, "k": null], Date(5, tz 60), XML("<a/>"), ByteArray(3 bytes), Vector<int, fixed>[1, 2], Vector<*>[], Dictionary{1 => "one"}, "\u0001"]"#
        );
    }
}
