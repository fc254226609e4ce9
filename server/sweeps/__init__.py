"""Sweeps: one design trained in several variants at once, one or two settings varied.

`spec` (the request and its expansion into variants), `validate` (every variant checked as
POST /api/check would, a bad one named by its setting and value), `tables` and `store` (the
database rows), `summary` (each variant's run, status and final metrics). No web code here:
`server/api/routes_sweeps.py` is the HTTP surface.
"""
