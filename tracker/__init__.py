"""The ChastityTracker games API: client, models, errors and a local sandbox."""
