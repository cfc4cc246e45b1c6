"""The release gate: pytest plugin, recorder, gating, verdict, evidence, run folder."""
