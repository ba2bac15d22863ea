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
}
