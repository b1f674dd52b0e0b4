//! Keys that name a known field in another letter case (`"Linux"`, `"namespaces"`
//! spelt `"NameSpaces"`) are refused.
//!
//! runc reads `config.json` with Go's `encoding/json`, which matches object keys to
//! struct fields case-insensitively (ASCII case, plus the Kelvin sign `K` for `k`
//! and the long `ſ` for `s`). fastrun's model matches exact names and ignores
//! unknown keys, so it would silently drop a setting runc applies: a namespace, a
//! limit, a mask. Such a key is refused instead, naming it and the field it looks
//! like; map entries (annotations, sysctl, ...) are data and are not checked.
//!
//! Which objects are structs, and their fields, is learnt once per document type
//! from the model's own `Deserialize` impls ([`Shape::of`]: a probing deserializer
//! that feeds every field), so the rule never lags behind the model.

use std::fmt;
use std::sync::OnceLock;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

/// The shapes of the three documents, probed on first use.
pub(crate) fn config_shape() -> &'static Shape {
    static S: OnceLock<Shape> = OnceLock::new();
    S.get_or_init(Shape::of::<crate::spec::Config<'static>>)
}

pub(crate) fn process_shape() -> &'static Shape {
    static S: OnceLock<Shape> = OnceLock::new();
    S.get_or_init(Shape::of::<crate::spec::Process<'static>>)
}

pub(crate) fn resources_shape() -> &'static Shape {
    static S: OnceLock<Shape> = OnceLock::new();
    S.get_or_init(Shape::of::<crate::spec::LinuxResources<'static>>)
}

/// What the model reads at one place of a document.
#[derive(Debug, Default, Clone, PartialEq)]
pub(crate) enum Shape {
    /// A scalar, or something not (yet) known.
    #[default]
    Leaf,
    /// A struct: its field names (as in JSON) and the shape of each field's value.
    Struct(Vec<(&'static str, Shape)>),
    /// An array of one shape.
    Seq(Box<Shape>),
    /// An object with free keys and values of one shape.
    Map(Box<Shape>),
}

impl Shape {
    /// The shape of what `T` reads.
    pub(crate) fn of<T: Deserialize<'static>>() -> Shape {
        let mut s = Shape::Leaf;
        // A probe error would leave later fields unprobed: the unit test checks
        // that every document type probes cleanly.
        let _ = T::deserialize(Probe {
            out: &mut s,
            depth: 0,
        });
        s
    }

    /// The first key of `v` (a parsed document read as `self`) that equals a
    /// known field's name in another case: (path of the key, the field's name).
    /// Allocates only when it finds one (the path is built on the way back).
    pub(crate) fn miscased(
        &self,
        v: simd_json::tape::Value<'_, '_>,
    ) -> Option<(String, &'static str)> {
        let mut segs = Vec::new();
        let field = self.walk(v, &mut segs)?;
        let mut path = String::new();
        for seg in segs.iter().rev() {
            match seg {
                Seg::Key(k) => {
                    if !path.is_empty() {
                        path.push('.');
                    }
                    path.push_str(k);
                }
                Seg::Index(i) => path.push_str(&format!("[{i}]")),
                Seg::MapKey(k) => path.push_str(&format!("[{k:?}]")),
            }
        }
        Some((path, field))
    }

    /// The field a miscased key under `v` stands for; `segs` gets the key's path,
    /// innermost first.
    fn walk(&self, v: simd_json::tape::Value<'_, '_>, segs: &mut Vec<Seg>) -> Option<&'static str> {
        match self {
            Shape::Leaf => None,
            Shape::Struct(fields) => v.as_object()?.iter().find_map(|(k, val)| {
                let found = match fields.iter().find(|(name, _)| *name == k) {
                    Some((_, shape)) => shape.walk(val, segs),
                    None => fields
                        .iter()
                        .find(|(name, _)| go_fold_eq(k, name))
                        .map(|(name, _)| *name),
                };
                found.inspect(|_| segs.push(Seg::Key(k.to_owned())))
            }),
            // Arrays and maps of scalars (seccomp's syscall names...) need no walk.
            Shape::Seq(elem) if **elem == Shape::Leaf => None,
            Shape::Map(val) if **val == Shape::Leaf => None,
            Shape::Seq(elem) => v
                .as_array()?
                .iter()
                .enumerate()
                .find_map(|(i, e)| elem.walk(e, segs).inspect(|_| segs.push(Seg::Index(i)))),
            Shape::Map(val) => v.as_object()?.iter().find_map(|(k, e)| {
                val.walk(e, segs)
                    .inspect(|_| segs.push(Seg::MapKey(k.to_owned())))
            }),
        }
    }
}

