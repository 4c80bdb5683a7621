"""Local cloud emulators: moto's server for AWS, and small wire-faithful fakes of the Azure
Resource Manager and Google APIs. Used by the tests and by the development sandbox.

Nothing here imports Django or the app: the emulators are servers the real SDKs talk to.
"""
