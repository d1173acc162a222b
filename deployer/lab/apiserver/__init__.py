"""The lab's kube-apiserver stand-in, run as ``python -m deployer.lab.apiserver <flags>``.

It parses flags with the project's schema (pflag rules), runs the startup validations, and serves
kube-apiserver's health, version, discovery, componentstatuses and metrics endpoints over HTTPS
with the node's certificates. Nothing is imported here, so the process starts small and fast.
"""
