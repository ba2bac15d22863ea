//! `POST /v3/statistics/get_push_record`: what TPNS knows of a task, after the corrective
//! calls made on it.

use jiff::Timestamp;
use jiff::civil::Date;
use serde_json::{Map, Value, json};

use super::Tpns;
use super::envelope::{Family, INVALID, MISSING, NOT_EXIST, PARSE_ERROR, TOO_FAST};
use super::fields::{beijing, push_id};
use super::store::Task;
use crate::sandbox::exchange::{Ctx, Reply};
use crate::sandbox::message::Scheduled;

/// `YYYY-MM-DD hh:mm:ss` in Beijing time.
fn tpns_date(t: Timestamp) -> String {
    t.to_zoned(beijing())
        .strftime("%Y-%m-%d %H:%M:%S")
        .to_string()
}

fn push_record(task: &Task, now: Timestamp) -> Value {
    let m = &task.core;
    let at = match m.scheduled {
        Scheduled::At(t) => t,
        _ => m.effective_sent,
    };
    let aud = m.audience.as_ref();
    let audience_type = task.audience_type.clone().unwrap_or_else(|| "all".into());
    let target_list = match audience_type.as_str() {
        "account" | "account_list" => aud.and_then(|a| a.get("account_list")).cloned(),
        "token" | "token_list" => aud.and_then(|a| a.get("token_list")).cloned(),
        _ => None,
    };
    let tag_set = tag_set(aud);
    // Numeric ids as JSON numbers, as in the documented sample (`"pushId":133703`).
    let push_id =
        m.id.parse::<u64>()
            .map(Value::from)
            .unwrap_or_else(|_| Value::String(m.id.clone()));
    json!({
        "date": tpns_date(at),
        "pushId": push_id,
        "title": m.title.clone().unwrap_or_default(),
        "content": m.body.clone().unwrap_or_default(),
        "status": task.status(now),
        "pushType": audience_type,
        "targetList": target_list,
        "collapseID": task.collapse_id,
        "tagSet": tag_set,
        "uploadId": aud.and_then(|a| a.get("upload_id")).and_then(Value::as_u64).unwrap_or(0),
        "expireTime": 86400,
        "messageType": "notify",
        "xgMediaResources": "",
        "environment": "product",
        "pushConfig": {"android": null, "ios": null},
        "multiPkg": false,
        "source": "api",
    })
}

/// `tagSet` as in the get_push_record sample, from `tag_rules` or `tag_list`.
fn tag_set(aud: Option<&Value>) -> Value {
    let Some(a) = aud else { return Value::Null };
    if let Some(rules) = a.get("tag_rules").and_then(Value::as_array) {
        let mut op = None;
        let mut items = Vec::new();
        for r in rules {
            for it in r
                .get("tag_items")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                op = op.or_else(|| {
                    it.get("tags_operator")
                        .and_then(Value::as_str)
                        .map(str::to_string)
                });
                let ty = it
                    .get("tag_type")
                    .and_then(Value::as_str)
                    .unwrap_or("xg_user_define");
                for t in it
                    .get("tags")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    items.push(json!({"tagTypeName": ty, "tagValue": t}));
                }
            }
        }
        return json!({"op": op.unwrap_or_else(|| "OR".into()), "tagWithType": items});
    }
    if let Some(l) = a.get("tag_list") {
        let items: Vec<Value> = l
            .get("tags")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|t| json!({"tagTypeName": "xg_user_define", "tagValue": t}))
            .collect();
        return json!({"op": l.get("op").cloned().unwrap_or(json!("OR")), "tagWithType": items});
    }
    Value::Null
}

/// `POST /v3/statistics/get_push_record`: one task (`pushId`), or the tasks of a date range
/// (`startDate`, `endDate`, optional `pushType`, `msgType`, `offset`, `limit` ≤ 200).
/// **Choice:** the "last month only" query limit is not simulated.
impl Tpns {
    pub(super) fn record(&mut self, ctx: &Ctx<'_>, obj: &Map<String, Value>) -> Reply {
        let f = Family { camel: true };
        if !self.stats_window.take(ctx.elapsed).allowed {
            return f.err(TOO_FAST);
        }
        let has_id = obj.keys().any(|k| k.eq_ignore_ascii_case("pushid"));
        if has_id {
            let id = match push_id(obj) {
                Ok(id) => id,
                Err((code, why)) => return f.err(code).note(why),
            };
            let Some(task) = self.tasks.get(&id) else {
                return f.err(NOT_EXIST).note(format!("no task {id}"));
            };
            let rec = push_record(task, ctx.now);
            return Reply::json(
                200,
                json!({"retCode": 0, "errMsg": "NO_ERROR", "pushRecordData": [rec]}),
            );
        }
        let (Some(start), Some(end)) = (obj.get("startDate"), obj.get("endDate")) else {
            return f.err(MISSING).note("give pushId, or startDate and endDate");
        };
        let date = |v: &Value| v.as_str().and_then(|s| s.parse::<Date>().ok());
        let (Some(start), Some(end)) = (date(start), date(end)) else {
            return f.err(1008016).note("dates are YYYY-MM-DD");
        };
        let int = |k: &str, default: u64| match obj.get(k) {
            None => Some(default),
            Some(v) => v.as_u64(),
        };
        let (Some(offset), Some(limit)) = (int("offset", 0), int("limit", 50)) else {
            return f.err(PARSE_ERROR).note("offset and limit are integers");
        };
        if limit > 200 {
            return f.err(INVALID).note("limit is at most 200");
        }
        let push_type = obj.get("pushType").and_then(Value::as_str);
        let msg_type = obj.get("msgType").and_then(Value::as_str);
        let tz = beijing();
        let matching: Vec<Value> = self
            .tasks
            .iter()
            .filter(|m| {
                let d = m.core.effective_sent.to_zoned(tz.clone()).date();
                d >= start && d <= end
            })
            .filter(|m| {
                let t = m.audience_type.as_deref().unwrap_or("all");
                match push_type {
                    None | Some("") => true,
                    Some("token") => t == "token" || t == "token_list",
                    Some("account") => t == "account" || t == "account_list",
                    Some(p) => t == p,
                }
            })
            .filter(|_| matches!(msg_type, None | Some("") | Some("notify")))
            .map(|m| push_record(m, ctx.now))
            .collect();
        let count = matching.len();
        let page: Vec<Value> = matching
            .into_iter()
            .skip(offset as usize)
            .take(limit as usize)
            .collect();
        Reply::json(
            200,
            json!({"retCode": 0, "errMsg": "NO_ERROR", "count": count, "pushRecordData": page}),
        )
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tag_sets() {
        let a = json!({"tag_rules":[{"tag_items":[{"tags":["bf-promo"],"is_not":false,"tags_operator":"OR","items_operator":"OR","tag_type":"xg_user_define"}],"operator":"OR","is_not":false}]});
        assert_eq!(
            tag_set(Some(&a)),
            json!({"op":"OR","tagWithType":[{"tagTypeName":"xg_user_define","tagValue":"bf-promo"}]})
        );
        assert_eq!(tag_set(None), Value::Null);
    }
}
