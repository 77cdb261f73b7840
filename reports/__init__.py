"""HTML report: Jinja2 templates and their renderer."""
