"""The demo store page (``serve --demo`` only): static HTML + vanilla JS, no build step."""
