"""What every HTTP surface shares, below the routers of `api/` and of the feature packages
(designs, uploads, sweeps, classes): the app's parts as dependencies (`deps`), the owner token
(`owner`), and paging (`paging`). FastAPI's `Annotated` aliases, one of each."""
