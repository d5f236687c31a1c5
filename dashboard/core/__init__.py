"""Configuration, database and models, the blob store, i18n, mail and observability:
the ground every other package stands on (it imports none of them)."""
