"""The small shared core every part may import: run statuses, JSON helpers, ids and tokens.

It imports nothing from the rest of the server (the layering contract in
`tests/test_layering.py` keeps it so).
"""
