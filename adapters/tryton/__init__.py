"""exportgate inside Tryton's sale workflow: a Tryton module named ``exportgate``.

Registered through the ``trytond.modules`` entry point (``pip install
exportgate[tryton]``, then ``trytond-admin -u exportgate``); it depends on
``sale``. Products carry their export classification (or a reference to the
item catalog), parties their end-user attributes; quoting and confirming a
sale check it through `exportgate.Gate`, and the decision is stored on the
sale and its lines. The exportgate configuration file (regime, engine,
ledger, master data) is named in the Tryton server configuration::

    [exportgate]
    config = /etc/tryton/exportgate.yaml

The classes this module registers are listed in ``tryton.cfg``; see
docs/tryton.md for the workflow.
"""
from __future__ import annotations
