"""Helpers shared by the test suites: real server processes, clients, free ports."""
