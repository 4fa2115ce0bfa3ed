"""Reports: the prefecture's per-clinic fiscal-year table and monthly utilisation."""
