"""Traffic days and launch thresholds, as data. Built by a later issue."""
