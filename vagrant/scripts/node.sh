#!/usr/bin/env bash
# Prepare one lab VM as a kubeadm node: kernel settings, containerd, kubelet/kubeadm/kubectl
# pinned to the project's default Kubernetes version from pkgs.k8s.io, crictl for containerd,
# /etc/hosts for the control-plane endpoint, and the lab's bootstrap files (cluster CA, join
# secrets) installed root-only. Idempotent: `vagrant provision` runs it again safely.
#
# Environment (set by the Vagrantfile): LAB_NODE_NAME LAB_NODE_IP LAB_ENDPOINT_NAME
# LAB_FIRST_NODE_IP LAB_HOSTS LAB_K8S_MINOR LAB_K8S_VERSION LAB_K8S_PACKAGE_REVISION
# LAB_BOOTSTRAP_DIR
set -euo pipefail

readonly STATE_DIR="${LAB_STATE_DIR:-/etc/deployer-lab}"
readonly KEYRING=/etc/apt/keyrings/kubernetes-apt-keyring.gpg
# The sandbox image kubeadm 1.35/1.36 pre-pulls (published image lists of v1.35.2 clusters;
# kubeadm 1.37 moves to 3.10.2).
readonly PAUSE_IMAGE=registry.k8s.io/pause:3.10.1
export DEBIAN_FRONTEND=noninteractive

log() { printf '[%s] [node] %s\n' "${LAB_NODE_NAME}" "$*"; }

install_bootstrap_files() {
  # The Vagrantfile uploaded them as the vagrant user into /tmp: move them root-only.
  install -d -m 0700 "${STATE_DIR}"
  local name mode
  for name in ca.crt ca.key bootstrap.env; do
    if [[ -f "${LAB_BOOTSTRAP_DIR}/${name}" ]]; then
      mode=0600
      [[ "${name}" == ca.crt ]] && mode=0644
      install -m "${mode}" -o root -g root "${LAB_BOOTSTRAP_DIR}/${name}" "${STATE_DIR}/${name}"
      rm -f "${LAB_BOOTSTRAP_DIR:?}/${name}"
    fi
  done
  [[ -f "${STATE_DIR}/bootstrap.env" ]] || { log "missing ${STATE_DIR}/bootstrap.env"; exit 1; }
}

configure_kernel() {
  swapoff -a
  sed -ri '/\sswap\s/s/^([^#])/#\1/' /etc/fstab
  printf 'overlay\nbr_netfilter\n' >/etc/modules-load.d/k8s.conf
  modprobe overlay
  modprobe br_netfilter
  cat >/etc/sysctl.d/k8s.conf <<'SYSCTL'
net.bridge.bridge-nf-call-iptables  = 1
net.bridge.bridge-nf-call-ip6tables = 1
net.ipv4.ip_forward                 = 1
SYSCTL
  sysctl --system >/dev/null
}

configure_hosts() {
  # Every node by name, and the control-plane endpoint. The endpoint starts on the first node;
  # join.sh points it at the node itself once its own apiserver runs, so a restart of another
  # node's apiserver never cuts this node's kubelet off (what a load balancer would give).
  local entries line endpoint_ip
  endpoint_ip="${LAB_FIRST_NODE_IP}"
  if [[ -f /etc/kubernetes/kubelet.conf ]]; then
    endpoint_ip="${LAB_NODE_IP}"
  fi
  sed -i '/# deployer-lab$/d' /etc/hosts
  # Ubuntu boxes map the hostname to 127.0.x.1; kubelet must see the private address instead.
  sed -ri "/^127\.0\.[0-9]+\.1\s+${LAB_NODE_NAME}(\s|$)/d" /etc/hosts
  IFS=',' read -r -a entries <<<"${LAB_HOSTS}"
  for line in "${entries[@]}"; do
    printf '%s # deployer-lab\n' "${line}" >>/etc/hosts
  done
  printf '%s %s # deployer-lab\n' "${endpoint_ip}" "${LAB_ENDPOINT_NAME}" >>/etc/hosts
}

install_containerd() {
  apt-get update -qq
  apt-get install -y -qq apt-transport-https ca-certificates curl gpg containerd >/dev/null
  install -d -m 0755 /etc/containerd
  containerd config default >/etc/containerd/config.toml
  # kubelet and containerd must agree on the cgroup driver (systemd on Ubuntu 24.04), and
  # kubeadm expects the pause image it pre-pulls.
  sed -i 's/SystemdCgroup = false/SystemdCgroup = true/' /etc/containerd/config.toml
  sed -ri "s#sandbox_image = \".*\"#sandbox_image = \"${PAUSE_IMAGE}\"#" /etc/containerd/config.toml
  systemctl enable containerd >/dev/null
  systemctl restart containerd
}

install_kubernetes_packages() {
  local repo="https://pkgs.k8s.io/core:/stable:/v${LAB_K8S_MINOR}/deb/"
  local version="${LAB_K8S_VERSION}-${LAB_K8S_PACKAGE_REVISION}"
  install -d -m 0755 /etc/apt/keyrings
  if [[ ! -s "${KEYRING}" ]]; then
    curl -fsSL "${repo}Release.key" | gpg --dearmor --batch --yes -o "${KEYRING}"
  fi
  printf 'deb [signed-by=%s] %s /\n' "${KEYRING}" "${repo}" >/etc/apt/sources.list.d/kubernetes.list
  apt-get update -qq
  apt-mark unhold kubelet kubeadm kubectl >/dev/null 2>&1 || true
  apt-get install -y -qq --allow-downgrades \
    "kubelet=${version}" "kubeadm=${version}" "kubectl=${version}" >/dev/null
  apt-mark hold kubelet kubeadm kubectl >/dev/null
  systemctl enable kubelet >/dev/null
}

configure_crictl() {
  # crictl (from cri-tools, a kubeadm dependency) otherwise probes several sockets and warns.
  cat >/etc/crictl.yaml <<'CRICTL'
runtime-endpoint: unix:///run/containerd/containerd.sock
image-endpoint: unix:///run/containerd/containerd.sock
timeout: 10
debug: false
CRICTL
}

main() {
  : "${LAB_NODE_NAME:?}" "${LAB_NODE_IP:?}" "${LAB_ENDPOINT_NAME:?}" "${LAB_FIRST_NODE_IP:?}"
  : "${LAB_HOSTS:?}" "${LAB_K8S_MINOR:?}" "${LAB_K8S_VERSION:?}" "${LAB_K8S_PACKAGE_REVISION:?}"
  : "${LAB_BOOTSTRAP_DIR:?}"
  log "preparing ${LAB_NODE_NAME} (${LAB_NODE_IP}) for Kubernetes ${LAB_K8S_VERSION}"
  install_bootstrap_files
  configure_kernel
  configure_hosts
  install_containerd
  install_kubernetes_packages
  configure_crictl
  log "containerd $(containerd --version | awk '{print $3}'), kubeadm $(kubeadm version -o short)"
}

# Sourced (by tests), define the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
