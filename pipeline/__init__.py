"""Community Safety Pipeline: the statutory documents of a Community Safety Partnership as a reproducible pipeline."""

__version__ = "0.1.0"
