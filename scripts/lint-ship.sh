#!/usr/bin/env bash
# The shipping files through their validators (scripts/tools-requirements.txt); any finding
# fails, and so does a validator that cannot be installed:
#   Dockerfile                 hadolint
#   deploy/kubernetes/*.yaml   kubernetes-validate, strict (no unknown field), against the
#                              newest Kubernetes schemas it ships and an older one
#   examples/ci/github/*.yml   actionlint, with shellcheck over their `run:` scripts
#   scripts/, .ci/run          shellcheck
# docker itself is not run: building the image needs a daemon and the base images' registry,
# neither of which this project's machines have (docs/kubernetes.md says how to build it).
#
# Usage: bash scripts/lint-ship.sh

# shellcheck source=lib/common.sh
source "$(dirname "$0")/lib/common.sh"
tools
cd "$REPO" || exit 1
PATH=$TOOLS/bin:$PATH

say "hadolint $(hadolint --version | grep -o '[0-9][0-9.]*' | head -1): Dockerfile"
hadolint Dockerfile

say "kubernetes-validate $(kubernetes-validate --version): deploy/kubernetes"
for k in 1.37.0 1.30.0; do
  kubernetes-validate --strict --quiet -k "$k" deploy/kubernetes/*.yaml
done

say "actionlint $(actionlint -version | head -1): examples/ci/github"
actionlint -color=false -shellcheck="$TOOLS/bin/shellcheck" examples/ci/github/*.yml

say "shellcheck: scripts and .ci/run"
shellcheck -x -P scripts scripts/*.sh scripts/lib/common.sh .ci/run
echo "lint-ship: ok" >&2
