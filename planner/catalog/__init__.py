"""The catalog: load and check GPUs, offers and presets; accelerator names; import from maintained tables."""
