"""Local stand-ins for outside services: real servers on 127.0.0.1 in a thread that
follow the real contract (SMTP through aiosmtpd, Kakao's OAuth and user API)."""
