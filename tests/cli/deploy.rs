//! deploy/kubernetes/: what makes the CronJob and the incident Job safe to leave unattended
//! (checked on the manifests as written), and the commands they run, run here: the CronJob's
//! arguments against its ConfigMap's playbook and ledger laid out as the pod mounts them, twice
//! (the second tick acts only on what became due), and the Job's against a folder scaffolded
//! by `pushfix init`. Schema validation is .ci/run's (kubernetes-validate).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::{SandboxProc, TempDir, Test, repo_root};

fn manifest(name: &str) -> Value {
    let path = repo_root().join("deploy/kubernetes").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    serde_saphyr::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: not a string: {v}"))
}

/// The pod's container `pushfix`, its args, and the volume behind each mount.
struct Pod {
    spec: Value,
    container: Value,
    args: Vec<String>,
}

impl Pod {
    fn of(job_spec: &Value) -> Pod {
        let spec = job_spec["template"]["spec"].clone();
        let container = spec["containers"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == "pushfix")
            .expect("a container named pushfix")
            .clone();
        let args = container["args"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| str_of(a, "an argument").to_string())
            .collect();
        Pod {
            spec,
            container,
            args,
        }
    }

    fn flag(&self, name: &str) -> Option<&str> {
        let i = self.args.iter().position(|a| a == name)?;
        self.args.get(i + 1).map(String::as_str)
    }

    fn env(&self, name: &str) -> Option<&Value> {
        self.container["env"]
            .as_array()?
            .iter()
            .find(|e| e["name"] == name)
    }

    /// The volume mounted at the deepest mount path holding `path`, and that mount.
    fn volume_at(&self, path: &str) -> (Value, Value) {
        let mount = self.container["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| {
                let at = str_of(&m["mountPath"], "mountPath");
                path == at || path.starts_with(&format!("{at}/"))
            })
            .max_by_key(|m| str_of(&m["mountPath"], "mountPath").len())
            .unwrap_or_else(|| panic!("nothing is mounted at {path}"))
            .clone();
        let volume = self.spec["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == mount["name"])
            .unwrap_or_else(|| panic!("no volume {}", mount["name"]))
            .clone();
        (mount, volume)
    }

    /// An absolute path in the pod, for a relative one (the working directory's).
    fn absolute(&self, p: &str) -> String {
        if p.starts_with('/') {
            p.to_string()
        } else {
            format!(
                "{}/{p}",
                str_of(&self.container["workingDir"], "workingDir")
            )
        }
    }

    /// What every unattended pushfix pod must have; the `--max-runtime` it runs with, in
    /// seconds.
    fn check_unattended(&self, what: &str) -> u64 {
        assert_eq!(self.spec["restartPolicy"], "Never", "{what}");
        let pod_sc = &self.spec["securityContext"];
        assert_eq!(pod_sc["runAsNonRoot"], true, "{what}");
        let uid = pod_sc["runAsUser"].as_u64().unwrap();
        assert_ne!(uid, 0, "{what}");
        // The image's user is the one the pod runs as (distroless nonroot).
        let dockerfile = std::fs::read_to_string(repo_root().join("Dockerfile")).unwrap();
        assert!(
            dockerfile.contains(&format!("\nUSER {uid}:")),
            "{what}: the Dockerfile's USER is not {uid}"
        );
        let sc = &self.container["securityContext"];
        assert_eq!(sc["readOnlyRootFilesystem"], true, "{what}");
        assert_eq!(sc["allowPrivilegeEscalation"], false, "{what}");
        assert_eq!(
            sc["capabilities"]["drop"],
            serde_json::json!(["ALL"]),
            "{what}"
        );
        assert!(self.args.iter().any(|a| a == "--yes"), "{what}: no --yes");
        // Everything it writes lands on a volume: the audit directory (the run history) and
        // the state directory (the run lock) on the claim, so both outlive the pod.
        let audit = self.absolute(self.flag("--audit-dir").expect("--audit-dir"));
        let state = str_of(
            &self.env("PUSHFIX_STATE_DIR").expect("PUSHFIX_STATE_DIR")["value"],
            "PUSHFIX_STATE_DIR",
        )
        .to_string();
        for p in [&audit, &state] {
            let (mount, volume) = self.volume_at(p);
            assert!(
                volume["persistentVolumeClaim"]["claimName"].is_string(),
                "{what}: {p} is not on a PersistentVolumeClaim"
            );
            assert_ne!(mount["readOnly"], true, "{what}: {p}");
        }
        // Every writable mount is a claim or an emptyDir; the playbook's is read-only.
        for m in self.container["volumeMounts"].as_array().unwrap() {
            let (_, v) = self.volume_at(str_of(&m["mountPath"], "mountPath"));
            if v["configMap"].is_object() {
                assert_eq!(m["readOnly"], true, "{what}: {m}");
            } else {
                assert!(
                    v["persistentVolumeClaim"].is_object() || v["emptyDir"].is_object(),
                    "{what}: {v}"
                );
            }
        }
        // The credentials the examples name come from a Secret, never as values.
        for name in ["JPUSH_APP_KEY", "JPUSH_MASTER_SECRET"] {
            let e = self
                .env(name)
                .unwrap_or_else(|| panic!("{what}: no {name}"));
            assert!(e.get("value").is_none(), "{what}: {name} as a value");
            assert!(
                e["valueFrom"]["secretKeyRef"]["name"].is_string(),
                "{what}: {name}"
            );
        }
        duration_secs(self.flag("--max-runtime").expect("--max-runtime"))
    }
}

