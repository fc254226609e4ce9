"""Saved designs: a name, a note and an experiment, owned by an owner token.

`tables` (the `designs` table), `repository` (the rows, on the shared owned-resource
repository), `models` (the request and response bodies), `routes` (`/api/designs`).
"""
