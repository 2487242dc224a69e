"""Writes of the tenancy and of end users, one module per concern:

- `app_settings`: making apps and changing their settings;
- `users`: the `_User` body (built-in and custom fields, LeanCloud's field operations), sign-up, update;
- `sessions`: sessions, password login, the failed-login lockout, password changes;
- `on_verified_hook`: one call of an app's cloud engine after a number is verified;
- `user_import`: users from a LeanCloud `_User` export.

The flows that send or check SMS codes are one floor up, in `accounts.user_api.phone_flows`.
"""
