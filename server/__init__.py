"""The MCP server: thin wrappers that map MCP tool calls onto ``ftds.tools`` functions."""
