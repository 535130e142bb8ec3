"""supportd: a self-hostable implementation of the AWS Support API."""

__version__ = "0.1.0"
