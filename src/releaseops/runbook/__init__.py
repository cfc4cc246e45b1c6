"""The release runbook: deploy, freeze, restore and redeploy, written once.

`steps` holds each step of checklist sections 2 and 6; `deployment` the `Deployment` protocol
that restarts the service (RESTART_COMMAND on env targets); `custody` which dump a rollback
restores and whether the database now matches it.
"""
