"""Generation-side checks that do not trust the generator: evidence location, key terms, facts, round trip.

Plain typed functions (no MCP, no LangGraph): :mod:`.evidence` locates the supporting spans by code,
:mod:`.checks` holds the code checks and :mod:`.round_trip` the independent extractive call.
"""
