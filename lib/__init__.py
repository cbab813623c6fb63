"""Helpers the Managed Identity Workbook notebooks import.

``lib.imds`` is the heart: the client code on a VM uses to get managed-identity tokens from the
Instance Metadata Service (IMDS).
"""
