"""The in-process event bus and the dead letters of its handlers."""