/// One step of a JSON path.
enum Seg {
    Key(String),
    Index(usize),
    MapKey(String),
}

/// Go's `encoding/json` name matching: equal under simple case folding. Field
/// names are ASCII, so a key matches when it is ASCII apart from `K` (U+212A,
/// folds to `k`) and `ſ` (U+017F, folds to `s`) and equal ignoring ASCII case.
fn go_fold_eq(key: &str, field: &str) -> bool {
    let mut k = key.chars().map(|c| match c {
        '\u{212A}' => 'k',
        '\u{17F}' => 's',
        c => c.to_ascii_lowercase(),
    });
    let mut f = field.chars().map(|c| c.to_ascii_lowercase());
    loop {
        match (k.next(), f.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b => {}
            _ => return false,
        }
    }
}

/// A deserializer that records the [`Shape`] of what it is asked for: every field
/// of a struct, one element of a sequence, one value of a map; scalars are
/// defaults.
struct Probe<'s> {
    out: &'s mut Shape,
    depth: usize,
}

#[derive(Debug)]
struct ProbeError(String);

impl fmt::Display for ProbeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProbeError {}

impl de::Error for ProbeError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        ProbeError(msg.to_string())
    }
}

/// A visitor's `expecting` text (tells a map from a string for `deserialize_any`).
struct Expecting<'v, V>(&'v V);

impl<'de, V: Visitor<'de>> fmt::Display for Expecting<'_, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.expecting(f)
    }
}

/// The model nests about 6 deep; recursion beyond this is a bug in the probe.
const MAX_PROBE_DEPTH: usize = 32;

impl<'s> Probe<'s> {
    fn child<'c>(&self, out: &'c mut Shape) -> Result<Probe<'c>, ProbeError> {
        if self.depth >= MAX_PROBE_DEPTH {
            return Err(ProbeError("model nested too deep".into()));
        }
        Ok(Probe {
            out,
            depth: self.depth + 1,
        })
    }
}

macro_rules! probe_scalar {
    ($($method:ident => $visit:ident($value:expr)),* $(,)?) => {
        $(fn $method<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, ProbeError> {
            visitor.$visit($value)
        })*
    };
}

impl<'s> Deserializer<'static> for Probe<'s> {
    type Error = ProbeError;

    fn deserialize_any<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        // `Str` and `Map` read through `deserialize_any` (to see `null`).
        let expecting = Expecting(&visitor).to_string();
        if expecting.contains("object") || expecting.contains("map") {
            self.deserialize_map(visitor)
        } else {
            visitor.visit_borrowed_str("")
        }
    }

    probe_scalar! {
        deserialize_bool => visit_bool(false),
        deserialize_i8 => visit_i64(0),
        deserialize_i16 => visit_i64(0),
        deserialize_i32 => visit_i64(0),
        deserialize_i64 => visit_i64(0),
        deserialize_u8 => visit_u64(0),
        deserialize_u16 => visit_u64(0),
        deserialize_u32 => visit_u64(0),
        deserialize_u64 => visit_u64(0),
        deserialize_f32 => visit_f64(0.0),
        deserialize_f64 => visit_f64(0.0),
        deserialize_char => visit_char('x'),
        deserialize_str => visit_borrowed_str(""),
        deserialize_string => visit_borrowed_str(""),
        deserialize_bytes => visit_borrowed_bytes(b""),
        deserialize_byte_buf => visit_borrowed_bytes(b""),
        deserialize_identifier => visit_borrowed_str(""),
    }

    fn deserialize_unit<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_ignored_any<V: Visitor<'static>>(
        self,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_option<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        visitor.visit_some(self)
    }

    fn deserialize_unit_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        let mut elem = Shape::Leaf;
        let r = visitor.visit_seq(ProbeSeq {
            probe: Some(self.child(&mut elem)?),
        });
        *self.out = Shape::Seq(Box::new(elem));
        r
    }

    fn deserialize_tuple<V: Visitor<'static>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'static>>(self, visitor: V) -> Result<V::Value, ProbeError> {
        let mut val = Shape::Leaf;
        let r = visitor.visit_map(ProbeMap {
            keys: &[""],
            next: 0,
            probe: self.child(&mut val)?,
            fields: None,
        });
        *self.out = Shape::Map(Box::new(val));
        r
    }

    fn deserialize_struct<V: Visitor<'static>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, ProbeError> {
        let mut shapes = Vec::with_capacity(fields.len());
        let mut scratch = Shape::Leaf;
        let r = visitor.visit_map(ProbeMap {
            keys: fields,
            next: 0,
            probe: self.child(&mut scratch)?,
            fields: Some(&mut shapes),
        });
        *self.out = Shape::Struct(shapes);
        r
    }

    fn deserialize_enum<V: Visitor<'static>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, ProbeError> {
        Err(ProbeError("enums are not probed".into()))
    }
}

