"""Notifier: turns results into client notifications (barcode.results -> barcode.notifications)."""
