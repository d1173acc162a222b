"""How deployer reaches a host: a narrow protocol, an SSH implementation and a local one."""
