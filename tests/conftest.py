"""Shared pytest set-up: the scripted fake transport's fixture is available to every test."""

pytest_plugins = ["deployer.testing"]
