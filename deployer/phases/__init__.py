"""The steps of a rollout on one host, one module each, in kubeadm's order.

preflight -> backup -> push -> wait for restart -> verify; on failure, rollback.
"""
