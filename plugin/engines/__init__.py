"""The policy engines: the interface, the embedded rego-cpp engine, OPA in process,
the OPA sidecar over REST, a fake for tests, and the bundle writer for sidecars.

Internal: the public names are in ``exportgate``.
"""
