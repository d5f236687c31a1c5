"""People and their access: login (password, Kakao), users and roles, registration,
invitations, mailed tokens, audit log, preferences, rate limits; the account web views."""
