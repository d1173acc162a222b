"""deployer import: live manifests into an inventory that plans with no restart."""
