"""The command line's exit codes (README, "Exit codes"), one place for every command.

- 0: every order was decided (whatever the outcomes);
- 1: ``--fail-on`` was given and an order's outcome reached it, or a Rego test failed;
- 2: bad input: an invalid record, an unknown regime, an unreadable file or
  configuration; nothing of the offending orders was decided;
- 3: an order was held because the engine or the ledger could not answer
  (its lines are ``license`` with an ``error``);
- 4: a plugin failed: a host callback raised (the decision stands), or a plugin
  reading, enriching or registering raised (nothing of that record was decided);
- 5: the audit log could not be written (`AuditError`).
"""
from __future__ import annotations

EXIT_OK, EXIT_FAIL_ON, EXIT_INPUT, EXIT_HELD, EXIT_PLUGIN, EXIT_AUDIT = 0, 1, 2, 3, 4, 5
