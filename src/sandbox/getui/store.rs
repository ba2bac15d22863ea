//! GeTui's tasks: seeded from the ledger and pushed through the sandbox, with the ids a
//! device matches a later push against (`notify_id`, `apns-collapse-id`).

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Getui;
use super::seed::{notify_id, text};
use crate::sandbox::message::{Message, scheduled_json, ts_json};
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::SeedMessage;

/// The ids a notification carried, per channel (reference §4.3).
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Ids {
    /// `push_message.notification.notify_id` (the GeTui channel).
    pub getui: Option<u64>,
    /// `push_channel.android.ups.notification.notify_id` (Huawei, Honor, Xiaomi, OPPO, vivo).
    pub ups: Option<u64>,
    /// `push_channel.harmony` notify id.
    pub harmony: Option<u64>,
    /// `push_channel.ios["apns-collapse-id"]`.
    pub apns: Option<String>,
}

impl Ids {
    /// The channels where a push with `new` ids replaces a notification with these.
    pub fn replaced_by(&self, new: &Ids) -> Vec<&'static str> {
        let mut out = Vec::new();
        let same = |a: Option<u64>, b: Option<u64>| a.is_some() && a == b;
        if same(self.getui, new.getui) {
            out.push("getui");
        }
        if same(self.ups, new.ups) {
            out.push("vendors");
        }
        if same(self.harmony, new.harmony) {
            out.push("harmony");
        }
        if self.apns.is_some() && self.apns == new.apns {
            out.push("apns");
        }
        out
    }
}

#[derive(Debug, Clone)]
pub(super) struct Task {
    pub core: Message,
    /// The app it belongs to; None (a ledger record without `app_id`): any app id.
    pub app: Option<String>,
    pub audience_type: Option<String>,
    pub ids: Ids,
    /// A `push/list/message` not yet pushed to its list: nothing was sent.
    pub unsent_list: bool,
    /// Recalled by a revoke with `force: true` whose task was not found.
    pub force_recalled: bool,
}

impl Task {
    pub fn belongs_to(&self, app: &str) -> bool {
        self.app.as_deref().is_none_or(|a| a == app)
    }

    /// The kind of task: the ledger's, else the taskid's prefix (RASS single, RASL list, RASA
    /// an app push) — GeTui's convention, not a guarantee (reference §3).
    pub fn kind(&self) -> Option<&str> {
        if let Some(t) = &self.audience_type {
            return Some(t);
        }
        let id = self.core.id.as_str();
        if id.starts_with("RASS") {
            Some("single")
        } else if id.starts_with("RASL") {
            Some("list")
        } else if id.starts_with("RASA") {
            Some("all")
        } else {
            None
        }
    }

    fn to_json(&self, now: Timestamp) -> Value {
        let m = &self.core;
        let mut v = json!({
            "provider": Getui::NAME,
            "id": m.id,
            "source": m.source,
            "sent_at": ts_json(m.sent_at),
            "state": m.state(now),
            "recalled_at": ts_json(m.recalled_at),
            "force_recalled": self.force_recalled,
            "stopped_at": ts_json(m.stopped_at),
            "cancelled_at": ts_json(m.cancelled_at),
            "overridden_by": m.overridden_by,
            "overrides": m.overrides,
            "platforms": m.platforms,
            "tags": m.tags,
            "title": m.title,
            "body": m.body,
            "audience": m.audience,
            "audience_type": self.audience_type,
            "app_id": self.app,
            "notify_id": self.ids.getui,
            "vendor_notify_id": self.ids.ups,
            "harmony_notify_id": self.ids.harmony,
            "apns_collapse_id": self.ids.apns,
            "scheduled": scheduled_json(m.scheduled),
            "events": m.events_json(),
        });
        if let Some(sent) = &m.sent {
            v["sent"] = sent.clone();
        }
        v
    }
}

#[derive(Debug, Default)]
pub(super) struct Tasks {
    list: Vec<Task>,
    by_id: HashMap<String, usize>,
    next: u64,
}

impl Tasks {
    pub fn new(seeds: Vec<(u64, SeedMessage)>, start: Timestamp) -> Tasks {
        let mut s = Tasks {
            next: 1,
            ..Tasks::default()
        };
        for (ordinal, seed) in seeds {
            if s.by_id.contains_key(&seed.id) {
                continue;
            }
            // **Choice:** a ledger's `notify_id` is the one the sender set on every channel
            // (GeTui, vendors, HarmonyOS): that is what pushfix's ledger records.
            let n = seed.extra.get("notify_id").and_then(notify_id);
            s.insert(Task {
                core: Message::from_seed(&seed, ordinal, start),
                app: text(&seed, "app_id"),
                audience_type: text(&seed, "audience_type"),
                ids: Ids {
                    getui: n,
                    ups: n,
                    harmony: n,
                    apns: text(&seed, "apns_collapse_id"),
                },
                unsent_list: false,
                force_recalled: false,
            });
        }
        s
    }

    pub fn insert(&mut self, t: Task) {
        self.by_id.insert(t.core.id.clone(), self.list.len());
        self.list.push(t);
    }

    /// The task `id` of `app`.
    pub fn get_mut(&mut self, app: &str, id: &str) -> Option<&mut Task> {
        let i = *self.by_id.get(id)?;
        let t = &mut self.list[i];
        t.belongs_to(app).then_some(t)
    }

    pub fn get(&self, app: &str, id: &str) -> Option<&Task> {
        let t = &self.list[*self.by_id.get(id)?];
        t.belongs_to(app).then_some(t)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Task> {
        self.list.iter_mut()
    }

    /// A new taskid: `RAS{kind}_{MMdd}_{32 hex}`, as GeTui mints them (reference §3).
    pub fn new_id(&mut self, kind: char, now: Timestamp) -> String {
        let day = now
            .to_zoned(jiff::tz::TimeZone::fixed(jiff::tz::offset(8)))
            .strftime("%m%d")
            .to_string();
        loop {
            // A counter spread over the digits: ids look like GeTui's and never repeat (an odd
            // multiplier is a bijection on u128).
            let n = u128::from(self.next).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
            let id = format!("RAS{kind}_{day}_{n:032x}");
            self.next += 1;
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn views(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.list
            .iter()
            .filter(|t| !t.unsent_list)
            .map(|t| (t.core.ordinal, t.to_json(now)))
            .collect()
    }
}
