"""The prefix of every setting's environment variable (cheap to import)."""

ENV_PREFIX = "FEEDBACK_"
