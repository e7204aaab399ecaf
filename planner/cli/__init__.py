"""The `gpuplan` command: one module per command group; parses, calls the library, prints."""
