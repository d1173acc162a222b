#!/usr/bin/env bash
# Join this lab VM as a control-plane node: wait for the first node's API (polling, bounded),
# pin the lab CA by its hash, download the control-plane certificates with the certificate key
# and `kubeadm join --control-plane`. Idempotent: a node that already joined is left alone.
set -euo pipefail

readonly STATE_DIR="${LAB_STATE_DIR:-/etc/deployer-lab}"
readonly CONFIG="${STATE_DIR}/kubeadm-join.yaml"
# How long to wait for the first node's `kubeadm init` (image pulls included).
readonly WAIT_S="${LAB_JOIN_WAIT_S:-1200}"
readonly POLL_S=5

log() { printf '[%s] [kubeadm join] %s\n' "${LAB_NODE_NAME}" "$*"; }

load_settings() {
  : "${LAB_NODE_NAME:?}" "${LAB_NODE_IP:?}" "${LAB_ENDPOINT_NAME:?}" "${LAB_FIRST_NODE_IP:?}"
  ENDPOINT="${LAB_ENDPOINT_NAME}:6443"
  # shellcheck source=/dev/null
  source "${STATE_DIR}/bootstrap.env"
  : "${LAB_TOKEN:?}" "${LAB_CERT_KEY:?}"
}

point_endpoint_at() {
  sed -i "/ ${LAB_ENDPOINT_NAME} # deployer-lab$/d" /etc/hosts
  printf '%s %s # deployer-lab\n' "$1" "${LAB_ENDPOINT_NAME}" >>/etc/hosts
}

wait_for_cluster_info() {
  # cluster-info appears in kubeadm init's bootstrap-token phase, after the certificates were
  # uploaded: once it is readable, joining can start. Verified against the pinned CA.
  local url="https://${ENDPOINT}/api/v1/namespaces/kube-public/configmaps/cluster-info"
  local deadline=$((SECONDS + WAIT_S))
  until curl -fsS --max-time 5 --cacert "${STATE_DIR}/ca.crt" -o /dev/null "${url}"; do
    if ((SECONDS >= deadline)); then
      log "the first node's API did not answer within ${WAIT_S}s: was the first node provisioned (vagrant provision on it)?"
      exit 1
    fi
    sleep "${POLL_S}"
  done
}

ca_cert_hash() {
  # kubeadm's documented recipe: SHA-256 of the CA's DER-encoded SubjectPublicKeyInfo.
  openssl x509 -pubkey -noout -in "${STATE_DIR}/ca.crt" |
    openssl pkey -pubin -outform der |
    openssl dgst -sha256 -hex | awk '{print $NF}'
}

write_config() {
  install -m 0600 /dev/null "${CONFIG}"
  cat >"${CONFIG}" <<CONFIG
apiVersion: kubeadm.k8s.io/v1beta4
kind: JoinConfiguration
discovery:
  bootstrapToken:
    apiServerEndpoint: "${ENDPOINT}"
    token: "${LAB_TOKEN}"
    caCertHashes: ["sha256:$(ca_cert_hash)"]
nodeRegistration:
  name: "${LAB_NODE_NAME}"
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: "${LAB_NODE_IP}"
controlPlane:
  localAPIEndpoint:
    advertiseAddress: "${LAB_NODE_IP}"
    bindPort: 6443
  certificateKey: "${LAB_CERT_KEY}"
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
CONFIG
}

main() {
  load_settings
  if [[ -f /etc/kubernetes/kubelet.conf ]]; then
    log "already joined"
    point_endpoint_at "${LAB_NODE_IP}"
    return
  fi
  point_endpoint_at "${LAB_FIRST_NODE_IP}"
  log "waiting for ${ENDPOINT} (first node ${LAB_FIRST_NODE_IP})"
  wait_for_cluster_info
  write_config
  log "kubeadm join --control-plane as ${LAB_NODE_NAME} (${LAB_NODE_IP})"
  kubeadm join --config "${CONFIG}"
  # From now on this node's kubelet and admin.conf talk to its own apiserver.
  point_endpoint_at "${LAB_NODE_IP}"
}

# Sourced (by tests), define the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
