"""Candidates and their verdicts: training and serving plans, roofline bounds, the search over offers."""
