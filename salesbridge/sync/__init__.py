"""The sync engine: config, mapping, links, change detection, conflicts and runs."""
