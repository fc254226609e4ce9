"""Uploaded datasets: files parsed under the settings' limits (`csv_table`, `series`,
`images_zip`), kept in the database and written where workers read them (`repository`, on
the shared owned-resource repository), bounded by quotas (`quota`), served at
`/api/datasets/uploads` (`routes`, `models`); the engine reads the files
(`engine/datasets/upload.py`)."""
