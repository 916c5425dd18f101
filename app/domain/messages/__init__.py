"""Messaging: dialogs, unread, history, send and read through Telegram; the live stored inbox."""
