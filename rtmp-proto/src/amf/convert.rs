//! Conversions into [`Value`], accessors, and the [`Object`] builder.

use super::{Object, Value};
use alloc::string::String;
use alloc::vec::Vec;
use bytes::Bytes;

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::String(String::from(value))
    }
}

impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::String(value)
    }
}

impl From<&String> for Value {
    fn from(value: &String) -> Self {
        Value::String(value.clone())
    }
}

impl From<f64> for Value {
    fn from(value: f64) -> Self {
        Value::Number(value)
    }
}

impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Boolean(value)
    }
}

/// Integers become [`Value::Number`], the type RTMP commands use for every number (AMF0 §2.2).
/// Build a [`Value::Integer`] explicitly for an AMF3 integer.
macro_rules! number_from_integer {
    ($($int:ty),*) => {$(
        impl From<$int> for Value {
            fn from(value: $int) -> Self {
                Value::Number(f64::from(value))
            }
        }
    )*};
}
number_from_integer!(u8, u16, u32, i8, i16, i32);

impl From<Object> for Value {
    fn from(value: Object) -> Self {
        Value::Object(value)
    }
}

/// A vector becomes a [`Value::StrictArray`].
impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(items: Vec<T>) -> Self {
        Value::StrictArray(items.into_iter().map(Into::into).collect())
    }
}

/// `None` becomes [`Value::Null`], the placeholder RTMP commands use for absent arguments.
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(value: Option<T>) -> Self {
        value.map_or(Value::Null, Into::into)
    }
}

impl From<Bytes> for Value {
    fn from(value: Bytes) -> Self {
        Value::ByteArray(value)
    }
}

impl Value {
    /// The text of a [`Value::String`].
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(text) => Some(text),
            _ => None,
        }
    }

    /// The number of a [`Value::Number`] or [`Value::Integer`].
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Number(number) => Some(*number),
            Value::Integer(integer) => Some(f64::from(*integer)),
            _ => None,
        }
    }

    /// The value of a [`Value::Boolean`].
    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Value::Boolean(flag) => Some(*flag),
            _ => None,
        }
    }

    /// The object of a [`Value::Object`].
    pub fn as_object(&self) -> Option<&Object> {
        match self {
            Value::Object(object) => Some(object),
            _ => None,
        }
    }

    /// The items of a [`Value::StrictArray`].
    pub fn as_array(&self) -> Option<&[Value]> {
        match self {
            Value::StrictArray(items) => Some(items),
            _ => None,
        }
    }

    /// Whether this is [`Value::Null`].
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Whether this is [`Value::Null`] or [`Value::Undefined`], which peers use
    /// interchangeably for "no value".
    pub fn is_null_or_undefined(&self) -> bool {
        matches!(self, Value::Null | Value::Undefined)
    }

    /// The first property named `key` of an object, ECMA array or the associative part of a
    /// mixed array. Peers send metadata as either an object or an ECMA array, so this looks in
    /// both.
    ///
    /// ```
    /// use rtmp_proto::Value;
    ///
    /// let metadata = Value::EcmaArray(vec![("width".into(), 1920.into())]);
    /// assert_eq!(metadata.get("width").and_then(Value::as_f64), Some(1920.0));
    /// assert_eq!(metadata.get("height"), None);
    /// ```
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Object(object) => object.get(key),
            Value::EcmaArray(entries) | Value::MixedArray { assoc: entries, .. } => {
                find(entries, key)
            }
            _ => None,
        }
    }
}

fn find<'v>(entries: &'v [(String, Value)], key: &str) -> Option<&'v Value> {
    entries
        .iter()
        .find(|(name, _)| name == key)
        .map(|(_, value)| value)
}

impl Object {
    /// An anonymous object with no properties.
    pub fn new() -> Self {
        Object::default()
    }

    /// A typed object of class `class_name` with no properties (AMF0 §2.18, AMF3 §3.12).
    pub fn typed(class_name: impl Into<String>) -> Self {
        Object {
            class_name: Some(class_name.into()),
            properties: Vec::new(),
        }
    }

