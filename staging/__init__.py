"""The reference staging SIS (schema, seeding, HTTP API, auth, metrics, fault injection).

Built by a later issue; the package exists so the distribution's layout matches the architecture.
"""
