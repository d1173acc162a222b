"""The lab's crictl stand-in: ``ps``, ``inspect``, ``logs``, ``pods`` over the kubelet state.

``D/<node>/bin/crictl`` is a small compiled client (``client.c``) that asks the node's kubelet
stand-in over ``D/<node>/run/containerd/containerd.sock`` (:mod:`.server`), as real crictl asks
containerd; ``D/<node>/bin/crictl-py`` runs the same code standalone (``python -m
deployer.lab.crictl --state ...``) and answers when the kubelet does not. Output shapes follow
crictl v1.31 with containerd 1.7, so parsers written for real nodes accept it; see
:mod:`deployer.lab.crictl.views`.
"""
