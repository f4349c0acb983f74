from services.chassis.migrations import run_env
from services.contract.models import Base

run_env(Base.metadata)
