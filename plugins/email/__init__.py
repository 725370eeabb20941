"""The built-in email channel (raw-MIME webhook in, SMTP out)."""

from socialcrm.plugins.email.channel import EmailChannel

__all__ = ["EmailChannel"]
