"""Dataset operations: dedupe, split, export and the checks around them (see docs/architecture.md)."""
