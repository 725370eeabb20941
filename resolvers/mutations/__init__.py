"""What answers each mutation, one module per domain; shared helpers in ``base``."""
