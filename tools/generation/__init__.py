"""Generation, review and the task table: everything that turns a chunk into reviewed samples."""
