"""Prompt templates shipped as package data (see tools/prompts.py for the loader)."""
