#!/usr/bin/env bash
# Provision what the lab inventory's audit flags need on the node: the audit policy file and
# the audit log folder. deployer manages the manifest only; files that flags reference must
# exist before the first converge, or the new apiserver would crash-loop and be rolled back.
# Paths match inventories/vagrant/group_vars/control_plane.yml (apiserver_extra_volumes).
#
# LAB_ROOT (default empty) prefixes every path, so tests can run this script on a folder.
set -euo pipefail

readonly ROOT="${LAB_ROOT:-}"
readonly POLICY_DIR=/etc/kubernetes/audit
readonly LOG_DIR=/var/log/kubernetes/audit

main() {
  : "${LAB_NODE_NAME:?}"
  install -d -m 0755 "${ROOT}/etc/kubernetes"
  install -d -m 0700 "${ROOT}${POLICY_DIR}"
  install -d -m 0700 "${ROOT}${LOG_DIR}"
  # Metadata for everything, no request bodies (they may carry secrets), and skip the noisy
  # read-only health and watch traffic.
  local policy
  policy="$(mktemp)"
  cat >"${policy}" <<'POLICY'
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages:
  - RequestReceived
rules:
  - level: None
    nonResourceURLs:
      - /healthz*
      - /livez*
      - /readyz*
      - /version
  - level: None
    verbs: ["watch"]
  - level: Metadata
POLICY
  install -m 0600 "${policy}" "${ROOT}${POLICY_DIR}/policy.yaml"
  rm -f "${policy}"
  printf '[%s] [audit] policy %s/policy.yaml, logs in %s\n' "${LAB_NODE_NAME}" "${POLICY_DIR}" "${LOG_DIR}"
}

# Sourced (by tests), define the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
