"""The deep-learning core: experiments, layers, datasets, models, trainer and probes.

Importable without the web stack: no FastAPI, no asyncio.
"""
