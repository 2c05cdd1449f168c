"""The small shared core every pipeline depends on: settings, memory budget, run summary."""
