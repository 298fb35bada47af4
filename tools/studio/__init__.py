"""The review studio's storage and operations: plain typed functions over a SQLAlchemy database.

One workspace is one database (a SQLite file by default, or a PostgreSQL URL). Every function takes the
:class:`~ftds.tools.studio.store.Workspace` first and commits its change before returning, with an audit
entry (who, when, what changed before/after) that :func:`~ftds.tools.studio.operations.undo` reverses.
The web app (``ftds.server.studio``) and the MCP tools (``ftds.server.tools_studio``) are thin layers over
these modules:

- ``store``: the workspace (engine, tables, full-text index, write transactions)
- ``importing``: build output folders, dataset files in any format ftds reads, running builds (polling)
- ``operations``: list/filter/page, get, edit, decide, undo, bulk plans (decide, replace, re-label), rescue
- ``taxonomy``: the label tree (add/rename/move/merge, import YAML/JSON or a document's outline), balance
- ``team``: reviewer assignments, double review and Cohen's kappa
- ``publish``: validation with the trainer rules and export through the project's exporter
"""
