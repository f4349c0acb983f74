-- Each service owns its own database (no service reads another's tables).
CREATE DATABASE goumai_catalogue;
CREATE DATABASE goumai_budget;
CREATE DATABASE goumai_registry;
CREATE DATABASE goumai_contract;
CREATE DATABASE goumai_assessment;
CREATE DATABASE goumai_gateway;
