"""Generation, review and the task table: everything that turns a chunk into reviewed samples, including the
checks that do not trust the generator (:mod:`.evidence` locates supporting spans by code, :mod:`.checks` holds
the code checks, :mod:`.round_trip` the independent extractive call)."""
