//! Borrowed strings and ordered maps for the config model.
//!
//! [`Str`] holds a `Cow<str>` that borrows from the input buffer whenever the
//! deserializer can lend it (simd-json always can: escaped strings are unescaped
//! in place), and owns a copy otherwise (serde_json's reader, hand-built configs).
//! serde's own `Cow<str>` impl always copies when nested in `Option`/`Vec`, so it
//! is not used here.
//!
//! [`Map`] is a JSON object kept as a vector of entries in document order. Config
//! maps are small (annotations, sysctl, unified, rdma, timeOffsets, netDevices),
//! so a linear lookup beats hashing, no hasher is needed, and serialization keeps
//! the order of the input. Duplicate keys are kept as written; [`Map::get`]
//! returns the last one, as Go's `encoding/json` (runc) would.

use std::borrow::{Borrow, Cow};
use std::fmt;
use std::ops::Deref;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, SerializeMap, Serializer};

/// A string of the config, borrowed from the input buffer when possible.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Str<'a>(Cow<'a, str>);

impl<'a> Str<'a> {
    /// A string borrowed for `'a`.
    pub const fn borrowed(s: &'a str) -> Self {
        Str(Cow::Borrowed(s))
    }

    /// An owned string.
    pub fn owned(s: String) -> Self {
        Str(Cow::Owned(s))
    }

    /// The string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the string is empty (an absent optional string).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether this string borrows from the input (no allocation was made for it).
    pub fn is_borrowed(&self) -> bool {
        matches!(self.0, Cow::Borrowed(_))
    }

    /// A copy that owns its text.
    pub fn into_owned(self) -> Str<'static> {
        Str(Cow::Owned(self.0.into_owned()))
    }

    /// The inner `Cow`.
    pub fn into_cow(self) -> Cow<'a, str> {
        self.0
    }
}

impl Default for Str<'_> {
    fn default() -> Self {
        Str(Cow::Borrowed(""))
    }
}

impl Deref for Str<'_> {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl AsRef<str> for Str<'_> {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl Borrow<str> for Str<'_> {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&*self.0, f)
    }
}

impl PartialEq<str> for Str<'_> {
    fn eq(&self, other: &str) -> bool {
        *self.0 == *other
    }
}

impl PartialEq<&str> for Str<'_> {
    fn eq(&self, other: &&str) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Str<'_>> for str {
    fn eq(&self, other: &Str<'_>) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Str<'_>> for &str {
    fn eq(&self, other: &Str<'_>) -> bool {
        **self == *other.0
    }
}

impl<'a> From<&'a str> for Str<'a> {
    fn from(s: &'a str) -> Self {
        Str(Cow::Borrowed(s))
    }
}

impl From<String> for Str<'_> {
    fn from(s: String) -> Self {
        Str(Cow::Owned(s))
    }
}

impl<'a> From<Cow<'a, str>> for Str<'a> {
    fn from(s: Cow<'a, str>) -> Self {
        Str(s)
    }
}

impl Serialize for Str<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

struct StrVisitor<'a>(std::marker::PhantomData<Str<'a>>);

impl<'de: 'a, 'a> Visitor<'de> for StrVisitor<'a> {
    type Value = Str<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Borrowed(v)))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok(Str(Cow::Owned(v)))
    }

    /// `null` reads as the empty string, as Go's `encoding/json` does.
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Str::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Str::default())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `deserialize_any` so that `null` reaches `visit_unit`; both simd-json and
        // serde_json hand strings to `visit_borrowed_str` when they can.
        deserializer.deserialize_any(StrVisitor(std::marker::PhantomData))
    }
}

/// A JSON object with string keys, in document order (see the module docs).
#[derive(Clone, PartialEq, Eq)]
pub struct Map<'a, V>(pub Vec<(Str<'a>, V)>);

impl<V> Default for Map<'_, V> {
    fn default() -> Self {
        Map(Vec::new())
    }
}

impl<'a, V> Map<'a, V> {
    /// An empty map.
    pub const fn new() -> Self {
        Map(Vec::new())
    }

