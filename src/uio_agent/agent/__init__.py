"""Policies, rollout and evaluation."""
