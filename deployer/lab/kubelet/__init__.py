"""The lab's kubelet stand-in: static pods from a manifests folder, run as local processes.

Run as ``python -m deployer.lab.kubelet --node-name N --root D/N``. What it imitates, and why,
is documented in :mod:`deployer.lab.kubelet.sync`.
"""
