//! Test apps' credentials, ledger record builders, and `Campaign`: a playbook and its ledger
//! in a temp directory of their own, pointed at an httpmock provider.

use std::path::PathBuf;

use httpmock::MockServer;
use serde_json::Value;

use super::files::{TempDir, latest_run_dir, read_journal, read_report};
use super::test::Test;

pub const APP_KEY: &str = "7d431e42dfa6a6d693ac2d04";
pub const SECRET: &str = "5e987ac6d2e04d95a9d8f0d1";
pub const BASIC: &str =
    "Basic N2Q0MzFlNDJkZmE2YTZkNjkzYWMyZDA0OjVlOTg3YWM2ZDJlMDRkOTVhOWQ4ZjBkMQ==";

pub const TPNS_ACCESS_ID: &str = "1500001048";
pub const TPNS_SECRET_KEY: &str = "1452fcebae9f3115ba794fb0fff2fd73";
pub const GETUI_APP_KEY: &str = "YZkTKbz91l84HyM0TGlb38";
pub const GETUI_MASTER_SECRET: &str = "MASTERSECRETexample0000";
pub const TPNS_BASIC: &str = "Basic MTUwMDAwMTA0ODoxNDUyZmNlYmFlOWYzMTE1YmE3OTRmYjBmZmYyZmQ3Mw==";

/// A JPush ledger record sent an hour ago by the real clock: `run` plans against the real
/// clock (a real provider's cannot be moved), so the JPush override window must be open today.
pub fn record(id: &str, platforms: &str, extra: &str) -> String {
    let sent_at = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(1);
    record_at(id, &sent_at.to_string(), platforms, extra)
}

/// A JPush ledger record sent at `sent_at`.
pub fn record_at(id: &str, sent_at: &str, platforms: &str, extra: &str) -> String {
    format!(
        r#"{{"msg_id":"{id}","sent_at":"{sent_at}","platforms":{platforms},"tags":["bf"],"title":"48h sale","body":"Up to 70% off","audience":{{"tag":["bf"]}}{extra}}}"#
    )
}

/// A JSON-lines ledger: one record a line.
pub fn ledger_text(records: &[String]) -> String {
    records.join("\n") + "\n"
}

/// The TIMPush SDKs' demo app and key (reference/timpush.md §2.4).
pub const TIMPUSH_SDKAPPID: &str = "1400000000";
pub const TIMPUSH_SECRET_KEY: &str =
    "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";

/// A TPNS ledger record (a push task to tag `bf`).
pub fn task(id: &str, audience_type: &str, extra: &str) -> String {
    format!(
        r#"{{"push_id":"{id}","sent_at":"2026-11-21T02:00:00Z","platforms":["android"],"tags":["bf"],"title":"Sale","body":"70% off","audience_type":"{audience_type}","audience":{{"tag_rules":[{{"tag_items":[{{"tags":["bf"],"is_not":false,"tags_operator":"OR","items_operator":"OR","tag_type":"xg_user_define"}}],"operator":"OR","is_not":false}}]}}{extra}}}"#
    )
}

#[derive(Clone, Copy)]
enum Provider {
    Jpush,
    Tpns,
}

/// `pb.yaml` and its ledger in a temp dir, against `server`; `run` sends with the app's
/// credentials and `audit/` as the audit dir.
pub struct Campaign {
    pub dir: TempDir,
    provider: Provider,
}

impl Campaign {
    /// A JPush campaign: `limits` and `steps` are YAML bodies (indented two spaces), the
    /// ledger is written to `sends.jsonl`, retries are fast.
    pub fn new(
        name: &str,
        server: &MockServer,
        limits: &str,
        steps: &str,
        ledger: &[String],
    ) -> Campaign {
        let pb = format!(
            "version: 1\nname: {name}\nprovider:\n  kind: jpush\n  endpoint: {}\n  credentials:\n    app_key: {{ env: JPUSH_APP_KEY }}\n    master_secret: {{ env: JPUSH_MASTER_SECRET }}\n  apns_production: false\nledger: sends.jsonl\nlimits:\n{limits}\nretry:\n  attempts: 3\n  backoff: {{ initial: 10ms, max: 50ms }}\nsteps:\n{steps}",
            server.base_url()
        );
        let dir = TempDir::new(name);
        dir.write("sends.jsonl", ledger_text(ledger));
        dir.write("pb.yaml", pb);
        Campaign {
            dir,
            provider: Provider::Jpush,
        }
    }

    /// A one-step JPush recall of `ids` (a YAML list body, e.g. `1, 2`) over a one-record ledger.
    pub fn recall(name: &str, server: &MockServer, limits: &str, ids: &str) -> Campaign {
        let steps = format!("  - name: pull\n    action: recall\n    select: {{ ids: [{ids}] }}\n");
        Campaign::new(
            name,
            server,
            limits,
            &steps,
            &[record("9", "[\"android\"]", "")],
        )
    }

    /// A TPNS campaign (`auth`: `sign` or `basic`), the ledger in `tasks.jsonl`.
    pub fn tpns(
        name: &str,
        server: &MockServer,
        auth: &str,
        steps: &str,
        ledger: &[String],
    ) -> Campaign {
        let pb = format!(
            "version: 1\nname: {name}\nprovider:\n  kind: tpns\n  endpoint: {}\n  auth: {auth}\n  credentials:\n    access_id: {{ env: TPNS_ACCESS_ID }}\n    secret_key: {{ env: TPNS_SECRET_KEY }}\nledger: tasks.jsonl\nlimits:\n  rate: 50/s\n  concurrency: 2\nretry:\n  attempts: 2\n  backoff: {{ initial: 10ms, max: 20ms }}\nsteps:\n{steps}",
            server.base_url()
        );
        let dir = TempDir::new(name);
        dir.write("tasks.jsonl", ledger_text(ledger));
        dir.write("pb.yaml", pb);
        Campaign {
            dir,
            provider: Provider::Tpns,
        }
    }

    /// A `pushfix` command in the campaign's directory, with the app's credentials.
    pub fn test(&self) -> Test {
        let t = Test::in_dir(&self.dir);
        match self.provider {
            Provider::Jpush => t.jpush_credentials(),
            Provider::Tpns => t.tpns_credentials(),
        }
    }

    /// `pushfix run pb.yaml --yes --audit-dir audit`, more arguments and expectations to add.
    pub fn run_test(&self) -> Test {
        self.test()
            .args(["run", "pb.yaml", "--yes", "--audit-dir", "audit"])
    }

    /// The (newest) run directory under audit/.
    pub fn run_dir(&self) -> PathBuf {
        latest_run_dir(&self.dir)
    }

    pub fn report(&self) -> Value {
        read_report(&self.run_dir())
    }

    pub fn journal(&self) -> Vec<Value> {
        read_journal(&self.run_dir())
    }
}
