"""The embedded lab: simulated control-plane nodes on loopback (see ``deployer lab --help``)."""
