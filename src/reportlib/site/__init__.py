"""Layer 4, the site: chapter parameters and runs, reader tables, figures."""
