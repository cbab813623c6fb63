"""The storage resource provider on Resource Manager (``Microsoft.Storage/storageAccounts``).

Mounted on the ARM listener (``arm.create(context, provider_routes=ARM_ROUTES)``) behind ARM's own
``before``: authentication → api-version → subscription → RBAC with the action below. The tutorial's
listServiceSas URL has a slash before ``?``; the route table accepts a trailing slash on every path.
"""

from emulator.core.http import KIB, Route

from . import handlers

ACCOUNT = "/subscriptions/{subscription}/resourceGroups/{resource_group}/providers/Microsoft.Storage/storageAccounts"
STORAGE_ACCOUNTS = "Microsoft.Storage/storageAccounts"
# The first is the oldest accepted; any later well-formed version up to today is accepted too.
STORAGE_VERSIONS = ("2016-01-01", "2016-12-01", "2017-06-01", "2017-10-01", "2018-02-01", "2019-06-01",
                    "2021-09-01", "2022-09-01", "2023-01-01", "2023-05-01", "2024-01-01", "2025-01-01", "2026-09-01")
SAS_BODY_LIMIT = 16 * KIB

ARM_ROUTES = [
    Route("GET", ACCOUNT, handlers.list_accounts, "Microsoft.Storage/storageAccounts/read", STORAGE_ACCOUNTS,
          STORAGE_VERSIONS),
    Route("GET", ACCOUNT + "/{name}", handlers.get_account, "Microsoft.Storage/storageAccounts/read",
          STORAGE_ACCOUNTS, STORAGE_VERSIONS),
    Route("POST", ACCOUNT + "/{name}/listKeys", handlers.list_keys, "Microsoft.Storage/storageAccounts/listkeys/action",
          STORAGE_ACCOUNTS, STORAGE_VERSIONS, max_body=SAS_BODY_LIMIT),
    Route("POST", ACCOUNT + "/{name}/listServiceSas", handlers.list_service_sas,
          "Microsoft.Storage/storageAccounts/listServiceSas/action", STORAGE_ACCOUNTS, STORAGE_VERSIONS,
          max_body=SAS_BODY_LIMIT),
]
