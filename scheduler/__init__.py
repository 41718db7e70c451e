"""When things happen. APScheduler is the clock; the database is the calendar."""
