"""The lab's crictl stand-in: ``ps``, ``inspect``, ``logs``, ``pods`` over the kubelet state.

Run as ``D/<node>/bin/crictl`` (a script calling ``python -m deployer.lab.crictl --state ...``).
Output shapes follow crictl v1.31 with containerd 1.7, so parsers written for real nodes
accept it; see :mod:`deployer.lab.crictl.views`.
"""
