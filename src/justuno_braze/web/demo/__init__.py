"""The demo store page (``serve --demo`` only): static HTML that includes ``/embed.js``."""
