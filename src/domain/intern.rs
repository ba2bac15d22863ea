//! Text and lists shared by many targets. A plan of 100,000 targets says the same reason, the
//! same notes and the same channel lists thousands of times: each distinct value is allocated
//! once and shared (`Arc`), which keeps a target's footprint to its id and a few pointers.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, OnceLock};

/// A string many targets share.
pub type Shared = Arc<str>;

/// A list of strings many targets share (a reason's channels, a target's notes).
pub type SharedList = Arc<[Shared]>;

/// A name from a small, bounded vocabulary (the channel names of the matrix) shared by the whole
/// process: per-message maps are keyed by these.
pub fn global(s: &str) -> Shared {
    static NAMES: OnceLock<Mutex<HashSet<Shared>>> = OnceLock::new();
    let mut names = NAMES
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(n) = names.get(s) {
        return n.clone();
    }
    let n: Shared = Arc::from(s);
    names.insert(n.clone());
    n
}

/// One allocation per distinct string or list.
#[derive(Debug, Default)]
pub struct Interner {
    texts: HashSet<Shared>,
    lists: HashSet<SharedList>,
}

impl Interner {
    pub fn text(&mut self, s: &str) -> Shared {
        if let Some(t) = self.texts.get(s) {
            return t.clone();
        }
        let t: Shared = Arc::from(s);
        self.texts.insert(t.clone());
        t
    }

    pub fn list<S: AsRef<str>>(&mut self, items: impl IntoIterator<Item = S>) -> SharedList {
        let items: Vec<Shared> = items.into_iter().map(|s| self.text(s.as_ref())).collect();
        if let Some(l) = self.lists.get(items.as_slice()) {
            return l.clone();
        }
        let l: SharedList = Arc::from(items);
        self.lists.insert(l.clone());
        l
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_values_share_one_allocation() {
        let mut i = Interner::default();
        let a = i.text("not reached: vivo");
        let b = i.text(&String::from("not reached: vivo"));
        assert!(Arc::ptr_eq(&a, &b));
        let l1 = i.list(["jpush", "xiaomi"]);
        let l2 = i.list(vec!["jpush".to_string(), "xiaomi".to_string()]);
        assert!(Arc::ptr_eq(&l1, &l2));
        assert!(!Arc::ptr_eq(&l1, &i.list(["jpush"])));
    }

    #[derive(serde::Deserialize)]
    struct T {
        #[serde(deserialize_with = "de_text")]
        reason: Option<Shared>,
        #[serde(deserialize_with = "de_list")]
        notes: SharedList,
        #[serde(deserialize_with = "de_shared")]
        message: Option<Arc<serde_json::Value>>,
    }

    /// Read back within `reading`, what the planner shared is shared again.
    #[test]
    fn reading_shares_what_repeats() {
        let text = r#"[{"reason":"r","notes":["a","b"],"message":{"body":"x"}},
                       {"reason":"r","notes":["a","b"],"message":{"body":"x"}}]"#;
        let ts: Vec<T> = reading(|| serde_json::from_str(text)).unwrap();
        assert!(Arc::ptr_eq(
            ts[0].reason.as_ref().unwrap(),
            ts[1].reason.as_ref().unwrap()
        ));
        assert!(Arc::ptr_eq(&ts[0].notes, &ts[1].notes));
        assert!(Arc::ptr_eq(
            ts[0].message.as_ref().unwrap(),
            ts[1].message.as_ref().unwrap()
        ));
        // Outside `reading`, values are read as they are, unshared.
        let ts: Vec<T> = serde_json::from_str(text).unwrap();
        assert!(!Arc::ptr_eq(&ts[0].notes, &ts[1].notes));
        assert_eq!(ts[0].notes, ts[1].notes);
    }
}

thread_local! {
    /// What a plan being read has shared so far (see [`reading`]).
    static READING: std::cell::RefCell<Option<Reading>> = const { std::cell::RefCell::new(None) };
}

#[derive(Default)]
struct Reading {
    interner: Interner,
    /// Values by their JSON text (rendered messages, audiences): one `Arc` per distinct one.
    values:
        std::collections::HashMap<(std::any::TypeId, String), Arc<dyn std::any::Any + Send + Sync>>,
}

/// Read something (a plan) in which many targets repeat the same texts and values: within `f`,
/// the `de_*` helpers share each distinct one, as the planner did when it made them.
pub fn reading<T>(f: impl FnOnce() -> T) -> T {
    READING.with(|r| *r.borrow_mut() = Some(Reading::default()));
    let out = f();
    READING.with(|r| *r.borrow_mut() = None);
    out
}

/// `deserialize_with` for an optional shared string.
pub fn de_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Shared>, D::Error> {
    use serde::Deserialize as _;
    let s: Option<std::borrow::Cow<'de, str>> = Option::deserialize(d)?;
    Ok(s.map(|s| {
        READING.with(|r| match r.borrow_mut().as_mut() {
            Some(reading) => reading.interner.text(&s),
            None => Arc::from(&*s),
        })
    }))
}

/// `deserialize_with` for a shared list of strings.
pub fn de_list<'de, D: serde::Deserializer<'de>>(d: D) -> Result<SharedList, D::Error> {
    use serde::Deserialize as _;
    let items: Vec<std::borrow::Cow<'de, str>> = Vec::deserialize(d)?;
    Ok(READING.with(|r| match r.borrow_mut().as_mut() {
        Some(reading) => reading.interner.list(&items),
        None => items.iter().map(|s| Arc::from(&**s)).collect(),
    }))
}

/// `deserialize_with` for an optional shared value (a rendered message, an audience): equal
/// values (by their JSON) share one.
pub fn de_shared<'de, D, T>(d: D) -> Result<Option<Arc<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::Deserialize<'de> + serde::Serialize + Send + Sync + 'static,
{
    let Some(v) = <Option<T> as serde::Deserialize>::deserialize(d)? else {
        return Ok(None);
    };
    Ok(Some(READING.with(|r| match r.borrow_mut().as_mut() {
        Some(reading) => {
            let key = (
                std::any::TypeId::of::<T>(),
                serde_json::to_string(&v).unwrap_or_default(),
            );
            let shared = reading
                .values
                .entry(key)
                .or_insert_with(|| Arc::new(v) as Arc<dyn std::any::Any + Send + Sync>)
                .clone();
            shared
                .downcast::<T>()
                .unwrap_or_else(|_| unreachable!("keyed by type"))
        }
        None => Arc::new(v),
    })))
}
