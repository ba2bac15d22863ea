//! TPNS's push tasks: seeded and sent through the sandbox, by push id and by collapse id.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::{Tpns, audience_type, collapse_id};
use crate::sandbox::message::{Message, scheduled_json, ts_json};
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::SeedMessage;

#[derive(Debug, Clone)]
pub(super) struct Task {
    pub core: Message,
    /// As the ledger says (None: unknown, not refused for its audience).
    pub audience_type: Option<String>,
    pub collapse_id: Option<u32>,
    /// True when the sandbox made the collapse id up (the ledger had none).
    pub collapse_id_assigned: bool,
}

impl Task {
    /// `status` as `get_push_record` reports it.
    pub fn status(&self, now: Timestamp) -> &'static str {
        match self.core.state(now) {
            "cancelled" => "PUSH_CANCELED",
            "recalled" => "PUSH_REVOKED",
            "overridden" => "PUSH_COLLAPSED",
            "stopped" => "PUSH_DELETED_PUSH_MSG",
            "scheduled" => "PUSH_WAIT",
            _ => "PUSH_FINISHED",
        }
    }

    /// One element of `/_sandbox/messages`.
    fn to_json(&self, now: Timestamp) -> Value {
        let m = &self.core;
        let mut v = json!({
            "provider": Tpns::NAME,
            "id": m.id,
            "source": m.source,
            "sent_at": ts_json(m.sent_at),
            "state": m.state(now),
            "status": self.status(now),
            "recalled_at": ts_json(m.recalled_at),
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
            "collapse_id": self.collapse_id,
            "collapse_id_assigned": self.collapse_id_assigned,
            "scheduled": scheduled_json(m.scheduled),
            "ignores_corrections": m.ignores_corrections,
            "events": m.events_json(),
        });
        if let Some(sent) = &m.sent {
            v["sent"] = sent.clone();
        }
        v
    }
}

#[derive(Debug)]
pub(super) struct Tasks {
    list: Vec<Task>,
    by_id: HashMap<String, usize>,
    /// Collapse id → tasks carrying it, oldest first.
    collapse: HashMap<u32, Vec<usize>>,
    next_id: u64,
    next_collapse: u32,
}

impl Tasks {
    pub fn new(seeds: Vec<(u64, SeedMessage)>, start: Timestamp) -> Tasks {
        let mut s = Tasks {
            list: Vec::new(),
            by_id: HashMap::new(),
            collapse: HashMap::new(),
            next_id: 3_999_000_001,
            next_collapse: 1,
        };
        let mut max_collapse = 0u32;
        for (ordinal, seed) in seeds {
            let collapse_id = collapse_id(&seed);
            if let Some(c) = collapse_id {
                max_collapse = max_collapse.max(c);
            }
            // The first record of an id wins (a ledger may be appended to twice).
            if s.by_id.contains_key(&seed.id) {
                continue;
            }
            s.insert(Task {
                core: Message::from_seed(&seed, ordinal, start),
                audience_type: audience_type(&seed),
                collapse_id,
                collapse_id_assigned: false,
            });
        }
        s.next_collapse = max_collapse.saturating_add(1).max(1);
        // TPNS gives every task a collapse id; give one to the tasks the ledger has none for.
        for i in 0..s.list.len() {
            if s.list[i].collapse_id.is_none() {
                let c = s.new_collapse_id();
                s.list[i].collapse_id = Some(c);
                s.list[i].collapse_id_assigned = true;
                s.collapse.entry(c).or_default().push(i);
            }
        }
        s
    }

    pub fn insert(&mut self, t: Task) {
        let i = self.list.len();
        self.by_id.insert(t.core.id.clone(), i);
        if let Some(c) = t.collapse_id {
            self.collapse.entry(c).or_default().push(i);
        }
        self.list.push(t);
    }

    pub fn get(&self, id: &str) -> Option<&Task> {
        self.by_id.get(id).map(|&i| &self.list[i])
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.by_id.get(id).map(|&i| &mut self.list[i])
    }

    /// By index (from [`Tasks::by_collapse`]).
    pub fn at(&self, i: usize) -> &Task {
        &self.list[i]
    }

    pub fn at_mut(&mut self, i: usize) -> &mut Task {
        &mut self.list[i]
    }

    /// The tasks (indices) carrying collapse id `c`, oldest first.
    pub fn by_collapse(&self, c: u32) -> &[usize] {
        self.collapse.get(&c).map_or(&[], Vec::as_slice)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Task> {
        self.list.iter()
    }

    /// A push id no task has.
    pub fn new_id(&mut self) -> String {
        loop {
            let id = self.next_id.to_string();
            self.next_id += 1;
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// A collapse id no task has.
    pub fn new_collapse_id(&mut self) -> u32 {
        loop {
            let c = self.next_collapse;
            self.next_collapse = self.next_collapse.checked_add(1).unwrap_or(1);
            if !self.collapse.contains_key(&c) {
                return c;
            }
        }
    }

    pub fn views(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.list
            .iter()
            .map(|t| (t.core.ordinal, t.to_json(now)))
            .collect()
    }
}
