"""Prompt templates shipped as package data (see tools/generation/prompts.py for the loader)."""
