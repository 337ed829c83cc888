"""Checking a generated reply against the catalog before the shopper sees it: product names and facts
(`grounding`), repairs (`repair`), the catalog's own answers (`answers`) and the ordered list of named steps
the orchestrator runs (`pipeline`)."""
