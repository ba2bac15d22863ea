//! TIMPush's push tasks (seeded, or pushed through the sandbox) by TaskId, and its scheduled
//! tasks by their integer TaskID.

use std::collections::HashMap;

use jiff::{SignedDuration, Timestamp};
use serde_json::{Value, json};

use super::Timpush;
use super::seed::{audience_type, sched_task_id};
use crate::sandbox::message::{Message, Scheduled, scheduled_json, ts_json};
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::SeedMessage;

/// How long a scheduled task is "dispatching" after its time (**choice**: the docs name the
/// state, 90107, without a duration).
pub(super) const DISPATCHING: SignedDuration = SignedDuration::from_secs(10);

#[derive(Debug, Clone)]
pub(super) struct Task {
    pub core: Message,
    /// all / tag / attribute / user (None: unknown, not refused for its audience).
    pub audience_type: Option<String>,
    /// Set for tasks added with `add_sched_task` (or seeded with one).
    pub sched_task_id: Option<u64>,
    /// The one revoke: when, and whether it overrode (`override`) or only terminated (`stop`).
    pub revoked_at: Option<Timestamp>,
    pub revoke: Option<&'static str>,
    pub overridden_at: Option<Timestamp>,
    /// The `OfflinePushInfo` of the override, as received.
    pub override_info: Option<Value>,
    /// The push's `MsgRandom` (a repeat within 7 days is the same task).
    pub msg_random: Option<u64>,
}

/// Where a scheduled task stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SchedState {
    Pending,
    Dispatching,
    Dispatched,
    Deleted,
}

impl SchedState {
    /// `get_sched_task`'s `Status` (**choice**: only `pending` is documented).
    pub fn status(self) -> &'static str {
        match self {
            SchedState::Pending => "pending",
            SchedState::Dispatching => "dispatching",
            SchedState::Dispatched => "dispatched",
            SchedState::Deleted => "deleted",
        }
    }
}

impl Task {
    /// When the task started, for the 24 h window: a scheduled task at its dispatch time.
    pub fn start(&self) -> Timestamp {
        match self.core.scheduled {
            Scheduled::At(t) => t,
            _ => self.core.effective_sent,
        }
    }

    pub fn sched_state(&self, now: Timestamp) -> SchedState {
        if self.core.cancelled_at.is_some() {
            return SchedState::Deleted;
        }
        match self.core.scheduled {
            Scheduled::Yes => SchedState::Pending,
            Scheduled::At(t) if now < t => SchedState::Pending,
            Scheduled::At(t) if now < t + DISPATCHING => SchedState::Dispatching,
            _ => SchedState::Dispatched,
        }
    }

    /// Whether revoke knows the task: pushed, or a scheduled task fully dispatched.
    pub fn pushed(&self, now: Timestamp) -> bool {
        self.sched_state(now) == SchedState::Dispatched
    }

    fn state(&self, now: Timestamp) -> &'static str {
        if self.core.cancelled_at.is_some() {
            "cancelled"
        } else if self.overridden_at.is_some() {
            "overridden"
        } else if self.core.stopped_at.is_some() {
            "stopped"
        } else if self.core.pending(now) {
            "scheduled"
        } else {
            "delivered"
        }
    }

    /// One element of `/_sandbox/messages`.
    fn to_json(&self, now: Timestamp) -> Value {
        let m = &self.core;
        let mut v = json!({
            "provider": Timpush::NAME,
            "id": m.id,
            "source": m.source,
            "sent_at": ts_json(m.sent_at),
            "state": self.state(now),
            "recalled_at": ts_json(m.recalled_at),
            "stopped_at": ts_json(m.stopped_at),
            "cancelled_at": ts_json(m.cancelled_at),
            // A revoke overrides in place: no new message, so none is named here.
            "overridden_by": m.overridden_by,
            "overridden_at": ts_json(self.overridden_at),
            "revoked_at": ts_json(self.revoked_at),
            "revoke": self.revoke,
            "override": self.override_info,
            "overrides": m.overrides,
            "platforms": m.platforms,
            "tags": m.tags,
            "title": m.title,
            "body": m.body,
            "audience": m.audience,
            "audience_type": self.audience_type,
            "sched_task_id": self.sched_task_id,
            "sched_status": self.sched_task_id.map(|_| self.sched_state(now).status()),
            "scheduled": scheduled_json(m.scheduled),
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
    by_sched: HashMap<u64, usize>,
    next: u64,
    next_sched: u64,
}

impl Tasks {
    pub fn new(seeds: Vec<(u64, SeedMessage)>, start: Timestamp) -> Tasks {
        let mut s = Tasks {
            list: Vec::new(),
            by_id: HashMap::new(),
            by_sched: HashMap::new(),
            next: 1,
            next_sched: 1_000_000_001,
        };
        for (ordinal, seed) in seeds {
            if s.by_id.contains_key(&seed.id) {
                continue;
            }
            let sched = sched_task_id(&seed);
            if sched.is_some_and(|n| s.by_sched.contains_key(&n)) {
                continue;
            }
            s.insert(Task {
                core: Message::from_seed(&seed, ordinal, start),
                audience_type: audience_type(&seed),
                sched_task_id: sched,
                revoked_at: None,
                revoke: None,
                overridden_at: None,
                override_info: None,
                msg_random: None,
            });
        }
        s
    }

    pub fn insert(&mut self, t: Task) {
        let i = self.list.len();
        self.by_id.insert(t.core.id.clone(), i);
        if let Some(n) = t.sched_task_id {
            self.by_sched.insert(n, i);
        }
        self.list.push(t);
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Task> {
        self.by_id.get(id).map(|&i| &mut self.list[i])
    }

    pub fn sched(&self, n: u64) -> Option<&Task> {
        self.by_sched.get(&n).map(|&i| &self.list[i])
    }

    pub fn sched_mut(&mut self, n: u64) -> Option<&mut Task> {
        self.by_sched.get(&n).map(|&i| &mut self.list[i])
    }

    /// A task pushed within the last 7 days with this `MsgRandom` (the same push task).
    pub fn by_msg_random(&self, r: u64, now: Timestamp) -> Option<&Task> {
        self.list.iter().find(|t| {
            t.msg_random == Some(r) && now.duration_since(t.core.effective_sent).as_hours() < 7 * 24
        })
    }

    /// A TaskId in the documented shape (`660cc447_537ed82a_200000cd7ee17f5_84035729_bc614e`).
    pub fn new_id(&mut self, sdkappid: u64, now: Timestamp) -> String {
        loop {
            let n = self.next;
            self.next += 1;
            let id = format!(
                "{:08x}_{:08x}_{:015x}_{:08x}_{:06x}",
                now.as_second() as u32,
                sdkappid as u32,
                0x0200_0000_0000_0000_u64 + n,
                n.wrapping_mul(0x9e37_79b9) as u32,
                n & 0xff_ffff
            );
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn new_sched_id(&mut self) -> u64 {
        while self.by_sched.contains_key(&self.next_sched) {
            self.next_sched += 1;
        }
        let n = self.next_sched;
        self.next_sched += 1;
        n
    }

    pub fn views(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.list
            .iter()
            .map(|t| (t.core.ordinal, t.to_json(now)))
            .collect()
    }
}
