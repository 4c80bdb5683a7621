"""Notifications: what happened in an organization, told where its people work.

- One vocabulary of events (`events.Event`). Every app reports an event through the one
  service, `services.notify(...)`, inside the transaction of the work it reports; the
  deliveries it makes are queued when that transaction commits, so a rolled-back piece of work
  tells nobody.
- An event goes to every enabled channel of the organization subscribed to it (e-mail, Slack,
  Microsoft Teams, a signed webhook: `channels.CHANNEL_KINDS`) and, by e-mail, to every member
  who chose it (`NotificationPreference`; admins and owners get failures and approvals unless
  they chose otherwise).
- Each delivery is a row and a queued task (`accounts.tasks.DELIVER_NOTIFICATION`): tried,
  retried on failure after NOTIFICATION_RETRY_MINUTES (a one-off q2 schedule per retry), and
  logged on its channel's page with its attempts and last error.
- Every call to a URL a user set goes through `mcloud.egress.client` (public addresses only,
  unless EGRESS_ALLOW lists them), checked when the channel is saved and again when it is called.
- A channel's URL (a Slack or Teams URL is itself a secret) and signing secret are encrypted at
  rest, never logged, never rendered back: pages show the host and a masked tail.
"""
