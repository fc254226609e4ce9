"""LayerLab: an interactive neural-network playground on real PyTorch."""

__version__ = "0.1.0"
