"""Helpers of the scale-out check's capacity phase (scripts/scaleout/capacity.py): reading what
every process and shared service did (``probes``) and turning two readings into the per-turn
figures and the table of a capacity plan (``report``)."""
