//! The probe: the few fields of a record that decide whether any step selects it, borrowed
//! from the line without parsing the rest.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Visitor};

/// The few fields needed to decide whether a record is selected, borrowed from the line: the
/// provider's id field (and whether another provider's is there instead), send time, tags and
/// platforms. Everything else is skipped unparsed.
#[derive(Default)]
pub(super) struct Probe<'a> {
    pub(super) id: Option<IdValue<'a>>,
    /// The provider's schedule id (`ProbeSeed::schedule`), when the record names a schedule.
    pub(super) schedule_id: Option<IdValue<'a>>,
    /// The id field of another provider, when the record has one.
    pub(super) other_id: Option<&'static str>,
    pub(super) sent_at: Option<Cow<'a, str>>,
    pub(super) tags: Option<Vec<Cow<'a, str>>>,
    pub(super) platforms: Option<Vec<Cow<'a, str>>>,
}

/// Reads a `Probe` for `own` (the provider's id field); `others` are the other providers'.
pub(super) struct ProbeSeed<'s> {
    pub(super) own: &'static str,
    /// The provider's schedule id field (JPush `schedule_id`), if it names schedules apart.
    pub(super) schedule: Option<&'static str>,
    pub(super) others: &'s [&'static str],
}

/// A string borrowed from the line when it has no escapes.
pub(super) struct Text<'a>(pub(super) Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

pub(super) fn texts(v: Option<Vec<Text<'_>>>) -> Option<Vec<Cow<'_, str>>> {
    v.map(|items| items.into_iter().map(|t| t.0).collect())
}

impl<'de> de::DeserializeSeed<'de> for ProbeSeed<'_> {
    type Value = Probe<'de>;

    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        struct V<'s>(ProbeSeed<'s>);
        impl<'de> Visitor<'de> for V<'_> {
            type Value = Probe<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a ledger record")
            }
            fn visit_map<M: de::MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut p = Probe::default();
                // A repeated field is an error, as serde's derived structs make it: which of
                // two values did the exporter mean?
                let mut seen = [false; 5];
                let mut once = |i: usize, name: &'static str| {
                    if std::mem::replace(&mut seen[i], true) {
                        Err(de::Error::duplicate_field(name))
                    } else {
                        Ok(())
                    }
                };
                while let Some(key) = map.next_key::<Text<'de>>()? {
                    match key.0.as_ref() {
                        k if k == self.0.own => {
                            once(0, self.0.own)?;
                            p.id = map.next_value()?;
                        }
                        "sent_at" => {
                            once(1, "sent_at")?;
                            p.sent_at = map.next_value::<Option<Text>>()?.map(|t| t.0);
                        }
                        "tags" => {
                            once(2, "tags")?;
                            p.tags = texts(map.next_value()?);
                        }
                        "platforms" => {
                            once(3, "platforms")?;
                            p.platforms = texts(map.next_value()?);
                        }
                        k if Some(k) == self.0.schedule => {
                            once(4, self.0.schedule.unwrap_or_default())?;
                            p.schedule_id = map.next_value()?;
                        }
                        k => {
                            if let Some(o) = self.0.others.iter().find(|o| **o == k) {
                                p.other_id = Some(o);
                            }
                            map.next_value::<de::IgnoredAny>()?;
                        }
                    }
                }
                Ok(p)
            }
        }
        d.deserialize_map(V(self))
    }
}

/// An id written as a JSON string or an integer (never through a float).
pub(super) enum IdValue<'a> {
    Text(Cow<'a, str>),
    Int(u64),
}

impl<'de: 'a, 'a> Deserialize<'de> for IdValue<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = IdValue<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an id as a string or an unsigned integer")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(IdValue::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(IdValue::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(IdValue::Text(Cow::Owned(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
                Ok(IdValue::Int(v))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                u64::try_from(v)
                    .map(IdValue::Int)
                    .map_err(|_| E::custom(format!("id {v} is negative")))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                // Reworded by `explain_probe_error`, which quotes the number as written.
                Err(E::custom("inexact id"))
            }
        }
        d.deserialize_any(V)
    }
}
