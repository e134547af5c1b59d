"""Reads of messaging's records used by more than one caller (the dashboard's own reads are in
messaging/dashboard.py)."""

from __future__ import annotations
