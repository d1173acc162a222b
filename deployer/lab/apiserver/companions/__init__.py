"""The stand-in's own reading of the companion files kube-apiserver's flags name.

Why separate from the tool's validators (``deployer.companions``): the lab is the check on them.
These modules are written from the upstream loaders and validators (cited in each), so a file
the offline checks let through but the real binary refuses still fails here, at startup, with
the real message, and the rollback path gets exercised. A subset of upstream's checks; each one
that is here is upstream's.
"""