    /// This object with `key` set to `value` (see [`Object::insert`]).
    #[must_use]
    pub fn with(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.insert(key, value);
        self
    }

    /// Sets `key` to `value`: replaces the first property named `key` in place, or appends a
    /// new one. Returns the value replaced.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<Value>) -> Option<Value> {
        let key = key.into();
        let value = value.into();
        match self.properties.iter_mut().find(|(name, _)| *name == key) {
            Some((_, slot)) => Some(core::mem::replace(slot, value)),
            None => {
                self.properties.push((key, value));
                None
            }
        }
    }

    /// The value of the first property named `key`.
    pub fn get(&self, key: &str) -> Option<&Value> {
        find(&self.properties, key)
    }

    /// The value of the first property named `key`, mutably.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut Value> {
        self.properties
            .iter_mut()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value)
    }

    /// Removes the first property named `key`, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<Value> {
        let position = self.properties.iter().position(|(name, _)| name == key)?;
        Some(self.properties.remove(position).1)
    }

    /// The properties in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Value)> {
        self.properties
            .iter()
            .map(|(name, value)| (name.as_str(), value))
    }

    /// How many properties the object has.
    pub fn len(&self) -> usize {
        self.properties.len()
    }

    /// Whether the object has no properties.
    pub fn is_empty(&self) -> bool {
        self.properties.is_empty()
    }
}

impl<K: Into<String>, V: Into<Value>> FromIterator<(K, V)> for Object {
    /// An anonymous object with these properties, in order (duplicates are kept).
    fn from_iter<I: IntoIterator<Item = (K, V)>>(pairs: I) -> Self {
        Object {
            class_name: None,
            properties: pairs
                .into_iter()
                .map(|(key, value)| (key.into(), value.into()))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    #[test]
    fn conversions_pick_the_rtmp_types() {
        assert_eq!(Value::from(7u8), Value::Number(7.0));
        assert_eq!(Value::from(-7i32), Value::Number(-7.0));
        assert_eq!(Value::from(u32::MAX), Value::Number(4_294_967_295.0));
        assert_eq!(Value::from(None::<f64>), Value::Null);
        assert_eq!(Value::from(Some("x")), Value::String("x".into()));
        assert_eq!(
            Value::from(vec![1.0, 2.0]),
            Value::StrictArray(vec![Value::Number(1.0), Value::Number(2.0)])
        );
        assert_eq!(
            Value::from(Bytes::from_static(b"ab")),
            Value::ByteArray(Bytes::from_static(b"ab"))
        );
    }

    #[test]
    fn accessors_answer_only_for_their_variant() {
        assert_eq!(Value::Integer(3).as_f64(), Some(3.0));
        assert_eq!(Value::from("3").as_f64(), None);
        assert_eq!(Value::Boolean(true).as_bool(), Some(true));
        assert!(Value::Undefined.is_null_or_undefined() && !Value::Undefined.is_null());
        let mixed = Value::MixedArray {
            assoc: vec![("k".into(), Value::Null)],
            dense: vec![],
        };
        assert_eq!(mixed.get("k"), Some(&Value::Null));
        assert_eq!(Value::Null.get("k"), None);
    }

    #[test]
    fn object_insert_replaces_in_place_and_remove_keeps_order() {
        let mut object: Object = [("a", 1), ("b", 2), ("c", 3)].into_iter().collect();
        assert_eq!(object.insert("b", 20), Some(Value::Number(2.0)));
        assert_eq!(object.remove("a"), Some(Value::Number(1.0)));
        assert_eq!(object.remove("a"), None);
        let pairs: Vec<(&str, &Value)> = object.iter().collect();
        assert_eq!(
            pairs,
            [("b", &Value::Number(20.0)), ("c", &Value::Number(3.0))]
        );
        *object.get_mut("c").unwrap() = Value::Null;
        assert_eq!(object.get("c"), Some(&Value::Null));
        assert_eq!(object.len(), 2);
        assert_eq!(Object::typed("Point").class_name.as_deref(), Some("Point"));
    }
}
