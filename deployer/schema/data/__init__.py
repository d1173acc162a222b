"""Packaged flag schemas, one ``<minor>.json`` per kube-apiserver version (generated)."""
