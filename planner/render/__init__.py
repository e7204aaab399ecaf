"""Output: tables, JSON, markdown, CSV, HTML, plots, launch specs. Escaping and rounding live here."""
