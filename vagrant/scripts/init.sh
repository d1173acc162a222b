#!/usr/bin/env bash
# Create the cluster on the first lab VM: `kubeadm init` with a control-plane endpoint, the
# lab's pre-made CA, bootstrap token and certificate key (uploaded so that the other nodes can
# join as control-plane nodes). Run again (`vagrant provision cp1`), it re-creates the token
# and re-uploads the certificates, which kubeadm deletes after 24 h and 2 h: that is how a node
# added later can still join.
set -euo pipefail

readonly STATE_DIR="${LAB_STATE_DIR:-/etc/deployer-lab}"
readonly CONFIG="${STATE_DIR}/kubeadm-init.yaml"
readonly ADMIN_CONF=/etc/kubernetes/admin.conf

log() { printf '[%s] [kubeadm init] %s\n' "${LAB_NODE_NAME}" "$*"; }

load_settings() {
  : "${LAB_NODE_NAME:?}" "${LAB_NODE_IP:?}" "${LAB_ENDPOINT_NAME:?}" "${LAB_K8S_VERSION:?}"
  : "${LAB_POD_SUBNET:?}"
  # shellcheck source=/dev/null
  source "${STATE_DIR}/bootstrap.env"
  : "${LAB_TOKEN:?}" "${LAB_CERT_KEY:?}"
}

write_config() {
  # v1beta4 is the configuration API of kubeadm 1.31 and later. The file holds the join secrets: root only.
  install -m 0600 /dev/null "${CONFIG}"
  cat >"${CONFIG}" <<CONFIG
apiVersion: kubeadm.k8s.io/v1beta4
kind: InitConfiguration
bootstrapTokens:
  - token: "${LAB_TOKEN}"
    ttl: 24h0m0s
    usages: [signing, authentication]
    groups: ["system:bootstrappers:kubeadm:default-node-token"]
certificateKey: "${LAB_CERT_KEY}"
localAPIEndpoint:
  advertiseAddress: "${LAB_NODE_IP}"
  bindPort: 6443
nodeRegistration:
  name: "${LAB_NODE_NAME}"
  criSocket: unix:///run/containerd/containerd.sock
  kubeletExtraArgs:
    - name: node-ip
      value: "${LAB_NODE_IP}"
---
apiVersion: kubeadm.k8s.io/v1beta4
kind: ClusterConfiguration
clusterName: deployer-lab
kubernetesVersion: "v${LAB_K8S_VERSION}"
controlPlaneEndpoint: "${LAB_ENDPOINT_NAME}:6443"
networking:
  podSubnet: "${LAB_POD_SUBNET}"
  serviceSubnet: 10.96.0.0/12
---
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
cgroupDriver: systemd
CONFIG
}

install_ca() {
  # kubeadm uses an existing ca.crt/ca.key instead of generating one: the CA the joining nodes
  # already pinned.
  install -d -m 0755 /etc/kubernetes/pki
  install -m 0644 "${STATE_DIR}/ca.crt" /etc/kubernetes/pki/ca.crt
  install -m 0600 "${STATE_DIR}/ca.key" /etc/kubernetes/pki/ca.key
}

refresh_join_secrets() {
  log "already initialised: refreshing the bootstrap token and the uploaded certificates"
  if ! kubeadm token list --kubeconfig "${ADMIN_CONF}" | awk 'NR > 1 {print $1}' | grep -qx "${LAB_TOKEN}"; then
    kubeadm token create "${LAB_TOKEN}" --ttl 24h0m0s --kubeconfig "${ADMIN_CONF}" >/dev/null
  fi
  kubeadm init phase upload-certs --upload-certs --config "${CONFIG}" >/dev/null
}

share_admin_kubeconfig() {
  # Convenience for `vagrant ssh cp1 -c 'kubectl get nodes'`; deployer itself reads admin.conf
  # with sudo.
  install -d -m 0700 -o vagrant -g vagrant /home/vagrant/.kube
  install -m 0600 -o vagrant -g vagrant "${ADMIN_CONF}" /home/vagrant/.kube/config
}

main() {
  load_settings
  write_config
  if [[ -f "${ADMIN_CONF}" ]]; then
    refresh_join_secrets
  else
    install_ca
    log "kubeadm init (Kubernetes ${LAB_K8S_VERSION}, endpoint ${LAB_ENDPOINT_NAME}:6443)"
    kubeadm init --config "${CONFIG}" --upload-certs
  fi
  share_admin_kubeconfig
  log "control plane: $(kubectl --kubeconfig "${ADMIN_CONF}" get nodes --no-headers | wc -l) node(s)"
}

# Sourced (by tests), define the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
