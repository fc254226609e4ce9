"""Classes: a teacher, students who join with a code, the runs they start, the spotlight.

`codes` makes join codes and tokens, `tables` holds the three tables (migration
`0002_classes`), `registry` keeps classes in memory with the database behind them and decides
who may see what, `dashboard` builds the teacher's live table and `hub` fans class messages out
to one socket per page. No FastAPI here: the routes are `server/api/routes_classes.py`.
"""
