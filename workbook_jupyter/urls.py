"""Names the extension, the service and the trainer's command agree on."""

PROGRESS_PATH = "workbook/progress"  # on each learner's server, under its base URL (/user/<name>/)
SERVICE_NAME = "workbook-progress"  # the hub service: /services/workbook-progress/
SERVICE_JSON_PATH = "api/progress"  # under the service's prefix
