//! How a JPush message reaches devices in the sandbox, for the Report API: written from
//! reference/jpush.md (§1 `time_to_live`, §2 recall, §5 report) and seed 000, not from the
//! client's matrix.
//!
//! **Choices** (nothing public says how fast JPush delivers):
//!
//! - A message's audience per channel is its ledger record's `receivers_by_channel` (a message
//!   without it reaches nobody the sandbox can count). Half of each channel's devices are
//!   online and receive it at once; the others come online evenly over its `time_to_live`
//!   (the ledger's, else the push's `options.time_to_live`, default 86400 s; 0: online
//!   devices only).
//! - A recall stops delivery on the channels seed 000 lists for recall (JPush, Xiaomi, vivo):
//!   their counts stop growing. Vendor channels that cannot recall go on.
//! - An override stops the original's delivery on every channel either list of
//!   reference/jpush.md §1 names for `override_msg_id` (current docs: JPush, Xiaomi, OPPO,
//!   vivo, FCM, Honor, Huawei EMUI ≥ 10, HarmonyOS; earlier: also Meizu; seed 000 agrees but for
//!   Honor and vivo), and on APNs when it carries the original's `apns_collapse_id`; the new
//!   message goes to the original's audience on the platforms it names.
//! - The ledger's `sample_registration_ids` are devices of the message's audience on the JPush
//!   connection; each gets it at a time fixed by a hash of (msg_id, registration id) within the
//!   same schedule.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};

/// Share of each channel's devices online when the message goes out.
const ONLINE: f64 = 0.5;
pub const DEFAULT_TTL: i64 = 86_400;

/// Channels where a recall stops delivery (seed 000: 仅安卓极光通道、小米通道、vivo通道支持消息撤回).
pub const RECALL_CHANNELS: &[&str] = &["jpush", "xiaomi", "vivo"];
/// Channels where an override replaces the original (reference/jpush.md §1, both lists).
pub const OVERRIDE_CHANNELS: &[&str] = &[
    "jpush", "xiaomi", "meizu", "oppo", "vivo", "fcm", "honor", "huawei", "hmos",
];

/// The channels of each platform, as ledgers name them.
pub const ANDROID_VENDORS: &[&str] = &[
    "xiaomi",
    "huawei",
    "huawei_legacy",
    "honor",
    "oppo",
    "vivo",
    "meizu",
    "fcm",
];

pub fn channels_of(platform: &str) -> Vec<&'static str> {
    match platform {
        "android" => std::iter::once("jpush")
            .chain(ANDROID_VENDORS.iter().copied())
            .collect(),
        "ios" => vec!["apns"],
        "hmos" => vec!["hmos"],
        "quickapp" => vec!["quickapp"],
        _ => Vec::new(),
    }
}

#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// Devices of the audience per channel.
    pub receivers: BTreeMap<String, u64>,
    /// Seconds over which offline devices come online.
    pub ttl: i64,
    pub samples: Vec<String>,
    /// Channel -> when delivery stopped there (a recall, an override).
    pub stopped: BTreeMap<String, Timestamp>,
}

impl Delivery {
    pub fn new(receivers: BTreeMap<String, u64>, ttl: Option<i64>, samples: Vec<String>) -> Self {
        Delivery {
            receivers,
            ttl: ttl.unwrap_or(DEFAULT_TTL).max(0),
            samples,
            stopped: BTreeMap::new(),
        }
    }

    /// Share of the audience reached `elapsed` after sending.
    fn share(&self, elapsed: SignedDuration) -> f64 {
        let s = elapsed.as_secs_f64();
        if s < 0.0 {
            0.0
        } else if self.ttl == 0 {
            ONLINE
        } else {
            ONLINE + (1.0 - ONLINE) * (s / self.ttl as f64).min(1.0)
        }
    }

    /// Until when `channel` delivers, seen at `now`.
    fn until(&self, channel: &str, now: Timestamp) -> Timestamp {
        self.stopped.get(channel).map_or(now, |t| (*t).min(now))
    }

    /// Devices of `channel` that received the message sent at `sent`, by `now`.
    pub fn received(&self, channel: &str, sent: Timestamp, now: Timestamp) -> u64 {
        let n = self.receivers.get(channel).copied().unwrap_or(0);
        let at = self.until(channel, now);
        (n as f64 * self.share(at.duration_since(sent))).floor() as u64
    }

    /// Stop delivery on `channels` now (those it still delivers on).
    pub fn stop(&mut self, channels: &[&str], now: Timestamp) {
        for ch in channels {
            self.stopped.entry((*ch).to_string()).or_insert(now);
        }
    }

    /// Whether the sample device `regid` received message `msg_id` (sent at `sent`) by `now`.
    pub fn device_received(
        &self,
        msg_id: u64,
        regid: &str,
        sent: Timestamp,
        now: Timestamp,
    ) -> bool {
        let u = unit_hash(msg_id, regid);
        let offset = if u < ONLINE {
            0.0
        } else if self.ttl == 0 {
            f64::INFINITY
        } else {
            (u - ONLINE) / (1.0 - ONLINE) * self.ttl as f64
        };
        let until = self.until("jpush", now);
        until.duration_since(sent).as_secs_f64() >= offset
    }
}

/// A fixed number in [0, 1) per (message, device), the same on every run: FNV-1a over the
/// bytes, then splitmix64's finalizer (FNV alone leaves the high bits of similar ids alike).
fn unit_hash(msg_id: u64, regid: &str) -> f64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in msg_id.to_le_bytes().iter().chain(regid.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h ^= h >> 30;
    h = h.wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^= h >> 31;
    (h >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn half_at_once_then_over_the_ttl_and_frozen_by_a_stop() {
        let mut d = Delivery::new([("jpush".to_string(), 1000)].into(), Some(100), Vec::new());
        let sent = t("2026-11-21T00:00:00Z");
        assert_eq!(d.received("jpush", sent, t("2026-11-20T23:00:00Z")), 0);
        assert_eq!(d.received("jpush", sent, sent), 500);
        assert_eq!(d.received("jpush", sent, t("2026-11-21T00:00:50Z")), 750);
        assert_eq!(d.received("jpush", sent, t("2026-11-21T01:00:00Z")), 1000);
        assert_eq!(d.received("xiaomi", sent, t("2026-11-21T01:00:00Z")), 0);
        d.stop(&["jpush"], t("2026-11-21T00:00:20Z"));
        assert_eq!(d.received("jpush", sent, t("2026-11-21T01:00:00Z")), 600);
        // A later stop does not move the first one.
        d.stop(&["jpush"], t("2026-11-21T00:00:40Z"));
        assert_eq!(d.received("jpush", sent, t("2026-11-21T01:00:00Z")), 600);
    }

    #[test]
    fn sample_devices_follow_the_same_schedule() {
        let d = Delivery::new(BTreeMap::new(), Some(100), Vec::new());
        let sent = t("2026-11-21T00:00:00Z");
        let ids: Vec<String> = (0..200).map(|i| format!("regid{i}")).collect();
        let at = |now| {
            ids.iter()
                .filter(|r| d.device_received(7, r, sent, now))
                .count()
        };
        let first = at(sent);
        assert!((70..=130).contains(&first), "{first}");
        assert_eq!(at(t("2026-11-21T00:02:00Z")), 200);
        assert!(at(t("2026-11-21T00:00:50Z")) > first);
    }
}
