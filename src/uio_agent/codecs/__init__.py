"""Env <-> model translation: prompts and observations in, action text out."""