struct ProbeSeq<'s> {
    probe: Option<Probe<'s>>,
}

impl<'s> SeqAccess<'static> for ProbeSeq<'s> {
    type Error = ProbeError;

    fn next_element_seed<T: DeserializeSeed<'static>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, ProbeError> {
        match self.probe.take() {
            Some(p) => seed.deserialize(p).map(Some),
            None => Ok(None),
        }
    }
}

/// The keys of a struct (each field once) or of a map (one empty key).
struct ProbeMap<'s, 'f> {
    keys: &'static [&'static str],
    next: usize,
    /// For a map: where the value's shape goes.
    probe: Probe<'s>,
    /// For a struct: the fields' shapes, in order.
    fields: Option<&'f mut Vec<(&'static str, Shape)>>,
}

impl MapAccess<'static> for ProbeMap<'_, '_> {
    type Error = ProbeError;

    fn next_key_seed<K: DeserializeSeed<'static>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, ProbeError> {
        let Some(&key) = self.keys.get(self.next) else {
            return Ok(None);
        };
        seed.deserialize(de::value::BorrowedStrDeserializer::new(key))
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'static>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, ProbeError> {
        let key = self.keys[self.next];
        self.next += 1;
        match self.fields.as_deref_mut() {
            Some(fields) => {
                let mut shape = Shape::Leaf;
                let r = seed.deserialize(self.probe.child(&mut shape)?);
                fields.push((key, shape));
                r
            }
            None => seed.deserialize(Probe {
                out: &mut *self.probe.out,
                depth: self.probe.depth,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{Config, LinuxResources, Process};

    fn probe_ok<T: Deserialize<'static>>() -> Shape {
        let mut s = Shape::Leaf;
        T::deserialize(Probe {
            out: &mut s,
            depth: 0,
        })
        .map(|_| ())
        .unwrap_or_else(|e| panic!("probe of {}: {e}", std::any::type_name::<T>()));
        s
    }

    fn field<'s>(s: &'s Shape, name: &str) -> &'s Shape {
        match s {
            Shape::Struct(f) => &f.iter().find(|(n, _)| *n == name).unwrap().1,
            other => panic!("{name}: not a struct: {other:?}"),
        }
    }

    #[test]
    fn every_document_type_probes_cleanly() {
        let config = probe_ok::<Config<'static>>();
        assert_eq!(config, Shape::of::<Config<'static>>());
        probe_ok::<Process<'static>>();
        probe_ok::<LinuxResources<'static>>();
        // Structs, arrays of structs, maps of strings and of structs.
        let linux = field(&config, "linux");
        let Shape::Seq(ns) = field(linux, "namespaces") else {
            panic!("namespaces")
        };
        assert!(matches!(field(ns, "type"), Shape::Leaf));
        assert_eq!(field(linux, "sysctl"), &Shape::Map(Box::new(Shape::Leaf)));
        let Shape::Map(dev) = field(linux, "netDevices") else {
            panic!("netDevices")
        };
        assert!(matches!(field(dev, "name"), Shape::Leaf));
        let res = field(linux, "resources");
        assert!(matches!(field(field(res, "memory"), "limit"), Shape::Leaf));
        assert!(matches!(field(&config, "annotations"), Shape::Map(_)));
    }

    #[test]
    fn go_folding() {
        assert!(go_fold_eq("Linux", "linux"));
        assert!(go_fold_eq("UIDMAPPINGS", "uidMappings"));
        assert!(go_fold_eq("\u{17F}ysctl", "sysctl"));
        assert!(go_fold_eq("\u{212A}ernel", "kernel"));
        assert!(!go_fold_eq("linu", "linux"));
        assert!(!go_fold_eq("linux_", "linux"));
        assert!(!go_fold_eq("l\u{130}nux", "linux"));
    }
}
