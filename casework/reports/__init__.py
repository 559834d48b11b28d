"""Statistics for supervisors: acceptance rates, processing times, backlogs, programmes."""
