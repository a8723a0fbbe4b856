"""Celery app and thin tasks over reviewbot's plain functions."""