fn duration_secs(d: &str) -> u64 {
    let (n, unit) = d.split_at(d.len() - 1);
    let n: u64 = n.parse().unwrap();
    match unit {
        "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        _ => panic!("--max-runtime {d}: use s, m or h here"),
    }
}

/// The ConfigMap's files where the pod sees them: `<root>/<mountPath>/<key>`.
fn materialize(root: &Path, configmap: &Value, mount_path: &str) {
    for (key, text) in configmap["data"].as_object().unwrap() {
        let p = root.join(mount_path.trim_start_matches('/')).join(key);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, str_of(text, key)).unwrap();
    }
}

/// The pod's args with its absolute paths moved under `root`.
fn args_under(pod: &Pod, root: &Path) -> Vec<String> {
    pod.args
        .iter()
        .map(|a| {
            if a.starts_with('/') {
                root.join(a.trim_start_matches('/')).display().to_string()
            } else {
                a.clone()
            }
        })
        .collect()
}

fn in_pod(root: &Path, pod: &Pod) -> Test {
    let work =
        root.join(str_of(&pod.container["workingDir"], "workingDir").trim_start_matches('/'));
    let state = str_of(&pod.env("PUSHFIX_STATE_DIR").unwrap()["value"], "state");
    Test::in_dir(&work).env(
        "PUSHFIX_STATE_DIR",
        root.join(state.trim_start_matches('/')),
    )
}

#[test]
fn cronjob_never_overlaps_and_keeps_its_history() {
    let cron = manifest("cronjob.yaml");
    let spec = &cron["spec"];
    assert_eq!(spec["concurrencyPolicy"], "Forbid");
    let job = &spec["jobTemplate"]["spec"];
    assert_eq!(
        job["backoffLimit"], 0,
        "a failed run is looked at, not retried"
    );
    let pod = Pod::of(job);
    let max_runtime = pod.check_unattended("cronjob");
    // The deadline is the hard stop behind --max-runtime: after it, with time to drain, and
    // before the next tick.
    let deadline = job["activeDeadlineSeconds"].as_u64().unwrap();
    let schedule = str_of(&spec["schedule"], "schedule");
    let period = schedule
        .strip_prefix("*/")
        .and_then(|s| s.split(' ').next())
        .and_then(|m| m.parse::<u64>().ok())
        .map(|m| m * 60)
        .unwrap_or_else(|| panic!("schedule {schedule}: the test reads */N minutes"));
    assert!(
        max_runtime < deadline && deadline <= max_runtime + 300 && deadline < period,
        "--max-runtime {max_runtime}s, activeDeadlineSeconds {deadline}, period {period}s"
    );
    let grace = pod.spec["terminationGracePeriodSeconds"].as_u64().unwrap();
    assert!(grace >= 30, "time to drain after SIGTERM");

    // The playbook it runs is a key of the ConfigMap mounted where the args say.
    let configmap = manifest("cleanup-configmap.yaml");
    let playbook = pod.absolute(&pod.args[1]);
    let (mount, volume) = pod.volume_at(&playbook);
    assert_eq!(volume["configMap"]["name"], configmap["metadata"]["name"]);
    let mount_path = str_of(&mount["mountPath"], "mountPath");
    let key = playbook.strip_prefix(&format!("{mount_path}/")).unwrap();
    assert!(configmap["data"][key].is_string(), "no key {key}");
    let claim = manifest("state-pvc.yaml");
    assert_eq!(
        pod.volume_at("/var/lib/pushfix").1["persistentVolumeClaim"]["claimName"],
        claim["metadata"]["name"]
    );

    // Two ticks, as the pod would run them: credentials from the environment, against a
    // sandbox started apart at each tick's time (a run against the built-in `--sandbox` is a
    // rehearsal and never history; a loopback endpoint's runs are, for that endpoint).
    let root = TempDir::new("cronjob-ticks");
    materialize(root.path(), &configmap, mount_path);
    let args = args_under(&pod, root.path());
    let ledger = root
        .join(mount_path.trim_start_matches('/'))
        .join("sends.jsonl");
    let tick = |as_of: &str| {
        let sandbox = SandboxProc::start(
            root.path(),
            &["--ledger", &ledger.display().to_string(), "--as-of", as_of],
        );
        let out = in_pod(root.path(), &pod)
            .jpush_credentials()
            .args(&args)
            .args(["--endpoint", &sandbox.url, "--as-of", as_of])
            .status(0)
            .run();
        sandbox.stop();
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("--format json: {e}\n{}", out.stdout))
    };
    // 16:00: the alerts sent before 10:00 are 6 hours old.
    let first = tick("2026-11-20T16:00:00+08:00");
    assert_eq!(first["totals"]["done"], 3, "{first}");
    // 16:15: one more has aged past 6 hours; the three recalled are not recalled again.
    let second = tick("2026-11-20T16:15:00+08:00");
    assert_eq!(second["totals"]["done"], 1, "{second}");
    assert_eq!(second["totals"]["skipped"], 3, "{second}");
    let audit = root.join("var/lib/pushfix/audit");
    let runs = std::fs::read_dir(&audit)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().join("report.json").is_file())
        .count();
    assert_eq!(runs, 2, "both runs recorded on the claim");
    assert!(
        root.join("var/lib/pushfix/state/locks").is_dir(),
        "the lock on the claim"
    );
}

