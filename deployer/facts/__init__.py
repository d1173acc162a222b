"""Facts: what deployer observes on a host, as an argv to run and a pure parser of its output.

Why argv + pure parse: the parsers are tested from recorded outputs (``tests/data/facts/``)
without any host, and the engine decides how many round trips a step costs.
"""
