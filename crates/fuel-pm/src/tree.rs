//! A small positioned YAML tree: every node with its line and column, built by
//! serde-saphyr under its `Budget`. Checking walks this tree instead of
//! deserializing straight into the document types, so a wrong type stops
//! nothing and every problem is reported together.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;
use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

/// A YAML node, where it starts (1-based line and column) and the bytes it
/// was read from (so a number can be quoted back as it was written).
#[derive(Debug)]
pub(crate) struct Node<'t> {
    pub line: usize,
    pub column: usize,
    pub bytes: std::ops::Range<usize>,
    pub kind: Kind<'t>,
}

impl Node<'_> {
    /// The node's source text when known (it is for text input), else `fallback`.
    pub fn source<'a>(&'a self, text: &'a str, fallback: &'a str) -> &'a str {
        text.get(self.bytes.clone())
            .filter(|s| !s.is_empty())
            .unwrap_or(fallback)
    }

    /// What the node is, for "expected X, found Y" messages; numbers and
    /// booleans as written (`1.10`, not the 1.1 YAML reads).
    pub fn describe(&self, text: &str) -> String {
        match &self.kind {
            Kind::Null => "nothing (null)".to_owned(),
            Kind::Bool(b) => format!(
                "the boolean {}",
                self.source(text, if *b { "true" } else { "false" })
            ),
            Kind::Number(n) => format!("the number {}", self.source(text, n)),
            Kind::Str(s) => format!("the string {}", crate::check::shown(s)),
            Kind::Seq(_) => "a list".to_owned(),
            Kind::Map(_) => "a mapping".to_owned(),
        }
    }
}

#[derive(Debug)]
pub(crate) enum Kind<'t> {
    Null,
    Bool(bool),
    /// A number, as YAML read it (`1.10` is the number 1.1).
    Number(String),
    /// Borrowed from the document where it is written as is.
    Str(Cow<'t, str>),
    Seq(Vec<Node<'t>>),
    /// Entries in document order, repeated keys included.
    Map(Vec<(Node<'t>, Node<'t>)>),
}

impl<'de> Deserialize<'de> for Node<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Spanned's two full locations are only kept long enough to read the
        // line and column: the tree stays small for large documents.
        let spanned = Spanned::<Kind<'de>>::deserialize(d)?;
        let at = spanned.referenced;
        let span = at.span();
        let start = span.byte_offset().unwrap_or(0) as usize;
        let len = span.byte_len().unwrap_or(0) as usize;
        Ok(Node {
            line: at.line() as usize,
            column: at.column() as usize,
            bytes: start..start.saturating_add(len),
            kind: spanned.value,
        })
    }
}

impl<'de> Deserialize<'de> for Kind<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(KindVisitor(PhantomData))
    }
}

struct KindVisitor<'de>(PhantomData<&'de ()>);

impl<'de> Visitor<'de> for KindVisitor<'de> {
    type Value = Kind<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_unit<E>(self) -> Result<Kind<'de>, E> {
        Ok(Kind::Null)
    }

    fn visit_none<E>(self) -> Result<Kind<'de>, E> {
        Ok(Kind::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Kind<'de>, D::Error> {
        d.deserialize_any(self)
    }

    fn visit_bool<E>(self, v: bool) -> Result<Kind<'de>, E> {
        Ok(Kind::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Kind<'de>, E> {
        Ok(Kind::Number(v.to_string()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Kind<'de>, E> {
        Ok(Kind::Number(v.to_string()))
    }

    fn visit_i128<E>(self, v: i128) -> Result<Kind<'de>, E> {
        Ok(Kind::Number(v.to_string()))
    }

    fn visit_u128<E>(self, v: u128) -> Result<Kind<'de>, E> {
        Ok(Kind::Number(v.to_string()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Kind<'de>, E> {
        Ok(Kind::Number(v.to_string()))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Kind<'de>, E> {
        Ok(Kind::Str(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Kind<'de>, E> {
        Ok(Kind::Str(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Kind<'de>, E> {
        Ok(Kind::Str(Cow::Owned(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Kind<'de>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Node<'de>>()? {
            items.push(item);
        }
        Ok(Kind::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Kind<'de>, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Node<'de>>()? {
            let value = map.next_value::<Node<'de>>()?;
            entries.push((key, value));
        }
        Ok(Kind::Map(entries))
    }

    fn visit_bytes<E: de::Error>(self, _: &[u8]) -> Result<Kind<'de>, E> {
        Err(E::custom("binary values (!!binary) are not accepted"))
    }
}