#[test]
fn cleanup_configmap_holds_the_reviewed_files() {
    // The files in deploy/kubernetes/cleanup/ are what is reviewed, validated and planned by
    // hand; the ConfigMap must hold exactly them (`kubectl create configmap --from-file`).
    let configmap = manifest("cleanup-configmap.yaml");
    let data = configmap["data"].as_object().unwrap();
    let dir = repo_root().join("deploy/kubernetes/cleanup");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    files.sort();
    let mut keys: Vec<String> = data.keys().cloned().collect();
    keys.sort();
    assert_eq!(keys, files);
    for (key, text) in data {
        assert_eq!(
            str_of(text, key),
            std::fs::read_to_string(dir.join(key)).unwrap(),
            "cleanup-configmap.yaml's {key} differs from deploy/kubernetes/cleanup/{key}"
        );
    }
    Test::repo()
        .args(["validate", "deploy/kubernetes/cleanup"])
        .status(0)
        .stdout_contains("ok     deploy/kubernetes/cleanup/expire-price-alerts.yaml")
        .run();
}

#[test]
fn incident_job_runs_once_a_folder_init_scaffolded() {
    let job = manifest("incident-job.yaml");
    let spec = &job["spec"];
    assert_eq!(
        spec["backoffLimit"], 0,
        "a campaign is resumed, never restarted"
    );
    let pod = Pod::of(spec);
    let max_runtime = pod.check_unattended("incident job");
    let deadline = spec["activeDeadlineSeconds"].as_u64().unwrap();
    assert!(max_runtime < deadline && deadline <= max_runtime + 300);

    // The folder the on-call engineer turns into the ConfigMap (`--from-file=incident/`).
    let root = TempDir::new("incident-job");
    let playbook = pod.absolute(&pod.args[1]);
    let (mount, volume) = pod.volume_at(&playbook);
    assert!(volume["configMap"]["name"].is_string());
    let work = root.join("work");
    let folder: PathBuf =
        root.join(str_of(&mount["mountPath"], "mountPath").trim_start_matches('/'));
    let rel = folder.strip_prefix(&work).unwrap().to_path_buf();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::copy(
        repo_root().join("ledgers/jpush-sends.jsonl"),
        folder.join("sends.jsonl"),
    )
    .unwrap();
    std::fs::write(
        folder.join("fix.txt"),
        "Sorry: the link in \"{{ message.title }}\" was broken. The sale is on.",
    )
    .unwrap();
    let at = |f: &str| rel.join(f).display().to_string();
    Test::in_dir(&work)
        .args(["init", "--provider", "jpush", "--action", "override"])
        .args(["--tag", "bf-promo", "--since", "24h", "--rate", "100/s"])
        .args([
            "--ledger",
            &at("sends.jsonl"),
            "--message-file",
            &at("fix.txt"),
        ])
        .args(["--out", &pod.args[1]])
        .status(0)
        .run();
    let text = std::fs::read_to_string(work.join(&pod.args[1])).unwrap();
    assert!(text.contains("ledger: \"sends.jsonl\""), "flat: {text}");
    // Every file the playbook needs is in the one folder a ConfigMap is made from.
    for f in std::fs::read_dir(&folder).unwrap() {
        assert!(f.unwrap().file_type().unwrap().is_file());
    }
    let out = in_pod(root.path(), &pod)
        .args(args_under(&pod, root.path()))
        .args(["--sandbox", "--as-of", "2026-11-20T19:00:00+08:00"])
        .status(0)
        .run();
    // `--events -`: the stream on stdout, the pod's log; its header first.
    let first: Value = serde_json::from_str(out.stdout.lines().next().unwrap()).unwrap();
    assert_eq!(first["schema"], "pushfix.events/v1");
    let last: Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "run_finished");
    assert!(
        out.stderr.contains("Plan: jpush-override-bf-promo"),
        "{}",
        out.stderr
    );
}
