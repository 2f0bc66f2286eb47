"""Periodic jobs: when each job runs (cadences, timezones, market hours), the scheduler loop that
sends exactly one message per tick, runtime control (pause, resume, trigger) and overdue detection.

The timetable itself, the one module that says what runs when, is `actors.timetable`: it is written
with periodiq's cron specs, which this package may not import; it receives them already parsed.
"""
