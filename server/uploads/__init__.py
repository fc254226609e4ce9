"""Uploaded datasets: files parsed under the settings' limits (`csv_table`, `images_zip`),
kept in the database and written where workers read them (`repo`). No web code here: the
routes are `server/api/routes_uploads.py`; the engine reads the files (`datasets/upload.py`)."""
