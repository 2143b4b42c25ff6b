"""Thin HTTP entry points, one per deployed function (targets in ``main.py``, manifest in ``serverless.yml``).

Each parses, verifies the caller, calls one operation and answers; no business rule lives here.
"""
