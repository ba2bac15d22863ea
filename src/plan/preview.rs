//! The plan as JSON (`pushfix.plan/v1`), with a redacted preview of every request a target
//! would send: the provider's own builders, with placeholders where values come at run time.

use std::collections::BTreeMap;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{Plan, PlanProvider, PlanStep};
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
    serde_json::to_value(PlanJson::new(plan)).unwrap_or(Value::Null)
}

/// The plan as `pushfix.plan/v1` JSON, serialized straight to a writer: each target's
/// request preview is built while it is written, so a plan of 100,000 targets never exists
/// as a JSON tree in memory. Field for field the plan's own serialization (a test keeps them
/// equal), with `requests` added to each target that will send.
pub struct PlanJson<'a> {
    plan: &'a Plan,
    headers: BTreeMap<String, String>,
    previews: bool,
}

impl<'a> PlanJson<'a> {
    pub fn new(plan: &'a Plan) -> Self {
        PlanJson {
            plan,
            headers: redacted_headers(&plan.provider),
            previews: true,
        }
    }

    /// Without the request previews: the run directory's record of the plan it ran (the
    /// previews are what the plan's own builders make of it; `pushfix plan` shows them), half
    /// the size for a resume to read back.
    pub fn without_previews(plan: &'a Plan) -> Self {
        PlanJson {
            previews: false,
            ..PlanJson::new(plan)
        }
    }
}

impl Serialize for PlanJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = self.plan;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("schema", &p.schema)?;
        m.serialize_entry("pushfix_version", &p.pushfix_version)?;
        m.serialize_entry("as_of", &p.as_of)?;
        m.serialize_entry("playbook", &p.playbook)?;
        m.serialize_entry("content_sha256", &p.content_sha256)?;
        m.serialize_entry("inputs", &p.inputs)?;
        m.serialize_entry("provider", &p.provider)?;
        m.serialize_entry("limits", &p.limits)?;
        m.serialize_entry("retry", &p.retry)?;
        if let Some(l) = &p.ledger {
            m.serialize_entry("ledger", l)?;
        }
        let steps: Vec<StepJson<'_>> = p
            .steps
            .iter()
            .map(|step| StepJson { json: self, step })
            .collect();
        m.serialize_entry("steps", &steps)?;
        m.serialize_entry("totals", &p.totals)?;
        m.serialize_entry("warnings", &p.warnings)?;
        if !p.messages.is_empty() {
            m.serialize_entry("messages", &p.messages)?;
        }
        m.serialize_entry("exposure", &p.exposure)?;
        m.end()
    }
}

struct StepJson<'a> {
    json: &'a PlanJson<'a>,
    step: &'a PlanStep,
}

impl Serialize for StepJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let st = self.step;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("name", &st.name)?;
        m.serialize_entry("action", &st.action)?;
        m.serialize_entry("unsupported", &st.unsupported)?;
        if !st.on_not_corrected.is_fail() {
            m.serialize_entry("on_not_corrected", &st.on_not_corrected)?;
        }
        m.serialize_entry("api", &st.api)?;
        m.serialize_entry("counts", &st.counts)?;
        m.serialize_entry("dispositions", &st.dispositions)?;
        m.serialize_entry("channels_not_reached", &st.channels_not_reached)?;
        if let Some(r) = &st.receivers {
            m.serialize_entry("receivers", r)?;
        }
        m.serialize_entry("estimated_requests", &st.estimated_requests)?;
        m.serialize_entry("estimated_seconds", &st.estimated_seconds)?;
        m.serialize_entry("warnings", &st.warnings)?;
        m.serialize_entry("targets", &TargetsJson(self))?;
        if let Some(v) = st.verify {
            m.serialize_entry("verify", &v)?;
        }
        m.end()
    }
}

struct TargetsJson<'a>(&'a StepJson<'a>);

impl Serialize for TargetsJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let StepJson { json, step } = self.0;
        let mut seq = s.serialize_seq(Some(step.targets.len()))?;
        for t in &step.targets {
            let requests: Option<Vec<RequestJson<'_>>> =
                (json.previews && t.disposition == Disposition::Send).then(|| {
                    target_requests(&json.plan.provider, step.action, step.unsupported, t)
                        .into_iter()
                        .map(|spec| RequestJson {
                            base_url: &json.plan.provider.base_url,
                            headers: &json.headers,
                            spec,
                        })
                        .collect()
                });
            seq.serialize_element(&TargetJson {
                target: t,
                requests,
            })?;
        }
        seq.end()
    }
}

#[derive(Serialize)]
struct TargetJson<'a> {
    #[serde(flatten)]
    target: &'a PlanTarget,
    #[serde(skip_serializing_if = "Option::is_none")]
    requests: Option<Vec<RequestJson<'a>>>,
}

struct RequestJson<'a> {
    base_url: &'a str,
    headers: &'a BTreeMap<String, String>,
    spec: RequestSpec,
}

impl Serialize for RequestJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(Some(4))?;
        m.serialize_entry("method", &self.spec.method)?;
        m.serialize_entry("url", &format!("{}{}", self.base_url, self.spec.path))?;
        m.serialize_entry("headers", self.headers)?;
        m.serialize_entry("body", &self.spec.body)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The streaming writer says everything the plan's own serialization says.
    #[test]
    fn plan_json_is_the_plan_plus_request_previews() {
        let mut plan = crate::plan::tests::sample_plan();
        // Every optional field present, so a field the writer forgets shows.
        plan.steps[0].verify = Some(true);
        plan.limits.verify = true;
        let mut streamed = to_json(&plan);
        for step in streamed["steps"].as_array_mut().unwrap() {
            for t in step["targets"].as_array_mut().unwrap() {
                let had = t.as_object_mut().unwrap().remove("requests");
                assert_eq!(had.is_some(), t["disposition"] == "send", "{t}");
            }
        }
        let own = serde_json::to_value(&plan).unwrap();
        assert_eq!(streamed, own);
        // In the same order, too.
        assert_eq!(streamed.to_string(), own.to_string());
    }
}
