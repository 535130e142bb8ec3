"""Reference data: services and categories, severities, languages, create-case options."""
