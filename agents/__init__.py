"""The LangGraph build agent and the ``ftds-agent`` CLI: thin layers over ``ftds.tools``."""
