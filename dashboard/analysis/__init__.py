"""Diagnosing recordings: the queue (claim, diagnose once, store), each compressor's
learned baseline, and the registry of trained models."""
