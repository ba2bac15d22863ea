//! JPush's messages: seeded and sent through the sandbox, by msg_id.

use std::collections::HashMap;

use jiff::Timestamp;
use serde_json::{Value, json};

use super::delivery::Delivery;
use super::seed::delivery;
use super::{Jpush, apns_collapse_id};
use crate::sandbox::message::{Message, ts_json};
use crate::sandbox::provider::SandboxProvider;
use crate::sandbox::seed::SeedMessage;

#[derive(Debug, Clone)]
pub(super) struct JpushMessage {
    pub core: Message,
    pub apns_collapse_id: Option<String>,
    /// Who it reaches and how fast (the Report API's figures).
    pub delivery: Delivery,
}

impl JpushMessage {
    /// One element of `/_sandbox/messages`.
    fn to_json(&self, now: Timestamp) -> Value {
        let m = &self.core;
        let mut v = json!({
            "provider": Jpush::NAME,
            "id": m.id,
            "source": m.source,
            "sent_at": ts_json(m.sent_at),
            "state": m.state(now),
            "recalled_at": ts_json(m.recalled_at),
            "overridden_by": m.overridden_by,
            "overrides": m.overrides,
            "platforms": m.platforms,
            "tags": m.tags,
            "title": m.title,
            "body": m.body,
            "audience": m.audience,
            "apns_collapse_id": self.apns_collapse_id,
            "receivers_by_channel": self.delivery.receivers,
            "received": self.delivery.receivers.keys().map(|ch| (ch.clone(), json!(self.delivery.received(ch, m.effective_sent, now)))).collect::<serde_json::Map<String, Value>>(),
            "time_to_live": self.delivery.ttl,
            "delivery_stopped": self.delivery.stopped.iter().map(|(ch, t)| (ch.clone(), ts_json(Some(*t)))).collect::<serde_json::Map<String, Value>>(),
            "sample_registration_ids": self.delivery.samples,
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
pub(super) struct Messages {
    list: Vec<JpushMessage>,
    by_id: HashMap<u64, usize>,
    next_id: u64,
}

impl Messages {
    pub fn new(seeds: Vec<(u64, SeedMessage)>, start: Timestamp) -> Messages {
        let mut s = Messages {
            list: Vec::new(),
            by_id: HashMap::new(),
            // Above 2^54 and odd: not exactly representable as an f64, so a client that lets a
            // msg_id pass through a float corrupts it visibly.
            next_id: 67_554_999_000_000_001,
        };
        for (ordinal, seed) in seeds {
            // The first record of an id wins (a ledger may be appended to twice).
            let Ok(n) = seed.id.parse::<u64>() else {
                continue;
            };
            if s.by_id.contains_key(&n) {
                continue;
            }
            s.insert(JpushMessage {
                core: Message::from_seed(&seed, ordinal, start),
                apns_collapse_id: apns_collapse_id(&seed),
                delivery: delivery(&seed),
            });
        }
        s
    }

    pub fn insert(&mut self, m: JpushMessage) {
        if let Ok(n) = m.core.id.parse::<u64>() {
            self.by_id.insert(n, self.list.len());
        }
        self.list.push(m);
    }

    pub fn get(&self, id: u64) -> Option<&JpushMessage> {
        self.by_id.get(&id).map(|&i| &self.list[i])
    }

    pub fn get_mut(&mut self, id: u64) -> Option<&mut JpushMessage> {
        self.by_id.get(&id).map(|&i| &mut self.list[i])
    }

    /// Earlier iOS messages a push with this `apns_collapse_id` replaces on devices: APNs shows
    /// one notification per collapse id, the newest (reference/jpush.md §1 options).
    pub fn collapsed_by(&mut self, collapse_id: &str, except: u64) -> Vec<&mut JpushMessage> {
        self.list
            .iter_mut()
            .filter(|m| {
                m.apns_collapse_id.as_deref() == Some(collapse_id)
                    && m.core.id != except.to_string()
                    && m.core.recalled_at.is_none()
                    && m.core.platforms.iter().any(|p| p == "ios")
            })
            .collect()
    }

    /// A msg_id no message has.
    pub fn new_id(&mut self) -> u64 {
        loop {
            let id = self.next_id;
            self.next_id += 2;
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &JpushMessage> {
        self.list.iter()
    }

    pub fn views(&self, now: Timestamp) -> Vec<(u64, Value)> {
        self.list
            .iter()
            .map(|m| (m.core.ordinal, m.to_json(now)))
            .collect()
    }
}
