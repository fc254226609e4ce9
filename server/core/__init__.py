"""The small shared core every part may import: run statuses, JSON that browsers accept,
token hashing. It imports nothing from the server's other packages."""
