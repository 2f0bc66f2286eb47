"""The REST API (`tickwork api`): FastAPI over the same service functions as the CLI, submitting work
through the same client another service uses. OpenAPI at /docs."""
