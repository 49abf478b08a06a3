"""Helpers of the capacity phase of scripts/scaleout_test.py: reading what every process and
shared service did (``probes``) and turning two readings into the per-turn figures and the
table of a capacity plan (``report``)."""
