"""zerotrust: a Zero Trust security platform for fintech AI."""

__version__ = "0.1.0"