    /// The value of the last entry named `key`.
    pub fn get(&self, key: &str) -> Option<&V> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Whether an entry named `key` exists.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.iter().any(|(k, _)| k == key)
    }

    /// Append an entry (no de-duplication).
    pub fn push(&mut self, key: impl Into<Str<'a>>, value: V) {
        self.0.push((key.into(), value));
    }

    /// The entries in document order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&Str<'a>, &V)> {
        self.0.iter().map(|(k, v)| (k, v))
    }

    /// The number of entries.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the map has no entries.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<V: fmt::Debug> fmt::Debug for Map<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

impl<'a, K: Into<Str<'a>>, V> FromIterator<(K, V)> for Map<'a, V> {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Map(iter.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }
}

impl<V: Serialize> Serialize for Map<'_, V> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

struct MapVisitor<'a, V>(std::marker::PhantomData<Map<'a, V>>);

impl<'de: 'a, 'a, V: Deserialize<'de>> Visitor<'de> for MapVisitor<'a, V> {
    type Value = Map<'a, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        // Cap the hint: it comes from the input.
        let mut entries = Vec::with_capacity(access.size_hint().unwrap_or(0).min(64));
        while let Some((k, v)) = access.next_entry::<Str<'a>, V>()? {
            entries.push((k, v));
        }
        Ok(Map(entries))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Map::new())
    }
}

impl<'de: 'a, 'a, V: Deserialize<'de>> Deserialize<'de> for Map<'a, V> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(MapVisitor(std::marker::PhantomData))
    }
}

/// `null` reads as the default value (Go's `encoding/json` behaviour); used with
/// `#[serde(default, deserialize_with = "nullable")]` on arrays.
pub(crate) fn nullable<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Option::<T>::deserialize(deserializer).map(Option::unwrap_or_default)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn str_compares_with_str() {
        let s = Str::borrowed("pid");
        assert_eq!(s, "pid");
        assert_eq!(&*s, "pid");
        assert!("pid" == s);
        assert_eq!(s, Str::owned("pid".into()));
        assert_eq!(s.to_string(), "pid");
        assert_eq!(format!("{s:?}"), "\"pid\"");
    }

    #[test]
    fn simd_json_borrows_even_with_escapes() {
        let mut buf = br#"{"a": "plain", "b": "tab\there"}"#.to_vec();
        let m: Map<'_, Str<'_>> = simd_json::serde::from_slice(&mut buf).unwrap();
        assert_eq!(m.get("a").unwrap(), "plain");
        assert_eq!(m.get("b").unwrap(), "tab\there");
        assert!(m.iter().all(|(k, v)| k.is_borrowed() && v.is_borrowed()));
    }

    #[test]
    fn serde_json_reader_owns() {
        let input = br#"{"a": "x"}"#;
        let mut de = serde_json::Deserializer::from_reader(&input[..]);
        let m: Map<'_, Str<'_>> = Deserialize::deserialize(&mut de).unwrap();
        assert!(!m.get("a").unwrap().is_borrowed());
    }

    #[test]
    fn map_keeps_order_and_last_duplicate_wins() {
        let mut buf = br#"{"z": "1", "a": "2", "z": "3"}"#.to_vec();
        let m: Map<'_, Str<'_>> = simd_json::serde::from_slice(&mut buf).unwrap();
        let keys: Vec<&str> = m.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["z", "a", "z"]);
        assert_eq!(m.get("z").unwrap(), "3");
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"z":"1","a":"2","z":"3"}"#
        );
    }

    #[test]
    fn null_reads_as_empty() {
        let mut buf = br#"{"s": null}"#.to_vec();
        let m: Map<'_, Str<'_>> = simd_json::serde::from_slice(&mut buf).unwrap();
        assert_eq!(m.get("s").unwrap(), "");
        let mut buf = b"null".to_vec();
        let m: Map<'_, Str<'_>> = simd_json::serde::from_slice(&mut buf).unwrap();
        assert!(m.is_empty());
    }
}
