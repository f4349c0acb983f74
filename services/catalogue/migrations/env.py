from services.catalogue.models import Base
from services.chassis.migrations import run_env

run_env(Base.metadata)
