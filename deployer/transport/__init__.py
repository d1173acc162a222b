"""How deployer reaches a host: a narrow protocol, an SSH implementation and a local one.

- :mod:`~deployer.transport.base`: the :class:`Transport` protocol every step talks to.
- :mod:`~deployer.transport.command`: the one place argv becomes a shell command line.
- :mod:`~deployer.transport.options`: :class:`SshOptions` and the inventory's ``ansible_*``.
- :mod:`~deployer.transport.connect`, :mod:`~deployer.transport.hostkeys`: connection set-up.
- :mod:`~deployer.transport.ssh`: :class:`SshTransport`; :mod:`~deployer.transport.local`:
  :class:`LocalTransport`; :mod:`~deployer.transport.pool`: many hosts in parallel.
- :mod:`~deployer.transport.https`, :mod:`~deployer.transport.scripts`: probe and file helpers.

Nothing is re-exported here, so importing the package does not load paramiko.
"""
