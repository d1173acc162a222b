"""Pure, immutable data: no I/O, no logging, no Jinja.

Why a separate package: every other layer (inventory loading, rendering, planning, applying,
reporting) exchanges these values, so they must not depend on any of those layers.
"""
