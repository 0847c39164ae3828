"""Trajectory datasets: recording, storage, reading."""
