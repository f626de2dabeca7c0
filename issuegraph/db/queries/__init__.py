"""Every SQL statement of the service, grouped by table. Always parameterised."""
