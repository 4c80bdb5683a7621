"""Provider adapters: the only modules that import boto3, azure.* or google.*.

They take and return the dataclasses of `base`, never models, and import no app.
"""
