#!/usr/bin/env bash
# ctest k8s_manifests: render every kustomization under deploy/ that is an
# entry point (each overlay, each example worker group, the bases) with
# `kubectl kustomize`, and validate every document against the Kubernetes and
# KEDA schemas plus the unknown-key check (deploy/validate/validate.mjs).
# With --self-test: prove the checker rejects bad documents, including an
# unknown key injected into every object of every rendered manifest.
set -euo pipefail
root=${1:?usage: validate_manifests.sh SOURCE_DIR [--self-test]}
mode=${2:-}
v=$root/deploy/validate
if [ ! -d "$v/node_modules/kubernetes-models" ]; then
  echo "validate_manifests: $v/node_modules is missing: run scripts/install-deps (npm ci in deploy/validate)" >&2
  exit 1
fi
command -v kubectl >/dev/null || { echo "validate_manifests: kubectl not found" >&2; exit 1; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
dirs=()
for d in "$root"/deploy/overlays/*/ "$root"/deploy/examples/*/groups/*/ "$root"/deploy/base/ \
         "$root"/deploy/worker-group/ "$root"/deploy/dev-postgres/; do
  [ -f "$d/kustomization.yaml" ] && dirs+=("${d%/}")
done
[ ${#dirs[@]} -ge 6 ] || { echo "validate_manifests: only ${#dirs[@]} kustomizations found" >&2; exit 1; }
files=()
for d in "${dirs[@]}"; do
  rel=${d#"$root"/}
  f=$out/$(echo "$rel" | tr / _).yaml
  kubectl kustomize "$d" >"$f"
  files+=("$f")
done
if [ "$mode" = --self-test ]; then
  node "$v/validate.mjs" --self-test "${files[@]}"
  exit
fi
rc=0
for f in "${files[@]}"; do
  node "$v/validate.mjs" --label "$(basename "$f" .yaml)" "$f" || rc=1
done
# each overlay renders what it promises
count () { grep -c "^kind: $2\$" "$out/$1.yaml" || true; }
for o in deploy_overlays_dev deploy_overlays_production; do
  for k in Deployment Service PodDisruptionBudget NetworkPolicy ScaledObject ConfigMap; do
    [ "$(count $o $k)" -ge 1 ] || { echo "FAIL $o renders no $k" >&2; rc=1; }
  done
done
[ "$(count deploy_overlays_test Deployment)" = 5 ] || { echo "FAIL the test overlay should render 5 Deployments" >&2; rc=1; }
grep -q "^  replicas: 3$" "$out/deploy_overlays_production.yaml" || { echo "FAIL production brokers are not 3 replicas" >&2; rc=1; }
exit $rc
