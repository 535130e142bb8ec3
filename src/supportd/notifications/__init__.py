"""Notifications: e-mail, webhooks and EventBridge, fed by the outbox.

The changes write outbox events in their own transactions (storage.outbox); the
dispatcher, on the job queue, fans each event out into deliveries and hands each to
its channel (smtp, webhook, eventbridge: one module each, one small interface in
channel.py), with retries and backoff.
"""
