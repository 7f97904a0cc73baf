"""CLI command modules. Each module here defines click commands or groups and lists them
in a module-level ``COMMANDS`` list; ``webapp.cli`` adds them to ``mintsuche``."""
