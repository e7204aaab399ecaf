"""The user's project: a profile (file or dict) read, checked and resolved against the catalog (model presets, GPU
and provider names, the model's shape), with the source positions its error messages cite."""
