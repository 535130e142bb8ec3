"""Fast tests: protocol, domain rules, configuration, and the app in process."""
