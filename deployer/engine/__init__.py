"""The engine: plan (observe and compare) and apply (one host at a time, verified, rolled back)."""
