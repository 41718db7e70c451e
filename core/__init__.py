"""The domain: tables, database, settings and the services that hold the rules.

`core` imports no other package of ours (see design.md).
"""
