"""Celery tasks of the notifications service (senders arrive with the notifications issue)."""
