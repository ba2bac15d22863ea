//! `GET /v3/push/cid`: the cid pool (idempotency keys for pushes).

use jiff::Timestamp;
use rand::RngExt;
use serde_json::{Value, json};

use super::Jpush;
use super::envelope::bad;
use crate::sandbox::exchange::{Ctx, Reply};

/// An issued cid.
#[derive(Debug, Clone)]
pub(super) struct CidEntry {
    pub issued: Timestamp,
    /// The answer to the first successful push with this cid: repeated verbatim, nothing pushed.
    pub first: Option<Value>,
}

impl Jpush {
    /// `GET /v3/push/cid?count=n&type=push|schedule` → `{"cidlist":["{appkey}-{uuid}",…]}`.
    pub(super) fn cid(&mut self, ctx: &Ctx<'_>, query: Option<&str>) -> Reply {
        let mut count = 1u32;
        let mut kind = "push".to_string();
        for pair in query.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            match k {
                "count" => match v.parse::<u32>() {
                    Ok(n) if (1..=1000).contains(&n) => count = n,
                    _ => return bad(1003, "count must be an integer from 1 to 1000"),
                },
                "type" => kind = v.to_string(),
                _ => {}
            }
        }
        if kind != "push" && kind != "schedule" {
            return bad(1003, "type must be push or schedule");
        }
        let app_key = &self.credentials.id;
        let mut list = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let b: [u8; 16] = self.id_rng.random();
            let mut b = b;
            b[6] = (b[6] & 0x0f) | 0x40; // UUID v4
            b[8] = (b[8] & 0x3f) | 0x80;
            let h = hex::encode(b);
            let cid = format!(
                "{app_key}-{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..32]
            );
            self.cids.insert(
                cid.clone(),
                CidEntry {
                    issued: ctx.now,
                    first: None,
                },
            );
            list.push(Value::String(cid));
        }
        Reply::json(200, json!({"cidlist": list}))
    }
}
