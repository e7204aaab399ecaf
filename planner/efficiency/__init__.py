"""Efficiency by origin: priors, fitted curves, calibration and transfer, the measured local device, and the
measurement records they come from."""
