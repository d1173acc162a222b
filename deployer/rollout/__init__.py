"""The rollout: observe hosts, plan, and roll each host's set of files, one batch at a time.

Imports only downward (``model``, ``facts``, ``transport``, ``phases``, ``locks``); the CLI
calls into it and never the other way.
"""
