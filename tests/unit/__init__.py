"""Unit tests of the pure rules in `mapping/`: no network, no wall clock."""
