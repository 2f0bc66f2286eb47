"""One router per resource: tasks, jobs, dead letters, queues."""
