"""The efficiency analyst: where processing and database time go, and what it would save."""
