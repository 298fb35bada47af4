"""Exit codes, the same for every ``ftds-agent`` verb (and ``ftds-agent serve``).

Kept free of imports so that the MCP server's lean start-up path can use them without the CLI.

  0  everything asked for succeeded
  1  nothing usable was produced (fatal error)
  2  bad usage or bad input (the message says what to change)
  3  partial result: output was written but some files, chunks or records failed (listed)
"""

EXIT_OK, EXIT_FATAL, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3
