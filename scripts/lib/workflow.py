"""Run steps of a GitHub Actions workflow here, as the runner would run them, so a test runs
the workflow's commands as written rather than a copy of them.

    python workflow.py WORKFLOW JOB STEP_ID...

Each step's `run:` is executed in the current directory with `bash --noprofile --norc -eo
pipefail` (GitHub's `shell: bash`), in order, stopping at the first that fails (its exit code
is ours). The environment is ours plus the workflow's, the job's and the step's `env:`; a
value that is an expression (`${{ ... }}`: a secret, the pull request's base) must already be
in our environment under the same name, so the caller says what it stands for. A step that
`uses:` an action cannot run here and is refused by id, as is a `run:` holding an expression
(actionlint flags those; they would be filled in by GitHub, not by the shell).
"""

import os
import subprocess
import sys
import tempfile

import yaml


def fail(msg):
    print(f"workflow.py: {msg}", file=sys.stderr)
    sys.exit(2)


def env_of(scope, where, env):
    for key, value in (scope.get("env") or {}).items():
        value = str(value)
        if "${{" in value:
            if key not in os.environ:
                fail(f"{where}: {key} is `{value}` on GitHub; set {key} to stand for it")
            env[key] = os.environ[key]
        else:
            env[key] = value


def main(argv):
    if len(argv) < 4:
        fail(__doc__.strip().splitlines()[2].strip())
    path, job_name, ids = argv[1], argv[2], argv[3:]
    with open(path, encoding="utf-8") as f:
        workflow = yaml.safe_load(f)
    job = (workflow.get("jobs") or {}).get(job_name)
    if job is None:
        fail(f"{path}: no job {job_name}")
    shell = ((workflow.get("defaults") or {}).get("run") or {}).get("shell")
    steps = {s.get("id"): s for s in job.get("steps", []) if s.get("id")}
    for step_id in ids:
        step = steps.get(step_id)
        if step is None:
            fail(f"{path}: job {job_name} has no step with id {step_id}")
        if "run" not in step:
            fail(f"{path}: step {step_id} uses an action; it cannot run here")
        script = step["run"]
        if "${{" in script:
            fail(f"{path}: step {step_id}: an expression in `run:`; pass it through `env:`")
        if (step.get("shell") or shell) != "bash":
            fail(f"{path}: step {step_id}: only `shell: bash` steps run here")
        env = dict(os.environ)
        env_of(workflow, path, env)
        env_of(job, f"{path}: job {job_name}", env)
        env_of(step, f"{path}: step {step_id}", env)
        with tempfile.NamedTemporaryFile("w", suffix=".sh", delete=False) as f:
            f.write(script)
        print(f"\n== {path}: {step.get('name', step_id)}", file=sys.stderr, flush=True)
        try:
            code = subprocess.call(
                ["bash", "--noprofile", "--norc", "-eo", "pipefail", f.name], env=env
            )
        finally:
            os.unlink(f.name)
        if code != 0:
            print(f"== step {step_id} failed: exit {code}", file=sys.stderr)
            return code
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
