"""``python -m deployer``: the same entry point as the ``deployer`` console script."""

from deployer.cli.main import run

if __name__ == "__main__":
    run()
