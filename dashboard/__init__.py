"""SignalCraft's server side, one package per domain (imports run downwards):

- ``app``: the Flask/Dash factory (``dashboard.app.create_app``), the page shell,
  HTTP routes for media and ad-hoc analysis, scheduler wiring, the demo, the CLI
- ``ui``: figure functions and view builders the callbacks share
- ``analysis``: the recording queue (claim, diagnose), per-compressor baselines, models
- ``alerts``: rules, incidents, notifications
- ``fleet``: compressors, readings and their rollups, diagnoses history, notes,
  recordings, device tokens, firmware releases
- ``accounts``: login, Kakao, users, registration, invitations, audit, preferences
- ``core``: configuration, database and models, blob store, i18n, observability
"""
