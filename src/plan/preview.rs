//! The plan as JSON (`pushfix.plan/v1`), with a redacted preview of every request a target
//! would send: the provider's own builders, with placeholders where values come at run time.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Plan, PlanProvider};
use crate::domain::{Action, Disposition, UnsupportedPolicy};
use crate::provider::RequestSpec;
use crate::target::PlanTarget;

/// The requests one target would send, with placeholders where values come at run time
/// (the cid, a looked-up collapse id). The run builds the same with real values.
pub fn target_requests(
    plan_provider: &PlanProvider,
    action: Action,
    policy: UnsupportedPolicy,
    t: &PlanTarget,
) -> Vec<RequestSpec> {
    plan_provider
        .provider()
        .preview(&plan_provider.settings, action, policy, t)
}

/// Auth headers as a preview shows them: names of the variables, never values.
pub fn redacted_headers(p: &PlanProvider) -> BTreeMap<String, String> {
    p.provider()
        .preview_headers(&p.settings, &p.id_env, &p.secret_env)
}

/// The plan as JSON, with a redacted request preview for every target that will send.
pub fn to_json(plan: &Plan) -> Value {
    let mut v = serde_json::to_value(plan).unwrap_or(Value::Null);
    let headers = serde_json::to_value(redacted_headers(&plan.provider)).unwrap_or(Value::Null);
    if let Some(steps) = v.get_mut("steps").and_then(Value::as_array_mut) {
        for (ps, sv) in plan.steps.iter().zip(steps.iter_mut()) {
            let Some(targets) = sv.get_mut("targets").and_then(Value::as_array_mut) else {
                continue;
            };
            for (t, tv) in ps.targets.iter().zip(targets.iter_mut()) {
                if t.disposition != Disposition::Send {
                    continue;
                }
                let reqs: Vec<Value> =
                    target_requests(&plan.provider, ps.action, ps.unsupported, t)
                        .into_iter()
                        .map(|r| {
                            serde_json::json!({
                                "method": r.method,
                                "url": format!("{}{}", plan.provider.base_url, r.path),
                                "headers": headers,
                                "body": r.body,
                            })
                        })
                        .collect();
                if let Some(obj) = tv.as_object_mut() {
                    obj.insert("requests".into(), Value::Array(reqs));
                }
            }
        }
    }
    v
}
