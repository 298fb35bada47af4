"""The build's own steps as plain functions: choose chunks, merge each chunk's results, and finish the dataset
(dedupe, split, export, report). The LangGraph graph in ``agents/`` only orders these calls."""
