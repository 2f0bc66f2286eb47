"""Notifications: the outbox and its channels (email, webhooks, Slack), alert rules, digests.

One module per concern: `outbox` (claim-before-send, delivered once), `email`, `webhooks`, `slack`,
`ssrf` (the guard every outgoing HTTP request passes), `templates`, `channels` (wiring from settings),
`dispatch` (alerts fanned out to recipients), `alert_rules` (state and cooldowns), `alert_checks`
(what each kind of rule reads), `digest`. docs/notifications.md has the rules a reader needs.
"""
