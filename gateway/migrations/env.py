from gateway.models import metadata
from services.chassis.migrations import run_env

run_env(metadata)
