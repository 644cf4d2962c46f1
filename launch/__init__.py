"""The commands that drive Dagster (`logintel demo`, `logintel ui`) and the `logintel` entry point that adds
them to the domain's command line: Dagster layer, not domain logic."""
