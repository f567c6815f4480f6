"""The decision service (`exportgate serve`): see docs/service.md."""
